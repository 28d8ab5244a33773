/**
 * The scaler's view of the world, independent of GitHub's and EC2's wire formats.
 * Adapters translate into these shapes; the pure core only ever sees these.
 */

/** A job that waits for a runner (GitHub status `queued`). */
export interface QueuedJob {
  readonly id: number;
  readonly runId: number;
  /** The job's `runs-on` labels, as GitHub reports them (any case). */
  readonly labels: readonly string[];
}

export type RunnerStatus = 'online' | 'offline';

/** A self-hosted runner registered with the organization. */
export interface Runner {
  readonly id: number;
  readonly name: string;
  readonly status: RunnerStatus;
  readonly busy: boolean;
  readonly labels: readonly string[];
}

export type InstanceState = 'pending' | 'running';

/** An EC2 instance launched by this stack (only live ones: pending or running). */
export interface Instance {
  readonly id: string;
  /** Pool name from the instance's tag. */
  readonly pool: string;
  readonly state: InstanceState;
  /** ISO-8601 launch time. */
  readonly launchedAt: string;
  /** The GitHub runner name this instance registers as. */
  readonly runnerName: string;
}

/** Runner name for an instance: stable, so an instance and its registration can be paired. */
export function runnerNameFor(instanceId: string): string {
  return `stepscale-${instanceId}`;
}
