/** Workloads the simulator's tests share: small enough to run in a second, each with what it is for. */
import { parseWorkload, type Workload } from '../../bench/sim/workload.ts';

export const x64Labels = ['self-hosted', 'linux', 'x64'];
export const arm64Labels = ['self-hosted', 'linux', 'arm64'];

/**
 * One pool of 3, boot exactly 45 s, webhook deliveries exactly 1 s after each change; one job at 100 s unless
 * `arrivals` say otherwise: a single event's path through a strategy, to the second.
 */
export function tinyWorkload(overrides: Record<string, unknown> = {}): Workload {
  return parseWorkload({
    name: 'tiny',
    durationSeconds: 900,
    warmupSeconds: 0,
    repositories: 1,
    pools: [{ name: 'linux', labels: x64Labels, maxRunners: 3 }],
    bootSeconds: { mean: 45, jitter: 0 },
    webhooks: { delaySeconds: 1, jitterSeconds: 0 },
    arrivals: [{ type: 'burst', at: [100], jobs: 1, labels: x64Labels, durationSeconds: { mean: 60 } }],
    ...overrides,
  });
}

/**
 * A quarter hour in 12 repositories: steady single and double-job runs, a 12-job x64 burst at 120 s and a 5-job
 * ARM64 one at 300 s (mixed-case labels), two pools (x64 of 14, ARM64 of 3), 10 % of spot requests failing.
 */
export function mixedWorkload(overrides: Record<string, unknown> = {}): Workload {
  return parseWorkload({
    name: 'small',
    durationSeconds: 900,
    warmupSeconds: 0,
    repositories: 12,
    pools: [
      { name: 'linux-x64', labels: x64Labels, maxRunners: 14 },
      { name: 'linux-arm64', labels: arm64Labels, maxRunners: 3 },
    ],
    bootSeconds: { mean: 45, jitter: 10 },
    spotFailureRate: 0.1,
    arrivals: [
      {
        type: 'poisson',
        ratePerMinute: 1,
        jobsPerRun: { min: 1, max: 2 },
        labels: x64Labels,
        durationSeconds: { mean: 150, jitter: 60 },
      },
      { type: 'burst', at: [120], jobs: 12, labels: x64Labels, durationSeconds: { mean: 150, jitter: 30 } },
      {
        type: 'burst',
        at: [300],
        jobs: 5,
        labels: ['self-hosted', 'Linux', 'ARM64'],
        durationSeconds: { mean: 90 },
      },
    ],
    ...overrides,
  });
}
