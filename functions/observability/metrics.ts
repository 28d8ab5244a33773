/**
 * What stepscale measures, declared in one place: the handlers record these, the Lambda functions publish them
 * as CloudWatch metrics (embedded metric format, emf-metrics.ts), and the template's dashboard and alarms name
 * them (test/template.test.ts holds the template to this list).
 *
 * Every metric has the dimension `Stack`; those marked per pool also `Pool`. Each distinct name and dimension set
 * is a custom metric CloudWatch bills monthly, so the list stays short (docs/operations.md prices it).
 */

export const metricNamespace = 'stepscale';

export const metricDefinitions = {
  /** Queued jobs the cycle counted for the pool (Decide). */
  QueuedJobs: { unit: 'Count', perPool: true },
  /** Instances launched (ScaleUp). */
  RunnersLaunched: { unit: 'Count', perPool: true },
  /** Idle runners removed with their instances (ScaleDown). */
  RunnersRemoved: { unit: 'Count', perPool: true },
  /** JIT registrations that failed (RegisterRunners); the instance waits for a later attempt or its timeout. */
  RegistrationFailures: { unit: 'Count', perPool: true },
  /** 1 while the pool runs maxRunners and jobs still wait for it, else 0 (Decide). */
  PoolAtMax: { unit: 'Count', perPool: true },
  /** A job's wait from queued to started on a runner: the webhook's `in_progress`, or the poll seeing it start. */
  JobQueuedToStarted: { unit: 'Seconds', perPool: true },
  /** Pools at max this cycle (Decide): what the pool-at-max alarm watches, whatever the pools are called. */
  PoolsAtMax: { unit: 'Count', perPool: false },
  /** Requests sent to GitHub's REST API (every function that talks to GitHub, retries included). */
  GitHubRequests: { unit: 'Count', perPool: false },
  /** Answers that were a primary or secondary rate limit. */
  GitHubRateLimited: { unit: 'Count', perPool: false },
  /** The primary rate limit's remaining requests when the cycle began (ListRepositories). */
  GitHubRateLimitRemaining: { unit: 'Count', perPool: false },
  /** 1 when that remainder is below github.reserveRequests (the governor then scans less), else 0. */
  GitHubRateLimitBelowReserve: { unit: 'Count', perPool: false },
  /** Share of the organization's repositories a scheduled cycle scanned (ListRepositories). */
  RepositoriesScanned: { unit: 'Percent', perPool: false },
  /** Seconds from the execution's start to the end of ScaleDown: the cycle's decision and its scaling. */
  CycleDuration: { unit: 'Seconds', perPool: false },
  /** Instances found past the boot timeout without an online runner (marked; terminated a cycle later). */
  OrphansMarked: { unit: 'Count', perPool: false },
} as const satisfies Record<string, { unit: MetricUnit; perPool: boolean }>;

export type MetricUnit = 'Count' | 'Seconds' | 'Percent';
export type MetricName = keyof typeof metricDefinitions;
type PoolMetric = {
  [N in MetricName]: (typeof metricDefinitions)[N]['perPool'] extends true ? N : never;
}[MetricName];
type StackMetric = Exclude<MetricName, PoolMetric>;

/** Where a job's queued-to-started time was learnt: only one source is published at a time (the more precise). */
export type JobWaitSource = 'webhook' | 'poll';

export interface MetricsRecorder {
  /** One sample of a stack-wide metric; counts recorded several times in an invocation are summed. */
  stack(name: StackMetric, value: number): void;
  /** One sample of a pool's metric. */
  pool(name: PoolMetric, pool: string, value: number): void;
  /** A job's queued-to-started seconds, from either source. */
  jobWait(pool: string, seconds: number, source: JobWaitSource): void;
}

export interface MetricPoint {
  readonly name: MetricName;
  readonly unit: MetricUnit;
  readonly value: number;
  readonly pool?: string;
  readonly source?: JobWaitSource;
}

/** Keeps every sample: local runs, the simulator and tests read them back. */
export class MemoryMetrics implements MetricsRecorder {
  readonly points: MetricPoint[] = [];

  stack(name: StackMetric, value: number): void {
    this.points.push({ name, unit: metricDefinitions[name].unit, value });
  }

  pool(name: PoolMetric, pool: string, value: number): void {
    this.points.push({ name, unit: metricDefinitions[name].unit, value, pool });
  }

  jobWait(pool: string, seconds: number, source: JobWaitSource): void {
    this.points.push({ name: 'JobQueuedToStarted', unit: 'Seconds', value: seconds, pool, source });
  }

  /** Sum of a metric's samples (for a pool, or all). */
  sum(name: MetricName, pool?: string): number {
    return this.points
      .filter((point) => point.name === name && (pool === undefined || point.pool === pool))
      .reduce((total, point) => total + point.value, 0);
  }

  valuesOf(name: MetricName, pool?: string): number[] {
    return this.points
      .filter((point) => point.name === name && (pool === undefined || point.pool === pool))
      .map((point) => point.value);
  }
}

/** A GitHub client's `onAttempt`: each request attempt counted, and those answered with a rate limit. */
export function countGitHubAttempts(metrics: Pick<MetricsRecorder, 'stack'>) {
  return ({ rateLimited }: { readonly rateLimited: boolean }): void => {
    metrics.stack('GitHubRequests', 1);
    if (rateLimited) metrics.stack('GitHubRateLimited', 1);
  };
}

/** Records nothing (the CLI's read-only runs). */
export const noMetrics: MetricsRecorder = {
  stack: () => undefined,
  pool: () => undefined,
  jobWait: () => undefined,
};
