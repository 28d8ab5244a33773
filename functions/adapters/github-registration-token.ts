/**
 * The one REST call the scale set protocol starts with: a runner registration token for the organization
 * (`POST /orgs/{org}/actions/runners/registration-token`, valid an hour), asked with the stack's own GitHub
 * credentials — a PAT (scope admin:org) or the App's installation token (permission "Self-hosted runners:
 * read & write"), exactly as the REST adapter authenticates (github-auth.ts). The Actions-service client
 * (scaleset-client.ts) trades it for an admin token whenever that one is about to expire, so this is one
 * request an hour while nothing else changes. It is sent like every REST request (github-transport.ts:
 * rate limits waited out, 5xx retried). Creating a registration token changes nothing on GitHub, so this
 * client is never read-only: `stepscale plan` asks for one to find out whether scale sets are served.
 */
import type { Log } from '../observability/logger.ts';
import type { GitHubAuth } from './github-auth.ts';
import { toGitHubError } from './github-errors.ts';
import { createOctokit, type GitHubClientOptions } from './github-octokit.ts';
import type { RegistrationToken } from './scaleset-client.ts';

export interface RegistrationTokenOptions {
  readonly apiUrl: string;
  readonly org: string;
  readonly auth: GitHubAuth;
  readonly caBundle?: string;
  readonly fetch?: typeof fetch;
  readonly logger?: Pick<Log, 'debug' | 'warn'>;
  /** Bound on one attempt. Default 10,000 ms. */
  readonly timeoutMs?: number;
  /** Milliseconds per second of the transport's retry waits (tests shrink it). Default 1000. */
  readonly retryAfterBaseValue?: number;
  readonly onAttempt?: GitHubClientOptions['onAttempt'];
}

export function createRegistrationTokenSource(
  options: RegistrationTokenOptions,
): () => Promise<RegistrationToken> {
  // The REST adapter's client (transport, auth, CA bundle), sized for one request an hour: nothing to pace.
  const octokit = createOctokit({
    apiUrl: options.apiUrl,
    org: options.org,
    auth: options.auth,
    ...(options.caBundle ? { caBundle: options.caBundle } : {}),
    ...(options.fetch ? { request: { fetch: options.fetch } } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.onAttempt ? { onAttempt: options.onAttempt } : {}),
    attemptTimeoutMs: options.timeoutMs ?? 10_000,
    retry: { retryAfterBaseValue: options.retryAfterBaseValue ?? 1000 },
    minWriteIntervalMs: 0,
    maxConcurrentRequests: 1,
  });
  return async () => {
    try {
      const { data } = await octokit.request('POST /orgs/{org}/actions/runners/registration-token', {
        org: options.org,
      });
      options.logger?.debug('Runner registration token issued', { expiresAt: data.expires_at });
      return { token: data.token, expiresAt: data.expires_at };
    } catch (error) {
      throw toGitHubError(error, 'creating a runner registration token');
    }
  };
}
