/**
 * `stepscale plan`: a read-only dry run of one cycle against a real GitHub organization (and EC2). It runs the
 * real state machine definition on the local executor (functions/executor/cycle-runner.ts) with the real handlers up to
 * Decide, so what it prints is what a cycle would decide; the GitHub adapter is read-only, the fleet and the
 * runner-config store refuse every change, and the tasks that act (ScaleUp, ScaleDown, RegisterRunners) are
 * replaced by ones that report nothing done.
 */

import { MemoryCycleStarter } from '../adapters/memory-cycle-starter.ts';
import { MemoryStateStore } from '../adapters/memory-state-store.ts';
import { MemoryWebhookInbox } from '../adapters/memory-webhook-inbox.ts';
import { MemoryWriteBudget } from '../adapters/memory-write-budget.ts';
import { noScaleSets } from '../adapters/no-scale-sets.ts';
import {
  type Config,
  jobSourceOf,
  type PoolConfig,
  scaleSetNameOf,
  scaleSetPools,
  writeIntervalMs,
} from '../config/config.ts';
import { type ScaleSetState, scaleSetStateKey, storedStatistics } from '../core/job-source.ts';
import { labelsCover } from '../core/labels.ts';
import { StepscaleError } from '../errors.ts';
import { runCycle } from '../executor/cycle-runner.ts';
import type { CycleDemand } from '../handlers/aggregate-demand.ts';
import type { DecideOutput } from '../handlers/decide.ts';
import type { HandlerDeps } from '../handlers/deps.ts';
import type { TaskName } from '../handlers/index.ts';
import { nothingRemoved } from '../handlers/scale-down.ts';
import type { ScaleUpOutput } from '../handlers/scale-up.ts';
import { noMetrics } from '../observability/metrics.ts';
import type { FleetPort } from '../ports/fleet.ts';
import type { RunnerConfigStore } from '../ports/runner-configs.ts';
import type { ScaleSetPort } from '../ports/scale-sets.ts';
import type { PoolRow } from './table.ts';

/** What `plan --json` prints: the table's columns, with the pool under `name`. */
export interface PlanReport {
  readonly pools: (Omit<PoolRow, 'pool'> & { name: string })[];
  readonly unmatched: number;
  /** With a pool on scale sets (jobSource scaleset or auto): each pool's source this cycle, and why. */
  readonly sources?: Record<string, { readonly source: string; readonly reason: string }>;
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

/** A fleet that can be read but refuses every change: `plan` must never act. */
export function readOnlyFleet(lister: Pick<FleetPort, 'listInstances' | 'templateVersions'>): FleetPort {
  return {
    listInstances: () => lister.listInstances(),
    templateVersions: (pools) => lister.templateVersions(pools),
    launch: async () => {
      throw new ReadOnlyViolationError('plan is read-only: launch refused');
    },
    prepare: async () => {
      throw new ReadOnlyViolationError('plan is read-only: preparing warm instances refused');
    },
    start: async () => {
      throw new ReadOnlyViolationError('plan is read-only: starting warm instances refused');
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
export const noInstances: Pick<FleetPort, 'listInstances' | 'templateVersions'> = {
  listInstances: async () => [],
  templateVersions: async () => ({}),
};

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

/** What the tasks that act report in a plan: nothing launched, removed or registered. */
const nothingDone: Partial<Record<TaskName, () => unknown>> = {
  ScaleUp: (): ScaleUpOutput => ({
    launched: 0,
    missing: 0,
    started: 0,
    startFailed: 0,
    prepared: 0,
    instanceIds: [],
    registrations: [],
    toRegister: 0,
  }),
  ScaleDown: () => nothingRemoved(0),
  RegisterRunners: () => ({ queue: [], registered: 0, failed: 0, elsewhere: 0, slices: 0, more: false }),
};

export async function computePlan(
  deps: Omit<
    HandlerDeps,
    'stateStore' | 'writeBudget' | 'webhookInbox' | 'sleepUntil' | 'scaleSets' | 'cycleStarter' | 'metrics'
  > &
    Partial<Pick<HandlerDeps, 'stateStore' | 'writeBudget' | 'webhookInbox' | 'scaleSets'>>,
  options: { readonly cycleId: string; readonly mapConcurrency: number },
): Promise<PlanDetails> {
  const planDeps: HandlerDeps = {
    ...deps,
    stateStore: deps.stateStore ?? new MemoryStateStore(deps.now),
    // What a cycle starting now could write: plan itself writes nothing.
    writeBudget: deps.writeBudget ?? new MemoryWriteBudget(writeIntervalMs(deps.config), deps.now),
    // Nothing posted by webhook deliveries: a plan reads none of a deployment's state.
    webhookInbox: deps.webhookInbox ?? new MemoryWebhookInbox(deps.now),
    scaleSets: deps.scaleSets ?? noScaleSets,
    // A plan starts nothing.
    cycleStarter: new MemoryCycleStarter(),
    sleepUntil: async () => {},
    metrics: noMetrics,
    config: { ...deps.config, collection: oneOffCollection(deps.config.collection) },
  };
  // The original failure of a task, to report it by its own name rather than the state machine's catch. A
  // plan tries each task once, as it always has: it reports a failure at once instead of retrying it
  // (a failed repository batch is still counted as failed, never as zero demand).
  let failure: unknown;
  const result = await runCycle({
    deps: planDeps,
    cycleId: options.cycleId,
    mapConcurrency: options.mapConcurrency,
    wrapTask: (task, handler) => {
      const replacement = nothingDone[task];
      if (replacement) return async () => replacement();
      return async (input) => {
        try {
          return await handler(input);
        } catch (error) {
          failure ??= error;
          throw new PlanTaskFailedError(`${task} failed`, { cause: error });
        }
      };
    },
  });
  const demand = result.output.demand as CycleDemand | undefined;
  const decision = result.output.plan as DecideOutput | undefined;
  if (!demand || !decision) {
    throw failure ?? new PlanFailedError(`${result.error?.name}: ${String(result.error?.cause)}`);
  }
  const anyScaleSet = scaleSetPools(deps.config).length > 0;
  const report: PlanReport = {
    pools: decision.pools.map(({ pool, source, queued, idle, busy, booting, launch, terminate }) => ({
      name: pool,
      ...(anyScaleSet ? { source } : {}),
      queued,
      idle,
      busy,
      booting,
      launch,
      terminate,
    })),
    unmatched: decision.unmatched,
    ...(anyScaleSet
      ? {
          sources: Object.fromEntries(
            Object.entries(demand.sources ?? {}).map(([pool, { source, reason }]) => [
              pool,
              { source, reason },
            ]),
          ),
        }
      : {}),
  };
  return {
    report,
    repositories: demand.repositories,
    failedRepositories: demand.failedRepositories,
    skippedRepositories: demand.skippedRepositories,
    decision,
  };
}

/**
 * What `plan` learns of the scale-set pools' scale sets without a listener, read-only from the Actions service
 * (runner-registration, then each scale set by name, with its statistics), as the state a running listener
 * would have stored; a cycle run on it picks each pool's source exactly as a deployed cycle would.
 */
export async function scaleSetStatesForPlan(
  config: Config,
  scaleSets: Pick<ScaleSetPort, 'probe' | 'runnerGroupId' | 'findScaleSet'>,
  now: Date,
): Promise<{ key: string; value: ScaleSetState }[]> {
  const pools = scaleSetPools(config);
  if (pools.length === 0) return [];
  const updatedAt = now.toISOString();
  const state = (pool: PoolConfig, value: ScaleSetState) => ({
    key: scaleSetStateKey(config.stack, pool.name),
    value,
  });
  if (!(await scaleSets.probe())) {
    return pools.map((pool) =>
      state(pool, {
        name: scaleSetNameOf(pool),
        available: false,
        note: 'runner-registration answered 404: GitHub Enterprise Server before 3.9 has no scale sets',
        updatedAt,
      }),
    );
  }
  const states: { key: string; value: ScaleSetState }[] = [];
  for (const pool of pools) {
    const name = scaleSetNameOf(pool);
    const found = await scaleSets.findScaleSet(await scaleSets.runnerGroupId(pool.runnerGroup), name);
    // Not there yet: the listener creates it on first use; until it reports, auto polls.
    if (!found) {
      if (jobSourceOf(config, pool) === 'scaleset')
        states.push(
          state(pool, {
            name,
            available: true,
            note: `scale set ${name} does not exist yet: the listener creates it on first use`,
            updatedAt,
          }),
        );
      continue;
    }
    states.push(
      state(pool, {
        name,
        scaleSetId: found.id,
        available: true,
        labelsDropped: !labelsCover(found.labels, pool.labels),
        ...(found.statistics
          ? { statistics: storedStatistics(found.statistics), statisticsAt: updatedAt }
          : { note: `scale set ${name} came without statistics` }),
        updatedAt,
      }),
    );
  }
  return states;
}

/** The cycle failed before it decided, without a task error to tell why (should not happen). */
export class PlanFailedError extends StepscaleError {
  override readonly name = 'PlanFailedError';
}

/** A task of a plan failed; named so that no Retry of the state machine matches it: a plan fails fast. */
export class PlanTaskFailedError extends StepscaleError {
  override readonly name = 'PlanTaskFailedError';
}
