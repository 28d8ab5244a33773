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
import { Octokit } from '@octokit/core';
import type { Log } from '../observability/logger.ts';
import { type GitHubAuth, octokitAuthOptions } from './github-auth.ts';
import { toGitHubError } from './github-errors.ts';
import { fetchTrusting } from './github-tls.ts';
import { githubTransport } from './github-transport.ts';
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
}

export function createRegistrationTokenSource(
  options: RegistrationTokenOptions,
): () => Promise<RegistrationToken> {
  const TransportOctokit = Octokit.plugin(
    githubTransport({
      attemptTimeoutMs: options.timeoutMs ?? 10_000,
      serverErrorRetries: 2,
      rateLimitRetries: 2,
      maxRetryAfterSeconds: 20,
      retryAfterBaseValue: options.retryAfterBaseValue ?? 1000,
      // One request an hour: nothing to pace.
      minWriteIntervalMs: 0,
      maxConcurrentRequests: 1,
      readOnly: false,
      logger: options.logger,
    }),
  );
  const octokit = new TransportOctokit({
    baseUrl: options.apiUrl.replace(/\/+$/, ''),
    ...octokitAuthOptions(options.auth, options.org),
    userAgent: 'stepscale',
    request: { fetch: options.fetch ?? (options.caBundle ? fetchTrusting(options.caBundle) : undefined) },
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
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
