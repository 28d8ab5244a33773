import { describe, expect, it } from 'vitest';
import { decide, type PoolPlan, type Snapshot } from '../functions/core/decide.ts';
import type { Instance, Runner } from '../functions/core/model.ts';
import type { PoolPolicy, ScalingPolicy } from '../functions/core/policy.ts';

const now = new Date('2026-01-05T12:00:00Z');
const MIN_RUNNING = 300;
const BOOT_TIMEOUT = 600;

const x64Labels = ['self-hosted', 'linux', 'x64'];
const armLabels = ['self-hosted', 'linux', 'arm64'];

/** Runners and instances that make up a snapshot; helpers below build one thing each. */
interface Part {
  readonly runners: Runner[];
  readonly instances: Instance[];
}

function ago(seconds: number): string {
  return new Date(now.getTime() - seconds * 1000).toISOString();
}

/** Instance id `n`, shaped like EC2's (8 hex digits). */
function iid(n: number): string {
  return `i-${n.toString(16).padStart(8, '0')}`;
}

function instance(pool: string, n: number, ageSeconds: number): Instance {
  const id = iid(n);
  return { id, pool, state: 'running', launchedAt: ago(ageSeconds), runnerName: `stepscale-${id}` };
}

/** Our instance `n` with an online runner (runner id = n). */
function ours(pool: string, n: number, ageSeconds: number, busy: boolean, labels = x64Labels): Part {
  const inst = instance(pool, n, ageSeconds);
  return { instances: [inst], runners: [{ id: n, name: inst.runnerName, status: 'online', busy, labels }] };
}
const idle = (pool: string, n: number, ageSeconds: number) => ours(pool, n, ageSeconds, false);
const busy = (pool: string, n: number, ageSeconds: number) => ours(pool, n, ageSeconds, true);

/** Our instance `n` without a registered runner yet. */
function launched(pool: string, n: number, ageSeconds: number): Part {
  return { instances: [{ ...instance(pool, n, ageSeconds), state: 'pending' }], runners: [] };
}

/** Our instance `n` whose runner registered but is offline. */
function offlineOurs(pool: string, n: number, ageSeconds: number): Part {
  const part = ours(pool, n, ageSeconds, false);
  return {
    instances: part.instances,
    runners: part.runners.map((runner) => ({ ...runner, status: 'offline' })),
  };
}

/** A runner that no instance of ours pairs with (registered by hand, or by another tool). */
function foreign(
  n: number,
  labels: string[],
  options: { busy?: boolean; status?: 'online' | 'offline'; name?: string } = {},
): Part {
  const runner: Runner = {
    id: n,
    name: options.name ?? `manual-${n}`,
    status: options.status ?? 'online',
    busy: options.busy ?? false,
    labels,
  };
  return { instances: [], runners: [runner] };
}

function snapshot(queuedByPool: Record<string, number>, parts: Part[], collectionComplete = true): Snapshot {
  return {
    queuedByPool,
    runners: parts.flatMap((part) => part.runners),
    instances: parts.flatMap((part) => part.instances),
    collectionComplete,
  };
}

function pool(name: string, maxRunners: number, minIdle = 0, labels = x64Labels): PoolPolicy {
  return { name, labels, maxRunners, minIdle };
}

function policy(...pools: PoolPolicy[]): ScalingPolicy {
  return { stack: 'stepscale', pools, minRunningSeconds: MIN_RUNNING, bootTimeoutSeconds: BOOT_TIMEOUT };
}

/** The plan of one pool, with removals reduced to their instance ids (oldest first). */
function summary(plan: PoolPlan) {
  return {
    idle: plan.idle,
    busy: plan.busy,
    booting: plan.booting,
    orphaned: plan.orphaned,
    launch: plan.launch,
    terminate: plan.terminate.map((removal) => removal.instanceId),
  };
}

interface Expected {
  idle: number;
  busy: number;
  booting: number;
  orphaned: number;
  launch: number;
  terminate: string[];
}

const none = { idle: 0, busy: 0, booting: 0, orphaned: 0, launch: 0, terminate: [] } satisfies Expected;

describe('decide', () => {
  describe('for a single pool', () => {
    it.each<{ case: string; pool: PoolPolicy; queued: number; parts: Part[]; expected: Expected }>([
      {
        case: 'launches one runner per queued job when nothing runs',
        pool: pool('x64', 10),
        queued: 3,
        parts: [],
        expected: { ...none, launch: 3 },
      },
      {
        case: 'launches nothing without jobs and without minIdle',
        pool: pool('x64', 10),
        queued: 0,
        parts: [],
        expected: none,
      },
      {
        case: 'launches nothing when idle runners cover the demand exactly',
        pool: pool('x64', 10),
        queued: 2,
        parts: [idle('x64', 1, 900), idle('x64', 2, 900)],
        expected: { ...none, idle: 2 },
      },
      {
        case: 'launches only what idle runners do not cover',
        pool: pool('x64', 10),
        queued: 5,
        parts: [idle('x64', 1, 900), idle('x64', 2, 900)],
        expected: { ...none, idle: 2, launch: 3 },
      },
      {
        case: 'does not count busy runners as capacity for queued jobs',
        pool: pool('x64', 10),
        queued: 2,
        parts: [busy('x64', 1, 900), busy('x64', 2, 900)],
        expected: { ...none, busy: 2, launch: 2 },
      },
      {
        case: 'launches nothing when booting instances cover the demand',
        pool: pool('x64', 10),
        queued: 3,
        parts: [idle('x64', 1, 900), launched('x64', 2, 30), launched('x64', 3, 599)],
        expected: { ...none, idle: 1, booting: 2 },
      },
      {
        case: 'launches the remainder beyond idle and booting capacity',
        pool: pool('x64', 10),
        queued: 6,
        parts: [idle('x64', 1, 900), launched('x64', 2, 30), launched('x64', 3, 10)],
        expected: { ...none, idle: 1, booting: 2, launch: 3 },
      },
      {
        case: 'tops an empty pool up to minIdle',
        pool: pool('x64', 10, 2),
        queued: 0,
        parts: [],
        expected: { ...none, launch: 2 },
      },
      {
        case: 'keeps minIdle spare on top of the demand',
        pool: pool('x64', 10, 2),
        queued: 3,
        parts: [idle('x64', 1, 900)],
        expected: { ...none, idle: 1, launch: 4 },
      },
      {
        case: 'counts booting instances towards minIdle',
        pool: pool('x64', 10, 2),
        queued: 0,
        parts: [idle('x64', 1, 900), launched('x64', 2, 60)],
        expected: { ...none, idle: 1, booting: 1 },
      },
      {
        case: 'keeps exactly minIdle idle runners without jobs',
        pool: pool('x64', 10, 2),
        queued: 0,
        parts: [idle('x64', 1, 900), idle('x64', 2, 900)],
        expected: { ...none, idle: 2 },
      },
      {
        case: 'clamps the launch at maxRunners',
        pool: pool('x64', 5),
        queued: 10,
        parts: [busy('x64', 1, 900), busy('x64', 2, 900)],
        expected: { ...none, busy: 2, launch: 3 },
      },
      {
        case: 'clamps a minIdle top-up at maxRunners',
        pool: pool('x64', 3, 3),
        queued: 4,
        parts: [busy('x64', 1, 900)],
        expected: { ...none, busy: 1, launch: 2 },
      },
      {
        case: 'launches nothing when idle, busy, booting and orphaned already reach maxRunners',
        pool: pool('x64', 5),
        queued: 10,
        parts: [
          idle('x64', 1, 900),
          busy('x64', 2, 900),
          busy('x64', 3, 900),
          launched('x64', 4, 60),
          launched('x64', 5, 3600),
        ],
        expected: { ...none, idle: 1, busy: 2, booting: 1, orphaned: 1 },
      },
      {
        case: 'launches nothing and removes idle runners, oldest first, when above maxRunners',
        pool: pool('x64', 3),
        queued: 4,
        parts: [
          idle('x64', 1, 1000),
          idle('x64', 2, 3000),
          idle('x64', 3, 2000),
          busy('x64', 4, 900),
          busy('x64', 5, 900),
        ],
        expected: { ...none, idle: 3, busy: 2, terminate: [iid(2), iid(3)] },
      },
      {
        case: 'never removes busy runners to get below a lowered maxRunners',
        pool: pool('x64', 0),
        queued: 2,
        parts: [busy('x64', 1, 900), busy('x64', 2, 900), idle('x64', 3, 900)],
        expected: { ...none, idle: 1, busy: 2, terminate: [iid(3)] },
      },
      {
        case: 'removes idle runners beyond the demand, oldest first',
        pool: pool('x64', 10),
        queued: 1,
        parts: [idle('x64', 1, 400), idle('x64', 2, 1200), idle('x64', 3, 800), idle('x64', 4, 3600)],
        expected: { ...none, idle: 4, terminate: [iid(4), iid(2), iid(3)] },
      },
      {
        case: 'removes idle runners beyond the demand plus minIdle',
        pool: pool('x64', 10, 1),
        queued: 1,
        parts: [idle('x64', 1, 400), idle('x64', 2, 1200), idle('x64', 3, 800), idle('x64', 4, 3600)],
        expected: { ...none, idle: 4, terminate: [iid(4), iid(2)] },
      },
      {
        case: 'breaks launch-time ties by runner id',
        pool: pool('x64', 10),
        queued: 0,
        parts: [idle('x64', 9, 900), idle('x64', 3, 900), idle('x64', 5, 900)],
        expected: { ...none, idle: 3, terminate: [iid(3), iid(5), iid(9)] },
      },
      {
        case: 'keeps idle runners younger than minRunningSeconds',
        pool: pool('x64', 10),
        queued: 0,
        parts: [
          idle('x64', 1, 100),
          idle('x64', 2, MIN_RUNNING - 1),
          idle('x64', 3, MIN_RUNNING),
          idle('x64', 4, 5000),
        ],
        expected: { ...none, idle: 4, terminate: [iid(4), iid(3)] },
      },
      {
        case: 'keeps an idle runner launched in the future (clock skew)',
        pool: pool('x64', 10),
        queued: 0,
        parts: [idle('x64', 1, -60)],
        expected: { ...none, idle: 1 },
      },
      {
        case: 'never removes busy runners, however old',
        pool: pool('x64', 10),
        queued: 0,
        parts: [busy('x64', 1, 86_400), busy('x64', 2, 86_400), busy('x64', 3, 900)],
        expected: { ...none, busy: 3 },
      },
      {
        case: 'counts an idle foreign runner as capacity',
        pool: pool('x64', 10),
        queued: 2,
        parts: [foreign(101, ['Self-Hosted', 'LINUX', 'X64', 'extra'])],
        expected: { ...none, idle: 1, launch: 1 },
      },
      {
        case: 'counts a busy foreign runner towards maxRunners',
        pool: pool('x64', 3),
        queued: 5,
        parts: [foreign(101, x64Labels, { busy: true }), foreign(102, x64Labels, { busy: true })],
        expected: { ...none, busy: 2, launch: 1 },
      },
      {
        case: 'never removes foreign runners, only surplus runners of ours',
        pool: pool('x64', 10),
        queued: 0,
        parts: [foreign(101, x64Labels), foreign(102, x64Labels), idle('x64', 1, 900)],
        expected: { ...none, idle: 3, terminate: [iid(1)] },
      },
      {
        case: 'treats a runner named like ours but without an instance as foreign',
        pool: pool('x64', 10),
        queued: 0,
        parts: [foreign(101, x64Labels, { name: 'stepscale-i-9999' })],
        expected: { ...none, idle: 1 },
      },
      {
        case: 'ignores foreign runners that do not serve the pool',
        pool: pool('x64', 10),
        queued: 1,
        parts: [foreign(101, armLabels), foreign(102, ['self-hosted', 'linux'], { busy: true })],
        expected: { ...none, launch: 1 },
      },
      {
        case: 'ignores offline foreign runners',
        pool: pool('x64', 10),
        queued: 2,
        parts: [
          foreign(101, x64Labels, { status: 'offline' }),
          foreign(102, x64Labels, { status: 'offline', busy: true }),
        ],
        expected: { ...none, launch: 2 },
      },
      {
        case: 'counts an instance whose runner is offline as booting within the boot timeout',
        pool: pool('x64', 10),
        queued: 1,
        parts: [offlineOurs('x64', 1, BOOT_TIMEOUT - 1)],
        expected: { ...none, booting: 1 },
      },
      {
        case: 'counts an instance whose runner is offline as orphaned after the boot timeout',
        pool: pool('x64', 10),
        queued: 1,
        parts: [offlineOurs('x64', 1, BOOT_TIMEOUT + 1)],
        expected: { ...none, orphaned: 1, launch: 1 },
      },
      {
        case: 'counts an instance without a runner after the boot timeout as orphaned, not booting',
        pool: pool('x64', 10),
        queued: 2,
        parts: [launched('x64', 1, BOOT_TIMEOUT), launched('x64', 2, BOOT_TIMEOUT - 1)],
        expected: { ...none, booting: 1, orphaned: 1, launch: 1 },
      },
      {
        case: 'counts orphaned instances towards maxRunners',
        pool: pool('x64', 2),
        queued: 3,
        parts: [launched('x64', 1, 3600), launched('x64', 2, 3600)],
        expected: { ...none, orphaned: 2 },
      },
    ])('$case', ({ pool: poolPolicy, queued, parts, expected }) => {
      // Act
      const plan = decide(snapshot({ [poolPolicy.name]: queued }, parts), policy(poolPolicy), now);

      // Assess
      expect(plan.scaleDownHeld).toBe(false);
      expect(plan.pools).toHaveLength(1);
      expect(plan.pools[0]?.pool).toBe(poolPolicy.name);
      expect(plan.pools[0]?.queued).toBe(queued);
      expect(summary(plan.pools[0] as PoolPlan)).toEqual(expected);
    });
  });

  it('describes each removal by runner id, runner name and instance id', () => {
    // Prepare
    const snap = snapshot({ x64: 0 }, [idle('x64', 7, 900)]);

    // Act
    const plan = decide(snap, policy(pool('x64', 10)), now);

    // Assess
    expect(plan.pools[0]?.terminate).toEqual([
      { runnerId: 7, runnerName: 'stepscale-i-00000007', instanceId: 'i-00000007' },
    ]);
  });

  it('counts a foreign runner for the first pool in config order that it serves', () => {
    // Prepare: the runner carries both pools' labels.
    const generic = pool('generic', 10, 0, ['self-hosted', 'linux']);
    const x64 = pool('x64', 10);
    const snap = snapshot({ generic: 0, x64: 1 }, [foreign(101, ['self-hosted', 'linux', 'x64'])]);

    // Act
    const plan = decide(snap, policy(generic, x64), now);

    // Assess
    expect(plan.pools.map(summary)).toEqual([
      { ...none, idle: 1 },
      { ...none, launch: 1 },
    ]);
  });

  describe('when collection was incomplete', () => {
    it('removes nothing and reports that scale-down was held', () => {
      // Prepare: plenty of surplus, and a pool above its maximum.
      const snap = snapshot(
        { x64: 0, arm: 0 },
        [idle('x64', 1, 3600), idle('x64', 2, 3600), ours('arm', 3, 3600, false, armLabels)],
        false,
      );

      // Act
      const plan = decide(snap, policy(pool('x64', 10), pool('arm', 0, 0, armLabels)), now);

      // Assess
      expect(plan.scaleDownHeld).toBe(true);
      expect(plan.pools.map(summary)).toEqual([
        { ...none, idle: 2 },
        { ...none, idle: 1 },
      ]);
    });

    it('still launches for the demand it did see', () => {
      // Prepare
      const snap = snapshot({ x64: 2 }, [idle('x64', 1, 3600)], false);

      // Act
      const plan = decide(snap, policy(pool('x64', 10, 1)), now);

      // Assess
      expect(plan.scaleDownHeld).toBe(true);
      expect(summary(plan.pools[0] as PoolPlan)).toEqual({ ...none, idle: 1, launch: 2 });
    });
  });

  it('decides every pool independently, in config order', () => {
    // Prepare
    const x64 = pool('x64', 4);
    const arm = pool('arm', 10, 1, armLabels);
    const gpu = pool('gpu', 2, 0, ['self-hosted', 'gpu']);
    const snap = snapshot({ gpu: 1, x64: 6 }, [
      busy('x64', 1, 900),
      ours('arm', 2, 900, false, armLabels),
      ours('arm', 3, 1900, false, armLabels),
      ours('arm', 4, 2900, false, armLabels),
      launched('gpu', 5, 30),
    ]);

    // Act
    const plan = decide(snap, policy(x64, arm, gpu), now);

    // Assess
    expect(plan.pools.map((p) => p.pool)).toEqual(['x64', 'arm', 'gpu']);
    expect(plan.pools.map(summary)).toEqual([
      { ...none, busy: 1, launch: 3 },
      { ...none, idle: 3, terminate: [iid(4), iid(3)] },
      { ...none, booting: 1 },
    ]);
  });

  it('treats a pool missing from the demand as having no queued jobs', () => {
    // Act
    const plan = decide(snapshot({}, [idle('x64', 1, 900)]), policy(pool('x64', 10, 1)), now);

    // Assess
    expect(plan.pools[0]?.queued).toBe(0);
    expect(summary(plan.pools[0] as PoolPlan)).toEqual({ ...none, idle: 1 });
  });

  it('ignores instances and demand of pools that are not configured', () => {
    // Prepare: the retired pool's runner carries labels no configured pool needs.
    const snap = snapshot({ x64: 1, retired: 5 }, [
      ours('retired', 1, 3600, false, ['self-hosted', 'retired']),
      launched('retired', 2, 30),
    ]);

    // Act
    const plan = decide(snap, policy(pool('x64', 10)), now);

    // Assess
    expect(plan.pools.map(summary)).toEqual([{ ...none, launch: 1 }]);
  });

  it('returns no pools when none is configured', () => {
    // Act
    const plan = decide(snapshot({ x64: 3 }, [idle('x64', 1, 900)]), policy(), now);

    // Assess
    expect(plan.pools).toEqual([]);
    expect(plan.scaleDownHeld).toBe(false);
  });

  it('depends on the injected time only', () => {
    // Prepare: the same instance, young at one time and old at a later one.
    const snap = snapshot({ x64: 0 }, [idle('x64', 1, 100), launched('x64', 2, 100)]);
    const later = new Date(now.getTime() + BOOT_TIMEOUT * 1000);

    // Act
    const early = decide(snap, policy(pool('x64', 10)), now);
    const late = decide(snap, policy(pool('x64', 10)), later);

    // Assess
    expect(summary(early.pools[0] as PoolPlan)).toEqual({ ...none, idle: 1, booting: 1 });
    expect(summary(late.pools[0] as PoolPlan)).toEqual({
      ...none,
      idle: 1,
      orphaned: 1,
      terminate: [iid(1)],
    });
  });
});
