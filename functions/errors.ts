/**
 * Every error the state machine acts on, in one place. Lambda reports a thrown error's `name` as the error
 * type, and the ASL's Retry and Catch match those names exactly (statemachine/*.asl.json): so each class
 * states its name as a string literal. A name taken from the class (`new.target.name`) would follow whatever
 * a bundler calls the class, and a minifier or a name collision renames classes; a literal cannot change.
 * Never rename one without updating the ASL (test/statemachine.test.ts checks every name it matches).
 *
 * Retried by the state machine: GitHubUnavailableError, GitHubRateLimitError (ListRepositories and the
 * collect tasks, once), FleetThrottledError, FleetUnavailableError, StateStoreUnavailableError and
 * RunnerConfigsUnavailableError (the tasks that use each). The rest end the task, or are handled by it.
 */
export abstract class StepscaleError extends Error {
  /** The error type Step Functions sees: a string literal in every subclass. */
  abstract override readonly name: string;
}

// ------------------------------------------------------------------------------------------ input, config

/** The configuration is invalid; the message lists every problem. Never retried. */
export class ConfigError extends StepscaleError {
  override readonly name = 'ConfigError';

  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}

/** A task received input it cannot use (wrong shape or too large). Never retried. */
export class InvalidTaskInputError extends StepscaleError {
  override readonly name = 'InvalidTaskInputError';
}

// ------------------------------------------------------------------------------------------------- GitHub
// How GitHub failures become these: functions/adapters/github-errors.ts.

/** GitHub answered 5xx, or could not be reached or timed out, even after the client's own retries. */
export class GitHubUnavailableError extends StepscaleError {
  override readonly name = 'GitHubUnavailableError';
}

/** A primary or secondary rate limit that did not lift within the client's bounded waits. */
export class GitHubRateLimitError extends StepscaleError {
  override readonly name = 'GitHubRateLimitError';

  constructor(
    message: string,
    /** How long GitHub asked to wait (`retry-after`, or until `x-ratelimit-reset`), when it said. */
    readonly retryAfterSeconds?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The token was rejected (401) or lacks a permission (403 that is not a rate limit). */
export class GitHubAuthError extends StepscaleError {
  override readonly name = 'GitHubAuthError';
}

export class GitHubNotFoundError extends StepscaleError {
  override readonly name = 'GitHubNotFoundError';
}

/** Any other refusal, e.g. 422 when deleting a runner that is running a job. */
export class GitHubRequestError extends StepscaleError {
  override readonly name = 'GitHubRequestError';

  constructor(
    message: string,
    readonly status: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * GitHub's TLS certificate did not verify (typically a GHES with a private CA): a setup problem, not an outage,
 * so the state machine does not retry it. The fix is `github.caBundleFile` (or `NODE_EXTRA_CA_CERTS`).
 */
export class GitHubTlsError extends StepscaleError {
  override readonly name = 'GitHubTlsError';
}

/** A read-only client (`stepscale plan`) was asked to send a write; nothing was sent. */
export class GitHubWriteRefusedError extends StepscaleError {
  override readonly name = 'GitHubWriteRefusedError';
}

// ---------------------------------------------------------------------------------------------------- EC2
// How EC2 failures become these: functions/adapters/aws-errors.ts. The SDK has already retried throttling and
// 5xx by then, so these are the failures that outlasted the client's own retries.

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
export class FleetThrottledError extends FleetError {
  override readonly name = 'FleetThrottledError';
}

/** EC2 answered 5xx or could not be reached or timed out. Retried by the state machine. */
export class FleetUnavailableError extends FleetError {
  override readonly name = 'FleetUnavailableError';
}

/**
 * Nothing at all could be launched because EC2 had no capacity (the whole call was refused). A partial
 * launch is never this error: it comes back as a LaunchResult with `missing` and `errors`.
 */
export class FleetCapacityError extends FleetError {
  override readonly name = 'FleetCapacityError';
}

/** Anything else: a fatal refusal such as an unknown launch template or a missing IAM permission. */
export class FleetRequestError extends FleetError {
  override readonly name = 'FleetRequestError';
}

// ------------------------------------------------------------------------------- DynamoDB, SSM Parameter Store

/**
 * The state table (DynamoDB) throttled, failed with 5xx, could not be reached, or left work unprocessed after
 * every attempt. Retried by the state machine.
 */
export class StateStoreUnavailableError extends StepscaleError {
  override readonly name = 'StateStoreUnavailableError';
}

/**
 * SSM Parameter Store, where runner configs live, throttled (40 TPS per account and region by default), failed
 * with 5xx or could not be reached. Retried by the state machine.
 */
export class RunnerConfigsUnavailableError extends StepscaleError {
  override readonly name = 'RunnerConfigsUnavailableError';
}

// ------------------------------------------------------------------------------------- runner scale sets
// The Actions service behind GitHub's runner scale sets (functions/adapters/scaleset-client.ts). Each class
// states its name as a literal: the listener's ASL (statemachine/listener.asl.json) matches them.

/** The Actions service answered 5xx or something that is not its JSON (an HTML error page), or was unreachable. */
export class ScaleSetUnavailableError extends StepscaleError {
  override readonly name = 'ScaleSetUnavailableError';
}

/**
 * This GitHub deployment has no runner scale sets: `POST {api}/actions/runner-registration` answered 404
 * (GitHub Enterprise Server before 3.9).
 */
export class ScaleSetsUnsupportedError extends StepscaleError {
  override readonly name = 'ScaleSetsUnsupportedError';
}

/** The credentials were refused (401/403) by GitHub or the Actions service. Not retried. */
export class ScaleSetAuthError extends StepscaleError {
  override readonly name = 'ScaleSetAuthError';
}

/** The scale set (or its runner group) does not exist: deleted on GitHub, or never created. */
export class ScaleSetNotFoundError extends StepscaleError {
  override readonly name = 'ScaleSetNotFoundError';
}

/** Another message session of the scale set is open (409): another listener, or one that died holding it. */
export class ScaleSetSessionConflictError extends StepscaleError {
  override readonly name = 'ScaleSetSessionConflictError';
}

/** The message session is gone (evicted by the service, or its scale set deleted): open a new one. */
export class ScaleSetSessionGoneError extends StepscaleError {
  override readonly name = 'ScaleSetSessionGoneError';
}

/** A runner of that name is registered already (409 AgentExistsException). */
export class ScaleSetRunnerExistsError extends StepscaleError {
  override readonly name = 'ScaleSetRunnerExistsError';
}

/** The runner runs a job and cannot be removed (JobStillRunningException). */
export class ScaleSetRunnerBusyError extends StepscaleError {
  override readonly name = 'ScaleSetRunnerBusyError';
}

/** Any other refusal by the Actions service (a 4xx), with its status and exception name when it gave one. */
export class ScaleSetRequestError extends StepscaleError {
  override readonly name = 'ScaleSetRequestError';

  constructor(
    message: string,
    readonly status: number,
    readonly exception?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A read-only client (`stepscale plan`) was asked to change a scale set, session or runner; nothing was sent. */
export class ScaleSetWriteRefusedError extends StepscaleError {
  override readonly name = 'ScaleSetWriteRefusedError';
}
