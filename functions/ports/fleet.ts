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

export interface LaunchResult {
  readonly instanceIds: string[];
  /** How many of the requested instances could not be launched (capacity), never hidden. */
  readonly missing: number;
  readonly errors: string[];
}

/** The compute side the scaler needs; EC2 in production, in memory locally. */
export interface FleetPort {
  /** This stack's live (pending or running) instances. */
  listInstances(): Promise<Instance[]>;
  launch(request: LaunchRequest): Promise<LaunchResult>;
  terminate(instanceIds: readonly string[]): Promise<void>;
  /** Record that these instances never registered in time (sets {@link Instance.orphanedSince} to `at`). */
  markOrphaned(instanceIds: readonly string[], at: Date): Promise<void>;
}
