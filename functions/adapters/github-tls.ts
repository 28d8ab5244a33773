/**
 * Trusting a GitHub Enterprise Server whose TLS certificate is signed by a private CA (or self-signed).
 * The CA bundle is added to Node's public roots for GitHub's connections only; certificate checking is never
 * switched off. (Node's own `NODE_EXTRA_CA_CERTS`, read once at process start, works as well, process-wide.)
 */
import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import type { RequestInit as UndiciRequestInit } from 'undici';
import { ConfigError } from '../errors.ts';

/**
 * A `fetch` whose TLS connections accept certificates issued by Node's public roots or by `caBundle` (PEM).
 * undici is loaded on the first request: only a GHES with a private CA needs it, and a function's cold start
 * should not pay for evaluating it otherwise.
 */
export function fetchTrusting(caBundle: string): typeof fetch {
  type Fetch = (url: string, init?: UndiciRequestInit) => Promise<unknown>;
  let trusting: Promise<Fetch> | undefined;
  const load = async (): Promise<Fetch> => {
    const { Agent, fetch: undiciFetch } = await import('undici');
    const dispatcher = new Agent({ connect: { ca: [...rootCertificates, caBundle] } });
    // Octokit calls fetch with a URL string. undici's own fetch takes the dispatcher; its types are not the
    // global fetch's (another copy of undici), though the calls are the same.
    return (url, init) => undiciFetch(url, { ...init, dispatcher });
  };
  const lazy = async (url: string, init?: UndiciRequestInit) => {
    trusting ??= load();
    return (await trusting)(url, init);
  };
  return lazy as unknown as typeof fetch;
}

/** The PEM bundle at `path` (config `github.caBundleFile`); a {@link ConfigError} if unreadable or not PEM. */
export async function readCaBundle(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError([
      `github.caBundleFile: ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    ]);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError([`github.caBundleFile: ${path} holds no PEM certificate`]);
  }
  return text;
}

/** OpenSSL's codes for a certificate that does not verify, as Node reports them on the socket error. */
const certificateErrorCodes = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The certificate error code somewhere in `error`'s cause chain, if the failure was an untrusted certificate. */
export function certificateErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && certificateErrorCodes.has(code)) return code;
    current = current.cause;
  }
  return undefined;
}
