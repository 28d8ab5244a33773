/**
 * `stepscale-scaleset` in the simulator: the real listener and the real cycles on the world's scale sets.
 */
import { describe, expect, it } from 'vitest';
import { simulate } from '../bench/sim/simulate.ts';
import { StepscaleScaleSetStrategy } from '../bench/sim/strategies/stepscale-scaleset.ts';
import { parseWorkload } from '../bench/sim/workload.ts';

const labels = ['self-hosted', 'linux', 'x64'];
const arm = ['self-hosted', 'linux', 'arm64'];
const workload = parseWorkload({
  name: 'small',
  durationSeconds: 900,
  warmupSeconds: 0,
  repositories: 12,
  pools: [
    { name: 'linux-x64', labels, maxRunners: 14, minIdle: 1 },
    { name: 'linux-arm64', labels: arm, maxRunners: 3 },
  ],
  bootSeconds: { mean: 45, jitter: 10 },
  spotFailureRate: 0.1,
  arrivals: [
    {
      type: 'poisson',
      ratePerMinute: 1,
      jobsPerRun: { min: 1, max: 2 },
      labels,
      durationSeconds: { mean: 150, jitter: 60 },
    },
    { type: 'burst', at: [120], jobs: 12, labels, durationSeconds: { mean: 150, jitter: 30 } },
    {
      type: 'burst',
      at: [300],
      jobs: 5,
      labels: ['self-hosted', 'Linux', 'ARM64'],
      durationSeconds: { mean: 90 },
    },
  ],
});

describe('Strategy: stepscale-scaleset', () => {
  it('serves every job through the scale sets, within each pool’s maxRunners, deterministically', async () => {
    // Act
    const strategy = new StepscaleScaleSetStrategy();
    const result = await simulate({ workload, strategy, seed: 3, drainSeconds: 600 });
    const again = await simulate({ workload, strategy: 'stepscale-scaleset', seed: 3, drainSeconds: 600 });

    // Assess
    expect(result.details.unstartedJobs).toBe(0);
    expect(result.details.jobsKilled).toBe(0);
    for (const [pool, peak] of Object.entries(result.details.peakRunnersByPool))
      expect(peak).toBeLessThanOrEqual(result.details.maxRunnersByPool[pool] ?? 0);
    // One scale set per pool, and every runner registered through one (no REST registration).
    const sets = result.world.actions.listScaleSets();
    expect(sets.map((set) => set.name).sort()).toEqual(['linux-arm64', 'linux-x64']);
    expect(
      result.details.requestsByEndpoint['POST /orgs/{org}/actions/runners/generate-jitconfig'],
    ).toBeUndefined();
    expect(result.details.strategy).toMatchObject({ failedCycles: 0 });
    expect((result.details.strategy.listener as { acquired: number }).acquired).toBeGreaterThanOrEqual(
      result.details.jobs,
    );
    expect(again.metrics).toEqual(result.metrics);
  });

  it('sends GitHub’s REST API no more than 100 requests in an idle hour', async () => {
    // Prepare: an hour without a job (the warm x64 runner is kept)
    const idle = parseWorkload({
      name: 'idle',
      durationSeconds: 3600,
      warmupSeconds: 0,
      repositories: 100,
      pools: workload.pools,
      arrivals: [{ type: 'poisson', ratePerMinute: 0, labels, durationSeconds: { mean: 60 } }],
    });

    // Act
    const result = await simulate({
      workload: idle,
      strategy: 'stepscale-scaleset',
      seed: 1,
      drainSeconds: 0,
    });
    const polling = await simulate({ workload: idle, strategy: 'stepscale', seed: 1, drainSeconds: 0 });

    // Assess
    expect(result.metrics.githubRequests).toBeLessThanOrEqual(100);
    expect(result.metrics.githubRequests).toBeGreaterThan(0);
    expect(polling.metrics.githubRequests).toBeGreaterThan(1000);
  });
});
