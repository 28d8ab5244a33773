import { describe, expect, it } from 'vitest';
import { simulate } from '../bench/sim/simulate.ts';
import { parseWorkload, withFaults } from '../bench/sim/workload.ts';

const labels = ['self-hosted', 'linux', 'x64'];
const workload = parseWorkload({
  name: 'faulty',
  durationSeconds: 900,
  warmupSeconds: 0,
  repositories: 12,
  pools: [{ name: 'linux-x64', labels, maxRunners: 10 }],
  bootSeconds: { mean: 45, jitter: 10 },
  arrivals: [
    {
      type: 'poisson',
      ratePerMinute: 1,
      jobsPerRun: { min: 1, max: 2 },
      labels,
      durationSeconds: { mean: 150, jitter: 60 },
    },
    { type: 'burst', at: [120], jobs: 8, labels, durationSeconds: { mean: 150, jitter: 30 } },
  ],
});

describe('simulate --faults', () => {
  it('raises spot and GitHub failure rates without lowering what the workload sets', () => {
    const faulty = withFaults(workload);
    expect(faulty).toMatchObject({ spotFailureRate: 0.3, githubFailureRate: 0.05 });
    expect(withFaults({ ...workload, spotFailureRate: 0.5 })).toMatchObject({ spotFailureRate: 0.5 });
  });

  it('stepscale rides out failed GitHub reads and missing spot capacity: every job runs, never above max', async () => {
    // Act
    const result = await simulate({ workload: withFaults(workload), strategy: 'stepscale', seed: 7 });
    // Assess
    expect(result.details.unstartedJobs).toBe(0);
    expect(result.details.launchMissing).toBeGreaterThan(0);
    expect(result.details.peakRunnersByPool['linux-x64']).toBeLessThanOrEqual(10);
    expect(result.details.strategy).toMatchObject({ failedCycles: 0 });
    expect(result.details.githubReadFailures).toBeGreaterThan(0);
  });
});
