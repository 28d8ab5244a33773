/**
 * Properties of the warm pool in the decision over generated pools. Every instance is built as one kind whose
 * meaning is known by construction (ready, preparing, started and booting, stopped after its job, …), so the
 * expectations never come from decide.ts or warm-pool.ts themselves.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, type Plan, type PoolPlan, type Snapshot } from '../functions/core/decide.ts';
import type { Instance, Runner } from '../functions/core/model.ts';
import type { ScalingPolicy } from '../functions/core/policy.ts';
import type { RetireReason } from '../functions/core/warm-pool.ts';

const NOW = new Date('2026-01-05T12:00:00Z');
const MAX_AGE = 3600;
const PREPARE_TIMEOUT = 600;
const BOOT_TIMEOUT = 300;
const TEMPLATE = 5;

type Kind =
  | 'ready' // stopped by itself after its prepare, young, current template
  | 'ready-old' // … prepared more than maxAge ago
  | 'ready-old-template'
  | 'preparing'
  | 'preparing-hung' // running past the prepare timeout
  | 'interrupted' // stopped through the API while preparing
  | 'restarted' // started by someone else since its prepare launch
  | 'started-booting' // started from the pool, no runner yet
  | 'started-busy'
  | 'started-stopped' // ran its job (or failed to start) and stopped
  | 'started-stopping'
  | 'runner-idle' // a fresh launch with an online idle runner
  | 'runner-busy'
  | 'runner-booting'
  | 'runner-stopped'; // a fresh launch someone stopped

const retireReason: Partial<Record<Kind, RetireReason>> = {
  'ready-old': 'too-old',
  'ready-old-template': 'old-template',
  'preparing-hung': 'prepare-timeout',
  interrupted: 'interrupted',
  restarted: 'restarted',
  'started-stopped': 'used',
  'runner-stopped': 'stopped',
};

interface PoolSpec {
  readonly maxRunners: number;
  readonly minIdle: number;
  readonly stopped: number;
  readonly replaceAheadSeconds: number;
  readonly queued: number;
  readonly members: readonly { kind: Kind; ageSeconds: number }[];
}

const kindArb = fc.constantFrom<Kind>(
  'ready',
  'ready',
  'ready',
  'ready-old',
  'ready-old-template',
  'preparing',
  'preparing-hung',
  'interrupted',
  'restarted',
  'started-booting',
  'started-busy',
  'started-stopped',
  'started-stopping',
  'runner-idle',
  'runner-busy',
  'runner-booting',
  'runner-stopped',
);

const poolArb: fc.Arbitrary<PoolSpec> = fc
  .record({
    maxRunners: fc.integer({ min: 0, max: 12 }),
    minIdle: fc.integer({ min: 0, max: 3 }),
    stopped: fc.integer({ min: 0, max: 6 }),
    replaceAheadSeconds: fc.constantFrom(0, 60, 120),
    queued: fc.integer({ min: 0, max: 15 }),
    members: fc.array(fc.record({ kind: kindArb, ageSeconds: fc.integer({ min: 1, max: 200 }) }), {
      maxLength: 14,
    }),
  })
  .map((spec) => ({ ...spec, minIdle: Math.min(spec.minIdle, spec.maxRunners) }));

interface Scenario {
  readonly policy: ScalingPolicy;
  readonly snapshot: Snapshot;
  readonly kinds: ReadonlyMap<string, Kind>;
  readonly specs: readonly PoolSpec[];
}

function ago(seconds: number): string {
  return new Date(NOW.getTime() - seconds * 1000).toISOString();
}

function build(specs: readonly PoolSpec[], caps: { launches?: number }): Scenario {
  const policy: ScalingPolicy = {
    stack: 'stepscale',
    pools: specs.map((spec, index) => ({
      name: `pool-${index}`,
      labels: ['self-hosted', `pool-${index}`],
      maxRunners: spec.maxRunners,
      minIdle: spec.minIdle,
      warm: {
        stopped: spec.stopped,
        windows: [],
        maxAgeSeconds: MAX_AGE,
        prepareTimeoutSeconds: PREPARE_TIMEOUT,
        replaceAheadSeconds: spec.replaceAheadSeconds,
      },
    })),
    minRunningSeconds: 0,
    bootTimeoutSeconds: BOOT_TIMEOUT,
    ...(caps.launches === undefined ? {} : { maxLaunchesPerCycle: caps.launches }),
  };
  const instances: Instance[] = [];
  const runners: Runner[] = [];
  const kinds = new Map<string, Kind>();
  let next = 1;
  specs.forEach((spec, index) => {
    const pool = `pool-${index}`;
    for (const { kind, ageSeconds } of spec.members) {
      const id = `i-${(next++).toString(16).padStart(8, '0')}`;
      kinds.set(id, kind);
      const base = { id, pool, runnerName: `stepscale-${id}` };
      const prepared = (secondsAgo: number, templateVersion = TEMPLATE) => ({
        stage: 'preparing' as const,
        preparedAt: ago(secondsAgo),
        templateVersion,
      });
      const startedTag = { stage: 'started' as const, preparedAt: ago(ageSeconds + 1800) };
      const runner = (busy: boolean) =>
        runners.push({ id: next++, name: base.runnerName, status: 'online', busy, labels: [pool] });
      /** A prepare launch that warmed up and stopped itself, as the warm pool keeps it. */
      const warmedUp = (launchedSecondsAgo: number, preparedSecondsAgo: number, templateVersion = TEMPLATE) =>
        instances.push({
          ...base,
          state: 'stopped',
          stopReason: 'instance',
          launchedAt: ago(launchedSecondsAgo),
          warm: prepared(preparedSecondsAgo, templateVersion),
        });
      /** A prepare launch still running its warm-up. */
      const warmingUp = (secondsAgo: number) =>
        instances.push({
          ...base,
          state: 'running',
          launchedAt: ago(secondsAgo),
          warm: prepared(secondsAgo),
        });
      switch (kind) {
        case 'ready':
          warmedUp(ageSeconds * 10, ageSeconds * 10 + 2);
          break;
        case 'ready-old':
          warmedUp(MAX_AGE + ageSeconds, MAX_AGE + ageSeconds);
          break;
        case 'ready-old-template':
          warmedUp(ageSeconds * 10, ageSeconds * 10, TEMPLATE - 1);
          break;
        case 'preparing':
          warmingUp(ageSeconds);
          break;
        case 'preparing-hung':
          warmingUp(PREPARE_TIMEOUT + ageSeconds);
          break;
        case 'interrupted':
          instances.push({
            ...base,
            state: 'stopped',
            stopReason: 'api',
            launchedAt: ago(ageSeconds),
            warm: prepared(ageSeconds),
          });
          break;
        case 'restarted':
          instances.push({
            ...base,
            state: ageSeconds % 2 === 0 ? 'stopped' : 'running',
            stopReason: 'instance',
            launchedAt: ago(ageSeconds),
            warm: prepared(ageSeconds + 600),
          });
          break;
        case 'started-booting':
          instances.push({ ...base, state: 'pending', launchedAt: ago(ageSeconds % 60), warm: startedTag });
          break;
        case 'started-busy':
          instances.push({ ...base, state: 'running', launchedAt: ago(ageSeconds), warm: startedTag });
          runner(true);
          break;
        case 'started-stopped':
        case 'started-stopping':
          instances.push({
            ...base,
            state: kind === 'started-stopped' ? 'stopped' : 'stopping',
            stopReason: 'instance',
            launchedAt: ago(ageSeconds),
            warm: startedTag,
          });
          break;
        case 'runner-idle':
        case 'runner-busy':
          instances.push({ ...base, state: 'running', launchedAt: ago(ageSeconds) });
          runner(kind === 'runner-busy');
          break;
        case 'runner-booting':
          instances.push({ ...base, state: 'pending', launchedAt: ago(ageSeconds % 60) });
          break;
        case 'runner-stopped':
          instances.push({ ...base, state: 'stopped', stopReason: 'api', launchedAt: ago(ageSeconds) });
          break;
      }
    }
  });
  return {
    policy,
    snapshot: {
      queuedByPool: Object.fromEntries(specs.map((spec, index) => [`pool-${index}`, spec.queued])),
      runners,
      instances,
      collectionComplete: true,
      templateVersions: Object.fromEntries(specs.map((_, index) => [`pool-${index}`, TEMPLATE])),
    },
    kinds,
    specs,
  };
}

const scenarioArb = fc
  .record({
    pools: fc.array(poolArb, { minLength: 1, maxLength: 2 }),
    launches: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
  })
  .map(({ pools, launches }) => build(pools, launches === undefined ? {} : { launches }));

function ofKind(scenario: Scenario, pool: string, ...kinds: Kind[]): Instance[] {
  return scenario.snapshot.instances.filter(
    (instance) => instance.pool === pool && kinds.includes(scenario.kinds.get(instance.id) as Kind),
  );
}

function planOf(scenario: Scenario): Plan {
  return decide(scenario.snapshot, scenario.policy, NOW);
}

/** How many instances the pool has in the snapshot, in any state. */
function instancesIn(scenario: Scenario, pool: string): number {
  return scenario.snapshot.instances.filter((instance) => instance.pool === pool).length;
}

/** Decides every generated scenario and checks each pool's plan against the spec the pool was built from. */
function forEveryPool(
  numRuns: number,
  check: (pool: PoolPlan, spec: PoolSpec, scenario: Scenario, plan: Plan) => void,
): void {
  fc.assert(
    fc.property(scenarioArb, (scenario) => {
      const plan = planOf(scenario);
      for (const [index, pool] of plan.pools.entries()) {
        check(pool, scenario.specs[index] as PoolSpec, scenario, plan);
      }
    }),
    { numRuns },
  );
}

describe('decide: the warm pool (properties)', () => {
  it('starts only ready instances, each at most once, and never one it retires', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const plan = planOf(scenario);
        const starts = plan.pools.flatMap((pool) => pool.start);
        expect(new Set(starts).size).toBe(starts.length);
        for (const id of starts) expect(scenario.kinds.get(id)).toBe('ready');
        const retired = new Set(plan.retire.map((r) => r.instanceId));
        for (const id of starts) expect(retired.has(id)).toBe(false);
      }),
      { numRuns: 400 },
    );
  });

  it('retires every instance that can no longer serve, for its reason, and keeps the rest but the surplus', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const plan = planOf(scenario);
        const retired = new Map(plan.retire.map((r) => [r.instanceId, r.reason]));
        for (const instance of scenario.snapshot.instances) {
          const kind = scenario.kinds.get(instance.id) as Kind;
          const reason = retireReason[kind];
          if (reason) expect(retired.get(instance.id), kind).toBe(reason);
          else if (kind === 'ready') expect([undefined, 'surplus']).toContain(retired.get(instance.id));
          else expect(retired.has(instance.id), kind).toBe(false);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('never takes a pool above maxRunners: every instance counts, stopped ones and those retired now too', () => {
    // Retirements are carried out by ScaleDown, after ScaleUp launched: until then they still exist.
    forEveryPool(400, (pool, spec, scenario) => {
      if (pool.launch + pool.prepare > 0) {
        expect(instancesIn(scenario, pool.pool) + pool.launch + pool.prepare).toBeLessThanOrEqual(
          spec.maxRunners,
        );
      }
    });
  });

  it('makes runners from ready instances first, and no more than the demand asks', () => {
    forEveryPool(400, (pool, spec, scenario) => {
      const idle = ofKind(scenario, pool.pool, 'runner-idle').length;
      const booting = ofKind(scenario, pool.pool, 'started-booting', 'runner-booting').length;
      const need = Math.max(0, spec.queued + spec.minIdle - idle - booting);
      expect(pool.start.length + pool.launch).toBeLessThanOrEqual(need);
      const ready = ofKind(scenario, pool.pool, 'ready').length;
      // A fresh launch only when every ready instance is started.
      if (pool.launch > 0) expect(pool.start.length).toBe(ready);
      // Without a launch cap, every ready instance the demand asks for is started.
      if (scenario.policy.maxLaunchesPerCycle === undefined)
        expect(pool.start.length).toBe(Math.min(need, ready));
    });
  });

  it('keeps starts, launches and refills within the launch cap', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const plan = planOf(scenario);
        const cap = scenario.policy.maxLaunchesPerCycle;
        const total = plan.pools.reduce(
          (sum, pool) => sum + pool.start.length + pool.launch + pool.prepare,
          0,
        );
        if (cap !== undefined) expect(total).toBeLessThanOrEqual(cap);
      }),
      { numRuns: 300 },
    );
  });

  it('refills up to the target: ready and preparing never fall short of it while there is room and budget', () => {
    forEveryPool(300, (pool, spec, scenario, plan) => {
      if (scenario.policy.maxLaunchesPerCycle !== undefined) return;
      const room = spec.maxRunners - instancesIn(scenario, pool.pool) - pool.launch - pool.prepare;
      const left = ofKind(scenario, pool.pool, 'ready').length - pool.start.length;
      const inPool = left + ofKind(scenario, pool.pool, 'preparing').length + pool.prepare;
      const surplus = plan.retire.filter((r) => r.pool === pool.pool && r.reason === 'surplus').length;
      expect(inPool - surplus).toBeGreaterThanOrEqual(Math.min(spec.stopped, inPool - surplus + room));
    });
  });

  it('is deterministic and independent of the order of instances and runners', () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer(), (scenario, seed) => {
        const shuffle = <T>(items: readonly T[]) =>
          items
            .map((item, i) => ({ item, key: Math.sin(seed + i * 7919) }))
            .sort((a, b) => a.key - b.key)
            .map(({ item }) => item);
        const shuffled = {
          ...scenario.snapshot,
          instances: shuffle(scenario.snapshot.instances),
          runners: shuffle(scenario.snapshot.runners),
        };
        expect(decide(shuffled, scenario.policy, NOW)).toEqual(planOf(scenario));
      }),
      { numRuns: 200 },
    );
  });
});
