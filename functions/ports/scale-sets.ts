/**
 * GitHub's runner scale sets, as the scaler uses them: the Actions service behind `actions/scaleset` (the
 * protocol ARC's listener speaks), defined by what the listener, the cycle's tasks and the CLI need of it.
 * The production adapter talks HTTP (functions/adapters/scaleset-client.ts); the simulator answers from the
 * simulated world. One contract suite holds both to the same behaviour (test/scaleset-contract.ts).
 *
 * The Actions service is not GitHub's REST API: it is reached with an admin token that a registration token
 * buys (`POST {api}/actions/runner-registration`), its calls carry `api-version=6.0-preview`, and a runner
 * scale set's demand arrives on a message queue that is long-polled through a session.
 */

/** One runner scale set: a named group of runners that GitHub assigns the matching jobs to, and only to them. */
export interface ScaleSet {
  readonly id: number;
  readonly name: string;
  readonly runnerGroupId: number;
  /** Its labels as the service keeps them (without the multi-label feature: the name alone). */
  readonly labels: readonly string[];
  /** Its statistics, when the service sent them with it. */
  readonly statistics?: ScaleSetStatistics;
}

/** What a scale set is asked to be. */
export interface ScaleSetSpec {
  readonly name: string;
  /** Labels beyond the name; the name is always a label of its scale set. */
  readonly labels: readonly string[];
  /** Runner group name; `Default` is GitHub's default group. */
  readonly runnerGroup: string;
}

/** The statistics that come with every message and session: the scale set's current state, not a delta. */
export interface ScaleSetStatistics {
  readonly availableJobs: number;
  readonly acquiredJobs: number;
  /** Jobs assigned to the scale set, waiting for a runner or running: what to scale on. */
  readonly assignedJobs: number;
  readonly runningJobs: number;
  readonly registeredRunners: number;
  readonly busyRunners: number;
  readonly idleRunners: number;
}

export type JobMessageType = 'JobAvailable' | 'JobAssigned' | 'JobStarted' | 'JobCompleted';

/** One job event inside a message (the fields the scaler reads). */
export interface JobMessage {
  readonly type: JobMessageType;
  readonly runnerRequestId: number;
  readonly jobId: string;
  readonly repository: string;
  readonly labels: readonly string[];
  /** JobStarted and JobCompleted: the runner that took the job. */
  readonly runnerId?: number;
  readonly runnerName?: string;
  /** JobCompleted: `succeeded`, `failed`, `canceled`, … */
  readonly result?: string;
}

/** One message of the queue: a batch of job events (at most 50) and the statistics at the time it was read. */
export interface ScaleSetMessage {
  readonly messageId: number;
  /** Undefined when the message carried none or they did not parse. */
  readonly statistics: ScaleSetStatistics | undefined;
  readonly jobs: readonly JobMessage[];
  /**
   * What could not be read in it (an unknown message type, a body that is not JSON, a job event of the wrong
   * shape): such parts can never parse, so they are skipped, and the message is still acknowledged.
   */
  readonly problems: readonly string[];
}

/**
 * A message session: the one listener of a scale set. The queue URL and its access token stay inside the
 * adapter (they are credentials); the listener holds this handle.
 */
export interface ScaleSetSession {
  readonly sessionId: string;
  readonly scaleSetId: number;
  /** The statistics the session started with. */
  readonly statistics: ScaleSetStatistics | undefined;
  /** When the message queue's access token expires (ISO), when the adapter can tell. */
  readonly tokenExpiresAt?: string;
}

/** A runner registered through a scale set. */
export interface ScaleSetRunner {
  readonly id: number;
  readonly name: string;
  readonly scaleSetId: number;
}

export interface ScaleSetJitConfig {
  readonly runner: ScaleSetRunner;
  /** Secret: never logged, never put in a state payload. */
  readonly encodedJitConfig: string;
}

export interface ScaleSetPort {
  /**
   * Whether this GitHub deployment serves scale sets: it trades a registration token for an Actions-service
   * admin token. Resolves false when GitHub answers 404 (GitHub Enterprise Server before 3.9); other failures
   * are thrown.
   */
  probe(): Promise<boolean>;
  /** The id of a runner group by name (`Default`: GitHub's default group). */
  runnerGroupId(name: string): Promise<number>;
  /** The scale set of this name in the runner group, if there is one. */
  findScaleSet(runnerGroupId: number, name: string): Promise<ScaleSet | undefined>;
  /** The scale set with this id; undefined when it no longer exists (deleted on GitHub). */
  getScaleSet(scaleSetId: number): Promise<ScaleSet | undefined>;
  createScaleSet(spec: ScaleSetSpec): Promise<ScaleSet>;
  /** Already gone counts as deleted. */
  deleteScaleSet(scaleSetId: number): Promise<void>;

  /**
   * Opens the scale set's message session. {@link ScaleSetSessionConflictError} when another session exists,
   * {@link ScaleSetNotFoundError} when the scale set does not.
   */
  createSession(scaleSetId: number, owner: string): Promise<ScaleSetSession>;
  /** A new message-queue token for the session; {@link ScaleSetSessionGoneError} when it was evicted. */
  refreshSession(session: ScaleSetSession): Promise<ScaleSetSession>;
  /** Already gone counts as deleted. */
  deleteSession(session: ScaleSetSession): Promise<void>;
  /**
   * The next message after `lastMessageId`, or undefined when none came within the long poll (HTTP 202).
   * `maxCapacity` tells the service how many runners the scale set can have at most. An expired token is
   * refreshed and the poll sent once more; {@link ScaleSetSessionGoneError} when the session was evicted.
   */
  getMessage(
    session: ScaleSetSession,
    lastMessageId: number,
    maxCapacity: number,
  ): Promise<ScaleSetMessage | undefined>;
  /** Acknowledges a message; unacknowledged ones are delivered again. */
  deleteMessage(session: ScaleSetSession, messageId: number): Promise<void>;
  /** Takes the jobs offered (JobAvailable) for the scale set; resolves the request ids it got. */
  acquireJobs(session: ScaleSetSession, runnerRequestIds: readonly number[]): Promise<number[]>;

  /**
   * Registers a just-in-time runner of the scale set (no REST write: the Actions service, not GitHub's
   * secondary limits). {@link ScaleSetRunnerExistsError} when a runner of that name exists.
   */
  generateJitConfig(scaleSetId: number, name: string): Promise<ScaleSetJitConfig>;
  /** A runner by id; undefined when it does not exist. */
  getRunner(runnerId: number): Promise<ScaleSetRunner | undefined>;
  /**
   * Removes a runner. Already gone counts as removed; {@link ScaleSetRunnerBusyError} when it runs a job.
   */
  removeRunner(runnerId: number): Promise<void>;
}
