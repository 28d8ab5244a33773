/**
 * How EC2 failures leave the fleet adapter. The names are a contract with statemachine/*.asl.json, whose
 * Retry and Catch match them: FleetThrottledError and FleetUnavailableError are retried there, the rest
 * are not. The SDK has already retried throttling and 5xx by the time an error gets here, so these are the
 * failures that outlasted the client's own retries.
 */
import { StepscaleError } from '../errors.ts';

/** Common shape: the AWS error code (e.g. `RequestLimitExceeded`) is kept for logs and tests. */
export abstract class FleetError extends StepscaleError {
  constructor(
    message: string,
    /** The AWS error code, or undefined when the failure was not an AWS answer (e.g. a network error). */
    readonly code: string | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** EC2 throttled the call (API request rate or bucket limits). Retried by the state machine with backoff. */
export class FleetThrottledError extends FleetError {}

/** EC2 answered 5xx or could not be reached or timed out. Retried by the state machine. */
export class FleetUnavailableError extends FleetError {}

/**
 * Nothing at all could be launched because EC2 had no capacity (the whole call was refused). A partial
 * launch is never this error: it comes back as a LaunchResult with `missing` and `errors`.
 */
export class FleetCapacityError extends FleetError {}

/** Anything else: a fatal refusal such as an unknown launch template or a missing IAM permission. */
export class FleetRequestError extends FleetError {}

const throttlingCodes = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'SlowDown',
]);

const unavailableCodes = new Set([
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'Unavailable',
  'InternalError',
  'InternalFailure',
  'InternalServerError',
  'RequestTimeout',
  'RequestTimeoutException',
  // Raised by the SDK itself (socket or request timeouts), not by EC2.
  'TimeoutError',
  'NetworkingError',
]);

/** Node's socket-level failure codes: the request may never have reached EC2. */
const networkCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * EC2 codes meaning "no capacity for this request right now", as a thrown error or as an entry in an
 * instant fleet's `Errors`. These are the ones worth trying again on-demand after a spot attempt; quota
 * errors for spot (MaxSpotInstanceCountExceeded) are included because on-demand has a separate quota.
 */
export const capacityErrorCodes: ReadonlySet<string> = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientCapacity',
  'InsufficientHostCapacity',
  'InsufficientReservedInstanceCapacity',
  'UnfulfillableCapacity',
  'MaxSpotInstanceCountExceeded',
  'SpotMaxPriceTooLow',
]);

export function isCapacityErrorCode(code: string | undefined): boolean {
  return code !== undefined && capacityErrorCodes.has(code);
}

/** The parts of an SDK v3 ServiceException this module reads (duck-typed so any SDK error fits). */
interface AwsFailure {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly Code?: unknown;
  readonly message?: unknown;
  readonly $fault?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
}

/** The AWS (or Node) error code of a failure, if it has one. */
export function awsErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const failure = error as AwsFailure;
  // SDK v3 puts the EC2 error code in `name`; Node socket errors carry theirs in `code`.
  for (const candidate of [failure.Code, failure.code, failure.name]) {
    if (typeof candidate === 'string' && candidate !== '' && candidate !== 'Error') return candidate;
  }
  return undefined;
}

/**
 * One of the errors above for a failed EC2 call while doing `action` (a phrase such as "launching
 * instances"). Always returns a StepscaleError so the state machine sees a stable name; the original error
 * is kept as `cause`. An error that is already a StepscaleError passes through unchanged.
 */
export function classifyAwsError(error: unknown, action = 'calling EC2'): StepscaleError {
  if (error instanceof StepscaleError) return error;
  const code = awsErrorCode(error);
  const detail = error instanceof Error ? error.message : String(error);
  const message = `${action} failed${code ? ` (${code})` : ''}: ${detail}`;
  const options = { cause: error };
  if (code && throttlingCodes.has(code)) return new FleetThrottledError(message, code, options);
  if (isCapacityErrorCode(code)) return new FleetCapacityError(message, code, options);
  if (isUnavailable(error, code)) return new FleetUnavailableError(message, code, options);
  return new FleetRequestError(message, code, options);
}

function isUnavailable(error: unknown, code: string | undefined): boolean {
  if (code && (unavailableCodes.has(code) || networkCodes.has(code))) return true;
  if (typeof error !== 'object' || error === null) return false;
  const failure = error as AwsFailure;
  const status = failure.$metadata?.httpStatusCode;
  // A server fault without a known code (e.g. a bare 503 from a proxy) is still an outage, not a bug here.
  return failure.$fault === 'server' || (typeof status === 'number' && status >= 500);
}
