import type { WarmSchedule } from './warm-target.ts';

/** A pool's warm pool of stopped instances (config `pools[].warm`). */
export interface WarmPolicy extends WarmSchedule {
  /** A stopped instance prepared longer ago than this is replaced. */
  readonly maxAgeSeconds: number;
  /** An instance still preparing this long after its launch is terminated. */
  readonly prepareTimeoutSeconds: number;
  /** Instances started from the pool within this long are replaced ahead (at most `stopped` more). */
  readonly replaceAheadSeconds: number;
}

/** What the decision needs to know about one pool; derived from config, never read from the environment. */
export interface PoolPolicy {
  readonly name: string;
  /** Lower-cased, de-duplicated labels. */
  readonly labels: readonly string[];
  readonly maxRunners: number;
  readonly minIdle: number;
  readonly warm?: WarmPolicy;
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
   * Per cycle, across all pools, shared max-min fairly among the pools that ask. Undefined: no cap.
   * Launching is cheap (one CreateFleet per pool); removals are GitHub writes, paced.
   */
  readonly maxLaunchesPerCycle?: number;
  readonly maxRemovalsPerCycle?: number;
  /**
   * Instances that may wait for their runner registration at once: the stack's GitHub write pacing can
   * register only so many before their boot timeout; launching more would only make orphans. Undefined: no cap.
   */
  readonly maxPendingRegistrations?: number;
}
