import { describe, expect, it } from 'vitest';
import { decide, type Snapshot } from '../functions/core/decide.ts';
import type { Instance, Runner } from '../functions/core/model.ts';
import type { ScalingPolicy } from '../functions/core/policy.ts';

const now = new Date('2026-01-05T10:00:00Z');
const minutesAgo = (minutes: number) => new Date(now.getTime() - minutes * 60_000).toISOString();
const policy: ScalingPolicy = {
  stack: 'ci',
  pools: [{ name: 'x64', labels: ['self-hosted', 'linux', 'x64'], maxRunners: 50, minIdle: 0 }],
  minRunningSeconds: 300,
  bootTimeoutSeconds: 300,
};

function instance(id: string, launchedMinutesAgo: number, extra: Partial<Instance> = {}): Instance {
  return {
    id,
    pool: 'x64',
    state: 'running',
    launchedAt: minutesAgo(launchedMinutesAgo),
    runnerName: `ci-${id}`,
    ...extra,
  };
}

function runner(id: number, name: string, extra: Partial<Runner> = {}): Runner {
  return { id, name, status: 'online', busy: false, labels: ['self-hosted', 'linux', 'x64'], ...extra };
}

function snapshot(parts: Partial<Snapshot>): Snapshot {
  return { queuedByPool: {}, runners: [], instances: [], collectionComplete: true, ...parts };
}

describe('decide: orphans', () => {
  it('marks an instance without an online runner past the boot timeout, and keeps younger ones booting', () => {
    // Act
    const plan = decide(
      snapshot({ instances: [instance('i-0000000a', 6), instance('i-0000000b', 2)] }),
      policy,
      now,
    );
    // Assess
    expect(plan.orphansToMark).toEqual(['i-0000000a']);
    expect(plan.orphansToTerminate).toEqual([]);
    expect(plan.pools[0]).toMatchObject({ orphaned: 1, booting: 1 });
  });

  it('terminates an orphan marked by an earlier cycle', () => {
    const marked = instance('i-0000000a', 8, { orphanedSince: minutesAgo(1) });
    const plan = decide(snapshot({ instances: [marked] }), policy, now);
    expect(plan.orphansToMark).toEqual([]);
    expect(plan.orphansToTerminate).toEqual(['i-0000000a']);
  });

  it('never takes an instance whose runner is online, or busy while shown offline, for an orphan', () => {
    const instances = [
      instance('i-0000000a', 8, { orphanedSince: minutesAgo(1) }),
      instance('i-0000000b', 8, { orphanedSince: minutesAgo(1) }),
    ];
    const runners = [
      runner(1, 'ci-i-0000000a'),
      runner(2, 'ci-i-0000000b', { status: 'offline', busy: true }),
    ];
    const plan = decide(snapshot({ instances, runners }), policy, now);
    expect(plan.orphansToTerminate).toEqual([]);
    expect(plan.pools[0]).toMatchObject({ idle: 1, busy: 1, orphaned: 0 });
  });

  it('treats an instance whose registration exists but never came online as an orphan', () => {
    const plan = decide(
      snapshot({
        instances: [instance('i-0000000a', 6)],
        runners: [runner(1, 'ci-i-0000000a', { status: 'offline' })],
      }),
      policy,
      now,
    );
    expect(plan.orphansToMark).toEqual(['i-0000000a']);
    expect(plan.ghosts).toEqual([]); // its instance is live: not a ghost
  });
});

describe('decide: ghosts', () => {
  it('deletes offline registrations of this stack whose instance is gone, and nothing else', () => {
    const runners = [
      runner(1, 'ci-i-0000000a', { status: 'offline' }), // ghost
      runner(2, 'ci-i-0000000b', { status: 'offline' }), // instance still booting
      runner(3, 'ci-i-0000000c'), // online: not a ghost
      runner(4, 'other-i-0000000d', { status: 'offline' }), // another stack's
      runner(5, 'laptop', { status: 'offline' }), // someone's own runner
      runner(6, 'ci-i-0000000e', { status: 'offline', busy: true }), // busy: never touched
    ];
    const plan = decide(snapshot({ runners, instances: [instance('i-0000000b', 1)] }), policy, now);
    expect(plan.ghosts).toEqual([{ runnerId: 1, runnerName: 'ci-i-0000000a' }]);
  });
});

describe('decide: stale runner configs', () => {
  it('removes configs of instances that are gone once they are older than the boot timeout', () => {
    const storedRunnerConfigs = [
      { instanceId: 'i-0000000a', storedAt: minutesAgo(10) }, // instance gone: stale
      { instanceId: 'i-0000000b', storedAt: minutesAgo(1) }, // too young: EC2 may not list it yet
      { instanceId: 'i-0000000c', storedAt: minutesAgo(10) }, // instance live: its own
    ];
    const plan = decide(
      snapshot({ storedRunnerConfigs, instances: [instance('i-0000000c', 10)] }),
      policy,
      now,
    );
    expect(plan.staleRunnerConfigs).toEqual(['i-0000000a']);
  });
});

describe('decide: incomplete collection', () => {
  it('holds every removal: idle runners, orphans and ghosts', () => {
    const plan = decide(
      snapshot({
        collectionComplete: false,
        instances: [
          instance('i-0000000a', 10),
          instance('i-0000000b', 10, { orphanedSince: minutesAgo(1) }),
          instance('i-0000000c', 10),
        ],
        runners: [runner(1, 'ci-i-0000000c'), runner(2, 'ci-i-0000000f', { status: 'offline' })],
      }),
      policy,
      now,
    );
    expect(plan).toMatchObject({
      scaleDownHeld: true,
      orphansToMark: [],
      orphansToTerminate: [],
      ghosts: [],
    });
    expect(plan.pools[0]?.terminate).toEqual([]);
  });
});

describe('decide: per-cycle budgets', () => {
  const twoPools: ScalingPolicy = {
    ...policy,
    pools: [
      policy.pools[0] as ScalingPolicy['pools'][number],
      { name: 'arm', labels: ['arm64'], maxRunners: 50, minIdle: 0 },
    ],
    maxLaunchesPerCycle: 20,
  };

  it('shares the per-cycle launch budget fairly across pools, not in config order', () => {
    const plan = decide(snapshot({ queuedByPool: { x64: 15, arm: 15 } }), twoPools, now);
    expect(plan.pools.map((pool) => pool.launch)).toEqual([10, 10]);
    expect(plan.budgets.launches).toEqual({ asked: 30, allowed: 20, cap: 20 });
  });

  it('gives what a small pool leaves to the pools still asking', () => {
    const plan = decide(snapshot({ queuedByPool: { x64: 40, arm: 3 } }), twoPools, now);
    expect(plan.pools.map((pool) => pool.launch)).toEqual([17, 3]);
  });

  it('serves queued jobs before minIdle top-ups', () => {
    const warm: ScalingPolicy = {
      ...twoPools,
      pools: [
        { name: 'x64', labels: ['x64'], maxRunners: 50, minIdle: 10 },
        { name: 'arm', labels: ['arm64'], maxRunners: 50, minIdle: 0 },
      ],
      maxLaunchesPerCycle: 12,
    };
    // x64 wants 2 for its jobs and 10 for minIdle; arm wants 10 for its jobs.
    const plan = decide(snapshot({ queuedByPool: { x64: 2, arm: 10 } }), warm, now);
    expect(plan.pools.map((pool) => pool.launch)).toEqual([2, 10]);
  });

  it('launches no more than the registration backlog can register before the boot timeout', () => {
    const booting = ['i-0000000a', 'i-0000000b', 'i-0000000c'].map((id) => instance(id, 1));
    const plan = decide(
      snapshot({ queuedByPool: { x64: 20 }, instances: booting }),
      { ...policy, maxPendingRegistrations: 8 },
      now,
    );
    // Three launched earlier still wait for their registration: room for five more.
    expect(plan.pools[0]?.launch).toBe(5);
    expect(plan.pools[0]?.unregistered).toEqual(['i-0000000a', 'i-0000000b', 'i-0000000c']);
    expect(plan.budgets.launches).toEqual({ asked: 17, allowed: 5, cap: 5 });
  });

  it('counts an instance as registered once its registration exists or its config is stored', () => {
    const plan = decide(
      snapshot({
        instances: [instance('i-0000000a', 1), instance('i-0000000b', 1), instance('i-0000000c', 1)],
        runners: [runner(1, 'ci-i-0000000a', { status: 'offline' })],
        storedRunnerConfigs: [{ instanceId: 'i-0000000b', storedAt: minutesAgo(1) }],
      }),
      policy,
      now,
    );
    expect(plan.pools[0]?.unregistered).toEqual(['i-0000000c']);
    expect(plan.pools[0]?.booting).toBe(3);
  });

  it('launches and removes at most the configured number per cycle', () => {
    const capped = { ...policy, maxLaunchesPerCycle: 20, maxRemovalsPerCycle: 3 };
    const launchPlan = decide(snapshot({ queuedByPool: { x64: 45 } }), capped, now);
    expect(launchPlan.pools[0]?.launch).toBe(20);

    const idle = Array.from({ length: 8 }, (_, i) => `i-0000001${i}`);
    const removalPlan = decide(
      snapshot({
        instances: idle.map((id) => instance(id, 10)),
        runners: idle.map((id, i) => runner(i + 1, `ci-${id}`)),
      }),
      capped,
      now,
    );
    expect(removalPlan.pools[0]?.terminate).toHaveLength(3);
  });

  it('spends the write budget on registrations first, then removals, then ghosts, and says what waits', () => {
    const idle = Array.from({ length: 6 }, (_, i) => `i-0000002${i}`);
    const plan = decide(
      snapshot({
        queuedByPool: { arm: 4 },
        instances: [
          ...idle.map((id) => instance(id, 10)),
          instance('i-0000000a', 1), // booting, not registered yet
        ],
        runners: [
          ...idle.map((id, i) => runner(i + 1, `ci-${id}`)),
          runner(90, 'ci-i-00000000dead', { status: 'offline' }), // a ghost
        ],
        writeSlots: 8,
      }),
      twoPools,
      now,
    );
    // 1 waiting + 4 launched registrations leave 3 slots: 3 of the 6 surplus x64 runners, no ghost.
    expect(plan.pools.map((pool) => pool.launch)).toEqual([0, 4]);
    expect(plan.pools[0]?.terminate).toHaveLength(3);
    expect(plan.ghosts).toEqual([]);
    expect(plan.budgets.writes).toEqual({
      slots: 8,
      registrations: 5,
      removals: 6,
      ghosts: 1,
      deferred: 4,
    });
  });
});
