/**
 * The one classifier of AWS failures (EC2, SSM Parameter Store, DynamoDB): {@link awsFailureKind}. Built on
 * the SDK's own classification (`@smithy/service-error-classification`: throttling codes and HTTP 429,
 * transient codes, 500/502/503/504, Node's socket errors, retryable traits) plus the codes it leaves out.
 * By the time an error gets here the SDK has already retried what it retries, so a throttled or unavailable
 * failure is one that outlasted the client; the state machine's Retry tries the task again later.
 *
 * Each adapter names the outcome for the state machine (functions/errors.ts):
 * - EC2 ({@link toFleetError}): FleetThrottledError, FleetCapacityError, FleetUnavailableError, and
 *   FleetRequestError for everything else, unknown failures included (a launch is only retried when EC2's
 *   answer says it may pass later);
 * - SSM and DynamoDB ({@link toRetryableAwsError}): RunnerConfigsUnavailableError, StateStoreUnavailableError
 *   for all but a refusal, which keeps the SDK's own name (e.g. `AccessDeniedException`) and is not retried.
 *   An unknown failure is retried: the stores are needed by every cycle, and a retry costs seconds.
 */
import { isServerError, isThrottlingError, isTransientError } from '@smithy/service-error-classification';
import {
  FleetCapacityError,
  FleetRequestError,
  FleetThrottledError,
  FleetUnavailableError,
  StepscaleError,
} from '../errors.ts';

/**
 * - `throttled`: the caller sent too much (a request rate or bucket limit); later it will pass.
 * - `unavailable`: the service failed (5xx), timed out or could not be reached; later it may pass.
 * - `refused`: AWS answered that the request itself is wrong or not allowed (a 4xx: validation, permissions,
 *   not found, quotas); asking again will not help.
 * - `unknown`: not an AWS answer, nor a failure known to be transient (e.g. a bug, or a credentials error).
 */
export type AwsFailureKind = 'throttled' | 'unavailable' | 'refused' | 'unknown';

/** Throttling codes the SDK's list leaves out. */
const moreThrottlingCodes = new Set([
  // SSM: concurrent updates of one parameter.
  'TooManyUpdates',
]);

/** Service-failure codes the SDK's list leaves out (it goes by HTTP status for most, and a proxy may send none). */
const moreUnavailableCodes = new Set([
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'Unavailable',
  'InternalError',
  'InternalFailure',
  'InternalServerError',
  // Raised by the SDK itself, not by the service.
  'NetworkingError',
  // Node's socket code for an aborted connection.
  'ECONNABORTED',
]);

type SdkError = Parameters<typeof isThrottlingError>[0];

/** The parts of an SDK v3 ServiceException this module reads (duck-typed so any SDK error fits). */
interface AwsFailure {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly Code?: unknown;
  readonly $fault?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
}

export function awsFailureKind(error: unknown): AwsFailureKind {
  if (typeof error !== 'object' || error === null) return 'unknown';
  const failure = error as AwsFailure;
  const sdkError = error as SdkError;
  const code = awsErrorCode(error);
  if (isThrottlingError(sdkError) || (code !== undefined && moreThrottlingCodes.has(code)))
    return 'throttled';
  if (
    isTransientError(sdkError) ||
    isServerError(sdkError) ||
    (code !== undefined && moreUnavailableCodes.has(code)) ||
    // A server fault without a known code (e.g. a bare 503 from a proxy) is still an outage, not a bug here.
    failure.$fault === 'server'
  ) {
    return 'unavailable';
  }
  const status = failure.$metadata?.httpStatusCode;
  const answered =
    failure.$fault === 'client' || (typeof status === 'number' && status >= 400 && status < 500);
  return answered ? 'refused' : 'unknown';
}

/** The AWS (or Node) error code of a failure, if it has one. */
export function awsErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const failure = error as AwsFailure;
  // SDK v3 puts the service's error code in `name`; Node socket errors carry theirs in `code`.
  for (const candidate of [failure.Code, failure.code, failure.name]) {
    if (typeof candidate === 'string' && candidate !== '' && candidate !== 'Error') return candidate;
  }
  return undefined;
}

/** "doing X failed (Code): message", the message every adapter's named errors carry. */
export function awsFailureMessage(error: unknown, action: string): string {
  const code = awsErrorCode(error);
  const detail = error instanceof Error ? error.message : String(error);
  return `${action} failed${code ? ` (${code})` : ''}: ${detail}`;
}

/**
 * For SSM and DynamoDB: any failure but a refusal as the adapter's retryable error (made by `named`), with the
 * original as its cause; a refusal unchanged, under the SDK's own name (e.g. `AccessDeniedException`), which
 * no Retry matches.
 */
export function toRetryableAwsError(
  error: unknown,
  named: (message: string, options: ErrorOptions) => StepscaleError,
  action: string,
): unknown {
  if (error instanceof StepscaleError || awsFailureKind(error) === 'refused') return error;
  return named(awsFailureMessage(error, action), { cause: error });
}

// -------------------------------------------------------------------------------------------------- EC2

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

/**
 * One of the Fleet errors for a failed EC2 call while doing `action` (a phrase such as "launching
 * instances"). Always a StepscaleError, so the state machine sees a stable name; the original error is kept
 * as `cause`. An error that is already a StepscaleError passes through unchanged. Capacity is asked before
 * unavailability: EC2 answers InsufficientInstanceCapacity with a 500.
 */
export function toFleetError(error: unknown, action = 'calling EC2'): StepscaleError {
  if (error instanceof StepscaleError) return error;
  const code = awsErrorCode(error);
  const message = awsFailureMessage(error, action);
  const options = { cause: error };
  const kind = awsFailureKind(error);
  if (kind === 'throttled') return new FleetThrottledError(message, code, options);
  if (isCapacityErrorCode(code)) return new FleetCapacityError(message, code, options);
  if (kind === 'unavailable') return new FleetUnavailableError(message, code, options);
  return new FleetRequestError(message, code, options);
}
