/**
 * Task `ScaleDown`: removes what Decide chose, safely.
 * - Idle runners: the list's `busy` flag lags, so each runner is re-read right before acting; it is
 *   deregistered first and its instance is terminated only if that succeeded (GitHub refuses to delete a
 *   runner that took a job in the meantime).
 * - Orphans (instances that never brought a runner online): marked on first sight, terminated on a later
 *   cycle, and only if their runner is still not online or busy when this task looks again.
 * - Ghosts (offline registrations whose instance is gone): deleted if still offline and idle.
 * - Runner configs no instance will read: deleted.
 * One failing item never stops the others; failures are counted and logged. Every deregistration is a GitHub
 * write and takes a slot of the stack's write budget, one after another; what finds no slot before the
 * cycle's registration deadline waits for a later cycle. A scale-set pool's runners are removed through its
 * scale set's runner API (the Actions service, which refuses a runner that runs a job): no write slot.
 * The last task that changes the fleet: it gives back the scaling lease Decide took, whatever happens.
 */
import pLimit from 'p-limit';
import * as z from 'zod';
import { mayChangeFleet, registrationDeadline } from '../core/cycle-timing.ts';
import type { Runner } from '../core/model.ts';
import { ScaleSetRunnerBusyError } from '../errors.ts';
import { cycleSchema, type PortNeeds, parseTaskInput, type TaskDeps } from './deps.ts';
import { readScaleSetStates, scaleSetIdsByPool } from './job-sources.ts';
import { releaseScalingLease } from './scaling-lease.ts';

const instanceIds = z.array(z.string().min(1)).max(1000);
const inputSchema = z.object({
  cycle: cycleSchema,
  removals: z
    .array(
      z.object({
        pool: z.string().min(1),
        runnerId: z.int().positive(),
        runnerName: z.string().min(1),
        instanceId: z.string().min(1),
      }),
    )
    .max(10_000),
  cleanup: z.object({
    orphansToMark: instanceIds,
    orphansToTerminate: instanceIds,
    ghosts: z.array(z.object({ runnerId: z.int().positive(), runnerName: z.string().min(1) })).max(1000),
    staleRunnerConfigs: instanceIds,
    /** Stopped instances that can no longer serve and the warm pools' surplus (absent from older plans). */
    retire: z
      .array(z.object({ instanceId: z.string().min(1), pool: z.string().min(1), reason: z.string().min(1) }))
      .max(1000)
      .default([]),
  }),
});

export interface ScaleDownOutput {
  readonly terminated: number;
  /** `terminated` per pool (pools that removed none are left out): what `stepscale cycles` shows per pool. */
  readonly terminatedByPool: Record<string, number>;
  /** Runners that turned busy since Decide looked: left alone. */
  readonly skipped: number;
  readonly failed: number;
  readonly orphansMarked: number;
  readonly orphansTerminated: number;
  /** Instances holding no runner terminated for the warm pool's rules (used, interrupted, too old, surplus, …). */
  readonly retired: number;
  readonly ghostsRemoved: number;
  readonly configsRemoved: number;
  /** Removals and ghost deletions left for a later cycle: the write budget had no slot for them. */
  readonly deferred: number;
}

type Outcome = 'removed' | 'skipped' | 'failed' | 'deferred';

export const scaleDownNeeds = {
  github: ['getRunner', 'deleteRunner', 'listRunners'],
  scaleSets: ['removeRunner'],
  fleet: ['terminate', 'markOrphaned', 'listInstances'],
  runnerConfigs: ['remove'],
  stateStore: ['releaseLease', 'getMany'],
  writeBudget: ['reserve'],
} as const satisfies PortNeeds;

type Deps = TaskDeps<typeof scaleDownNeeds>;

export function scaleDown(deps: Deps) {
  return async (event: unknown): Promise<ScaleDownOutput> => {
    const input = parseTaskInput('ScaleDown', inputSchema, event);
    try {
      if (!mayChangeFleet(input.cycle.startedAt, deps.now())) {
        // Too late in the cycle: the lease Decide took may be about to end (see cycle-timing.ts).
        deps.log.warn(
          'ScaleDown started too late in its cycle: nothing removed, the next cycle decides again',
          {
            cycleId: input.cycle.id,
          },
        );
        return nothingRemoved(input.removals.length + input.cleanup.ghosts.length);
      }
      return await removeWhatDecideChose(deps, input);
    } finally {
      await releaseScalingLease(deps, input.cycle.id);
      deps.metrics.stack('CycleDuration', (deps.now().getTime() - Date.parse(input.cycle.startedAt)) / 1000);
    }
  };
}

async function removeWhatDecideChose(
  deps: Deps,
  { cycle, removals, cleanup }: z.output<typeof inputSchema>,
): Promise<ScaleDownOutput> {
  const log = (message: string, fields: Record<string, unknown>) =>
    deps.log.info(message, { cycleId: cycle.id, ...fields });
  const toTerminate: string[] = [];
  const terminatedByPool: Record<string, number> = {};
  const writeBy = registrationDeadline(cycle.startedAt, deps.config.collection.cycleIntervalSeconds);
  const paced = pacedWrites(deps, writeBy);
  // A scale-set pool's runners are removed through its scale set's runner API: no REST write, no slot.
  const viaScaleSet =
    removals.length > 0
      ? scaleSetIdsByPool(deps.config, await readScaleSetStates(deps))
      : new Map<string, number>();

  // One at a time: each takes its write slot, then re-reads the runner right before deleting it.
  const outcomes: Outcome[] = [];
  for (const removal of removals) {
    const fields = { cycleId: cycle.id, pool: removal.pool, runner: removal.runnerName };
    const throughScaleSet = viaScaleSet.has(removal.pool);
    const remove = async (): Promise<Outcome> => {
      try {
        const fresh = await deps.github.getRunner(removal.runnerId);
        if (fresh && (fresh.busy || fresh.name !== removal.runnerName)) {
          deps.log.info('Runner turned busy, left alone', fields);
          return 'skipped';
        }
        // A runner that is already gone runs no job; terminating its instance is what a retry must still do.
        if (fresh && throughScaleSet) await deps.scaleSets.removeRunner(removal.runnerId);
        else if (fresh) await deps.github.deleteRunner(removal.runnerId);
        toTerminate.push(removal.instanceId);
        terminatedByPool[removal.pool] = (terminatedByPool[removal.pool] ?? 0) + 1;
        return 'removed';
      } catch (error) {
        if (error instanceof ScaleSetRunnerBusyError) {
          deps.log.info(
            'Runner took a job meanwhile (the scale set refused to remove it), left alone',
            fields,
          );
          return 'skipped';
        }
        // Deregistration failed or was refused (the runner took a job): keep the instance.
        deps.log.warn('Runner not deregistered, instance kept', { ...fields, error: error as Error });
        return 'failed';
      }
    };
    outcomes.push(throughScaleSet ? await remove() : await paced(remove));
  }

  const orphans = await orphansStillUnregistered(deps, cleanup.orphansToTerminate);
  const retired = cleanup.retire.map((retirement) => retirement.instanceId);
  if (toTerminate.length + orphans.length + retired.length > 0) {
    await deps.fleet.terminate([...toTerminate, ...orphans, ...retired]);
    log('Terminated instances', {
      idle: toTerminate.length,
      orphans: orphans.length,
      retired: retired.length,
      ...(retired.length > 0 ? { retireReasons: countBy(cleanup.retire.map((r) => r.reason)) } : {}),
    });
  }
  if (cleanup.orphansToMark.length > 0) {
    await deps.fleet.markOrphaned(cleanup.orphansToMark, deps.now());
    log('Marked orphaned instances; terminated next cycle unless their runner comes online', {
      count: cleanup.orphansToMark.length,
    });
  }
  for (const [pool, removed] of Object.entries(terminatedByPool))
    deps.metrics.pool('RunnersRemoved', pool, removed);
  deps.metrics.stack('OrphansMarked', cleanup.orphansToMark.length);
  const ghostOutcomes = await removeGhosts(deps, cycle.id, cleanup.ghosts, paced);
  const configsRemoved = await removeConfigs(deps, cycle.id, [...cleanup.staleRunnerConfigs, ...orphans]);

  return {
    terminated: toTerminate.length,
    terminatedByPool,
    skipped: outcomes.filter((outcome) => outcome === 'skipped').length,
    failed: outcomes.filter((outcome) => outcome === 'failed').length,
    orphansMarked: cleanup.orphansToMark.length,
    orphansTerminated: orphans.length,
    retired: retired.length,
    ghostsRemoved: ghostOutcomes.filter((outcome) => outcome === 'removed').length,
    configsRemoved,
    deferred: [...outcomes, ...ghostOutcomes].filter((outcome) => outcome === 'deferred').length,
  };
}

/** A ScaleDown that removed nothing; `deferred` removals and ghost deletions wait for a later cycle. */
export function nothingRemoved(deferred: number): ScaleDownOutput {
  return {
    terminated: 0,
    terminatedByPool: {},
    skipped: 0,
    failed: 0,
    orphansMarked: 0,
    orphansTerminated: 0,
    retired: 0,
    ghostsRemoved: 0,
    configsRemoved: 0,
    deferred,
  };
}

/**
 * Runs a GitHub write in the next slot of the stack's write budget; once a slot was refused (none before
 * `writeBy`), every later write is deferred without asking again.
 */
function pacedWrites(deps: Deps, writeBy: Date) {
  let spent = false;
  return async (write: () => Promise<Outcome>): Promise<Outcome> => {
    if (spent) return 'deferred';
    const slot = await deps.writeBudget.reserve(writeBy);
    if (!slot) {
      spent = true;
      return 'deferred';
    }
    await deps.sleepUntil(slot);
    return write();
  };
}

/** An orphan whose runner came online (or took a job) since it was marked is an orphan no more. */
async function orphansStillUnregistered(deps: Deps, instanceIds: readonly string[]): Promise<string[]> {
  if (instanceIds.length === 0) return [];
  const runners = new Map((await deps.github.listRunners()).map((runner: Runner) => [runner.name, runner]));
  const live = new Map((await deps.fleet.listInstances()).map((instance) => [instance.id, instance]));
  return instanceIds.filter((id) => {
    const instance = live.get(id);
    if (!instance) return false; // already gone
    const runner = runners.get(instance.runnerName);
    return !runner || (runner.status === 'offline' && !runner.busy);
  });
}

async function removeGhosts(
  deps: Deps,
  cycleId: string,
  ghosts: readonly { runnerId: number; runnerName: string }[],
  paced: ReturnType<typeof pacedWrites>,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const ghost of ghosts) {
    outcomes.push(
      await paced(async () => {
        try {
          const fresh = await deps.github.getRunner(ghost.runnerId);
          if (!fresh) return 'skipped';
          if (fresh.status !== 'offline' || fresh.busy || fresh.name !== ghost.runnerName) return 'skipped';
          await deps.github.deleteRunner(ghost.runnerId);
          return 'removed';
        } catch (error) {
          deps.log.warn('Ghost runner not removed', {
            cycleId,
            runner: ghost.runnerName,
            error: error as Error,
          });
          return 'failed';
        }
      }),
    );
  }
  return outcomes;
}

async function removeConfigs(deps: Deps, cycleId: string, instanceIds: readonly string[]): Promise<number> {
  const limit = pLimit(4);
  const removed = await Promise.all(
    instanceIds.map((instanceId) =>
      limit(async () => {
        try {
          await deps.runnerConfigs.remove(instanceId);
          return true;
        } catch (error) {
          deps.log.warn('Runner config not removed', { cycleId, instanceId, error: error as Error });
          return false;
        }
      }),
    ),
  );
  return removed.filter(Boolean).length;
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
