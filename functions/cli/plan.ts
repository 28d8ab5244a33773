/**
 * `stepscale plan`: a read-only dry run of one cycle against a real GitHub organization (and EC2).
 * It calls the same handlers the state machine runs, in the same order, so what it prints is what a
 * cycle would decide; the GitHub adapter is read-only and the fleet refuses to launch or terminate.
 */
import pLimit from 'p-limit';
import { StepscaleError } from '../errors.ts';
import { aggregateDemand } from '../handlers/aggregate-demand.ts';
import { collectRepositoryJobs } from '../handlers/collect-repository-jobs.ts';
import { type DecideOutput, decide } from '../handlers/decide.ts';
import type { Cycle, HandlerDeps } from '../handlers/deps.ts';
import { listRepositories } from '../handlers/list-repositories.ts';
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
  readonly decision: DecideOutput;
}

export class ReadOnlyViolationError extends StepscaleError {}

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

export async function computePlan(deps: HandlerDeps, cycle: Cycle): Promise<PlanDetails> {
  const { batches } = await listRepositories(deps)({ cycle });
  const collect = collectRepositoryJobs(deps);
  const limit = pLimit(Math.max(1, cycle.mapConcurrency));
  const parts = await Promise.all(
    batches.map((repositories) =>
      limit(async () => {
        try {
          return await collect({ cycle, repositories });
        } catch (error) {
          // What the state machine's RecordBatchFailure does: the batch counts as failed, not as zero demand.
          deps.log.warn('Batch failed', { repositories: repositories.length, error: error as Error });
          const failed = repositories.length;
          return { queuedByPool: {}, unmatched: 0, repositories: failed, failedRepositories: failed };
        }
      }),
    ),
  );
  const { demand } = await aggregateDemand(deps)({ cycle, parts });
  const decision = await decide(deps)({ cycle, demand });
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
    decision,
  };
}
