/**
 * Warm pools end to end: the real state machine (ASL) with the real handlers and decision core, run by the
 * simulator's cycle engine against the in-memory world, whose fleet models stopped instances (prepare mode,
 * power-off, StartInstances, a stop by someone else). Each test plays a small workload and reads what happened
 * to the instances.
 */
import { describe, expect, it } from 'vitest';
import { simulate } from '../bench/sim/simulate.ts';
import { type StepscaleOptions, StepscaleStrategy } from '../bench/sim/strategies/stepscale.ts';
import type { StrategyContext } from '../bench/sim/strategies/types.ts';
import { parseWorkload } from '../bench/sim/workload.ts';
import { instanceIdOfRunner } from '../functions/core/model.ts';
import type { ScaleUpOutput } from '../functions/handlers/scale-up.ts';
import type { LaunchRequest, PrepareRequest } from '../functions/ports/fleet.ts';
import type { MemoryInstance } from '../local/world/fleet.ts';
import type { World } from '../local/world/world.ts';

const labels = ['self-hosted', 'linux', 'x64'];
const pool = 'linux';

function workload(overrides: { warm?: Record<string, unknown>; at?: number[]; jobs?: number } = {}) {
  return parseWorkload({
    name: 'warm-tiny',
    durationSeconds: 1200,
    warmupSeconds: 0,
    repositories: 2,
    pools: [{ name: pool, labels, maxRunners: 6, warm: overrides.warm ?? { stopped: 2 } }],
    bootSeconds: { mean: 45, jitter: 0 },
    startSeconds: { mean: 15, jitter: 0 },
    arrivals: [
      {
        type: 'burst',
        at: overrides.at ?? [401],
        jobs: overrides.jobs ?? 1,
        labels,
        durationSeconds: { mean: 60 },
      },
    ],
  });
}

/** The stepscale strategy with a hand on the world before it runs (capacity, template versions, events). */
class Scripted extends StepscaleStrategy {
  world: World | undefined;
  /** Per job started: the instance its runner ran on. */
  readonly jobInstances: string[] = [];

  constructor(
    private readonly setup: (world: World) => void = () => {},
    options: StepscaleOptions = {},
  ) {
    super(options);
  }

  async start(context: StrategyContext): Promise<void> {
    this.world = context.world;
    context.world.observe({
      jobStarted: (_job, _queuedAt, runner) => {
        const id = runner && instanceIdOfRunner('stepscale', runner.name);
        if (id) this.jobInstances.push(id);
      },
    });
    this.setup(context.world);
  }
}

function callsOf<T>(world: World, method: string): T[] {
  return world.fleet.calls.filter((call) => call.method === method).map((call) => call.detail as T);
}

/** Stopped instances prepared for the pool and never started: the pool's ready ones (or its to-be-retired). */
function stoppedPrepared(world: World): MemoryInstance[] {
  return world.fleet
    .live()
    .filter((instance) => instance.warm?.stage === 'preparing' && instance.state === 'stopped');
}

describe('Warm pool through the real state machine', () => {
  it('serves a job from a stopped instance, faster than a boot, and refills the pool after use', async () => {
    const strategy = new Scripted();
    const result = await simulate({ workload: workload(), strategy, seed: 1 });
    const world = result.world;
    // The job (queued at 401 s, seen by the cycle at 420 s) ran on an instance started from the pool.
    expect(strategy.jobInstances).toHaveLength(1);
    const used = world.fleet.get(strategy.jobInstances[0] as string);
    expect(used?.warm?.stage).toBe('started');
    expect(callsOf<LaunchRequest>(world, 'launch')).toEqual([]);
    // 19 s to the cycle + 15 s start + config poll and pickup: under what the cycle wait plus a 45 s boot takes.
    expect(result.waitsS[0]).toBeLessThan(19 + 45);
    // Its one job done, it stopped and was terminated; the pool holds its two ready instances again.
    expect(used?.terminatedAt).toBeDefined();
    const ready = stoppedPrepared(world);
    expect(ready).toHaveLength(2);
    expect(ready.every((instance) => instance.stopReason === 'instance')).toBe(true);
    const prepares = callsOf<PrepareRequest>(world, 'prepare');
    expect(prepares.length).toBeGreaterThan(1);
    expect(prepares.every((request) => request.pool === pool)).toBe(true);
    expect(result.details.unstartedJobs).toBe(0);
  });

  it('launches fresh in the same cycle when EC2 has no capacity to start, and terminates what did not start', async () => {
    const strategy = new Scripted((world) => world.fleet.setStartCapacity(pool, 0));
    const result = await simulate({ workload: workload(), strategy, seed: 1 });
    const world = result.world;
    const starts = world.fleet.calls.filter((call) => call.method === 'start');
    expect(starts).toHaveLength(1);
    const [refused] = (starts[0]?.detail ?? []) as string[];
    // The fallback launch carries the same cycle's time as the start it replaces: the same ScaleUp.
    const launches = callsOf<LaunchRequest>(world, 'launch');
    expect(launches).toHaveLength(1);
    expect(launches[0]?.count).toBe(1);
    const cycleOfStart = callsOf<PrepareRequest>(world, 'prepare').find(
      (request) => request.createdAt === launches[0]?.createdAt,
    );
    expect(cycleOfStart).toBeDefined();
    expect(world.fleet.get(refused as string)?.terminatedAt).toBeDefined();
    // The job ran on the fresh instance.
    expect(strategy.jobInstances).toHaveLength(1);
    expect(world.fleet.get(strategy.jobInstances[0] as string)?.warm).toBeUndefined();
    expect(result.details.unstartedJobs).toBe(0);
  });

  it('never starts a warm instance twice: one job per instance, each used one terminated', async () => {
    const strategy = new Scripted();
    const result = await simulate({
      workload: workload({ at: [301, 541, 781, 1021], jobs: 2 }),
      strategy,
      seed: 3,
    });
    const world = result.world;
    const started = callsOf<string[]>(world, 'start').flat();
    expect(started.length).toBeGreaterThanOrEqual(4);
    expect(new Set(started).size).toBe(started.length);
    const perInstance = new Map<string, number>();
    for (const id of strategy.jobInstances) perInstance.set(id, (perInstance.get(id) ?? 0) + 1);
    expect(Math.max(...perInstance.values())).toBe(1);
    expect(strategy.jobInstances).toHaveLength(8);
    for (const id of started) expect(world.fleet.get(id)?.terminatedAt).toBeDefined();
    expect(result.details.unstartedJobs).toBe(0);
  });

  it('replaces ready instances built from an older launch template version', async () => {
    const strategy = new Scripted((world) => {
      world.fleet.setTemplateVersion(pool, 1);
      world.agenda.schedule(300_000, () => world.fleet.setTemplateVersion(pool, 2));
    });
    const result = await simulate({ workload: workload({ at: [1190] }), strategy, seed: 1 });
    const world = result.world;
    const prepares = callsOf<PrepareRequest>(world, 'prepare');
    expect(prepares[0]?.templateVersion).toBe(1);
    expect(prepares.some((request) => request.templateVersion === 2)).toBe(true);
    const terminated = callsOf<string[]>(world, 'terminate').flat();
    const old = prepares.filter((request) => request.templateVersion === 1);
    const oldIds = world.fleet
      .live()
      .concat(terminated.map((id) => world.fleet.get(id) as MemoryInstance))
      .filter((instance) => instance.warm?.templateVersion === 1);
    expect(old.reduce((sum, request) => sum + request.count, 0)).toBe(2);
    // Both version-1 instances were terminated without ever being started; the pool is version 2 now.
    expect(new Set(oldIds.map((instance) => instance.id)).size).toBe(2);
    for (const instance of oldIds) {
      expect(instance.terminatedAt).toBeDefined();
      expect(instance.warm?.stage).toBe('preparing');
    }
    expect(stoppedPrepared(world).map((instance) => instance.warm?.templateVersion)).toEqual([2, 2]);
  });

  it('replaces ready instances older than maxAgeSeconds', async () => {
    const strategy = new Scripted();
    const result = await simulate({
      workload: workload({ warm: { stopped: 2, maxAgeSeconds: 600 }, at: [1190] }),
      strategy,
      seed: 1,
    });
    const world = result.world;
    const prepares = callsOf<PrepareRequest>(world, 'prepare');
    const first = prepares[0];
    expect(world.agenda.msOf(first?.createdAt as string)).toBe(0);
    // The first two, prepared at 0 s, were retired once 600 s old (the cycle at 600 s), never started.
    const firstIds = world.fleet
      .live()
      .concat(
        callsOf<string[]>(world, 'terminate')
          .flat()
          .map((id) => world.fleet.get(id) as MemoryInstance),
      )
      .filter((instance) => instance.warm?.preparedAt === first?.createdAt);
    expect(new Set(firstIds.map((instance) => instance.id)).size).toBe(2);
    for (const instance of firstIds) {
      expect(instance.warm?.stage).toBe('preparing');
      expect(world.agenda.msOf(instance.terminatedAt as string)).toBeGreaterThanOrEqual(600_000);
    }
    expect(prepares.filter((request) => world.agenda.msOf(request.createdAt) >= 600_000)).not.toEqual([]);
    expect(stoppedPrepared(world)).toHaveLength(2);
  });

  it('copes with warm instances stopped by someone else mid-cycle: neither is used, both are terminated', async () => {
    let world: World | undefined;
    const stoppedByOthers: string[] = [];
    const strategy = new Scripted(
      (w) => {
        world = w;
      },
      {
        onTask: (task, _input, output) => {
          if (task !== 'ScaleUp' || !world) return;
          const scaleUp = output as ScaleUpOutput;
          // Right after the first prepare: someone stops one of the instances still warming up.
          if (scaleUp.prepared > 0 && stoppedByOthers.length === 0) {
            const preparing = world.fleet
              .live()
              .find((instance) => instance.warm?.stage === 'preparing' && instance.state === 'pending');
            if (preparing) {
              world.stopInstance(preparing.id);
              stoppedByOthers.push(preparing.id);
            }
          }
          // Right after the first start, before its registration: someone stops the started instance.
          if (scaleUp.started > 0 && stoppedByOthers.length === 1) {
            const [id] = scaleUp.instanceIds;
            if (id) {
              world.stopInstance(id);
              stoppedByOthers.push(id);
            }
          }
        },
      },
    );
    const result = await simulate({ workload: workload(), strategy, seed: 1 });
    expect(stoppedByOthers).toHaveLength(2);
    const [interrupted, startedThenStopped] = stoppedByOthers as [string, string];
    const w = result.world;
    // The one stopped while preparing was never started: a stop by the API is no finished warm-up.
    expect(callsOf<string[]>(w, 'start').flat()).not.toContain(interrupted);
    expect(w.fleet.get(interrupted)?.terminatedAt).toBeDefined();
    // The one stopped after its start ran no job and was terminated, never started again.
    expect(
      callsOf<string[]>(w, 'start')
        .flat()
        .filter((id) => id === startedThenStopped),
    ).toHaveLength(1);
    expect(w.fleet.get(startedThenStopped)?.terminatedAt).toBeDefined();
    expect(strategy.jobInstances).not.toContain(startedThenStopped);
    // The job still ran, and the pool is back at its two ready instances.
    expect(result.details.unstartedJobs).toBe(0);
    expect(strategy.jobInstances).toHaveLength(1);
    expect(stoppedPrepared(w)).toHaveLength(2);
  });

  it('keeps every instance, stopped ones included, within maxRunners', async () => {
    const strategy = new Scripted();
    const result = await simulate({
      workload: {
        ...workload({ at: [301, 302, 303], jobs: 3 }),
        pools: [{ name: pool, labels, maxRunners: 4, minIdle: 0, warm: { stopped: 2 } }],
      },
      strategy,
      seed: 2,
    });
    expect(result.details.peakRunnersByPool[pool]).toBeLessThanOrEqual(4);
    expect(result.details.unstartedJobs).toBe(0);
  });
});
