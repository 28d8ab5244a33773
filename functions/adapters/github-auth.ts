/**
 * How the GitHub client authenticates: a token (PAT), or a GitHub App.
 *
 * An App signs a short JWT with its private key and trades it for an installation token
 * (`POST /app/installations/{installation_id}/access_tokens`, valid one hour). `@octokit/auth-app` does the
 * trading: it keeps the installation token in an in-memory LRU for 59 minutes (1 minute short of GitHub's
 * expiry) and shares one pending creation between concurrent requests, so one client asks for one token an
 * hour. Without a configured installation id, the installation is looked up once per client by organization
 * (`GET /orgs/{org}/installation`, with the JWT).
 *
 * Where the secret comes from:
 * - `stepscale plan` / local: `GITHUB_TOKEN` (pat), or `GITHUB_APP_PRIVATE_KEY` (the PEM text, `\n` escapes
 *   allowed) or `GITHUB_APP_PRIVATE_KEY_FILE` (a path to the .pem GitHub hands out) (app);
 * - Lambda: the Secrets Manager secret `GITHUB_TOKEN_SECRET_ARN` holds the token, or, with app auth, the
 *   private key as PEM text or as `{"privateKey":"-----BEGIN …"}` (see functions/lambda/wiring/github.ts).
 * No error message ever contains a secret.
 */
import { createPrivateKey } from 'node:crypto';
import { createAppAuth } from '@octokit/auth-app';
import type { GitHubAuthConfig } from '../config/config.ts';
import { readGitHubToken } from '../config/config.ts';
import { readConfiguredFile } from '../config/configured-file.ts';
import { secretValue } from '../config/secret-value.ts';
import { ConfigError } from '../errors.ts';
import { onceUntilFailure } from '../once-until-failure.ts';

/** The credentials one GitHub client uses. */
export type GitHubAuth =
  | { readonly type: 'token'; readonly token: string }
  | {
      readonly type: 'app';
      readonly appId: number;
      /** PEM (PKCS#1 as GitHub issues it, or PKCS#8). */
      readonly privateKey: string;
      /** Looked up by organization when absent. */
      readonly installationId?: number;
    };

/** The `authStrategy`/`auth` pair of Octokit's constructor options for `auth`. */
export interface OctokitAuthOptions {
  readonly authStrategy?: typeof createAppAuth | typeof createOrgInstallationAuth;
  readonly auth: unknown;
}

export function octokitAuthOptions(auth: GitHubAuth, org: string): OctokitAuthOptions {
  if (auth.type === 'token') return { auth: auth.token };
  const { appId, privateKey, installationId } = auth;
  if (installationId !== undefined) {
    return { authStrategy: createAppAuth, auth: { appId, privateKey, installationId } };
  }
  return { authStrategy: createOrgInstallationAuth, auth: { appId, privateKey, org } };
}

/**
 * Whether a request is one GitHub wants the App's JWT for, rather than an installation token: what the App
 * auth strategy sends itself (the installation token, the installation lookup). `url` is the path below the
 * API's base URL.
 */
export function isAppRoute(url: string): boolean {
  const path = url.split('?')[0] ?? '';
  return /^\/app(?:\/|$)/i.test(path) || /^\/orgs\/[^/]+\/installation$/i.test(path);
}

type AppAuth = ReturnType<typeof createAppAuth>;
/** What Octokit hands an auth strategy's hook: the request function, the route and its parameters. */
type HookArguments = Parameters<AppAuth['hook']>;
type HookRequest = HookArguments[0];

/**
 * An Octokit auth strategy for an App whose installation id is not configured: app routes are signed with
 * the JWT, and the first other request looks the organization's installation up, once per client (a failed
 * lookup is retried by the next request), then authenticates as that installation.
 */
function createOrgInstallationAuth(options: Record<string, unknown> & { org: string }) {
  const { org, ...strategyOptions } = options;
  const appAuth = createAppAuth(strategyOptions as Parameters<typeof createAppAuth>[0]);
  const forInstallation = onceUntilFailure(
    async (request: HookRequest, baseUrl: string): Promise<AppAuth> => {
      // `request` itself goes straight to fetch; its defaults() goes through the client's hooks again (as
      // auth-app does for token creation), so the lookup is signed with the JWT here (an app route), carries
      // the API headers and is retried like any request.
      const { data } = await request.defaults({ baseUrl })('GET /orgs/{org}/installation', { org });
      return createAppAuth({
        ...(strategyOptions as Parameters<typeof createAppAuth>[0]),
        installationId: data.id,
      });
    },
  );

  async function hook(...[request, route, parameters]: HookArguments) {
    const { url = '', baseUrl } =
      typeof route === 'string' ? request.endpoint.merge(route, parameters) : request.endpoint.merge(route);
    const path = url.replace(request.endpoint.DEFAULTS.baseUrl, '');
    const auth = isAppRoute(path) ? appAuth : await forInstallation(request, baseUrl);
    return auth.hook(request, route, parameters);
  }

  return Object.assign((authOptions: Parameters<AppAuth>[0]) => appAuth(authOptions), { hook });
}

// ---------------------------------------------------------------------------------------------------------
// Where the secret comes from

/** The client credentials of the configured kind, given the secret (token or private key) read elsewhere. */
export function githubAuthFor(config: GitHubAuthConfig, secret: string): GitHubAuth {
  if (config.type === 'pat') return { type: 'token', token: secret };
  return {
    type: 'app',
    appId: config.appId,
    privateKey: secret,
    ...(config.installationId === undefined ? {} : { installationId: config.installationId }),
  };
}

/**
 * Local credentials (`stepscale plan`): `GITHUB_TOKEN` for pat; for app, `GITHUB_APP_PRIVATE_KEY` or
 * `GITHUB_APP_PRIVATE_KEY_FILE`, exactly one.
 */
export async function readLocalGitHubAuth(
  config: GitHubAuthConfig,
  env: NodeJS.ProcessEnv,
): Promise<GitHubAuth> {
  if (config.type === 'pat') return githubAuthFor(config, readGitHubToken(env));
  const inline = env.GITHUB_APP_PRIVATE_KEY?.trim();
  const file = env.GITHUB_APP_PRIVATE_KEY_FILE?.trim();
  if (inline && file) {
    throw new ConfigError([
      'GITHUB_APP_PRIVATE_KEY and GITHUB_APP_PRIVATE_KEY_FILE: set exactly one, not both',
    ]);
  }
  if (inline) return githubAuthFor(config, checkedPrivateKey(inline, 'GITHUB_APP_PRIVATE_KEY'));
  if (!file) {
    throw new ConfigError([
      'GITHUB_APP_PRIVATE_KEY_FILE: is not set (the GitHub App private key .pem; or set GITHUB_APP_PRIVATE_KEY to its text)',
    ]);
  }
  const text = await readConfiguredFile(file, `GITHUB_APP_PRIVATE_KEY_FILE: ${file}`);
  return githubAuthFor(config, checkedPrivateKey(text, `GITHUB_APP_PRIVATE_KEY_FILE (${file})`));
}

/**
 * The App private key inside a Secrets Manager secret: PEM text, or JSON `{"privateKey":"-----BEGIN …"}`.
 */
export function privateKeyFromSecret(secret: unknown, secretName: string): string {
  return checkedPrivateKey(secretValue(secret, secretName, 'privateKey'), secretName);
}

/**
 * A PEM private key, with `\n` escapes (as .env files and JSON-in-shell often carry them) turned into line
 * breaks; refused with a message naming only where it came from when it does not parse as a private key.
 */
export function checkedPrivateKey(text: string, source: string): string {
  let pem = text.trim();
  if (!pem.includes('\n') && pem.includes('\\n')) pem = pem.replaceAll('\\n', '\n');
  if (!/^-----BEGIN (?:RSA )?PRIVATE KEY-----/.test(pem)) {
    throw new ConfigError([
      `${source}: is not a PEM private key (expected "-----BEGIN RSA PRIVATE KEY-----")`,
    ]);
  }
  try {
    createPrivateKey(pem);
  } catch {
    throw new ConfigError([`${source}: the PEM private key does not parse`]);
  }
  return `${pem}\n`;
}
