/**
 * Errors the state machine acts on. Their `name`s are a contract: the ASL's Retry and Catch
 * match them exactly (Lambda reports a thrown error's name as the error type), so never rename one
 * without updating statemachine/*.asl.json.
 */
export class StepscaleError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The configuration is invalid; the message lists every problem. Never retried. */
export class ConfigError extends StepscaleError {
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}

/** A task received input it cannot use (wrong shape or too large). Never retried. */
export class InvalidTaskInputError extends StepscaleError {}

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
