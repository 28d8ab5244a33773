/**
 * A workload file: the organization (repositories, pools), the machines (boot time, spot failures) and the
 * jobs that arrive over time. JSON, validated with every problem reported together. Arrivals are turned into
 * a fixed list of runs for a seed before any strategy runs, so every strategy sees exactly the same jobs.
 *
 * Arrival streams:
 * - `poisson`: runs arrive as a Poisson process, `ratePerMinute` constant or a piecewise-linear `curve` of
 *   [secondsSinceStart, runsPerMinute] points (a workday);
 * - `burst`: at each of `at` (seconds), one run with `jobs` jobs queued at once (a matrix build).
 *
 * `webhooks` sets how the world's `workflow_job` deliveries arrive (local/world/webhooks.ts); `judgedOn` says
 * which goals the benchmark judges the workload by (bench/sim/goals.ts).
 */
import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import type { Rng } from '../../local/world/rng.ts';

const seconds = z.number().min(0);
const spread = z.strictObject({ mean: seconds, jitter: seconds.default(0) });

const poolSchema = z.strictObject({
  name: z.string().min(1),
  labels: z.array(z.string().min(1)).min(1),
  maxRunners: z.int().min(0),
  minIdle: z.int().min(0).default(0),
  /**
   * A warm pool of stopped instances (stepscale's `pools[].warm`, validated by its config schema). Only stepscale
   * strategies read it; the peers have no such thing.
   */
  warm: z.record(z.string(), z.unknown()).optional(),
});

const poissonSchema = z.strictObject({
  type: z.literal('poisson'),
  /** Runs per minute, constant; or use `curve`. */
  ratePerMinute: z.number().min(0).optional(),
  /** [secondsSinceStart, runsPerMinute] points, linear in between, flat after the last. */
  curve: z
    .array(z.tuple([seconds, z.number().min(0)]))
    .min(1)
    .optional(),
  /** Jobs per run: a uniform integer in [min, max]. */
  jobsPerRun: z.strictObject({ min: z.int().min(1), max: z.int().min(1) }).default({ min: 1, max: 1 }),
  labels: z.array(z.string().min(1)).min(1),
  durationSeconds: spread,
  /** Only the first N repositories receive this stream's runs (default: all). */
  repositories: z.int().min(1).optional(),
});

const burstSchema = z.strictObject({
  type: z.literal('burst'),
  at: z.array(seconds).min(1),
  jobs: z.int().min(1),
  labels: z.array(z.string().min(1)).min(1),
  durationSeconds: spread,
});

const webhooksSchema = z
  .strictObject({
    /** Mean time from a job's status change to the delivery attempt. */
    delaySeconds: seconds.default(1),
    /** Attempts come uniformly within delay ± jitter; at most the delay, so never before the change. */
    jitterSeconds: seconds.default(0.5),
    /** The chance that one attempt fails: GitHub tried, the receiver never got it (listed `failed`). */
    lossRate: z.number().min(0).lt(1).default(0),
  })
  .superRefine((webhooks, ctx) => {
    if (webhooks.jitterSeconds > webhooks.delaySeconds)
      ctx.addIssue({
        code: 'custom',
        path: ['jitterSeconds'],
        message: `jitterSeconds (${webhooks.jitterSeconds}) must not exceed delaySeconds (${webhooks.delaySeconds}): a delivery cannot come before the change`,
      });
  });

export const workloadSchema = z
  .strictObject({
    name: z.string().min(1),
    description: z.string().default(''),
    durationSeconds: z.int().min(60),
    /**
     * Measured from here on: jobs queued earlier, and idle time and requests before it, are not counted. Both
     * strategies start cold (the governor has no memory yet); a deployment lives much longer than an hour.
     */
    warmupSeconds: z.int().min(0).default(600),
    /** `npm run bench -- --quick` simulates only this long (default: all of it). */
    quickDurationSeconds: z.int().min(60).optional(),
    /** ISO start of simulated time (only the clock's date; nothing depends on the time of day). */
    start: z.iso.datetime().default('2026-01-05T08:00:00.000Z'),
    repositories: z.int().min(1).max(20_000),
    pools: z.array(poolSchema).min(1),
    /** Launch → runner online (boot + runner registration): uniform in mean ± jitter. */
    bootSeconds: spread.default({ mean: 45, jitter: 10 }),
    /** Warm pools: StartInstances of a stopped instance → running (uniform in mean ± jitter). */
    startSeconds: spread.default({ mean: 15, jitter: 5 }),
    /** Warm pools: probability that starting one stopped instance finds no capacity in its zone. */
    startFailureRate: z.number().min(0).max(1).default(0),
    /** Each instance's EBS volume (gp3), billed while it exists, running or stopped: the stopped GB-hours. */
    volumeGb: z.number().min(1).default(30),
    /** Probability that one requested spot instance cannot be launched (InsufficientInstanceCapacity). */
    spotFailureRate: z.number().min(0).max(1).default(0),
    /**
     * Probability that one GitHub read (a repository's job scan, the runner list) fails even after the client's
     * own retries (a 5xx outage): the state machine's Retry and the failed-repository rules take over.
     */
    githubFailureRate: z.number().min(0).max(1).default(0),
    /** An idle runner that got a job starts it this long after the assignment. */
    pickupSeconds: seconds.default(2),
    /** GitHub's list of runners shows a runner busy only this long after its job started (the lag). */
    busyFlagLagSeconds: seconds.default(0),
    /** GitHub's primary rate limit per hour, enforced (5,000 for a PAT, 15,000 for an App on Enterprise Cloud). */
    rateLimitPerHour: z.int().min(1).default(15_000),
    /** A runner whose machine died still shows online this long (GitHub notices the missed heartbeats). */
    deadRunnerOnlineSeconds: seconds.default(60),
    /**
     * The instance bootstrap's wait for its runner config: it polls every `configPollSeconds` after boot and
     * shuts the machine down when none came within `configWaitSeconds` of the launch (the example launch
     * template's user data; stepscale's scaleDown.bootTimeoutSeconds, 300 by default, is the same bound).
     */
    configPollSeconds: seconds.min(1).default(5),
    configWaitSeconds: seconds.default(300),
    /** GitHub's secondary limits (local/github-standin/secondary-limits.ts), the same for every strategy. */
    secondaryLimits: z
      .strictObject({
        pointsPerMinute: z.int().min(1).default(900),
        writeIntervalMs: z.int().min(0).default(1000),
      })
      .prefault({}),
    arrivals: z.array(z.discriminatedUnion('type', [poissonSchema, burstSchema])).min(1),
    /** `workflow_job` webhook delivery: delay, jitter and loss (default 1 ± 0.5 s, nothing lost). */
    webhooks: webhooksSchema.prefault({}),
    /**
     * What waiting in this workload is about, for the per-workload goals: `seeing` (jobs wait to be noticed)
     * or `capacity` (jobs wait for runners under a cap or a burst). Unset: only the every-workload goals.
     */
    judgedOn: z.enum(['seeing', 'capacity']).optional(),
    /** stepscale config sections (scaleUp, scaleDown, collection) applied to every strategy that reads config. */
    config: z.record(z.string(), z.unknown()).default({}),
  })
  .superRefine((workload, ctx) => {
    workload.arrivals.forEach((arrival, index) => {
      if (
        arrival.type === 'poisson' &&
        (arrival.ratePerMinute === undefined) === (arrival.curve === undefined)
      )
        ctx.addIssue({
          code: 'custom',
          path: ['arrivals', index],
          message: 'give exactly one of ratePerMinute and curve',
        });
      if (arrival.type === 'poisson' && arrival.jobsPerRun.max < arrival.jobsPerRun.min)
        ctx.addIssue({ code: 'custom', path: ['arrivals', index, 'jobsPerRun'], message: 'max < min' });
    });
  });

export type Workload = z.output<typeof workloadSchema>;
export type WorkloadPool = Workload['pools'][number];

export class WorkloadError extends Error {
  override readonly name = 'WorkloadError';
}

export function parseWorkload(raw: unknown, source = 'workload'): Workload {
  const result = workloadSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join('.') || '(workload)'}: ${issue.message}`,
  );
  throw new WorkloadError(`${source}:\n  ${problems.join('\n  ')}`);
}

export async function loadWorkload(path: string): Promise<Workload> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new WorkloadError(`${path}: ${(error as Error).message}`);
  }
  return parseWorkload(raw, path);
}

/** One workflow run as it arrives: all its jobs are queued at once. */
export interface PlannedRun {
  readonly atMs: number;
  readonly repo: string;
  readonly jobs: readonly { readonly labels: readonly string[]; readonly durationMs: number }[];
}

export function repositoryName(index: number): string {
  return `repo-${String(index + 1).padStart(5, '0')}`;
}

/** The runs of a workload up to `untilMs`, for a seed: identical for every strategy. */
export function planArrivals(workload: Workload, rng: Rng, untilMs: number): PlannedRun[] {
  const runs: PlannedRun[] = [];
  workload.arrivals.forEach((arrival, index) => {
    const stream = rng.fork(`arrival-${index}`);
    const duration = () =>
      Math.max(
        1000,
        Math.round(
          stream.uniform(
            arrival.durationSeconds.mean - arrival.durationSeconds.jitter,
            arrival.durationSeconds.mean + arrival.durationSeconds.jitter,
          ) * 1000,
        ),
      );
    if (arrival.type === 'burst') {
      for (const at of arrival.at) {
        const atMs = at * 1000;
        if (atMs >= untilMs) continue;
        const repo = repositoryName(stream.int(0, workload.repositories - 1));
        runs.push({
          atMs,
          repo,
          jobs: Array.from({ length: arrival.jobs }, () => ({
            labels: arrival.labels,
            durationMs: duration(),
          })),
        });
      }
      return;
    }
    const rate = (tMs: number) => ratePerMinuteAt(arrival, tMs / 1000);
    const peak = Math.max(arrival.ratePerMinute ?? 0, ...(arrival.curve ?? []).map(([, r]) => r));
    if (peak <= 0) return;
    const repoCount = Math.min(arrival.repositories ?? workload.repositories, workload.repositories);
    // Thinning: candidates at the peak rate, each kept with probability rate(t) / peak.
    let t = 0;
    for (;;) {
      t += stream.exponential(60_000 / peak);
      if (t >= untilMs) break;
      if (stream.next() * peak >= rate(t)) continue;
      const count = stream.int(arrival.jobsPerRun.min, arrival.jobsPerRun.max);
      runs.push({
        atMs: Math.round(t),
        repo: repositoryName(stream.int(0, repoCount - 1)),
        jobs: Array.from({ length: count }, () => ({ labels: arrival.labels, durationMs: duration() })),
      });
    }
  });
  return runs.sort((a, b) => a.atMs - b.atMs || a.repo.localeCompare(b.repo));
}

function ratePerMinuteAt(arrival: z.output<typeof poissonSchema>, atSeconds: number): number {
  if (arrival.ratePerMinute !== undefined) return arrival.ratePerMinute;
  const curve = arrival.curve ?? [];
  const first = curve[0];
  if (!first || atSeconds <= first[0]) return first?.[1] ?? 0;
  for (let i = 1; i < curve.length; i += 1) {
    const [t1, r1] = curve[i] as [number, number];
    const [t0, r0] = curve[i - 1] as [number, number];
    if (atSeconds <= t1) return t1 === t0 ? r1 : r0 + ((r1 - r0) * (atSeconds - t0)) / (t1 - t0);
  }
  return (curve[curve.length - 1] as [number, number])[1];
}

/**
 * `--faults`: at least 30 % of spot requests find no capacity and 5 % of GitHub reads fail (after the client's
 * retries), on top of what the workload sets.
 */
export function withFaults<W extends { spotFailureRate: number; githubFailureRate: number }>(workload: W): W {
  return {
    ...workload,
    spotFailureRate: Math.max(workload.spotFailureRate, 0.3),
    githubFailureRate: Math.max(workload.githubFailureRate, 0.05),
  };
}
