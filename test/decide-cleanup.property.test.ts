import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../functions/core/decide.ts';
import type { Instance, Runner } from '../functions/core/model.ts';
import type { ScalingPolicy } from '../functions/core/policy.ts';

const now = new Date('2026-01-05T10:00:00Z');
const policy: ScalingPolicy = {
  stack: 'ci',
  pools: [
    { name: 'a', labels: ['self-hosted', 'a'], maxRunners: 6, minIdle: 1 },
    { name: 'b', labels: ['self-hosted', 'b'], maxRunners: 4, minIdle: 0 },
  ],
  minRunningSeconds: 300,
  bootTimeoutSeconds: 300,
};

/** A fleet where each instance may have a runner in any state, plus registrations with no instance. */
const world = fc
  .record({
    instances: fc.array(
      fc.record({
        pool: fc.constantFrom('a', 'b'),
        ageMinutes: fc.integer({ min: 0, max: 30 }),
        marked: fc.boolean(),
        runner: fc.option(fc.record({ status: fc.constantFrom('online', 'offline'), busy: fc.boolean() }), {
          nil: undefined,
        }),
      }),
      { maxLength: 12 },
    ),
    strays: fc.array(
      fc.record({ status: fc.constantFrom('online', 'offline'), busy: fc.boolean(), ours: fc.boolean() }),
      {
        maxLength: 6,
      },
    ),
    complete: fc.boolean(),
  })
  .map(({ instances, strays, complete }) => {
    const fleet: Instance[] = instances.map((spec, i) => {
      const id = `i-${String(i).padStart(8, '0')}`;
      return {
        id,
        pool: spec.pool,
        state: 'running',
        launchedAt: new Date(now.getTime() - spec.ageMinutes * 60_000).toISOString(),
        runnerName: `ci-${id}`,
        ...(spec.marked ? { orphanedSince: new Date(now.getTime() - 60_000).toISOString() } : {}),
      };
    });
    const runners: Runner[] = [];
    instances.forEach((spec, i) => {
      if (spec.runner)
        runners.push({
          id: i + 1,
          name: `ci-${fleet[i]?.id}`,
          labels: ['self-hosted', spec.pool],
          ...spec.runner,
        });
    });
    strays.forEach((stray, i) => {
      runners.push({
        id: 100 + i,
        name: stray.ours ? `ci-i-${String(900 + i).padStart(8, '0')}` : `laptop-${i}`,
        status: stray.status,
        busy: stray.busy,
        labels: ['self-hosted', 'a'],
      });
    });
    return { fleet, runners, complete };
  });

describe('decide: clean-up properties', () => {
  it('never removes an instance whose runner is online or busy, and never deletes a registration in use', () => {
    fc.assert(
      fc.property(world, ({ fleet, runners, complete }) => {
        const plan = decide(
          { queuedByPool: {}, runners, instances: fleet, collectionComplete: complete },
          policy,
          now,
        );
        const runnerOf = (instanceId: string) => runners.find((runner) => runner.name === `ci-${instanceId}`);
        for (const id of [...plan.orphansToMark, ...plan.orphansToTerminate]) {
          const runner = runnerOf(id);
          expect(runner?.status === 'online' || runner?.busy === true).toBe(false);
        }
        const liveNames = new Set(fleet.map((instance) => instance.runnerName));
        for (const ghost of plan.ghosts) {
          const runner = runners.find((candidate) => candidate.id === ghost.runnerId);
          expect(runner).toMatchObject({ status: 'offline', busy: false });
          expect(liveNames.has(ghost.runnerName)).toBe(false);
          expect(ghost.runnerName.startsWith('ci-i-')).toBe(true);
        }
        const removed = plan.pools.flatMap((pool) => pool.terminate.map((removal) => removal.runnerId));
        for (const runnerId of removed)
          expect(runners.find((runner) => runner.id === runnerId)?.busy).toBe(false);
        if (!complete) {
          expect([...plan.orphansToMark, ...plan.orphansToTerminate, ...plan.ghosts, ...removed]).toEqual([]);
        }
      }),
      { numRuns: 400, seed: 20260105 },
    );
  });

  it('only terminates orphans that an earlier cycle marked', () => {
    fc.assert(
      fc.property(world, ({ fleet, runners }) => {
        const plan = decide(
          { queuedByPool: {}, runners, instances: fleet, collectionComplete: true },
          policy,
          now,
        );
        const marked = new Set(
          fleet.filter((instance) => instance.orphanedSince).map((instance) => instance.id),
        );
        for (const id of plan.orphansToTerminate) expect(marked.has(id)).toBe(true);
        for (const id of plan.orphansToMark) expect(marked.has(id)).toBe(false);
      }),
      { numRuns: 400, seed: 20260106 },
    );
  });
});
