import type { Instance } from '../core/model.ts';

export interface LaunchRequest {
  readonly pool: string;
  readonly count: number;
  /**
   * Idempotency key (cycle id + pool), at most 48 ASCII characters so an adapter can suffix it per
   * request it makes: launching again with the same token returns the first launch's instances instead
   * of launching more.
   */
  readonly clientToken: string;
  /**
   * ISO-8601 time for the `stepscale:created-at` tag: the cycle's scheduled time (or, for a manual start, the
   * execution's start), the same on every retry and every duplicated start of the cycle, because EC2 refuses a
   * repeated client token whose parameters (tags included) changed.
   */
  readonly createdAt: string;
}

/** Instances to launch into a pool's warm pool (prepare mode). */
export interface PrepareRequest extends LaunchRequest {
  /**
   * The launch template version to launch (Decide read it): tagged on each instance, so a later version
   * replaces it. Undefined: the template's latest, untagged (then only age replaces it).
   */
  readonly templateVersion?: number;
}

/** What starting stopped warm instances did, per instance. */
export interface StartResult {
  readonly started: string[];
  /**
   * Instances EC2 did not start: for capacity (`capacity`: a fresh launch takes its place), or because it is
   * gone or in a state that cannot start (the code says which). Each is tagged started already: never used again.
   */
  readonly failed: { readonly instanceId: string; readonly code: string; readonly capacity: boolean }[];
}

export interface LaunchResult {
  readonly instanceIds: string[];
  /** How many of the requested instances could not be launched (capacity), never hidden. */
  readonly missing: number;
  readonly errors: string[];
}

/** The compute side the scaler needs; EC2 in production, in memory locally. */
export interface FleetPort {
  /** This stack's instances that exist: pending, running, stopping or stopped. */
  listInstances(): Promise<Instance[]>;
  launch(request: LaunchRequest): Promise<LaunchResult>;
  /**
   * Launches instances in prepare mode (warm pools): on-demand, shutdown behaviour `stop`, tagged
   * `stepscale:warm` = `preparing`; their user data warms them up and powers them off. Idempotent like launch.
   */
  prepare(request: PrepareRequest): Promise<LaunchResult>;
  /**
   * Starts stopped warm instances for jobs: each is tagged `stepscale:warm` = `started` first (so it is never
   * counted ready again, whatever happens next), then started. One instance's failure does not stop the others.
   */
  start(instanceIds: readonly string[]): Promise<StartResult>;
  /** The latest version of each pool's launch template; a pool whose template cannot be read is left out. */
  templateVersions(pools: readonly string[]): Promise<Record<string, number>>;
  terminate(instanceIds: readonly string[]): Promise<void>;
  /** Record that these instances never registered in time (sets {@link Instance.orphanedSince} to `at`). */
  markOrphaned(instanceIds: readonly string[], at: Date): Promise<void>;
}
