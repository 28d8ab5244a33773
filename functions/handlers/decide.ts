/**
 * Task `Decide`: takes the scaling lease, reads the runners, this stack's instances, the runner configs waiting
 * to be read and what the stack's GitHub write budget has left this cycle, then runs the pure decision. Only
 * counts and the (bounded) lists of actions leave this task. A cycle that finds the lease held by another cycle
 * still in flight plans nothing: it launches, removes and registers nothing (scaling-lease.ts).
 */
import * as z from 'zod';
import { registrationDeadline } from '../core/cycle-timing.ts';
import {
  type Budgets,
  decide as decideScaling,
  type GhostRunner,
  type PoolPlan,
  type RunnerRemoval,
} from '../core/decide.ts';
import { withRecentLaunches } from '../core/recent-launches.ts';
import type { Retirement } from '../core/warm-pool.ts';
import { cycleSchema, type PortNeeds, parseTaskInput, type TaskDeps } from './deps.ts';
import { heldAtMax, recordHeldPools } from './held-pools.ts';
import { type Sources, sourcesSchema } from './job-sources.ts';
import { readRecentLaunches } from './launch-record.ts';
import type { RegistrationQueue } from './registration-queue.ts';
import { releaseScalingLease, scalingLeaseKey, scalingLeaseSeconds } from './scaling-lease.ts';

const count = z.int().min(0);
const inputSchema = z.object({
  cycle: cycleSchema,
  demand: z.object({
    queuedByPool: z.record(z.string(), count),
    unmatched: count,
    complete: z.boolean(),
    /**
     * A webhook-started cycle scanned only some repositories: it launches for what it saw, and leaves removing
     * and clean-up to the scheduled cycle, whose view covers the organization.
     */
    targeted: z.boolean().default(false),
    /** Each pool's job source (ListRepositories); a pool without one was polled. */
    sources: sourcesSchema.default({}),
  }),
});

/** A pool's plan as it travels in the state: removals and unregistered instances counted (lists travel apart). */
export type PoolSummary = Omit<PoolPlan, 'terminate' | 'unregistered'> & {
  readonly terminate: number;
  readonly unregistered: number;
};

export interface Launch {
  readonly pool: string;
  readonly count: number;
}

/** Ready warm instances of a pool to start for jobs, before any fresh launch. */
export interface Start {
  readonly pool: string;
  readonly instanceIds: string[];
}

/** Instances to launch in prepare mode into a pool's warm pool, from the template version Decide read. */
export interface Prepare {
  readonly pool: string;
  readonly count: number;
  readonly templateVersion?: number;
}

export interface Removal extends RunnerRemoval {
  readonly pool: string;
}

export interface DecideOutput {
  readonly pools: PoolSummary[];
  readonly unmatched: number;
  readonly scaleDownHeld: boolean;
  /** Set when another cycle held the scaling lease: this cycle planned no launches and no removals. */
  readonly leaseHeldBy?: string;
  readonly launches: Launch[];
  /** Warm pools: stopped instances to start (ScaleUp starts them first, then registers them like launches). */
  readonly starts: Start[];
  /** Warm pools: the refill, launched in prepare mode by ScaleUp. */
  readonly prepares: Prepare[];
  readonly removals: Removal[];
  readonly cleanup: Cleanup;
  /** Instances launched by earlier cycles still waiting for their registration: registered first. */
  readonly registrations: RegistrationQueue[];
  /** What the per-cycle budgets allowed and held back (launch cap, GitHub write pacing). */
  readonly budgets: Budgets;
}

/** Housekeeping for ScaleDown, each list capped per cycle so payloads and API calls stay bounded. */
export interface Cleanup {
  readonly orphansToMark: string[];
  readonly orphansToTerminate: string[];
  readonly ghosts: GhostRunner[];
  readonly staleRunnerConfigs: string[];
  /**
   * Instances holding no runner to terminate: stopped ones that can no longer serve (used, interrupted, too old,
   * an older template, …) and the warm pools' surplus (core/warm-pool.ts).
   */
  readonly retire: Retirement[];
}

/**
 * The rest waits for the next cycle: a backlog (800 ghosts have been seen) must not blow a cycle's budget.
 * Ghost deletions are GitHub writes (a second apart), the rest are cheap batched AWS calls.
 */
export const cleanupPerCycle = 100;
export const ghostDeletionsPerCycle = 5;

export const decideNeeds = {
  github: ['listRunners'],
  fleet: ['listInstances', 'templateVersions'],
  runnerConfigs: ['list'],
  stateStore: ['acquireLease', 'releaseLease', 'getMany', 'putMany'],
  writeBudget: ['available'],
} as const satisfies PortNeeds;

export function decide(deps: TaskDeps<typeof decideNeeds>) {
  const maxRunners = new Map(deps.config.pools.map((pool) => [pool.name, pool.maxRunners]));
  // Only warm pools need their template's version (one DescribeLaunchTemplates each).
  const warmPools = deps.config.pools.filter((pool) => pool.warm).map((pool) => pool.name);
  return async (event: unknown): Promise<DecideOutput> => {
    const { cycle, demand } = parseTaskInput('Decide', inputSchema, event);
    // Before listing: a cycle that takes the lease after another gave it back sees that cycle's instances.
    const until = new Date(deps.now().getTime() + scalingLeaseSeconds * 1000);
    const lease = await deps.stateStore.acquireLease(scalingLeaseKey, cycle.id, until);
    const writeBy = registrationDeadline(cycle.startedAt, deps.config.collection.cycleIntervalSeconds);
    const [runners, listed, recentLaunches, storedRunnerConfigs, writeSlots, templateVersions] =
      await Promise.all([
        deps.github.listRunners(),
        deps.fleet.listInstances(),
        readRecentLaunches(deps, cycle.id),
        deps.runnerConfigs.list(),
        deps.writeBudget.available(writeBy),
        warmPools.length > 0 ? deps.fleet.templateVersions(warmPools) : Promise.resolve({}),
      ]).catch(async (error: unknown) => {
        // Nothing is launched before ScaleUp: a Decide that fails gives the lease back rather than hold up the
        // next cycle until it ends (a Step Functions retry of this task takes it again).
        if (lease.acquired) await releaseScalingLease(deps, cycle.id);
        throw error;
      });
    // EC2 may not list an instance launched seconds ago by the cycle before: count it anyway.
    const instances = withRecentLaunches(listed, recentLaunches, deps.config.stack, deps.now());
    const plan = decideScaling(
      {
        queuedByPool: demand.queuedByPool,
        ...snapshotSources(demand.sources),
        runners,
        instances,
        storedRunnerConfigs,
        collectionComplete: demand.complete && !demand.targeted,
        writeSlots,
        templateVersions,
      },
      deps.policy,
      deps.now(),
    );
    const output: DecideOutput = {
      pools: plan.pools.map(({ terminate, unregistered, ...counts }) => ({
        ...counts,
        terminate: terminate.length,
        unregistered: unregistered.length,
      })),
      unmatched: demand.unmatched,
      scaleDownHeld: plan.scaleDownHeld,
      launches: plan.pools
        .filter((pool) => pool.launch > 0)
        .map((pool) => ({ pool: pool.pool, count: pool.launch })),
      starts: plan.pools
        .filter((pool) => pool.start.length > 0)
        .map((pool) => ({ pool: pool.pool, instanceIds: [...pool.start] })),
      prepares: plan.pools
        .filter((pool) => pool.prepare > 0)
        .map((pool) => {
          const templateVersion = (templateVersions as Record<string, number>)[pool.pool];
          return {
            pool: pool.pool,
            count: pool.prepare,
            ...(templateVersion === undefined ? {} : { templateVersion }),
          };
        }),
      removals: plan.pools.flatMap((pool) =>
        pool.terminate.map((removal) => ({ pool: pool.pool, ...removal })),
      ),
      cleanup: {
        orphansToMark: plan.orphansToMark.slice(0, cleanupPerCycle),
        orphansToTerminate: plan.orphansToTerminate.slice(0, cleanupPerCycle),
        ghosts: plan.ghosts.slice(0, ghostDeletionsPerCycle),
        staleRunnerConfigs: plan.staleRunnerConfigs.slice(0, cleanupPerCycle),
        retire: plan.retire.slice(0, cleanupPerCycle),
      },
      registrations: plan.pools
        .filter((pool) => pool.unregistered.length > 0)
        .map((pool) => ({ pool: pool.pool, instanceIds: [...pool.unregistered] })),
      budgets: plan.budgets,
    };
    if (!lease.acquired) {
      deps.log.warn('Another cycle holds the scaling lease: this cycle launches and removes nothing', {
        cycleId: cycle.id,
        holder: lease.heldBy.holder,
        until: lease.heldBy.until,
        wouldLaunch: output.launches,
      });
      return standDown(output, lease.heldBy.holder);
    }
    for (const summary of output.pools) deps.log.info('Pool decision', { cycleId: cycle.id, ...summary });
    const held = heldAtMax(plan.pools, maxRunners);
    // A targeted cycle sees some repositories only: the scheduled cycle's counts stand for the minute.
    if (!demand.targeted) {
      for (const pool of plan.pools) {
        deps.metrics.pool('QueuedJobs', pool.pool, pool.queued);
        deps.metrics.pool('PoolAtMax', pool.pool, held.includes(pool.pool) ? 1 : 0);
      }
      deps.metrics.stack('PoolsAtMax', held.length);
    }
    await recordHeldPools(deps, held, deps.now(), deps.config.collection.cycleIntervalSeconds);
    if (plan.budgets.launches.allowed < plan.budgets.launches.asked)
      deps.log.warn('Launches held back by the per-cycle cap', {
        cycleId: cycle.id,
        ...plan.budgets.launches,
      });
    if (plan.budgets.writes.deferred > 0)
      deps.log.warn('GitHub write budget spent: some writes wait for a later cycle', {
        cycleId: cycle.id,
        ...plan.budgets.writes,
      });
    if (plan.scaleDownHeld)
      deps.log.warn('Scale-down held: collection was incomplete', { cycleId: cycle.id });
    return output;
  };
}

/**
 * The decision's view of the job sources: a scale-set pool's assigned jobs, the pools not observed this cycle,
 * and the pools whose runners live in a scale set.
 */
function snapshotSources(sources: Sources) {
  const entries = Object.entries(sources);
  return {
    assignedByPool: Object.fromEntries(
      entries
        .filter(([, source]) => source.source === 'scaleset')
        .map(([pool, source]) => [pool, source.assigned ?? 0]),
    ),
    registeredByPool: Object.fromEntries(
      entries
        .filter(([, source]) => source.source === 'scaleset' && source.registered !== undefined)
        .map(([pool, source]) => [pool, source.registered ?? 0]),
    ),
    unobservedPools: entries.filter(([, source]) => source.source === 'none').map(([pool]) => pool),
    scaleSetPools: entries.filter(([, source]) => source.via).map(([pool]) => pool),
  };
}

/** What a cycle without the lease does: observe and report, change nothing. */
function standDown(output: DecideOutput, holder: string): DecideOutput {
  return {
    ...output,
    pools: output.pools.map((pool) => ({ ...pool, launch: 0, start: [], prepare: 0, terminate: 0 })),
    scaleDownHeld: true,
    leaseHeldBy: holder,
    launches: [],
    starts: [],
    prepares: [],
    removals: [],
    cleanup: { orphansToMark: [], orphansToTerminate: [], ghosts: [], staleRunnerConfigs: [], retire: [] },
    // The holder registers what is waiting; two loops would only compete for the same write slots.
    registrations: [],
  };
}
