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
