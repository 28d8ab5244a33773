/**
 * Starts a scaling cycle now (an execution of the scaling state machine), as the webhook receiver does when a
 * delivery tells it a job was queued. The name makes a start idempotent where the engine allows: a second
 * start under a name already used resolves `exists` instead of starting a second cycle.
 */
export interface CycleStarter {
  start(request: CycleStartRequest): Promise<'started' | 'exists'>;
}

export interface CycleStartRequest {
  /** The execution's name: 1–80 characters of letters, digits, `-` and `_`. */
  readonly name: string;
  readonly input: {
    readonly cycleId: string;
    readonly targets: {
      readonly repositories: readonly string[];
      /**
       * Pools whose runner scale set's statistics changed (a cycle the scale set listener starts): such a cycle
       * polls nothing and acts on those statistics.
       */
      readonly scaleSets?: readonly string[];
    };
  };
}
