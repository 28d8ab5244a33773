/**
 * `stepscale plan`: a read-only dry run of one cycle against a real GitHub organization (and EC2).
 * It calls the same handlers the state machine runs, in the same order, so what it prints is what a
 * cycle would decide; the GitHub adapter is read-only and the fleet refuses to launch or terminate.
 */
import pLimit from 'p-limit';
import { MemoryStateStore } from '../adapters/memory-state-store.ts';
import { MemoryWriteBudget } from '../adapters/memory-write-budget.ts';
import { writeIntervalMs } from '../config/config.ts';
import { StepscaleError } from '../errors.ts';
import { aggregateDemand } from '../handlers/aggregate-demand.ts';
import { collectRepositoryJobs } from '../handlers/collect-repository-jobs.ts';
import { type DecideOutput, decide } from '../handlers/decide.ts';
import type { Cycle, HandlerDeps } from '../handlers/deps.ts';
import { listRepositories } from '../handlers/list-repositories.ts';
import { unpackBatch } from '../handlers/repository-batches.ts';
import type { FleetPort } from '../ports/fleet.ts';
import type { RunnerConfigStore } from '../ports/runner-configs.ts';
import type { PoolRow } from './table.ts';

/** What `plan --json` prints: the table's columns, with the pool under `name`. */
export interface PlanReport {
  readonly pools: (Omit<PoolRow, 'pool'> & { name: string })[];
  readonly unmatched: number;
}

export interface PlanDetails {
  readonly report: PlanReport;
  readonly repositories: number;
  readonly failedRepositories: number;
  /** Left out by the rate-limit governor (the decision then holds scale-down, as a cycle would). */
  readonly skippedRepositories: number;
  readonly decision: DecideOutput;
}

export class ReadOnlyViolationError extends StepscaleError {
  override readonly name = 'ReadOnlyViolationError';
}

/** A fleet that can be listed but refuses every change: `plan` must never act. */
export function readOnlyFleet(lister: Pick<FleetPort, 'listInstances'>): FleetPort {
  return {
    listInstances: () => lister.listInstances(),
    launch: async () => {
      throw new ReadOnlyViolationError('plan is read-only: launch refused');
    },
    terminate: async () => {
      throw new ReadOnlyViolationError('plan is read-only: terminate refused');
    },
    markOrphaned: async () => {
      throw new ReadOnlyViolationError('plan is read-only: marking orphans refused');
    },
  };
}

/**
 * `plan` does not read runner configs: they only feed clean-up, never the numbers it prints. Writes are
 * refused like everywhere else in `plan`.
 */
export const noRunnerConfigs: RunnerConfigStore = {
  list: async () => [],
  put: async () => {
    throw new ReadOnlyViolationError('plan is read-only: storing a runner config refused');
  },
  remove: async () => {
    throw new ReadOnlyViolationError('plan is read-only: removing a runner config refused');
  },
};

/** No EC2 access (`--no-ec2`): no instances are known, so nothing counts as booting or removable. */
export const noInstances: Pick<FleetPort, 'listInstances'> = { listInstances: async () => [] };

/**
 * One cycle's plan. Without a `stateStore` the governor starts from no memory (no hot repositories) and is
 * not written anywhere. A plan runs once, not every minute, so the governor may spend the rate-limit
 * window's whole budget above the reserve on it; the secondary (per-minute) cap stays what a cycle has.
 */
function oneOffCollection(collection: HandlerDeps['config']['collection']) {
  const minutes = Math.max(1, collection.cycleIntervalSeconds / 60);
  return {
    ...collection,
    cycleIntervalSeconds: 3600,
    endpointPointsPerMinute: Math.max(2, Math.floor((collection.endpointPointsPerMinute * minutes) / 60)),
  };
}

export async function computePlan(
  deps: Omit<HandlerDeps, 'stateStore' | 'writeBudget' | 'sleepUntil'> &
    Partial<Pick<HandlerDeps, 'stateStore' | 'writeBudget'>>,
  cycle: Cycle,
): Promise<PlanDetails> {
  const planDeps: HandlerDeps = {
    ...deps,
    stateStore: deps.stateStore ?? new MemoryStateStore(deps.now),
    // What a cycle starting now could write: plan itself writes nothing.
    writeBudget: deps.writeBudget ?? new MemoryWriteBudget(writeIntervalMs(deps.config), deps.now),
    sleepUntil: async () => {},
    config: { ...deps.config, collection: oneOffCollection(deps.config.collection) },
  };
  const listed = await listRepositories(planDeps)({ cycle });
  const collect = collectRepositoryJobs(planDeps);
  const limit = pLimit(Math.max(1, cycle.mapConcurrency));
  const parts = await Promise.all(
    listed.batches.map((batch) =>
      limit(async () => {
        try {
          return await collect({ cycle, repositories: batch });
        } catch (error) {
          // What the state machine's RecordBatchFailure does: the batch counts as failed, not as zero demand.
          deps.log.warn('Batch failed', {
            repositories: batch.count,
            sample: unpackBatch(batch).slice(0, 5),
            error: error as Error,
          });
          const failed = batch.count;
          return { queuedByPool: {}, unmatched: 0, repositories: failed, failedRepositories: failed };
        }
      }),
    ),
  );
  const { demand } = await aggregateDemand(planDeps)({
    cycle,
    parts,
    skippedRepositories: listed.skipped,
  });
  const decision = await decide(planDeps)({ cycle, demand });
  const report: PlanReport = {
    pools: decision.pools.map(({ pool, queued, idle, busy, booting, launch, terminate }) => ({
      name: pool,
      queued,
      idle,
      busy,
      booting,
      launch,
      terminate,
    })),
    unmatched: decision.unmatched,
  };
  return {
    report,
    repositories: demand.repositories,
    failedRepositories: demand.failedRepositories,
    skippedRepositories: demand.skippedRepositories,
    decision,
  };
}
