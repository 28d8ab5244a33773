/**
 * How GitHub failures leave the adapter: as the named errors of functions/errors.ts, whose
 * names the state machine's Retry and Catch match. GitHubUnavailableError and GitHubRateLimitError are retried
 * there, the rest are not.
 */
import {
  GitHubAuthError,
  GitHubNotFoundError,
  GitHubRateLimitError,
  GitHubRequestError,
  GitHubTlsError,
  GitHubUnavailableError,
} from '../errors.ts';
import { certificateErrorCode } from './github-tls.ts';

/**
 * GitHub (or a proxy in front of it) answered a JSON media type with a body that does not parse, e.g. a
 * truncated page. Raised inside the client (Octokit would hand the raw text on as if it were the data); it
 * leaves the adapter as {@link GitHubUnavailableError}, so the state machine retries it like a 5xx.
 */
export class GitHubMalformedResponseError extends Error {
  override name = 'GitHubMalformedResponseError';
}

/** The parts of an Octokit RequestError this module reads (duck-typed: the class is a transitive dependency). */
interface HttpFailure extends Error {
  readonly status: number;
  readonly response?: { readonly headers?: Readonly<Record<string, string | number | undefined>> };
}

/**
 * One of the errors above for an HTTP failure while doing `action` (a phrase such as "listing runners").
 * Network failures and timeouts reach here as Octokit's status 500. Anything else is a bug, not a GitHub
 * condition, and is returned unchanged so it is not mistaken for a retryable outage.
 */
export function toGitHubError(error: unknown, action: string): unknown {
  const certificateError = certificateErrorCode(error);
  if (certificateError) {
    return new GitHubTlsError(
      `${action} failed: GitHub's TLS certificate is not trusted (${certificateError}). If GitHub Enterprise Server uses a private CA, set github.caBundleFile to its PEM bundle (or NODE_EXTRA_CA_CERTS).`,
      { cause: error },
    );
  }
  if (error instanceof GitHubMalformedResponseError) {
    return new GitHubUnavailableError(`${action} failed: ${error.message}`, { cause: error });
  }
  if (!isHttpFailure(error)) return error;
  const message = `${action} failed (HTTP ${error.status}): ${error.message}`;
  const options = { cause: error };
  const rateLimit = rateLimitOf(error);
  if (rateLimit) return new GitHubRateLimitError(message, rateLimit.retryAfterSeconds, options);
  if (error.status === 401 || error.status === 403) return new GitHubAuthError(message, options);
  if (error.status === 404) return new GitHubNotFoundError(message, options);
  if (error.status >= 500) return new GitHubUnavailableError(message, options);
  return new GitHubRequestError(message, error.status, options);
}

/** A rate limit as GitHub signalled it. */
export interface RateLimitSignal {
  /** `primary` when the quota is spent (`x-ratelimit-remaining: 0`), else `secondary`. */
  readonly limit: 'primary' | 'secondary';
  /** Seconds GitHub asked to wait: `retry-after`, else until `x-ratelimit-reset` when the quota is spent. */
  readonly retryAfterSeconds: number | undefined;
}

/**
 * Whether a failed request was rate-limited, by GitHub's documented signs: a 403 or 429 with `retry-after`,
 * or with `x-ratelimit-remaining: 0`, or any 429, or a 403 whose message says "rate limit" (a secondary limit
 * without `retry-after`). The one place that decides it: the client's retries (github-transport.ts) and the
 * errors the adapter throws ({@link toGitHubError}) both ask here.
 */
export function rateLimitOf(error: unknown, nowMs = Date.now()): RateLimitSignal | undefined {
  if (!isHttpFailure(error) || (error.status !== 403 && error.status !== 429)) return undefined;
  const headers = error.response?.headers ?? {};
  const quotaSpent = String(headers['x-ratelimit-remaining']) === '0';
  const signalled =
    headers['retry-after'] !== undefined ||
    quotaSpent ||
    error.status === 429 ||
    /rate limit/i.test(error.message);
  if (!signalled) return undefined;
  const reset = Number(headers['x-ratelimit-reset']);
  const untilReset =
    quotaSpent && Number.isFinite(reset) ? Math.max(0, Math.ceil(reset - nowMs / 1000)) : undefined;
  return {
    limit: quotaSpent ? 'primary' : 'secondary',
    retryAfterSeconds: secondsOf(headers['retry-after']) ?? untilReset,
  };
}

export function isNotFound(error: unknown): boolean {
  return httpStatusOf(error) === 404;
}

/** The HTTP status of a failed request (Octokit's RequestError; 500 for network failures and timeouts). */
export function httpStatusOf(error: unknown): number | undefined {
  return isHttpFailure(error) ? error.status : undefined;
}

function isHttpFailure(error: unknown): error is HttpFailure {
  return error instanceof Error && typeof (error as { status?: unknown }).status === 'number';
}

function secondsOf(header: string | number | undefined): number | undefined {
  const seconds = Number(header);
  return header === undefined || !Number.isFinite(seconds) ? undefined : Math.max(0, seconds);
}
