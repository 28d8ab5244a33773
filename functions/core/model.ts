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
  /**
   * ISO-8601 time a cycle found it past the boot timeout without an online runner (tag
   * `stepscale:orphaned-since`). Orphans are marked first and terminated on a later cycle only.
   */
  readonly orphanedSince?: string;
}

/**
 * Runner name for an instance: `<stack>-<instance-id>`. Stable, so an instance and its registration can be
 * paired, and it carries the stack so several stepscale stacks can share an organization without one
 * mistaking another's registrations for its own ghosts.
 */
export function runnerNameFor(stack: string, instanceId: string): string {
  return `${stack}-${instanceId}`;
}

/** The instance id in one of this stack's runner names, or undefined when the name is not one of ours. */
export function instanceIdOfRunner(stack: string, runnerName: string): string | undefined {
  const prefix = `${stack}-`;
  if (!runnerName.startsWith(prefix)) return undefined;
  const rest = runnerName.slice(prefix.length);
  return /^i-[0-9a-f]{8,17}$/.test(rest) ? rest : undefined;
}
