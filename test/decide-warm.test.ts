/**
 * The warm pool in the decision (core/decide.ts with core/warm-pool.ts): ready stopped instances are started
 * before anything is launched, the pool is refilled (and replaced ahead while in steady use), every instance
 * counts toward maxRunners, and what can no longer serve is retired, each for its reason.
 */
import { describe, expect, it } from 'vitest';
import { decide, type Snapshot } from '../functions/core/decide.ts';
import type { Instance, Runner, WarmTag } from '../functions/core/model.ts';
import type { PoolPolicy, ScalingPolicy, WarmPolicy } from '../functions/core/policy.ts';
import { heldAtMax } from '../functions/handlers/held-pools.ts';

const now = new Date('2026-01-05T12:00:00Z');
const labels = ['self-hosted', 'linux', 'x64'];

function ago(seconds: number): string {
  return new Date(now.getTime() - seconds * 1000).toISOString();
}

function iid(n: number): string {
  return `i-${n.toString(16).padStart(8, '0')}`;
}

function warmPolicy(overrides: Partial<WarmPolicy> = {}): WarmPolicy {
  return {
    stopped: 3,
    windows: [],
    maxAgeSeconds: 86_400,
    prepareTimeoutSeconds: 900,
    replaceAheadSeconds: 0,
    ...overrides,
  };
}

function pool(overrides: Partial<PoolPolicy> = {}): PoolPolicy {
  return { name: 'x64', labels, maxRunners: 10, minIdle: 0, warm: warmPolicy(), ...overrides };
}

function policy(pools: PoolPolicy[], overrides: Partial<ScalingPolicy> = {}): ScalingPolicy {
  return { stack: 'stepscale', pools, minRunningSeconds: 300, bootTimeoutSeconds: 300, ...overrides };
}

function instance(n: number, fields: Partial<Instance> = {}): Instance {
  const id = iid(n);
  return { id, pool: 'x64', state: 'running', launchedAt: ago(60), runnerName: `stepscale-${id}`, ...fields };
}

/** A ready warm instance `n`, prepared `preparedSecondsAgo` ago, that powered itself off. */
function ready(n: number, preparedSecondsAgo = 600, warm: Partial<WarmTag> = {}): Instance {
  return instance(n, {
    state: 'stopped',
    stopReason: 'instance',
    launchedAt: ago(preparedSecondsAgo - 5),
    warm: { stage: 'preparing', preparedAt: ago(preparedSecondsAgo), ...warm },
  });
}

function preparing(n: number, launchedSecondsAgo = 30): Instance {
  return instance(n, {
    state: 'running',
    launchedAt: ago(launchedSecondsAgo),
    warm: { stage: 'preparing', preparedAt: ago(launchedSecondsAgo + 5) },
  });
}

/** Started from the pool `startedSecondsAgo` ago (EC2's launch time is the start). */
function started(n: number, startedSecondsAgo: number, state: Instance['state'] = 'running'): Instance {
  return instance(n, {
    state,
    launchedAt: ago(startedSecondsAgo),
    warm: { stage: 'started', preparedAt: ago(startedSecondsAgo + 3600) },
    ...(state === 'stopped' ? { stopReason: 'instance' as const } : {}),
  });
}

function busyRunner(inst: Instance, id: number): Runner {
  return { id, name: inst.runnerName, status: 'online', busy: true, labels };
}

function snapshot(
  queued: number,
  instances: Instance[],
  runners: Runner[] = [],
  extra: Partial<Snapshot> = {},
) {
  return { queuedByPool: { x64: queued }, runners, instances, collectionComplete: true, ...extra };
}

describe('decide: the warm pool', () => {
  it('starts ready instances, oldest first, before launching anything, and refills what it starts', () => {
    // Act
    const plan = decide(snapshot(2, [ready(1, 300), ready(2, 900), ready(3, 600)]), policy([pool()]), now);

    // Assess
    expect(plan.pools[0]).toMatchObject({
      start: [iid(2), iid(3)],
      launch: 0,
      prepare: 2,
      warm: { target: 3, ahead: 0, ready: 3, preparing: 0 },
    });
    expect(plan.retire).toEqual([]);
  });

  it('launches fresh only for what the ready instances cannot take', () => {
    const plan = decide(snapshot(5, [ready(1), ready(2)]), policy([pool()]), now);
    expect(plan.pools[0]).toMatchObject({ start: [iid(1), iid(2)], launch: 3, prepare: 3 });
  });

  it('starts for minIdle too, and not for jobs booting runners will take', () => {
    const plan = decide(
      snapshot(1, [ready(1), ready(2), started(3, 10, 'pending')]),
      policy([pool({ minIdle: 1 })]),
      now,
    );
    // queued 1 + minIdle 1 − booting 1 (the instance started 10 s ago) = 1
    expect(plan.pools[0]).toMatchObject({ booting: 1, start: [iid(1)], launch: 0 });
  });

  it('counts preparing instances toward the pool, and a stopping one as still preparing', () => {
    const stopping = { ...preparing(3, 60), state: 'stopping' as const };
    const plan = decide(snapshot(0, [ready(1), preparing(2), stopping]), policy([pool()]), now);
    expect(plan.pools[0]).toMatchObject({ prepare: 0, warm: { ready: 1, preparing: 2 } });
  });

  it('replaces ahead what was started within replaceAheadSeconds, at most target more', () => {
    // Prepare: 4 instances started from the pool in the last two minutes, one longer ago.
    const used = [started(11, 10), started(12, 50), started(13, 100), started(14, 119), started(15, 200)];
    const runners = used.map((inst, i) => busyRunner(inst, i + 1));
    const warm = warmPolicy({ stopped: 3, replaceAheadSeconds: 120 });

    // Act
    const plan = decide(
      snapshot(0, [ready(1), ...used], runners),
      policy([pool({ maxRunners: 20, warm })]),
      now,
    );

    // Assess: target 3 + ahead min(4, 3) − 1 ready
    expect(plan.pools[0]).toMatchObject({ prepare: 5, warm: { target: 3, ahead: 3 } });
  });

  it('counts every instance toward maxRunners: starts need no room, refills and launches do', () => {
    // Prepare: max 6 = 2 busy + 3 ready + 1 preparing
    const busyOnes = [instance(20), instance(21)];
    const runners = busyOnes.map((inst, i) => busyRunner(inst, i + 1));
    const instances = [...busyOnes, ready(1), ready(2), ready(3), preparing(4)];

    // Act
    const plan = decide(snapshot(5, instances, runners), policy([pool({ maxRunners: 6 })]), now);

    // Assess: all three ready ones start; nothing launches or prepares, the pool is full.
    expect(plan.pools[0]).toMatchObject({ start: [iid(1), iid(2), iid(3)], launch: 0, prepare: 0 });
  });

  it('shares the launch cap between starts and launches, and gives refills only what is left', () => {
    const plan = decide(
      snapshot(4, [ready(1), ready(2)]),
      policy([pool({ warm: warmPolicy({ stopped: 4 }) })], { maxLaunchesPerCycle: 5 }),
      now,
    );
    expect(plan.pools[0]).toMatchObject({ start: [iid(1), iid(2)], launch: 2, prepare: 1 });
    expect(plan.budgets.launches).toEqual({ asked: 4, allowed: 4, cap: 5 });
    expect(plan.budgets.prepares).toEqual({ asked: 4, allowed: 1 });
  });

  it('counts starts as registrations to write', () => {
    const plan = decide(snapshot(2, [ready(1), ready(2)], [], { writeSlots: 1 }), policy([pool()]), now);
    expect(plan.budgets.writes).toMatchObject({ registrations: 2, deferred: 1 });
  });

  it('treats a started instance like a fresh launch: booting, then registered', () => {
    const plan = decide(snapshot(1, [started(5, 20, 'pending')]), policy([pool()]), now);
    expect(plan.pools[0]).toMatchObject({ booting: 1, launch: 0, unregistered: [iid(5)] });
  });

  it.each([
    [
      'stopped through the API while preparing',
      { ...preparing(1), state: 'stopped', stopReason: 'api' },
      'interrupted',
    ],
    [
      'stopped by EC2 while preparing',
      { ...preparing(1), state: 'stopped', stopReason: 'other' },
      'interrupted',
    ],
    ['started by someone since its prepare launch', { ...ready(1), launchedAt: ago(100) }, 'restarted'],
    [
      'running after its prepare launch, by someone else',
      { ...ready(1), state: 'running', launchedAt: ago(100) },
      'restarted',
    ],
    ['still preparing past prepareTimeoutSeconds', preparing(1, 900), 'prepare-timeout'],
    ['ready but prepared more than maxAgeSeconds ago', ready(1, 86_400), 'too-old'],
    ['ready but from launch template version 3 of 4', ready(1, 600, { templateVersion: 3 }), 'old-template'],
    ['started for a job and stopped since', started(1, 400, 'stopped'), 'used'],
    ['a runner instance someone stopped', { ...instance(1), state: 'stopped', stopReason: 'api' }, 'stopped'],
  ] as const)('retires an instance %s (%s)', (_, inst, reason) => {
    // Act
    const plan = decide(
      snapshot(3, [inst as Instance], [], { templateVersions: { x64: 4 } }),
      policy([pool()]),
      now,
    );

    // Assess
    expect(plan.retire).toEqual([{ instanceId: iid(1), pool: 'x64', reason }]);
    expect(plan.pools[0]?.start).toEqual([]);
  });

  it('applies the orphan rule to a started instance (from its start), never to one still preparing', () => {
    // Both past the 300 s boot timeout since their (last) launch, neither with a registration.
    const startedLong = started(1, 400);
    const preparingLong = preparing(2, 400);
    const first = decide(snapshot(0, [startedLong, preparingLong]), policy([pool()]), now);
    expect(first.orphansToMark).toEqual([iid(1)]);
    expect(first.pools[0]).toMatchObject({ orphaned: 1 });
    // Started only 100 s ago (prepared an hour before): still booting, not an orphan.
    const recent = decide(snapshot(0, [started(3, 100, 'pending')]), policy([pool()]), now);
    expect(recent.orphansToMark).toEqual([]);
    expect(recent.pools[0]).toMatchObject({ booting: 1, orphaned: 0 });
  });

  it('scales down an idle runner on a started instance like any other, never a stopped one', () => {
    const idleOn = started(1, 1200);
    const idle: Runner = { id: 7, name: idleOn.runnerName, status: 'online', busy: false, labels };
    const plan = decide(snapshot(0, [idleOn, ready(2), ready(3), ready(4)], [idle]), policy([pool()]), now);
    expect(plan.pools[0]?.terminate).toEqual([
      { runnerId: 7, runnerName: idleOn.runnerName, instanceId: iid(1) },
    ]);
    expect(plan.retire).toEqual([]);
  });

  it('keeps a ready instance from the current template version, or from an unknown one', () => {
    const plan = decide(
      snapshot(0, [ready(1, 600, { templateVersion: 4 }), ready(2)], [], { templateVersions: { x64: 4 } }),
      policy([pool({ warm: warmPolicy({ stopped: 2 }) })]),
      now,
    );
    expect(plan.retire).toEqual([]);
    expect(plan.pools[0]?.warm).toMatchObject({ ready: 2 });
  });

  it('neither starts nor retires an instance that is still stopping after its job', () => {
    const plan = decide(snapshot(1, [started(1, 400, 'stopping'), ready(2)]), policy([pool()]), now);
    expect(plan.retire).toEqual([]);
    expect(plan.pools[0]?.start).toEqual([iid(2)]);
  });

  it('retires the ready surplus, oldest first, when a window ends or the pool has no warm config any more', () => {
    const instances = [ready(1, 300), ready(2, 900), ready(3, 600), preparing(4)];
    const shrunk = decide(snapshot(0, instances), policy([pool({ warm: warmPolicy({ stopped: 2 }) })]), now);
    expect(shrunk.retire).toEqual([
      { instanceId: iid(2), pool: 'x64', reason: 'surplus' },
      { instanceId: iid(3), pool: 'x64', reason: 'surplus' },
    ]);
    const { warm: _, ...withoutWarm } = pool();
    const gone = decide(snapshot(0, instances), policy([withoutWarm]), now);
    expect(gone.retire.map((r) => r.instanceId)).toEqual([iid(1), iid(2), iid(3)]);
    expect(gone.pools[0]).toMatchObject({ prepare: 0, warm: { target: 0, ready: 3, preparing: 1 } });
  });

  it('retires ready instances beyond a lowered maxRunners rather than keeping the pool over it', () => {
    const instances = [ready(1, 300), ready(2, 900), ready(3, 600)];
    const plan = decide(snapshot(0, instances), policy([pool({ maxRunners: 2 })]), now);
    expect(plan.retire.map((r) => r.instanceId)).toEqual([iid(2)]);
  });

  it('follows the schedule: more stopped instances inside a window', () => {
    const warm = warmPolicy({
      stopped: 1,
      windows: [{ days: ['mon'], from: '08:00', to: '18:00', timeZone: 'Europe/Berlin', stopped: 4 }],
    });
    // 12:00 UTC on Monday 2026-01-05 is 13:00 in Berlin.
    const plan = decide(snapshot(0, [ready(1)]), policy([pool({ warm })]), now);
    expect(plan.pools[0]).toMatchObject({ prepare: 3, warm: { target: 4 } });
    const evening = decide(
      snapshot(0, [ready(1)]),
      policy([pool({ warm })]),
      new Date('2026-01-05T18:00:00Z'),
    );
    expect(evening.pools[0]).toMatchObject({ prepare: 0, warm: { target: 1 } });
  });

  it('retires even when collection was incomplete (no runner, no job is touched), and removes no runner then', () => {
    const plan = decide(
      { ...snapshot(0, [started(1, 400, 'stopped')]), collectionComplete: false },
      policy([pool()]),
      now,
    );
    expect(plan.scaleDownHeld).toBe(true);
    expect(plan.retire).toEqual([{ instanceId: iid(1), pool: 'x64', reason: 'used' }]);
  });

  it('shows no warm pool for a pool that has neither warm config nor warm instances', () => {
    const { warm: _, ...plain } = pool();
    const plan = decide(snapshot(2, []), policy([plain]), now);
    expect(plan.pools[0]).not.toHaveProperty('warm');
    expect(plan.pools[0]).toMatchObject({ launch: 2, start: [], prepare: 0 });
  });
});

describe('heldAtMax with a warm pool: what the receiver reacts to a `completed` delivery for', () => {
  const maxOf = (maxRunners: number) => new Map([['x64', maxRunners]]);
  const busy = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => instance(from + i, { launchedAt: ago(600) }));

  it('counts stopped instances toward maxRunners: preparing ones hold the pool at max while a job waits', () => {
    const running = busy(1, 2);
    const plan = decide(
      snapshot(1, [...running, preparing(3), preparing(4)], running.map(busyRunner)),
      policy([pool({ maxRunners: 4, warm: warmPolicy({ stopped: 2 }) })]),
      now,
    );
    expect(plan.pools[0]).toMatchObject({ launch: 0, start: [], warm: { preparing: 2 } });
    expect(heldAtMax(plan.pools, maxOf(4))).toEqual(['x64']);
    expect(heldAtMax(plan.pools, maxOf(5))).toEqual([]);
  });

  it('counts a started instance as capacity for a waiting job and toward maxRunners', () => {
    const running = busy(1, 2);
    const instances = [...running, ready(3)];
    const setting = policy([pool({ maxRunners: 3, warm: warmPolicy({ stopped: 1 }) })]);
    const one = decide(snapshot(1, instances, running.map(busyRunner)), setting, now);
    expect(one.pools[0]).toMatchObject({ start: [iid(3)], launch: 0 });
    expect(heldAtMax(one.pools, maxOf(3))).toEqual([]);
    const two = decide(snapshot(2, instances, running.map(busyRunner)), setting, now);
    expect(two.pools[0]).toMatchObject({ start: [iid(3)], launch: 0 });
    expect(heldAtMax(two.pools, maxOf(3))).toEqual(['x64']);
  });
});
