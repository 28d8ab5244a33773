/**
 * Trusting a GitHub Enterprise Server whose TLS certificate is signed by a private CA (or self-signed), with
 * certificate checking never switched off. On Node 22.19+ and 24.5+ (what Lambda runs) the bundle joins the
 * process's default CAs (`tls.setDefaultCACertificates`), which the built-in fetch uses: every TLS client of the
 * process then trusts it as well as the public roots, as with Node's own `NODE_EXTRA_CA_CERTS`. Older Node (the
 * CLI on Node 20) gets a fetch of its own from undici that trusts it for GitHub's connections only. The Lambda
 * bundles leave undici out (template.yaml: External), so they do not carry 400 KiB they never load.
 */
import * as tls from 'node:tls';
import type { RequestInit as UndiciRequestInit } from 'undici';
import { readConfiguredFile } from '../config/configured-file.ts';
import { ConfigError } from '../errors.ts';

type DefaultCaApi = {
  setDefaultCACertificates?: (certs: string[]) => void;
  getCACertificates?: (type?: 'default') => string[];
};

/** Adds `caBundle` to the process's default CAs where Node can (true), once per bundle. */
const trusted = new Set<string>();
export function trustProcessWide(caBundle: string, api: DefaultCaApi = tls as DefaultCaApi): boolean {
  const { setDefaultCACertificates, getCACertificates } = api;
  if (!setDefaultCACertificates || !getCACertificates) return false;
  if (!trusted.has(caBundle)) {
    setDefaultCACertificates([...getCACertificates('default'), caBundle]);
    trusted.add(caBundle);
  }
  return true;
}

/**
 * A `fetch` whose TLS connections accept certificates issued by Node's default roots or by `caBundle` (PEM):
 * the built-in fetch where the bundle could join the default CAs, else undici's, loaded on the first request.
 */
export function fetchTrusting(caBundle: string): typeof fetch {
  if (trustProcessWide(caBundle)) return (input, init) => fetch(input, init);
  type Fetch = (url: string, init?: UndiciRequestInit) => Promise<unknown>;
  let trusting: Promise<Fetch> | undefined;
  const load = async (): Promise<Fetch> => {
    const undici = await import('undici').catch((error: unknown) => {
      throw new ConfigError([
        `github.caBundleFile needs Node.js 22.19+ (or undici installed): ${(error as Error).message}`,
      ]);
    });
    const dispatcher = new undici.Agent({ connect: { ca: [...tls.rootCertificates, caBundle] } });
    const undiciFetch = undici.fetch;
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

/** Bundles read so far, by path: a function wiring both GitHub ports reads its file once at a cold start. */
const bundlesRead = new Map<string, Promise<string>>();

/**
 * The configured CA bundle (`github.caBundleFile`), read once per process (a failed read is tried again);
 * undefined when none is configured.
 */
export async function configuredCaBundle(github: {
  readonly caBundleFile?: string;
}): Promise<string | undefined> {
  const path = github.caBundleFile;
  if (!path) return undefined;
  let reading = bundlesRead.get(path);
  if (!reading) {
    reading = readCaBundle(path);
    bundlesRead.set(path, reading);
    reading.catch(() => bundlesRead.delete(path));
  }
  return reading;
}

/** The PEM bundle at `path` (config `github.caBundleFile`); a {@link ConfigError} if unreadable or not PEM. */
export async function readCaBundle(path: string): Promise<string> {
  const text = await readConfiguredFile(path, `github.caBundleFile: ${path}`);
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
