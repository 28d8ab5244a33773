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

/** EC2's states of an instance that still exists (terminated ones are never listed). */
export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped';

/**
 * Why an instance last stopped: it powered itself off (`instance`, EC2's `Client.InstanceInitiatedShutdown`),
 * someone stopped it through the API (`api`, `Client.UserInitiatedShutdown`), or anything else (`other`: no
 * capacity when starting, a scheduled retirement, …).
 */
export type StopReason = 'instance' | 'api' | 'other';

/** What the tag `stepscale:warm` says about an instance of a warm pool. */
export interface WarmTag {
  /**
   * `preparing`: launched in prepare mode, it warms up and powers itself off (then it is stopped and ready);
   * `started`: started from the pool for a job — it runs that one job and is never started again.
   */
  readonly stage: 'preparing' | 'started';
  /** ISO-8601 time of its prepare launch (the `stepscale:created-at` tag: the launching cycle's time). */
  readonly preparedAt: string;
  /** The launch template version it was launched from (tag `stepscale:template-version`), when known. */
  readonly templateVersion?: number;
}

/** An EC2 instance launched by this stack that still exists (pending, running, stopping or stopped). */
export interface Instance {
  readonly id: string;
  /** Pool name from the instance's tag. */
  readonly pool: string;
  readonly state: InstanceState;
  /**
   * ISO-8601 time EC2 last launched it: the launch, or the latest start of a stopped instance (EC2's
   * `LaunchTime` is "the time that the instance was last launched").
   */
  readonly launchedAt: string;
  /** The GitHub runner name this instance registers as. */
  readonly runnerName: string;
  /**
   * ISO-8601 time a cycle found it past the boot timeout without an online runner (tag
   * `stepscale:orphaned-since`). Orphans are marked first and terminated on a later cycle only.
   */
  readonly orphanedSince?: string;
  /** Set on instances of a warm pool (functions/core/warm-pool.ts). */
  readonly warm?: WarmTag;
  /** Set on stopping and stopped instances, when EC2 says why. */
  readonly stopReason?: StopReason;
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
