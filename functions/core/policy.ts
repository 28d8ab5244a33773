/** What the decision needs to know about one pool; derived from config, never read from the environment. */
export interface PoolPolicy {
  readonly name: string;
  /** Lower-cased, de-duplicated labels. */
  readonly labels: readonly string[];
  readonly maxRunners: number;
  readonly minIdle: number;
}

export interface ScalingPolicy {
  /** This deployment's name: its runners are named `<stack>-<instance-id>`. */
  readonly stack: string;
  /** Pools in config order: the first whose labels cover a job's labels takes the job. */
  readonly pools: readonly PoolPolicy[];
  /** An idle runner younger than this (since its instance launched) is never removed. */
  readonly minRunningSeconds: number;
  /** An instance without an online runner this long after launch is orphaned, no longer booting. */
  readonly bootTimeoutSeconds: number;
  /**
   * Per cycle, across all pools (handed out in config order). Each launch and each removal costs a GitHub
   * write, and GitHub wants writes a second apart, so a cycle that must end within a minute can only do so
   * many; the rest waits a cycle. Undefined: no cap.
   */
  readonly maxLaunchesPerCycle?: number;
  readonly maxRemovalsPerCycle?: number;
}
