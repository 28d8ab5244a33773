/** The shipped workloads (bench/workloads/*.json) are what their descriptions and the goals take them to be. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { shippedWorkloads } from '../bench/sim/bench.ts';
import { planArrivals, type Workload } from '../bench/sim/workload.ts';
import { Rng } from '../local/world/rng.ts';

const workloads = await shippedWorkloads(fileURLToPath(new URL('../bench/workloads', import.meta.url)));
const named = (name: string) => workloads.find((workload) => workload.name === name) as Workload;

/**
 * `variant` plans the same arrivals as `base` (seed 1) and is `base` but for its name, its description and
 * `field`.
 */
function expectSameTrafficExcept(variant: Workload, base: Workload, field: keyof Workload) {
  const plan = (w: Workload) => planArrivals(w, new Rng(1).fork('arrivals'), w.durationSeconds * 1000);
  expect(plan(variant)).toEqual(plan(base));
  expect({ ...variant, name: '', description: '', [field]: base[field] }).toEqual({
    ...base,
    name: '',
    description: '',
  });
}

describe('Shipped workloads', () => {
  it('classify the waiting they judge: seeing jobs, or capacity; workday unclassified', () => {
    expect(Object.fromEntries(workloads.map((w) => [w.name, w.judgedOn ?? null]))).toEqual({
      'bursty-matrix': 'capacity',
      'large-org': 'seeing',
      'lossy-webhooks': 'seeing',
      'matrix-200': 'capacity',
      'steady-poisson': 'seeing',
      'steady-warm': 'seeing',
      workday: null,
    });
  });

  it('lossy-webhooks is steady-poisson’s traffic with 2 % of deliveries lost', () => {
    const steady = named('steady-poisson');
    const lossy = named('lossy-webhooks');
    expect(lossy.webhooks.lossRate).toBe(0.02);
    expect(steady.webhooks.lossRate).toBe(0);
    expectSameTrafficExcept(lossy, steady, 'webhooks');
  });

  it('steady-warm is steady-poisson’s traffic with a warm pool of 5 stopped instances', () => {
    const steady = named('steady-poisson');
    const warm = named('steady-warm');
    expect(warm.pools.map((pool) => pool.warm)).toEqual([{ stopped: 5 }]);
    expect(warm.startSeconds).toEqual({ mean: 15, jitter: 5 });
    expectSameTrafficExcept(warm, steady, 'pools');
  });

  it('large-org: 2,000 repositories at the production defaults, most jobs in a repository idle for 15 minutes', () => {
    const large = named('large-org');
    expect(large.repositories).toBe(2000);
    expect(large.config).toEqual({});
    expect(large.rateLimitPerHour).toBe(15_000);
    expect(large.secondaryLimits.pointsPerMinute).toBe(900);
    for (const seed of [1, 2, 3]) {
      const runs = planArrivals(large, new Rng(seed).fork('arrivals'), large.durationSeconds * 1000);
      const lastRunAt = new Map<string, number>();
      let cold = 0;
      for (const run of runs) {
        const previous = lastRunAt.get(run.repo);
        if (previous === undefined || run.atMs - previous > 15 * 60_000) cold += 1;
        lastRunAt.set(run.repo, run.atMs);
      }
      expect(runs.length).toBeGreaterThan(90);
      expect(cold / runs.length).toBeGreaterThan(0.9);
    }
  });
});
