/**
 * Properties of counting polled jobs per pool when some pools' scale sets claim the jobs they serve, over
 * generated label sets: the ground truth is GitHub's rule (a runner takes a job when it has all the job's
 * labels), checked label by label here rather than through labels.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countDemand } from '../functions/core/demand.ts';
import type { LabelledPool } from '../functions/core/labels.ts';

const vocabulary = ['self-hosted', 'linux', 'x64', 'arm64', 'gpu', 'large'];
const labelSet = fc.subarray(vocabulary, { minLength: 1 });
const pools: fc.Arbitrary<LabelledPool[]> = fc
  .array(labelSet, { minLength: 1, maxLength: 5 })
  .map((sets) => sets.map((labels, index) => ({ name: `pool-${index}`, labels })));

const serves = (pool: LabelledPool, job: readonly string[]) =>
  job.every((label) => pool.labels.includes(label));

describe('countDemand with claiming pools', () => {
  it('counts every job once: for the first claiming pool serving it, else the first pool serving it', () => {
    fc.assert(
      fc.property(
        pools,
        fc.array(labelSet, { maxLength: 30 }),
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        (configured, jobs, claims) => {
          // Prepare
          const claiming = new Set(configured.filter((_, index) => claims[index]).map((pool) => pool.name));

          // Act
          const demand = countDemand(
            jobs.map((labels) => ({ labels })),
            configured,
            claiming,
          );

          // Assess
          const expected: Record<string, number> = Object.fromEntries(configured.map((p) => [p.name, 0]));
          let unmatched = 0;
          for (const job of jobs) {
            const owner =
              configured.find((pool) => claiming.has(pool.name) && serves(pool, job)) ??
              configured.find((pool) => serves(pool, job));
            if (owner) expected[owner.name] = (expected[owner.name] ?? 0) + 1;
            else unmatched += 1;
          }
          expect(demand).toEqual({ queuedByPool: expected, unmatched });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('claims nothing without claiming pools: the first pool serving a job counts it, as always', () => {
    fc.assert(
      fc.property(pools, fc.array(labelSet, { maxLength: 30 }), (configured, jobs) => {
        const input = jobs.map((labels) => ({ labels }));
        expect(countDemand(input, configured, new Set())).toEqual(countDemand(input, configured));
        const total = Object.values(countDemand(input, configured).queuedByPool).reduce((a, b) => a + b, 0);
        expect(total + countDemand(input, configured).unmatched).toBe(jobs.length);
      }),
      { numRuns: 200 },
    );
  });
});
