/**
 * How the GitHub client sends every request: one Octokit request hook that follows GitHub's documented rules
 * ("Best practices for using the REST API", "Rate limits for the REST API"). For each request:
 *
 * - a write from a read-only client (`stepscale plan`) is refused before anything is sent (creating an App's
 *   installation token is not a write);
 * - each attempt: write pacing (writes only), then a concurrency slot, then the request, bounded by
 *   attemptTimeoutMs; a JSON answer whose body does not parse is a failure;
 * - rate limited (rateLimitOf, github-errors.ts): wait `retry-after`, else until `x-ratelimit-reset` + 1 s,
 *   else 60 s; at most rateLimitRetries times, and only when the wait is ≤ maxRetryAfterSeconds (a longer one
 *   is the state machine's to decide);
 * - a 5xx, network failure or timeout (or a 4xx GitHub does not answer with): wait (n + 1)² s before retry
 *   n + 1, at most serverErrorRetries times;
 * - anything else fails as it came.
 *
 * Waits are `retryAfterBaseValue` ms per second, so tests can shrink them. Conditional requests
 * (github-conditional.ts) wrap this hook: a 304 is their answer and never meets the retries.
 */
import type { Octokit } from '@octokit/core';
import pLimit from 'p-limit';
import { GitHubWriteRefusedError } from '../errors.ts';
import type { Log } from '../observability/logger.ts';
import { isAppRoute } from './github-auth.ts';
import {
  GitHubMalformedResponseError,
  httpStatusOf,
  type RateLimitSignal,
  rateLimitOf,
} from './github-errors.ts';

export interface GitHubTransportOptions {
  /** Bound on one attempt (not the whole retried request). */
  readonly attemptTimeoutMs: number;
  /** Retries of a 5xx, network failure or timeout. */
  readonly serverErrorRetries: number;
  /** Retries after a primary or secondary rate limit. */
  readonly rateLimitRetries: number;
  /** A rate limit that lifts later than this is not waited for. */
  readonly maxRetryAfterSeconds: number;
  /** Milliseconds per second of every retry wait. */
  readonly retryAfterBaseValue: number;
  /** Least time between the starts of two writes (POST/PUT/PATCH/DELETE) of this client. */
  readonly minWriteIntervalMs: number;
  /** Requests of this client in flight at once. */
  readonly maxConcurrentRequests: number;
  /** Refuse every write before it is sent. */
  readonly readOnly: boolean;
  /** Rate-limit waits as warnings, each attempt as debug. */
  readonly logger?: Pick<Log, 'debug' | 'warn'> | undefined;
  /** Told of every attempt sent, and whether its answer was a rate limit (the functions' metrics). */
  readonly onAttempt?: (outcome: { readonly rateLimited: boolean }) => void;
  /** How a retry waits (and write pacing); tests record the waits instead. Default: a timer. */
  readonly sleep?: (ms: number) => Promise<void>;
}

type OctokitPlugin = Parameters<typeof Octokit.plugin>[number];

const apiHeaders = { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' };
/** GitHub's advice when a secondary limit names no time: wait at least a minute. */
const unnamedWaitSeconds = 60;
/** 4xx are answers, not outages; rate limits (403/429) are judged apart. */
const answers = new Set([400, 401, 403, 404, 409, 410, 422, 429, 451]);

/** An Octokit plugin: registers the request hook described in the module header. */
export function githubTransport(options: GitHubTransportOptions): OctokitPlugin {
  return (octokit) => {
    const slot = pLimit(options.maxConcurrentRequests);
    const sleep = options.sleep ?? wait;
    const paceWrite = writePacing(options.minWriteIntervalMs, sleep);
    const { logger } = options;

    octokit.hook.wrap('request', async (request, requestOptions) => {
      const { method, url } = requestOptions;
      const path = pathOf(url, requestOptions.baseUrl);
      const write = method !== 'GET' && method !== 'HEAD';
      if (options.readOnly && write && !isTokenCreation(path)) {
        throw new GitHubWriteRefusedError(`Read-only GitHub client refused ${method} ${url}`);
      }
      // Octokit hands every hook the same options object and ignores what a hook passes on: change it in place.
      Object.assign(requestOptions.headers, apiHeaders);
      // The App auth strategy sends its requests (the installation token, the installation lookup) from inside
      // another request's slot: made to queue for a slot of their own, they could wait on themselves. Creating
      // a token is not a write either.
      const byAuthStrategy = isAppRoute(path);
      const shown = logger ? `${method} ${octokit.request.endpoint.parse(requestOptions).url}` : '';

      const attempt = async () => {
        requestOptions.request = {
          ...requestOptions.request,
          signal: AbortSignal.timeout(options.attemptTimeoutMs),
        };
        const startedAt = Date.now();
        try {
          const response = await request(requestOptions);
          options.onAttempt?.({ rateLimited: false });
          failIfMalformedJson(response, method, url);
          logger?.debug(`${shown} - ${response.status} in ${Date.now() - startedAt}ms`);
          return response;
        } catch (error) {
          options.onAttempt?.({ rateLimited: rateLimitOf(error) !== undefined });
          logger?.debug(`${shown} - ${httpStatusOf(error) ?? 'failed'} in ${Date.now() - startedAt}ms`);
          throw error;
        }
      };

      let serverErrorRetries = 0;
      let rateLimitRetries = 0;
      for (;;) {
        try {
          if (write && !byAuthStrategy) await paceWrite();
          // A request that has waited out a rate limit does not queue for a slot again.
          return await (byAuthStrategy || rateLimitRetries > 0 ? attempt() : slot(attempt));
        } catch (error) {
          const rateLimit = rateLimitOf(error);
          if (rateLimit) {
            const waitSeconds = waitFor(rateLimit);
            const willRetry =
              rateLimitRetries < options.rateLimitRetries && waitSeconds <= options.maxRetryAfterSeconds;
            logger?.warn(`GitHub ${rateLimit.limit} rate limit hit`, {
              method,
              url,
              retryAfterSeconds: waitSeconds,
              retryCount: rateLimitRetries,
              willRetry,
            });
            if (!willRetry) throw error;
            rateLimitRetries += 1;
            await sleep(waitSeconds * options.retryAfterBaseValue);
          } else if (isOutage(error) && serverErrorRetries < options.serverErrorRetries) {
            serverErrorRetries += 1;
            await sleep(serverErrorRetries ** 2 * options.retryAfterBaseValue);
          } else {
            throw error;
          }
        }
      }
    });
  };
}

/** Seconds to wait out a rate limit before asking again. */
function waitFor(rateLimit: RateLimitSignal): number {
  if (rateLimit.retryAfterSeconds === undefined) return unnamedWaitSeconds;
  // The quota comes back at the start of the reset second; one more and the retry surely comes after it.
  return rateLimit.retryAfterSeconds + (rateLimit.limit === 'primary' ? 1 : 0);
}

/** A 5xx, or a network failure or timeout (which Octokit reports as 500); not a 4xx GitHub answers with. */
function isOutage(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status !== undefined && status >= 400 && !answers.has(status);
}

/**
 * Every write waits its turn, and its turn starts at least `minIntervalMs` after the previous write's did.
 * GitHub asks for a second between mutations; the stack-wide write budget spaces writes across Lambda
 * containers, this holds one client to it as well.
 */
function writePacing(minIntervalMs: number, sleep: (ms: number) => Promise<void>): () => Promise<void> {
  let turns: Promise<void> = Promise.resolve();
  let nextAt = 0;
  return () => {
    if (minIntervalMs <= 0) return Promise.resolve();
    turns = turns.then(async () => {
      const wait = nextAt - Date.now();
      if (wait > 0) await sleep(wait);
      nextAt = Date.now() + minIntervalMs;
    });
    return turns;
  };
}

/**
 * Octokit hands on the raw text of a JSON answer that does not parse as if it were the data, and the code
 * reading it then fails with a TypeError far from the cause (or, worse, reads nothing from it). Such an answer
 * is a failure, which toGitHubError names GitHubUnavailableError. It is not an HTTP failure, so the client
 * does not retry it: the task fails that repository, as for an outage the client gave up on.
 */
function failIfMalformedJson(
  response: { status: number; data: unknown; headers: Record<string, unknown> },
  method: string,
  url: string,
): void {
  const contentType = String(response.headers['content-type'] ?? '');
  if (response.status !== 204 && typeof response.data === 'string' && /\bjson\b/i.test(contentType)) {
    throw new GitHubMalformedResponseError(
      `GitHub answered ${method} ${url} (HTTP ${response.status}) with malformed JSON`,
    );
  }
}

/** `POST /app/installations/{installation_id}/access_tokens` changes nothing: a read-only client may send it. */
function isTokenCreation(path: string): boolean {
  return /^\/app\/installations\/[^/]+\/access_tokens$/.test(path);
}

/** The path of a request below the API's base URL (a route template, or a whole URL for a later page). */
function pathOf(url: string, baseUrl: string): string {
  const path = url.startsWith(baseUrl) ? url.slice(baseUrl.length) : url;
  return path.split('?')[0] ?? '';
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
