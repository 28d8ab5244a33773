/**
 * The decision for pools whose demand is their runner scale set's statistics (functions/core/decide.ts):
 * desired = min(assigned + minIdle, maxRunners), less what runs or boots; other runners are no capacity of a
 * scale set; a scale set's registrations and removals take no REST write slot; an unobserved pool does nothing.
 */
import { describe, expect, it } from 'vitest';
import { decide, type Snapshot } from '../functions/core/decide.ts';
import type { Instance, Runner } from '../functions/core/model.ts';
import type { PoolPolicy, ScalingPolicy } from '../functions/core/policy.ts';

const now = new Date('2026-01-05T12:00:00Z');
const x64 = ['self-hosted', 'linux', 'x64'];
const arm = ['self-hosted', 'linux', 'arm64'];

interface Part {
  readonly runners: Runner[];
  readonly instances: Instance[];
}

const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString();
const iid = (n: number) => `i-${n.toString(16).padStart(8, '0')}`;

function ours(pool: string, n: number, state: 'idle' | 'busy' | 'booting', ageSeconds = 900): Part {
  const id = iid(n);
  const instance: Instance = {
    id,
    pool,
    state: state === 'booting' ? 'pending' : 'running',
    launchedAt: ago(state === 'booting' ? 30 : ageSeconds),
    runnerName: `stepscale-${id}`,
  };
  if (state === 'booting') return { instances: [instance], runners: [] };
  const runner: Runner = {
    id: n,
    name: instance.runnerName,
    status: 'online',
    busy: state === 'busy',
    labels: x64,
  };
  return { instances: [instance], runners: [runner] };
}

function foreignIdle(n: number, labels = x64): Part {
  return { instances: [], runners: [{ id: n, name: `manual-${n}`, status: 'online', busy: false, labels }] };
}

function policyOf(pools: PoolPolicy[], extra: Partial<ScalingPolicy> = {}): ScalingPolicy {
  return { stack: 'stepscale', pools, minRunningSeconds: 300, bootTimeoutSeconds: 600, ...extra };
}

const x64Pool = (maxRunners: number, minIdle = 0): PoolPolicy => ({
  name: 'x64',
  labels: x64,
  maxRunners,
  minIdle,
});
const armPool = (maxRunners: number, minIdle = 0): PoolPolicy => ({
  name: 'arm',
  labels: arm,
  maxRunners,
  minIdle,
});

function snapshot(parts: Part[], fields: Partial<Snapshot>): Snapshot {
  return {
    queuedByPool: {},
    runners: parts.flatMap((part) => part.runners),
    instances: parts.flatMap((part) => part.instances),
    collectionComplete: true,
    ...fields,
  };
}

const scaleSet = (assigned: number): Partial<Snapshot> => ({
  assignedByPool: { x64: assigned },
  scaleSetPools: ['x64'],
});

describe('decide: scale-set pools', () => {
  it.each([
    // name, maxRunners, minIdle, assigned, members, launch, terminate, queued shown
    ['nothing yet: one runner per assigned job', 10, 0, 3, [], 3, 0, 3],
    ['minIdle on top of the assigned jobs', 10, 1, 3, ['idle', 'busy', 'busy'], 1, 0, 1],
    ['never past maxRunners', 4, 0, 9, [], 4, 0, 9],
    ['booting instances are on their way', 10, 0, 2, ['booting', 'booting'], 0, 0, 2],
    [
      'running jobs keep their runners, only the surplus idle one goes',
      10,
      1,
      1,
      ['busy', 'idle', 'idle'],
      0,
      1,
      0,
    ],
    // GitHub's list shows a runner idle for a while after its job started: the sum still counts it.
    ['a busy runner listed idle is still counted', 10, 0, 2, ['idle', 'idle'], 0, 0, 2],
  ] as const)('%s', (_name, maxRunners, minIdle, assigned, members, launch, terminate, queued) => {
    // Prepare
    const parts = members.map((state, index) => ours('x64', index + 1, state));

    // Act
    const plan = decide(snapshot(parts, scaleSet(assigned)), policyOf([x64Pool(maxRunners, minIdle)]), now);

    // Assess
    const [x64Plan] = plan.pools;
    expect(x64Plan).toMatchObject({ source: 'scaleset', assigned, launch, queued });
    expect(x64Plan?.terminate).toHaveLength(terminate);
  });

  it('launches nothing for a runner that left with its finished job before the statistics said the job ended', () => {
    // Prepare: the runner list is newer than the statistics: 3 of 4 runners left, the statistics (taken at one
    // moment) still count 4 assigned jobs and 4 registered runners
    const parts = [ours('x64', 1, 'busy')];

    // Act
    const stale = decide(
      snapshot(parts, { ...scaleSet(4), registeredByPool: { x64: 4 } }),
      policyOf([x64Pool(10)]),
      now,
    );
    const fresh = decide(
      snapshot(parts, { ...scaleSet(4), registeredByPool: { x64: 1 } }),
      policyOf([x64Pool(10)]),
      now,
    );

    // Assess: the statistics' own count says nothing is missing; once they say 1 runner, 3 are
    expect(stale.pools[0]?.launch).toBe(0);
    expect(fresh.pools[0]?.launch).toBe(3);
  });

  it('counts no other runner as a scale set’s capacity: its jobs go to its own runners only', () => {
    // Prepare: an idle hand-registered runner with the pool's labels
    const parts = [foreignIdle(50)];

    // Act
    const asScaleSet = decide(snapshot(parts, scaleSet(1)), policyOf([x64Pool(5)]), now);
    const asPolled = decide(snapshot(parts, { queuedByPool: { x64: 1 } }), policyOf([x64Pool(5)]), now);

    // Assess
    expect(asScaleSet.pools[0]).toMatchObject({ idle: 0, launch: 1 });
    expect(asPolled.pools[0]).toMatchObject({ source: 'poll', idle: 1, launch: 0 });
  });

  it('lets a runner a scale-set pool does not count serve the next pool that it fits', () => {
    // Prepare: x64 is a scale set; the hand-registered runner has x64's labels and the arm pool is polled
    const parts = [foreignIdle(50, ['self-hosted', 'linux', 'x64', 'arm64'])];

    // Act
    const plan = decide(
      snapshot(parts, { ...scaleSet(0), queuedByPool: { arm: 1 } }),
      policyOf([x64Pool(5), armPool(5)]),
      now,
    );

    // Assess
    expect(plan.pools.map((pool) => [pool.pool, pool.idle, pool.launch])).toEqual([
      ['x64', 0, 0],
      ['arm', 1, 0],
    ]);
  });

  it('plans nothing for a pool whose demand was not observed, surplus or not', () => {
    // Prepare
    const parts = [ours('x64', 1, 'idle'), ours('x64', 2, 'idle')];

    // Act
    const plan = decide(
      snapshot(parts, { queuedByPool: { x64: 4 }, unobservedPools: ['x64'], scaleSetPools: ['x64'] }),
      policyOf([x64Pool(10, 0)]),
      now,
    );

    // Assess
    expect(plan.pools[0]).toMatchObject({ source: 'none', launch: 0, terminate: [] });
  });

  it('launches and removes for a scale set when no REST write slot is left, and not for a polled pool', () => {
    // Prepare: both pools want one launch and have one surplus idle runner; the write budget is spent
    const parts = [
      ours('x64', 1, 'idle'),
      ours('x64', 2, 'idle'),
      ours('arm', 3, 'idle'),
      ours('arm', 4, 'idle'),
    ];
    const arms = parts.slice(2).map((part) => ({
      ...part,
      runners: part.runners.map((runner) => ({ ...runner, labels: arm })),
    }));

    // Act
    const plan = decide(
      snapshot([...parts.slice(0, 2), ...arms], {
        assignedByPool: { x64: 1 },
        queuedByPool: { arm: 1 },
        scaleSetPools: ['x64'],
        writeSlots: 0,
      }),
      policyOf([x64Pool(10), armPool(10)], { maxPendingRegistrations: 0 }),
      now,
    );

    // Assess
    expect(plan.pools.map((pool) => [pool.pool, pool.terminate.length])).toEqual([
      ['x64', 1],
      ['arm', 0],
    ]);
    expect(plan.budgets.writes).toMatchObject({ slots: 0, removals: 1, deferred: 1 });
  });

  it('leaves the pending-registration cap to polled pools: a scale set launches past it', () => {
    // Act
    const plan = decide(
      snapshot([], { assignedByPool: { x64: 3 }, queuedByPool: { arm: 3 }, scaleSetPools: ['x64'] }),
      policyOf([x64Pool(10), armPool(10)], { maxPendingRegistrations: 1 }),
      now,
    );

    // Assess
    expect(plan.pools.map((pool) => [pool.pool, pool.launch])).toEqual([
      ['x64', 3],
      ['arm', 1],
    ]);
    expect(plan.budgets.writes.registrations).toBe(1);
  });
});
