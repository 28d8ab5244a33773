/**
 * The GitHub port inside Lambda: the token, or with `github.auth.type` "app" the App's private key, from the
 * Secrets Manager secret `GITHUB_TOKEN_SECRET_ARN`, read lazily on the first GitHub call (tasks that never
 * call GitHub never read it, and need no permission to) and cached for {@link tokenMaxAgeSeconds}; a rotated
 * secret is picked up without a cold start. It is never logged. With a state table, polled listings are
 * answered conditionally (a 304 does not count against the rate limit); `github.caBundleFile`, when set, is
 * read from the function's file system (ship it in a layer, e.g. /opt/…).
 */
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { githubAuthFor, privateKeyFromSecret } from '../../adapters/github-auth.ts';
import { createGitHubAdapter } from '../../adapters/github-octokit.ts';
import { configuredCaBundle } from '../../adapters/github-tls.ts';
import { type GitHubAuthConfig, writeIntervalMs } from '../../config/config.ts';
import { secretValue } from '../../config/secret-value.ts';
import { countGitHubAttempts } from '../../observability/metrics.ts';
import type { GitHubPort } from '../../ports/github.ts';
import type { WiringContext } from './context.ts';
import { stateTableStore } from './state-table.ts';

/** How long a read token is reused before Secrets Manager is asked again. */
export const tokenMaxAgeSeconds = 300;

/**
 * The token inside a secret: either the whole secret string or its `token` field (`{"token":"…"}`).
 * Error messages name the secret's shape, never its content.
 */
export function tokenFromSecret(secret: unknown, secretName: string): string {
  return secretValue(secret, secretName, 'token');
}

/**
 * What the secret holds for the configured auth: the token (pat), or the App's private key (app) as PEM text
 * or `{"privateKey":"-----BEGIN …"}`. Either way one secret, `GITHUB_TOKEN_SECRET_ARN`.
 */
export function credentialFromSecret(secret: unknown, auth: GitHubAuthConfig, secretName: string): string {
  return auth.type === 'app' ? privateKeyFromSecret(secret, secretName) : tokenFromSecret(secret, secretName);
}

/** The stack's GitHub credential from `GITHUB_TOKEN_SECRET_ARN`, through the cache of {@link tokenMaxAgeSeconds}. */
export async function readCredential({
  env,
  config,
}: {
  readonly env: Pick<WiringContext['env'], 'GITHUB_TOKEN_SECRET_ARN'>;
  readonly config: WiringContext['config'];
}): Promise<string> {
  return credentialFromSecret(
    await getSecret(env.GITHUB_TOKEN_SECRET_ARN, { maxAge: tokenMaxAgeSeconds }),
    config.github.auth,
    'GITHUB_TOKEN_SECRET_ARN',
  );
}

/**
 * What `create` builds from the credential `read` gives, built again only when the credential changed: a
 * rotated secret takes effect within the cache's max age, and an unchanged one keeps the client it built.
 */
export function rebuiltOnChange<T>(read: () => Promise<string>, create: (credential: string) => T) {
  let current: { credential: string; built: T } | undefined;
  return async (): Promise<T> => {
    const credential = await read();
    if (current?.credential !== credential) current = { credential, built: create(credential) };
    return current.built;
  };
}

/**
 * A GitHubPort that reads the token on each call (from a cache) and rebuilds the client only when the token
 * changed, so a rotated secret takes effect within the cache's max age.
 */
export function tokenRefreshingGitHub(
  readToken: () => Promise<string>,
  create: (token: string) => GitHubPort,
): GitHubPort {
  const port = rebuiltOnChange(readToken, create);
  return {
    listRepositories: async () => (await port()).listRepositories(),
    listQueuedJobs: async (repository, observe) => (await port()).listQueuedJobs(repository, observe),
    prefetchRepositories: async (repositories) => (await port()).prefetchRepositories?.(repositories),
    listRunners: async () => (await port()).listRunners(),
    getRunner: async (runnerId) => (await port()).getRunner(runnerId),
    deleteRunner: async (runnerId) => (await port()).deleteRunner(runnerId),
    createJitRunner: async (request) => (await port()).createJitRunner(request),
    rateLimit: async () => (await port()).rateLimit(),
  };
}

/** The production GitHub port for a function (see the module comment). */
export async function lambdaGitHub({ env, config, logger, metrics }: WiringContext): Promise<GitHubPort> {
  const stateStore = env.STEPSCALE_STATE_TABLE ? stateTableStore(env.STEPSCALE_STATE_TABLE) : undefined;
  const caBundle = await configuredCaBundle(config.github);
  return tokenRefreshingGitHub(
    () => readCredential({ env, config }),
    (secret) =>
      createGitHubAdapter({
        apiUrl: config.github.apiUrl,
        org: config.github.org,
        auth: githubAuthFor(config.github.auth, secret),
        repositories: config.github.repositories,
        ...(caBundle ? { caBundle } : {}),
        ...(stateStore ? { stateStore } : {}),
        // One Lambda sends at most this many requests at once, so MapConcurrency × this stays within GitHub's
        // 100 concurrent requests (defaults: 6 × 16 = 96).
        maxConcurrentRequests: config.collection.concurrency,
        // The stack-wide pacing (writeBudget) spaces writes across containers; this holds one client to it too.
        minWriteIntervalMs: writeIntervalMs(config),
        logger,
        onAttempt: countGitHubAttempts(metrics),
      }),
  );
}
