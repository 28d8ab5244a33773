/**
 * How GitHub failures leave the adapter: as the named errors of functions/errors.ts (re-exported here), whose
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

export {
  GitHubAuthError,
  GitHubNotFoundError,
  GitHubRateLimitError,
  GitHubRequestError,
  GitHubTlsError,
  GitHubUnavailableError,
  GitHubWriteRefusedError,
} from '../errors.ts';

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
  if (isRateLimit(error)) return new GitHubRateLimitError(message, retryAfterOf(error), options);
  if (error.status === 401 || error.status === 403) return new GitHubAuthError(message, options);
  if (error.status === 404) return new GitHubNotFoundError(message, options);
  if (error.status >= 500) return new GitHubUnavailableError(message, options);
  return new GitHubRequestError(message, error.status, options);
}

/** Seconds GitHub asked to wait: `retry-after`, else until `x-ratelimit-reset` when the quota is spent. */
function retryAfterOf(error: HttpFailure, nowMs = Date.now()): number | undefined {
  const headers = error.response?.headers ?? {};
  const retryAfter = Number(headers['retry-after']);
  if (headers['retry-after'] !== undefined && Number.isFinite(retryAfter)) return Math.max(0, retryAfter);
  const reset = Number(headers['x-ratelimit-reset']);
  if (String(headers['x-ratelimit-remaining']) === '0' && Number.isFinite(reset)) {
    return Math.max(0, Math.ceil(reset - nowMs / 1000));
  }
  return undefined;
}

export function isNotFound(error: unknown): boolean {
  return isHttpFailure(error) && error.status === 404;
}

function isHttpFailure(error: unknown): error is HttpFailure {
  return error instanceof Error && typeof (error as { status?: unknown }).status === 'number';
}

/** GitHub signals rate limits with 429, or with 403 plus an exhausted quota or a rate-limit message. */
function isRateLimit(error: HttpFailure): boolean {
  if (error.status === 429) return true;
  if (error.status !== 403) return false;
  return (
    String(error.response?.headers?.['x-ratelimit-remaining']) === '0' || /rate limit/i.test(error.message)
  );
}
