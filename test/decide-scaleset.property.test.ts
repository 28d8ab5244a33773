/**
 * Properties of the decision for a scale-set pool over generated fleets whose ground truth (idle, busy,
 * booting, orphaned, removable) is known by construction, so no expectation comes from decide.ts itself.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, type Snapshot } from '../functions/core/decide.ts';
import type { Instance, Runner } from '../functions/core/model.ts';
import type { ScalingPolicy } from '../functions/core/policy.ts';

const NOW = new Date('2026-01-05T12:00:00Z');
const NUM_RUNS = 300;
const MIN_RUNNING = 300;
const BOOT_TIMEOUT = 600;
const labels = ['self-hosted', 'linux', 'x64'];

type Kind = 'idle' | 'busy' | 'booting' | 'orphaned';

interface Spec {
  readonly maxRunners: number;
  readonly minIdle: number;
  readonly assigned: number;
  readonly members: readonly { readonly kind: Kind; readonly ageSeconds: number }[];
  readonly foreign: number;
}

const spec: fc.Arbitrary<Spec> = fc
  .record({
    maxRunners: fc.integer({ min: 0, max: 20 }),
    minIdleWanted: fc.integer({ min: 0, max: 5 }),
    assigned: fc.integer({ min: 0, max: 40 }),
    members: fc.array(
      fc.record({
        kind: fc.constantFrom<Kind>('idle', 'busy', 'booting', 'orphaned'),
        ageSeconds: fc.integer({ min: 0, max: 3000 }),
      }),
      { maxLength: 25 },
    ),
    foreign: fc.integer({ min: 0, max: 4 }),
  })
  .map(({ minIdleWanted, ...rest }) => ({ ...rest, minIdle: Math.min(minIdleWanted, rest.maxRunners) }));

interface Built {
  readonly snapshot: Snapshot;
  readonly truth: { idle: number; busy: number; booting: number; orphaned: number; removable: Set<number> };
}

function build(s: Spec, withForeign = true): Built {
  const runners: Runner[] = [];
  const instances: Instance[] = [];
  const truth = { idle: 0, busy: 0, booting: 0, orphaned: 0, removable: new Set<number>() };
  s.members.forEach((member, index) => {
    const id = `i-${(index + 1).toString(16).padStart(8, '0')}`;
    const runnerName = `stepscale-${id}`;
    const pending = member.kind === 'booting' || member.kind === 'orphaned';
    // Booting instances are younger than the boot timeout, orphaned ones older.
    const age =
      member.kind === 'booting'
        ? member.ageSeconds % BOOT_TIMEOUT
        : member.kind === 'orphaned'
          ? BOOT_TIMEOUT + member.ageSeconds
          : member.ageSeconds;
    instances.push({
      id,
      pool: 'x64',
      state: pending ? 'pending' : 'running',
      launchedAt: new Date(NOW.getTime() - age * 1000).toISOString(),
      runnerName,
    });
    truth[member.kind] += 1;
    if (pending) return;
    runners.push({ id: index + 1, name: runnerName, status: 'online', busy: member.kind === 'busy', labels });
    if (member.kind === 'idle' && age >= MIN_RUNNING) truth.removable.add(index + 1);
  });
  if (withForeign)
    for (let i = 0; i < s.foreign; i += 1)
      runners.push({ id: 1000 + i, name: `manual-${i}`, status: 'online', busy: i % 2 === 0, labels });
  return {
    snapshot: {
      queuedByPool: {},
      assignedByPool: { x64: s.assigned },
      scaleSetPools: ['x64'],
      runners,
      instances,
      collectionComplete: true,
    },
    truth,
  };
}

function policy(s: Spec): ScalingPolicy {
  return {
    stack: 'stepscale',
    pools: [{ name: 'x64', labels, maxRunners: s.maxRunners, minIdle: s.minIdle }],
    minRunningSeconds: MIN_RUNNING,
    bootTimeoutSeconds: BOOT_TIMEOUT,
  };
}

const planOf = (s: Spec, assigned = s.assigned) => {
  const built = build({ ...s, assigned });
  return { built, pool: decide(built.snapshot, policy(s), NOW).pools[0] };
};

describe('decide: scale-set pool properties', () => {
  it('launches min(assigned + minIdle, maxRunners) less what runs or boots, within the headroom', () => {
    fc.assert(
      fc.property(spec, (s) => {
        const { built, pool } = planOf(s);
        const { idle, busy, booting, orphaned } = built.truth;
        const wanted = Math.min(s.assigned + s.minIdle, s.maxRunners);
        const headroom = Math.max(0, s.maxRunners - (idle + busy + booting + orphaned));
        expect(pool?.launch).toBe(Math.min(headroom, Math.max(0, wanted - (idle + busy + booting))));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('never launches for runners the statistics count: at most min(assigned + minIdle, max) − registered', () => {
    fc.assert(
      fc.property(spec, fc.integer({ min: 0, max: 30 }), (s, registered) => {
        const built = build(s);
        const plan = decide({ ...built.snapshot, registeredByPool: { x64: registered } }, policy(s), NOW);
        const wanted = Math.min(s.assigned + s.minIdle, s.maxRunners);
        expect(plan.pools[0]?.launch ?? 0).toBeLessThanOrEqual(Math.max(0, wanted - registered));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('never takes the pool above maxRunners', () => {
    fc.assert(
      fc.property(spec, (s) => {
        const { built, pool } = planOf(s);
        const { idle, busy, booting, orphaned } = built.truth;
        const current = idle + busy + booting + orphaned;
        expect(current + (pool?.launch ?? 0)).toBeLessThanOrEqual(Math.max(current, s.maxRunners));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('removes only idle runners of its own that are old enough, never a busy one', () => {
    fc.assert(
      fc.property(spec, (s) => {
        const { built, pool } = planOf(s);
        for (const removal of pool?.terminate ?? [])
          expect(built.truth.removable.has(removal.runnerId)).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('is monotone in the assigned jobs: more never launches fewer or removes more', () => {
    fc.assert(
      fc.property(spec, fc.integer({ min: 1, max: 10 }), (s, more) => {
        const before = planOf(s).pool;
        const after = planOf(s, s.assigned + more).pool;
        expect(after?.launch ?? 0).toBeGreaterThanOrEqual(before?.launch ?? 0);
        expect(after?.terminate.length ?? 0).toBeLessThanOrEqual(before?.terminate.length ?? 0);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('is not swayed by runners outside the scale set, and is deterministic', () => {
    fc.assert(
      fc.property(spec, (s) => {
        const alone = decide(build(s, false).snapshot, policy(s), NOW);
        const withOthers = decide(build(s, true).snapshot, policy(s), NOW);
        expect(withOthers.pools).toEqual(alone.pools);
        expect(decide(build(s).snapshot, policy(s), NOW)).toEqual(withOthers);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
