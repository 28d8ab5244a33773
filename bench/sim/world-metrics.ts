/**
 * What the benchmark measures of a world while a strategy scales it: each job's queue wait (and the part of
 * it its pool stood at maxRunners), idle runner time and instance time (integrated between events, state is
 * constant in between), peaks, launches and spot misses, when runners were registered and came online, and a
 * timeline sampled every few seconds. It only watches (local/world/world.ts does the living).
 */
import { matchPool, normalizeLabels } from '../../functions/core/labels.ts';
import type { JobRecord } from '../../local/world/github.ts';
import type { World } from '../../local/world/world.ts';
import type { WorkloadPool } from './workload.ts';

export interface TimelineSample {
  readonly t: number;
  readonly queued: number;
  readonly instances: number;
  readonly idle: number;
  readonly busy: number;
  readonly booting: number;
}

export interface WorldStats {
  readonly waitsMs: number[];
  /** Per job (same order as `waitsMs`): the part of its wait during which its pool was at maxRunners. */
  readonly waitsAtCapMs: number[];
  /** Jobs never started by the end; their wait so far is in `waitsMs` too (censored, never dropped). */
  readonly unstarted: number;
  readonly jobs: number;
  readonly jobsKilled: number;
  readonly requeues: number;
  readonly idleRunnerSeconds: number;
  readonly instanceSeconds: number;
  /** Of instanceSeconds: pending or running (billed by the second), and of those preparing for a warm pool. */
  readonly runningInstanceSeconds: number;
  readonly preparingInstanceSeconds: number;
  /** Of instanceSeconds: stopping or stopped (billed for their volumes only). */
  readonly stoppedInstanceSeconds: number;
  /** Stopped instances started (warm pools). */
  readonly warmStarts: number;
  readonly peakInstances: number;
  readonly peakInstancesByPool: Record<string, number>;
  readonly launched: number;
  readonly launchMissing: number;
  /** When the last runner registration was created and the last runner came online, ms since start. */
  readonly lastRegistrationMs?: number;
  readonly lastRunnerOnlineMs?: number;
  readonly runnersOnline: number;
  readonly unconfiguredInstances: number;
  readonly timeline: TimelineSample[];
}

export interface WorldMetricsOptions {
  readonly pools: readonly WorkloadPool[];
  /** Waits of jobs queued before this, and idle time before it, are not measured (warm-up). */
  readonly measureFromMs?: number;
  readonly sampleEveryMs?: number;
}

export class WorldMetrics {
  private readonly measureFromMs: number;
  private readonly waitsMs: number[] = [];
  private readonly waitsAtCapMs: number[] = [];
  /** Per pool, the spans its live instances stood at its maxRunners (the last one open while it still does). */
  private readonly atCap = new Map<string, { from: number; to?: number }[]>();
  private readonly poolOfLabels = new Map<string, string | undefined>();
  private readonly pools: readonly { readonly name: string; readonly labels: readonly string[] }[];
  private jobsKilled = 0;
  private requeues = 0;
  private idleRunnerMs = 0;
  private instanceMs = 0;
  private runningMs = 0;
  private preparingMs = 0;
  private stoppedMs = 0;
  private warmStarts = 0;
  private lastObservedMs = 0;
  private peak = 0;
  private readonly peakByPool: Record<string, number> = {};
  private launched = 0;
  private launchMissing = 0;
  /** When each runner registration was created (JIT), and when each runner came online (config read). */
  private readonly registeredAt: number[] = [];
  private readonly onlineAt: number[] = [];
  /** Instances that shut themselves down: no runner config came within the bootstrap's wait. */
  private unconfigured = 0;
  private readonly timeline: TimelineSample[] = [];

  constructor(
    private readonly world: World,
    private readonly options: WorldMetricsOptions,
  ) {
    this.measureFromMs = options.measureFromMs ?? 0;
    this.pools = options.pools.map((pool) => ({ name: pool.name, labels: normalizeLabels(pool.labels) }));
    for (const pool of options.pools) this.peakByPool[pool.name] = 0;
    const sampleEvery = options.sampleEveryMs ?? 10_000;
    const sample = () => {
      this.timeline.push(this.sample());
      world.agenda.after(sampleEvery, sample);
    };
    world.agenda.schedule(0, sample);
    world.observe({
      timePasses: (at) => this.integrate(at),
      jobStarted: (job, queuedAtMs) => {
        if (queuedAtMs < this.measureFromMs) return;
        this.waitsMs.push(world.nowMs - queuedAtMs);
        this.waitsAtCapMs.push(this.waitAtCap(job, queuedAtMs, world.nowMs));
      },
      jobKilled: () => {
        this.jobsKilled += 1;
      },
      jobRequeued: () => {
        this.requeues += 1;
      },
      runnerRegistered: () => {
        this.registeredAt.push(world.nowMs);
      },
      runnerOnline: () => {
        this.onlineAt.push(world.nowMs);
      },
      instancesLaunched: (pool, instances, missing) => {
        this.launched += instances.length;
        this.launchMissing += missing;
        this.noteLiveCount(pool);
        this.peak = Math.max(this.peak, world.fleet.liveCount());
        this.peakByPool[pool] = Math.max(this.peakByPool[pool] ?? 0, world.fleet.liveCount(pool));
      },
      instanceGone: (instance) => this.noteLiveCount(instance.pool),
      instanceStarted: () => {
        if (world.nowMs >= this.measureFromMs) this.warmStarts += 1;
      },
      instanceGaveUp: () => {
        this.unconfigured += 1;
      },
    });
  }

  /** When each runner registration (JIT) was created, in order (ms since the start). */
  registrationTimesMs(): number[] {
    return [...this.registeredAt];
  }

  stats(): WorldStats {
    const { world } = this;
    this.integrate(world.nowMs);
    const jobs = [...world.github.allJobs()];
    const queuedAt = (job: JobRecord) => world.agenda.msOf(job.createdAt);
    const unstarted = jobs.filter((job) => job.status === 'queued');
    return {
      waitsMs: [...this.waitsMs, ...unstarted.map((job) => world.nowMs - queuedAt(job))],
      waitsAtCapMs: [
        ...this.waitsAtCapMs,
        ...unstarted.map((job) => this.waitAtCap(job, queuedAt(job), world.nowMs)),
      ],
      unstarted: unstarted.length,
      jobs: jobs.filter((job) => queuedAt(job) >= this.measureFromMs).length,
      jobsKilled: this.jobsKilled,
      requeues: this.requeues,
      idleRunnerSeconds: this.idleRunnerMs / 1000,
      instanceSeconds: this.instanceMs / 1000,
      runningInstanceSeconds: this.runningMs / 1000,
      preparingInstanceSeconds: this.preparingMs / 1000,
      stoppedInstanceSeconds: this.stoppedMs / 1000,
      warmStarts: this.warmStarts,
      peakInstances: this.peak,
      peakInstancesByPool: { ...this.peakByPool },
      launched: this.launched,
      launchMissing: this.launchMissing,
      ...(this.registeredAt.length > 0 ? { lastRegistrationMs: Math.max(...this.registeredAt) } : {}),
      ...(this.onlineAt.length > 0 ? { lastRunnerOnlineMs: Math.max(...this.onlineAt) } : {}),
      runnersOnline: this.onlineAt.length,
      unconfiguredInstances: this.unconfigured,
      timeline: [...this.timeline],
    };
  }

  /** Opens or closes the pool's at-cap span when its live count reaches or leaves maxRunners. */
  private noteLiveCount(pool: string): void {
    const max = this.options.pools.find((candidate) => candidate.name === pool)?.maxRunners;
    if (max === undefined) return;
    const live = this.world.fleet.liveCount(pool);
    const spans = this.atCap.get(pool) ?? [];
    this.atCap.set(pool, spans);
    const open = spans[spans.length - 1];
    const isOpen = open !== undefined && open.to === undefined;
    if (live >= max && !isOpen) spans.push({ from: this.world.nowMs });
    if (live < max && isOpen) open.to = this.world.nowMs;
  }

  /** How much of the job's wait until `endMs` its pool (the first whose labels cover the job's) was at max. */
  private waitAtCap(job: JobRecord, queuedAtMs: number, endMs: number): number {
    const key = normalizeLabels(job.labels).join('\u0000');
    if (!this.poolOfLabels.has(key)) this.poolOfLabels.set(key, matchPool(job.labels, this.pools)?.name);
    const pool = this.poolOfLabels.get(key);
    let total = 0;
    for (const span of (pool && this.atCap.get(pool)) || []) {
      const from = Math.max(span.from, queuedAtMs);
      const to = Math.min(span.to ?? endMs, endMs);
      if (to > from) total += to - from;
    }
    return total;
  }

  private counts() {
    let idle = 0;
    let busy = 0;
    for (const runner of this.world.github.allRunners()) {
      if (!this.world.hasRunnerProcess(runner.name)) continue;
      if (runner.busy) busy += 1;
      else if (runner.status === 'online') idle += 1;
    }
    let booting = 0;
    let running = 0;
    let preparing = 0;
    let instances = 0;
    for (const instance of this.world.fleet.live()) {
      instances += 1;
      if (instance.state === 'pending') booting += 1;
      if (instance.state !== 'pending' && instance.state !== 'running') continue;
      running += 1;
      if (instance.warm?.stage === 'preparing') preparing += 1;
    }
    return { idle, busy, booting, instances, running, preparing };
  }

  private sample(): TimelineSample {
    const { idle, busy, booting, instances } = this.counts();
    return {
      t: this.world.nowMs / 1000,
      queued: this.world.queuedSelfHostedJobs(),
      instances,
      idle,
      busy,
      booting,
    };
  }

  /** Integrate the time-weighted counts up to `at` (state is constant between events). */
  private integrate(at: number): void {
    if (at <= this.lastObservedMs) return;
    const dt = at - Math.max(this.lastObservedMs, Math.min(at, this.measureFromMs));
    const { idle, instances, running, preparing } = this.counts();
    this.idleRunnerMs += idle * dt;
    this.instanceMs += instances * dt;
    this.runningMs += running * dt;
    this.preparingMs += preparing * dt;
    this.stoppedMs += (instances - running) * dt;
    this.lastObservedMs = at;
  }
}
