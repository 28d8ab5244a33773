/**
 * Task `RegisterRunners`: registers each queued instance as an ephemeral just-in-time runner and stores its
 * config for the instance to read, one paced GitHub write per runner. The state machine runs it in a loop,
 * each invocation for a slice of the cycle, until the queue is empty or the cycle's registration deadline
 * (when the next cycle is due: cycle-timing.ts); what is left goes to the next cycle, whose Decide finds
 * those instances unregistered and queues them first. Meanwhile the instances boot and wait for their config (the launch template's bootstrap), and one
 * that gets none shuts itself down at the boot timeout (and is cleaned up as an orphan if it does not).
 *
 * - Fair: the queue is worked through round robin across pools (fairOrder), so however far a slice gets,
 *   every pool got its max-min fair share of the writes.
 * - Paced: every write takes a slot of the stack's write budget, shared by all cycles; a 403/429 that the
 *   client could not wait out pauses every writer for as long as GitHub asked.
 * - At most once: an instance is claimed in the state store before its registration, so executions whose
 *   loops overlap (a duplicated scheduled cycle, a webhook cycle) never both register it; a retried invocation
 *   claims again as the same execution, and a runner already registered under the name counts as done.
 * - Nothing lost: an instance whose registration fails outright is terminated (the next cycle launches
 *   again); an instance not reached stays queued.
 * - Scale-set pools (job-sources.ts): their runners get their JIT config from the pool's runner scale set
 *   (`generatejitconfig` at the Actions service), which is no GitHub REST write: they take no write slot, are
 *   registered first, a few at once, and a runner name the scale set knows already counts as registered.
 */
import pLimit from 'p-limit';
import * as z from 'zod';
import { maxRegistrationSeconds, registrationDeadline } from '../core/cycle-timing.ts';
import { fairOrder } from '../core/fair-share.ts';
import { runnerNameFor } from '../core/model.ts';
import { GitHubRateLimitError, ScaleSetRunnerExistsError } from '../errors.ts';
import { cycleSchema, type PortNeeds, parseTaskInput, type TaskDeps } from './deps.ts';
import { readScaleSetStates, scaleSetIdsByPool } from './job-sources.ts';
import { type RegistrationQueue, registrationQueueSchema } from './registration-queue.ts';

const count = z.int().min(0);
const progressSchema = z.object({
  queue: registrationQueueSchema,
  registered: count.default(0),
  failed: count.default(0),
  /** Claimed by another cycle's loop, which registers it. */
  elsewhere: count.default(0),
  slices: count.default(0),
});
const inputSchema = z.object({ cycle: cycleSchema, progress: progressSchema });

export interface RegisterRunnersOutput {
  /** What is still to register; the loop goes on while `more`. */
  readonly queue: RegistrationQueue[];
  readonly registered: number;
  readonly failed: number;
  readonly elsewhere: number;
  readonly slices: number;
  /** Another slice in this cycle is worth it: work is left and the deadline is not near. */
  readonly more: boolean;
  /** Set when the write budget had no slot left before the deadline, or GitHub asked to wait. */
  readonly waitingFor?: 'write-budget' | 'github-rate-limit';
}

/** One invocation works this long at most (the function's timeout leaves room for the last write). */
export const registrationSliceSeconds = 20;
/** Slices a cycle can hold before its deadline, and one more for a retry: the loop never runs longer. */
const maxSlices = Math.ceil(maxRegistrationSeconds / registrationSliceSeconds) + 1;
/**
 * A claim outlives the write it was taken for (at most a slice away), and ends by itself soon after should
 * its holder die; the instance then waits for the next cycle's loop.
 */
const claimSeconds = registrationSliceSeconds + 10;
/** GitHub's advice when a secondary limit names no retry-after: wait at least a minute. */
const defaultPauseSeconds = 60;
/** Registrations at the Actions service (scale-set pools) sent at once. */
const scaleSetConcurrency = 8;

export const registerRunnersNeeds = {
  github: ['createJitRunner'],
  scaleSets: ['generateJitConfig'],
  runnerConfigs: ['put'],
  stateStore: ['acquireLease', 'releaseLease', 'getMany'],
  writeBudget: ['reserve', 'pause'],
  fleet: ['terminate'],
} as const satisfies PortNeeds;

export function registerRunners(deps: TaskDeps<typeof registerRunnersNeeds>) {
  const pools = new Map(deps.config.pools.map((pool, rank) => [pool.name, { pool, rank }]));
  return async (event: unknown): Promise<RegisterRunnersOutput> => {
    const { cycle, progress } = parseTaskInput('RegisterRunners', inputSchema, event);
    const claimant = cycle.execution ?? cycle.id;
    const deadlineMs = registrationDeadline(
      cycle.startedAt,
      deps.config.collection.cycleIntervalSeconds,
    ).getTime();
    const sliceEnd = new Date(Math.min(deadlineMs, deps.now().getTime() + registrationSliceSeconds * 1000));
    const viaScaleSet = scaleSetIdsByPool(deps.config, await readScaleSetStates(deps));
    const order = fairOrder(
      progress.queue.map(({ pool, instanceIds }) => ({
        key: pool,
        rank: pools.get(pool)?.rank ?? Number.MAX_SAFE_INTEGER,
        items: instanceIds.map((instanceId) => ({ pool, instanceId })),
      })),
    );
    const done = new Set<string>();
    const failed: string[] = [];
    let registered = 0;
    let elsewhere = 0;
    let waitingFor: RegisterRunnersOutput['waitingFor'];

    // Scale-set pools first: no write slot to wait for, so they are never held up behind the paced ones.
    const limit = pLimit(scaleSetConcurrency);
    /** Takes the instance's registration claim; one another loop holds is that loop's to register. */
    const claimed = async (instanceId: string): Promise<boolean> => {
      const claim = await deps.stateStore.acquireLease(
        claimKeyOf(instanceId),
        claimant,
        new Date(deps.now().getTime() + claimSeconds * 1000),
      );
      if (claim.acquired) return true;
      elsewhere += 1;
      done.add(instanceId);
      return false;
    };
    await Promise.all(
      order
        .filter(({ pool }) => viaScaleSet.has(pool))
        .map(({ pool: poolName, instanceId }) =>
          limit(async () => {
            if (deps.now() > sliceEnd) return;
            if (!(await claimed(instanceId))) return;
            try {
              const jit = await deps.scaleSets.generateJitConfig(
                viaScaleSet.get(poolName) as number,
                runnerNameFor(deps.config.stack, instanceId),
              );
              await deps.runnerConfigs.put(instanceId, jit.encodedJitConfig);
              registered += 1;
            } catch (error) {
              if (error instanceof ScaleSetRunnerExistsError) {
                // Registered by an earlier attempt, which stored its config (see below for the REST path).
                registered += 1;
              } else {
                deps.log.warn('Runner registration at the scale set failed', {
                  cycleId: cycle.id,
                  pool: poolName,
                  instanceId,
                  error: error as Error,
                });
                failed.push(instanceId);
                deps.metrics.pool('RegistrationFailures', poolName, 1);
              }
            }
            done.add(instanceId);
          }),
        ),
    );

    for (const { pool: poolName, instanceId } of order.filter(({ pool }) => !viaScaleSet.has(pool))) {
      if (deps.now() > sliceEnd) break;
      const pool = pools.get(poolName)?.pool;
      if (!pool) {
        // A pool removed from the config since the launch: its instance is an orphan now, not ours to register.
        done.add(instanceId);
        continue;
      }
      if (!(await claimed(instanceId))) continue;
      const claimKey = claimKeyOf(instanceId);
      const slot = await deps.writeBudget.reserve(sliceEnd);
      if (!slot) {
        await deps.stateStore.releaseLease(claimKey, claimant);
        // Other writers hold the slots up to the end of this slice (past the deadline: until the next cycle).
        // Waiting the slice out here costs less than a loop of invocations that find no slot.
        if (sliceEnd.getTime() >= deadlineMs) waitingFor = 'write-budget';
        else await deps.sleepUntil(sliceEnd);
        break;
      }
      await deps.sleepUntil(slot);
      try {
        const jit = await deps.github.createJitRunner({
          name: runnerNameFor(deps.config.stack, instanceId),
          labels: pool.labels,
          runnerGroup: pool.runnerGroup,
        });
        // Already registered by an earlier attempt, which stored its config. Had storing failed then, the
        // instance cannot start its runner and is cleaned up as an orphan, its registration as a ghost.
        if (!jit.alreadyRegistered) await deps.runnerConfigs.put(instanceId, jit.encodedJitConfig);
        registered += 1;
        done.add(instanceId);
      } catch (error) {
        if (error instanceof GitHubRateLimitError) {
          // GitHub wants every writer to wait: the instance stays queued, nobody writes until then.
          const pauseSeconds = error.retryAfterSeconds ?? defaultPauseSeconds;
          const pausedUntil = deps.now().getTime() + pauseSeconds * 1000;
          await deps.writeBudget.pause(new Date(pausedUntil));
          await deps.stateStore.releaseLease(claimKey, claimant);
          deps.log.warn('Runner registration rate-limited: registrations paused', {
            cycleId: cycle.id,
            pool: pool.name,
            instanceId,
            pauseSeconds,
          });
          if (pausedUntil >= deadlineMs) waitingFor = 'github-rate-limit';
          break;
        }
        deps.log.warn('Runner registration failed', {
          cycleId: cycle.id,
          pool: pool.name,
          instanceId,
          error: error as Error,
        });
        failed.push(instanceId);
        done.add(instanceId);
        deps.metrics.pool('RegistrationFailures', pool.name, 1);
      }
    }

    if (failed.length > 0) {
      // An instance without a runner would only boot into nothing: the next cycle launches again.
      await deps.fleet.terminate(failed);
      deps.log.warn('Terminated instances whose runner could not be registered', {
        cycleId: cycle.id,
        count: failed.length,
      });
    }
    const queue = progress.queue
      .map(({ pool, instanceIds }) => ({ pool, instanceIds: instanceIds.filter((id) => !done.has(id)) }))
      .filter((entry) => entry.instanceIds.length > 0);
    const left = queue.reduce((sum, entry) => sum + entry.instanceIds.length, 0);
    const output: RegisterRunnersOutput = {
      queue,
      registered: progress.registered + registered,
      failed: progress.failed + failed.length,
      elsewhere: progress.elsewhere + elsewhere,
      slices: progress.slices + 1,
      // The next slice must be able to send at least one write before the deadline.
      more:
        left > 0 &&
        waitingFor === undefined &&
        deps.now().getTime() < deadlineMs &&
        progress.slices + 1 < maxSlices,
      ...(waitingFor ? { waitingFor } : {}),
    };
    deps.log.info('Runner registration', {
      cycleId: cycle.id,
      registeredNow: registered,
      left,
      ...output,
      queue: undefined,
    });
    return output;
  };
}

const claimKeyOf = (instanceId: string) => `registration:${instanceId}`;
