/**
 * One simulation: a workload, a strategy, a seed. The runs are planned from the seed first (so every strategy
 * gets the same jobs at the same times), then the strategy ticks while the world runs between its ticks.
 * Arrivals stop at the workload's duration; the world and the strategy go on for a drain period so that late
 * jobs are served rather than cut off (a job still queued at the very end counts with its wait so far).
 */
import { type Config, parseConfig } from '../../functions/config/config.ts';
import { Rng } from '../../local/world/rng.ts';
import { World } from '../../local/world/world.ts';
import { percentile, round } from './metrics.ts';
import { SimActionsService, SimFleet, SimGitHub, SimRunnerConfigs, SimWebhooks } from './ports.ts';
import { type RequestCounts, RequestMeter } from './requests.ts';
import { createStrategy, type Strategy } from './strategies/index.ts';
import { planArrivals, repositoryName, type Workload } from './workload.ts';
import { type TimelineSample, WorldMetrics } from './world-metrics.ts';

export const simStack = 'stepscale';
export const defaultDrainSeconds = 600;

export interface SimulationOptions {
  readonly workload: Workload;
  /** A strategy name or instance. */
  readonly strategy: string | Strategy;
  readonly seed: number;
  /** Arrivals stop here (default: the workload's duration). */
  readonly durationSeconds?: number;
  readonly drainSeconds?: number;
  /** How long the Actions service takes to hand a scale-set listener a job event (default 0.2–1 s). */
  readonly actionsServiceLatencySeconds?: { readonly min: number; readonly max: number };
}

export interface StrategyMetrics {
  readonly queueWaitP50S: number;
  readonly queueWaitP95S: number;
  readonly queueWaitMaxS: number;
  readonly idleRunnerMinutes: number;
  readonly peakRunners: number;
  readonly githubRequests: number;
  readonly rateLimitedRequests: number;
}

export interface SimulationResult {
  readonly workload: string;
  readonly strategy: string;
  readonly seed: number;
  readonly simulatedSeconds: number;
  /** Metrics cover [warm-up, end]. */
  readonly measuredFromSeconds: number;
  readonly metrics: StrategyMetrics;
  readonly details: {
    readonly jobs: number;
    readonly unstartedJobs: number;
    readonly jobsKilled: number;
    readonly requeues: number;
    readonly instanceMinutes: number;
    /**
     * The cost split: instance-minutes billed by the second (pending or running; of them, warm instances
     * preparing), and the GB-hours of stopped instances' volumes (warm pools), billed for their EBS alone.
     */
    readonly runningInstanceMinutes: number;
    readonly preparingInstanceMinutes: number;
    readonly stoppedInstanceMinutes: number;
    readonly stoppedGbHours: number;
    /** Warm pools: instances started from stopped, and starts EC2 refused. */
    readonly warmStarts: number;
    readonly launched: number;
    readonly launchMissing: number;
    /** GitHub reads that failed (workload.githubFailureRate, e.g. with `--faults`). */
    readonly githubReadFailures: number;
    readonly notModifiedRequests: number;
    readonly rejectedRequests: number;
    /** Refused by a secondary limit (403 with retry-after) and sent again after the wait. */
    readonly secondaryLimitedRequests: number;
    readonly githubWrites: number;
    readonly peakRateLimitedPerHour: number;
    /**
     * The wait no scaler could remove: the share of all queue time spent while the job's pool stood at its
     * maxRunners, and the p95 of each job's wait less that part.
     */
    readonly waitAtCapShare: number;
    readonly queueWaitP95NotAtCapS: number;
    /** When (seconds since the start) the last runner registration was created, and the last runner came online. */
    readonly lastRegistrationS: number | null;
    readonly lastRunnerOnlineS: number | null;
    /** Instances that shut themselves down because no runner config came within the bootstrap's wait. */
    readonly unconfiguredInstances: number;
    readonly peakRunnersByPool: Record<string, number>;
    readonly maxRunnersByPool: Record<string, number>;
    /** Requests to the Actions service (runner scale sets: long polls, acknowledgements, JIT configs): not REST. */
    readonly actionsServiceRequests: number;
    readonly requestsByEndpoint: Record<string, number>;
    readonly strategy: Record<string, unknown>;
  };
  readonly waitsS: number[];
  readonly timeline: TimelineSample[];
  /** The strategy instance (the stepscale one keeps per-cycle records for the cost model). */
  readonly instance: Strategy;
  /** The world at the end, and what was measured of it, for tests and debugging. */
  readonly world: World;
  readonly worldMetrics: WorldMetrics;
}

/** The workload's pools and settings as a stepscale config (EC2 details are placeholders: EC2 is simulated). */
export function configOf(workload: Workload): Config {
  return parseConfig({
    github: { url: 'https://github.com', org: 'sim' },
    stack: simStack,
    pools: workload.pools.map((pool) => ({
      ...pool,
      instanceTypes: ['m7i.large'],
      launchTemplate: 'lt-0sim',
      subnets: ['subnet-0a'],
    })),
    ...workload.config,
  });
}

export async function simulate(options: SimulationOptions): Promise<SimulationResult> {
  const { workload, seed } = options;
  const arrivalsUntilMs = (options.durationSeconds ?? workload.durationSeconds) * 1000;
  const endMs = arrivalsUntilMs + (options.drainSeconds ?? defaultDrainSeconds) * 1000;
  const warmupMs = Math.min(workload.warmupSeconds * 1000, arrivalsUntilMs);
  const rng = new Rng(seed);
  const world = worldOf(workload, seed);
  const worldMetrics = new WorldMetrics(world, { pools: workload.pools, measureFromMs: warmupMs });
  for (const run of planArrivals(workload, rng.fork('arrivals'), arrivalsUntilMs))
    world.scheduleRun(run.atMs, run);
  const meter = new RequestMeter(() => world.nowMs);
  let atWarmup = meter.snapshot();
  world.agenda.schedule(warmupMs, () => {
    atWarmup = meter.snapshot();
  });
  const strategy = typeof options.strategy === 'string' ? createStrategy(options.strategy) : options.strategy;
  const github = new SimGitHub(world, meter, {
    conditional: strategy.conditionalRequests,
    hourlyLimit: workload.rateLimitPerHour,
    secondary: workload.secondaryLimits,
    busyFlagLagSeconds: workload.busyFlagLagSeconds,
    readFailureRate: workload.githubFailureRate,
    seed,
  });
  // A push (webhook delivery, scale-set message) asks for a tick at its arrival through `wake`.
  let wakeAt = Number.POSITIVE_INFINITY;
  const context = {
    world,
    meter,
    github,
    fleet: new SimFleet(world, meter),
    runnerConfigs: new SimRunnerConfigs(world, meter),
    webhooks: new SimWebhooks(world, github),
    actionsService: new SimActionsService(world, meter, {
      seed,
      ...(options.actionsServiceLatencySeconds
        ? { latencySeconds: options.actionsServiceLatencySeconds }
        : {}),
    }),
    config: configOf(workload),
    rng: rng.fork(`strategy-${strategy.name}`),
    wake: (atMs: number) => {
      wakeAt = Math.min(wakeAt, atMs);
    },
  };

  await strategy.start?.(context);
  let next = strategy.firstTickMs;
  let lastTickMs = Number.NaN;
  let ticksAtThisMs = 0;
  for (;;) {
    world.advanceTo(Math.min(next, wakeAt, endMs), () => wakeAt <= world.nowMs);
    const woken = wakeAt <= world.nowMs;
    if (!woken && next >= endMs) break;
    wakeAt = Number.POSITIVE_INFINITY;
    ticksAtThisMs = world.nowMs === lastTickMs ? ticksAtThisMs + 1 : 0;
    lastTickMs = world.nowMs;
    if (ticksAtThisMs > 10_000) throw new Error(`${strategy.name} keeps being woken at ${world.nowMs} ms`);
    const due = await strategy.tick(context);
    // Pushed to during its own tick (time passed in it): tick again at once, without letting time pass.
    next = wakeAt <= world.nowMs ? world.nowMs : Math.max(due, world.nowMs + 1);
  }
  world.advanceTo(endMs);

  const stats = worldMetrics.stats();
  const measured = difference(meter.totals, atWarmup);
  const waitsS = stats.waitsMs.map((ms) => ms / 1000);
  return {
    workload: workload.name,
    strategy: strategy.name,
    seed,
    simulatedSeconds: endMs / 1000,
    measuredFromSeconds: warmupMs / 1000,
    metrics: {
      queueWaitP50S: round(percentile(waitsS, 50)),
      queueWaitP95S: round(percentile(waitsS, 95)),
      queueWaitMaxS: round(Math.max(0, ...waitsS)),
      idleRunnerMinutes: round(stats.idleRunnerSeconds / 60),
      peakRunners: stats.peakInstances,
      githubRequests: measured.total,
      rateLimitedRequests: measured.rateLimited,
    },
    details: {
      jobs: stats.jobs,
      unstartedJobs: stats.unstarted,
      jobsKilled: stats.jobsKilled,
      requeues: stats.requeues,
      instanceMinutes: round(stats.instanceSeconds / 60),
      runningInstanceMinutes: round(stats.runningInstanceSeconds / 60),
      preparingInstanceMinutes: round(stats.preparingInstanceSeconds / 60),
      stoppedInstanceMinutes: round(stats.stoppedInstanceSeconds / 60),
      stoppedGbHours: round((stats.stoppedInstanceSeconds / 3600) * workload.volumeGb),
      warmStarts: stats.warmStarts,
      launched: stats.launched,
      launchMissing: stats.launchMissing,
      githubReadFailures: github.readFailureCount,
      notModifiedRequests: measured.notModified,
      rejectedRequests: measured.rejected,
      secondaryLimitedRequests: measured.secondaryLimited,
      githubWrites: measured.writes,
      peakRateLimitedPerHour: Math.max(0, ...meter.rateLimitedByHour.map((n) => n ?? 0)),
      waitAtCapShare: round(
        stats.waitsAtCapMs.reduce((sum, ms) => sum + ms, 0) /
          Math.max(
            1,
            stats.waitsMs.reduce((sum, ms) => sum + ms, 0),
          ),
        3,
      ),
      queueWaitP95NotAtCapS: round(
        percentile(
          stats.waitsMs.map((ms, i) => (ms - (stats.waitsAtCapMs[i] ?? 0)) / 1000),
          95,
        ),
      ),
      lastRegistrationS:
        stats.lastRegistrationMs === undefined ? null : round(stats.lastRegistrationMs / 1000),
      lastRunnerOnlineS:
        stats.lastRunnerOnlineMs === undefined ? null : round(stats.lastRunnerOnlineMs / 1000),
      unconfiguredInstances: stats.unconfiguredInstances,
      peakRunnersByPool: stats.peakInstancesByPool,
      maxRunnersByPool: Object.fromEntries(workload.pools.map((pool) => [pool.name, pool.maxRunners])),
      actionsServiceRequests: measured.actionsService,
      requestsByEndpoint: { ...meter.byEndpoint },
      strategy: strategy.report?.() ?? {},
    },
    waitsS,
    timeline: stats.timeline,
    instance: strategy,
    world,
    worldMetrics,
  };
}

/** The workload's organization and machines as a world (its runs are put on the agenda by the caller). */
export function worldOf(workload: Workload, seed: number): World {
  return new World({
    org: 'sim',
    stack: simStack,
    start: workload.start,
    seed,
    repositories: Array.from({ length: workload.repositories }, (_, index) => repositoryName(index)),
    bootSeconds: () => workload.bootSeconds,
    startSeconds: () => workload.startSeconds,
    startFailureRate: workload.startFailureRate,
    spotFailureRate: workload.spotFailureRate,
    webhooks: workload.webhooks,
    timing: {
      pickupSeconds: workload.pickupSeconds,
      configPollSeconds: workload.configPollSeconds,
      configWaitSeconds: workload.configWaitSeconds,
      deadRunnerOnlineSeconds: workload.deadRunnerOnlineSeconds,
    },
  });
}

function difference(after: RequestCounts, before: RequestCounts): RequestCounts {
  return {
    total: after.total - before.total,
    rateLimited: after.rateLimited - before.rateLimited,
    notModified: after.notModified - before.notModified,
    rejected: after.rejected - before.rejected,
    writes: after.writes - before.writes,
    secondaryLimited: after.secondaryLimited - before.secondaryLimited,
    aws: after.aws - before.aws,
    actionsService: after.actionsService - before.actionsService,
  };
}
