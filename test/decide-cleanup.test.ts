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

describe('decide: per-cycle caps', () => {
  it('shares the per-cycle launch budget across pools in config order', () => {
    const twoPools: ScalingPolicy = {
      ...policy,
      pools: [
        policy.pools[0] as ScalingPolicy['pools'][number],
        { name: 'arm', labels: ['arm64'], maxRunners: 50, minIdle: 0 },
      ],
      maxLaunchesPerCycle: 20,
    };
    const plan = decide(snapshot({ queuedByPool: { x64: 15, arm: 15 } }), twoPools, now);
    expect(plan.pools.map((pool) => pool.launch)).toEqual([15, 5]);
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
});
