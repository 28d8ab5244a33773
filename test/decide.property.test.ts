/**
 * Properties of the scaling decision over generated fleets. Every snapshot is built from a description
 * whose ground truth (how many runners are idle, busy, booting or orphaned per pool, and which runners may
 * be removed) is known by construction, so the expectations never come from decide.ts itself.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, type Plan, type PoolPlan, type Snapshot } from '../functions/core/decide.ts';
import type { Instance, Runner } from '../functions/core/model.ts';
import type { ScalingPolicy } from '../functions/core/policy.ts';

const NOW = new Date('2026-01-05T12:00:00Z');
const NUM_RUNS = 300;

type Kind =
  | 'ours-idle' // our instance, online idle runner
  | 'ours-busy' // our instance, online busy runner
  | 'ours-offline' // our instance, runner registered but offline
  | 'ours-unregistered' // our instance, no runner yet
  | 'foreign-idle' // a runner without an instance of ours, serving this pool
  | 'foreign-busy'
  | 'foreign-offline';

interface MemberSpec {
  readonly kind: Kind;
  readonly ageSeconds: number;
  readonly upperCase: boolean;
  /** Foreign runners only: also carry the next pool's label, so they serve two pools. */
  readonly alsoServesNext: boolean;
}

interface PoolSpec {
  readonly maxRunners: number;
  readonly minIdleWanted: number;
  readonly queued: number;
  readonly members: readonly MemberSpec[];
}

interface ScenarioSpec {
  readonly pools: readonly PoolSpec[];
  readonly minRunningSeconds: number;
  readonly bootTimeoutSeconds: number;
  readonly collectionComplete: boolean;
  /** Runners and instances that belong to no configured pool. */
  readonly noise: readonly ('retired-instance' | 'unserved-runner' | 'stray-offline')[];
  readonly shuffleSeed: number;
}

/** What a pool holds, known from how the snapshot was built. */
interface Truth {
  idle: number;
  busy: number;
  booting: number;
  orphaned: number;
  /** Runner ids of ours that are idle, online and at least minRunningSeconds old → their age. */
  eligibleAge: Map<number, number>;
}

interface Scenario {
  readonly spec: ScenarioSpec;
  readonly policy: ScalingPolicy;
  readonly snapshot: Snapshot;
  readonly truth: ReadonlyMap<string, Truth>;
}

/** Ages in seconds: any, or whole minutes, which makes ties and exact threshold hits common. */
const ageArb = fc.oneof(
  fc.integer({ min: -30, max: 2400 }),
  fc.integer({ min: 0, max: 20 }).map((minutes) => minutes * 60),
);

const memberArb: fc.Arbitrary<MemberSpec> = fc.record({
  kind: fc.oneof(
    { arbitrary: fc.constant<Kind>('ours-idle'), weight: 4 },
    { arbitrary: fc.constant<Kind>('ours-busy'), weight: 2 },
    { arbitrary: fc.constantFrom<Kind>('ours-offline', 'ours-unregistered'), weight: 2 },
    { arbitrary: fc.constantFrom<Kind>('foreign-idle', 'foreign-busy', 'foreign-offline'), weight: 2 },
  ),
  ageSeconds: ageArb,
  upperCase: fc.boolean(),
  alsoServesNext: fc.boolean(),
});

const poolArb: fc.Arbitrary<PoolSpec> = fc.record({
  maxRunners: fc.integer({ min: 0, max: 8 }),
  minIdleWanted: fc.integer({ min: 0, max: 4 }),
  queued: fc.integer({ min: 0, max: 12 }),
  members: fc.array(memberArb, { maxLength: 10 }),
});

const specArb: fc.Arbitrary<ScenarioSpec> = fc.record({
  pools: fc.array(poolArb, { minLength: 1, maxLength: 3 }),
  minRunningSeconds: fc.oneof(fc.integer({ min: 0, max: 1200 }), fc.constantFrom(0, 60, 300, 600)),
  bootTimeoutSeconds: fc.oneof(fc.integer({ min: 30, max: 1200 }), fc.constantFrom(30, 300, 600)),
  collectionComplete: fc.boolean(),
  noise: fc.array(fc.constantFrom('retired-instance', 'unserved-runner', 'stray-offline'), { maxLength: 3 }),
  shuffleSeed: fc.integer(),
});

const scenarioArb: fc.Arbitrary<Scenario> = specArb.map(build);

function poolName(index: number): string {
  return `pool-${index}`;
}

function poolLabels(index: number): string[] {
  return ['self-hosted', `pool-${index}`];
}

function build(spec: ScenarioSpec): Scenario {
  const policy: ScalingPolicy = {
    stack: 'stepscale',
    pools: spec.pools.map((pool, index) => ({
      name: poolName(index),
      labels: poolLabels(index),
      maxRunners: pool.maxRunners,
      minIdle: Math.min(pool.minIdleWanted, pool.maxRunners),
    })),
    minRunningSeconds: spec.minRunningSeconds,
    bootTimeoutSeconds: spec.bootTimeoutSeconds,
  };
  const runners: Runner[] = [];
  const instances: Instance[] = [];
  const truth = new Map<string, Truth>();
  let nextId = 1;

  const addInstance = (pool: string, ageSeconds: number, state: Instance['state'] = 'running'): Instance => {
    const id = `i-${(nextId++).toString(16).padStart(17, '0')}`;
    const instance: Instance = {
      id,
      pool,
      state,
      launchedAt: new Date(NOW.getTime() - ageSeconds * 1000).toISOString(),
      runnerName: `stepscale-${id}`,
    };
    instances.push(instance);
    return instance;
  };
  const addRunner = (runner: Omit<Runner, 'id'>): Runner => {
    const added = { ...runner, id: nextId++ };
    runners.push(added);
    return added;
  };

  spec.pools.forEach((poolSpec, index) => {
    const name = poolName(index);
    const t: Truth = { idle: 0, busy: 0, booting: 0, orphaned: 0, eligibleAge: new Map() };
    truth.set(name, t);
    for (const member of poolSpec.members) {
      const labels = poolLabels(index).map((label) => (member.upperCase ? label.toUpperCase() : label));
      const booted = (status: Runner['status'], busy: boolean) => {
        const instance = addInstance(name, member.ageSeconds);
        return addRunner({ name: instance.runnerName, status, busy, labels });
      };
      switch (member.kind) {
        case 'ours-idle': {
          const runner = booted('online', false);
          t.idle += 1;
          if (member.ageSeconds >= spec.minRunningSeconds) t.eligibleAge.set(runner.id, member.ageSeconds);
          break;
        }
        case 'ours-busy':
          booted('online', true);
          t.busy += 1;
          break;
        case 'ours-offline':
        case 'ours-unregistered':
          if (member.kind === 'ours-offline') booted('offline', false);
          else addInstance(name, member.ageSeconds, member.upperCase ? 'pending' : 'running');
          if (member.ageSeconds >= spec.bootTimeoutSeconds) t.orphaned += 1;
          else t.booting += 1;
          break;
        default: {
          // Foreign: counted for this pool, the first (in config order) it serves, even when it also serves the next.
          const extra = member.alsoServesNext && index + 1 < spec.pools.length ? [`pool-${index + 1}`] : [];
          const status = member.kind === 'foreign-offline' ? 'offline' : 'online';
          const busy = member.kind === 'foreign-busy';
          addRunner({ name: `manual-${nextId}`, status, busy, labels: [...labels, ...extra, 'extra'] });
          if (status === 'online' && busy) t.busy += 1;
          else if (status === 'online') t.idle += 1;
        }
      }
    }
  });

  for (const noise of spec.noise) {
    if (noise === 'retired-instance') {
      // An instance of a pool no longer configured, with an online idle runner no configured pool serves.
      const instance = addInstance('retired', 3600);
      addRunner({
        name: instance.runnerName,
        status: 'online',
        busy: false,
        labels: ['self-hosted', 'retired'],
      });
    } else if (noise === 'unserved-runner') {
      addRunner({ name: `manual-${nextId}`, status: 'online', busy: false, labels: ['self-hosted', 'gpu'] });
    } else {
      // An offline runner with a name like ours but no instance: ignored.
      addRunner({ name: `stepscale-i-gone${nextId}`, status: 'offline', busy: true, labels: poolLabels(0) });
    }
  }

  const queuedByPool: Record<string, number> = { retired: 4 };
  spec.pools.forEach((pool, index) => {
    queuedByPool[poolName(index)] = pool.queued;
  });
  const snapshot: Snapshot = {
    queuedByPool,
    runners: shuffle(runners, spec.shuffleSeed),
    instances: shuffle(instances, spec.shuffleSeed ^ 0x5bd1e995),
    collectionComplete: spec.collectionComplete,
  };
  return { spec, policy, snapshot, truth };
}

/** Deterministic Fisher-Yates shuffle (mulberry32), so a failing case replays exactly. */
function shuffle<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

function truthOf(scenario: Scenario, pool: string): Truth {
  const truth = scenario.truth.get(pool);
  if (!truth) throw new Error(`no truth for ${pool}`);
  return truth;
}

function currentOf(truth: Truth): number {
  return truth.idle + truth.busy + truth.booting + truth.orphaned;
}

function withQueued(scenario: Scenario, extra: readonly number[]): Scenario {
  const queuedByPool = { ...scenario.snapshot.queuedByPool };
  scenario.policy.pools.forEach((pool, index) => {
    queuedByPool[pool.name] = (queuedByPool[pool.name] ?? 0) + (extra[index] ?? 0);
  });
  return { ...scenario, snapshot: { ...scenario.snapshot, queuedByPool } };
}

function run(scenario: Scenario): Plan {
  return decide(scenario.snapshot, scenario.policy, NOW);
}

/** One pool's plan beside what its scenario was built from: the pool's spec and its ground truth. */
interface PoolCase {
  readonly pool: PoolPlan;
  readonly spec: PoolSpec;
  readonly truth: Truth;
}

function poolCases(scenario: Scenario, plan: Plan): PoolCase[] {
  return plan.pools.map((pool, index) => {
    const spec = scenario.spec.pools[index];
    if (!spec) throw new Error('pool missing from spec');
    return { pool, spec, truth: truthOf(scenario, pool.pool) };
  });
}

/** Decides every generated scenario and expects no pool to break a rule; `check` describes each breach. */
function expectEveryPool(check: (each: PoolCase, scenario: Scenario) => string[]): void {
  fc.assert(
    fc.property(scenarioArb, (scenario) => {
      // Act
      const plan = run(scenario);

      // Assess
      const violations = poolCases(scenario, plan).flatMap((each) => check(each, scenario));
      expect(violations).toEqual([]);
    }),
    { numRuns: NUM_RUNS },
  );
}

describe('decide (properties)', () => {
  it('reports the inventory the snapshot was built from', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        // Act
        const plan = run(scenario);

        // Assess
        const actual = plan.pools.map((pool) => [
          pool.pool,
          pool.queued,
          pool.idle,
          pool.busy,
          pool.booting,
          pool.orphaned,
        ]);
        const expected = scenario.policy.pools.map((pool, index) => {
          const truth = truthOf(scenario, pool.name);
          const queued = scenario.spec.pools[index]?.queued;
          return [pool.name, queued, truth.idle, truth.busy, truth.booting, truth.orphaned];
        });
        expect(actual).toEqual(expected);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('never takes a pool above maxRunners, and launches nothing at or above it', () => {
    expectEveryPool(({ pool, truth, spec }) => {
      const violations: string[] = [];
      const max = spec.maxRunners;
      const current = currentOf(truth);
      if (!Number.isInteger(pool.launch) || pool.launch < 0)
        violations.push(`${pool.pool}: launch ${pool.launch}`);
      if (current <= max && current + pool.launch > max) {
        violations.push(`${pool.pool}: ${current} + ${pool.launch} above max ${max}`);
      }
      if (current >= max && pool.launch !== 0) {
        violations.push(`${pool.pool}: launches ${pool.launch} at ${current} of max ${max}`);
      }
      return violations;
    });
  });

  it('launches enough for the demand plus minIdle whenever maxRunners allows it', () => {
    expectEveryPool(({ pool, truth, spec }) => {
      const wanted = spec.queued + Math.min(spec.minIdleWanted, spec.maxRunners);
      const headroom = Math.max(0, spec.maxRunners - currentOf(truth));
      // Capacity on hand or on its way after this cycle reaches the demand, unless the maximum stops it.
      const reached = truth.idle + truth.booting + pool.launch >= wanted;
      return !reached && pool.launch !== headroom
        ? [`${pool.pool}: launches ${pool.launch} for ${wanted} wanted, headroom ${headroom}`]
        : [];
    });
  });

  it('only removes idle, online runners of ours that are old enough, oldest first', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        // Prepare
        const runnersById = new Map(scenario.snapshot.runners.map((runner) => [runner.id, runner]));
        const instancesById = new Map(scenario.snapshot.instances.map((instance) => [instance.id, instance]));

        // Act
        const plan = run(scenario);

        // Assess
        const violations: string[] = [];
        const removedIds = plan.pools.flatMap((pool) => pool.terminate.map((removal) => removal.runnerId));
        if (new Set(removedIds).size !== removedIds.length)
          violations.push(`duplicate removals ${removedIds}`);
        for (const pool of plan.pools) {
          const truth = truthOf(scenario, pool.pool);
          for (const removal of pool.terminate) {
            const runner = runnersById.get(removal.runnerId);
            const instance = instancesById.get(removal.instanceId);
            const ageSeconds = instance
              ? (NOW.getTime() - Date.parse(instance.launchedAt)) / 1000
              : Number.NaN;
            const ok =
              runner !== undefined &&
              instance !== undefined &&
              !runner.busy &&
              runner.status === 'online' &&
              runner.name === removal.runnerName &&
              instance.runnerName === runner.name &&
              instance.pool === pool.pool &&
              ageSeconds >= scenario.spec.minRunningSeconds &&
              truth.eligibleAge.has(removal.runnerId);
            if (!ok)
              violations.push(
                `${pool.pool}: may not remove ${JSON.stringify({ removal, runner, instance })}`,
              );
          }
          // Oldest first: removals come in non-increasing age, and nothing kept is older than a removal.
          const removedAges = pool.terminate.map(
            (removal) => truth.eligibleAge.get(removal.runnerId) ?? Number.NaN,
          );
          if (removedAges.some((age, i) => i > 0 && age > (removedAges[i - 1] ?? Number.NaN))) {
            violations.push(`${pool.pool}: removals not oldest first: ${removedAges}`);
          }
          const youngestRemoved = Math.min(...removedAges);
          const removed = new Set(pool.terminate.map((removal) => removal.runnerId));
          for (const [runnerId, age] of truth.eligibleAge) {
            if (!removed.has(runnerId) && age > youngestRemoved) {
              violations.push(
                `${pool.pool}: keeps runner ${runnerId} (${age}s) but removes one of ${youngestRemoved}s`,
              );
            }
          }
        }
        expect(violations).toEqual([]);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('removes the idle surplus over demand plus minIdle, or the excess over maxRunners, and no more', () => {
    expectEveryPool(({ pool, truth, spec }, scenario) => {
      const surplus = truth.idle - spec.queued - Math.min(spec.minIdleWanted, spec.maxRunners);
      const excess = currentOf(truth) - spec.maxRunners;
      const allowed = Math.max(0, surplus, excess);
      // With complete collection, as many as allowed of those eligible; otherwise none at all.
      const expected = scenario.spec.collectionComplete ? Math.min(allowed, truth.eligibleAge.size) : 0;
      return pool.terminate.length !== expected
        ? [`${pool.pool}: removes ${pool.terminate.length}, expected ${expected}`]
        : [];
    });
  });

  it('never launches less, nor removes more, when more jobs are queued', () => {
    fc.assert(
      fc.property(
        scenarioArb,
        fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 3, maxLength: 3 }),
        (scenario, extra) => {
          // Prepare
          const busier = withQueued(scenario, extra);

          // Act
          const before = run(scenario);
          const after = run(busier);

          // Assess
          const violations: string[] = [];
          for (const [index, pool] of before.pools.entries()) {
            const more = after.pools[index];
            if (!more) throw new Error('pool missing from plan');
            const removedBefore = new Set(pool.terminate.map((removal) => removal.runnerId));
            if (more.queued !== pool.queued + (extra[index] ?? 0))
              violations.push(`${pool.pool}: queued ${more.queued}`);
            if (more.launch < pool.launch)
              violations.push(`${pool.pool}: launch ${pool.launch} → ${more.launch}`);
            if (more.terminate.some((removal) => !removedBefore.has(removal.runnerId))) {
              violations.push(
                `${pool.pool}: removes ${more.terminate.length} (was ${pool.terminate.length}) or others`,
              );
            }
          }
          expect(violations).toEqual([]);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('is deterministic and independent of the order of runners and instances', () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer(), (scenario, seed) => {
        // Prepare
        const reordered: Snapshot = {
          ...scenario.snapshot,
          runners: shuffle(scenario.snapshot.runners, seed),
          instances: shuffle(scenario.snapshot.instances, seed + 1),
        };
        const copy: Snapshot = structuredClone(scenario.snapshot);

        // Act
        const first = run(scenario);
        const again = decide(copy, structuredClone(scenario.policy), new Date(NOW.getTime()));
        const shuffled = decide(reordered, scenario.policy, NOW);

        // Assess
        expect([again, shuffled]).toEqual([first, first]);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('removes nothing when collection was incomplete, and holds scale-down only then', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        // Prepare
        const incomplete: Snapshot = { ...scenario.snapshot, collectionComplete: false };

        // Act
        const plan = decide(incomplete, scenario.policy, NOW);
        const asGenerated = run(scenario);

        // Assess
        expect([plan.scaleDownHeld, plan.pools.flatMap((pool) => pool.terminate)]).toEqual([true, []]);
        expect(asGenerated.scaleDownHeld).toBe(!scenario.spec.collectionComplete);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
