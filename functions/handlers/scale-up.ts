/**
 * Task `ScaleUp`: launches what Decide asked for and registers each new instance as an ephemeral
 * just-in-time runner, whose config goes to the runner config store for the instance to pick up.
 *
 * Retry-safe: each launch carries a client token derived from the cycle id and pool, so a Step Functions
 * retry of this task (or a duplicated cycle) gets the same instances back instead of new ones, and a
 * registration that already exists (409) counts as done. An instance whose registration fails is
 * terminated rather than left to boot into nothing.
 */
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { z } from 'zod';
import { GitHubRequestError } from '../adapters/github-errors.ts';
import type { PoolConfig } from '../config/config.ts';
import { runnerNameFor } from '../core/model.ts';
import { cycleSchema, type HandlerDeps, parseTaskInput } from './deps.ts';

const inputSchema = z.object({
  cycle: cycleSchema,
  launches: z.array(z.object({ pool: z.string().min(1), count: z.int().min(1).max(10_000) })),
});

export interface ScaleUpOutput {
  /** Instances launched and registered as runners. */
  readonly launched: number;
  /** Requested but not launched (capacity); the next cycle asks again. */
  readonly missing: number;
  /** Launched but terminated again because the runner could not be registered. */
  readonly registrationFailed: number;
  readonly instanceIds: string[];
}

/** EC2 client tokens are ASCII and at most 64 characters: a 40-character hash leaves room for an adapter's suffix. */
export function launchToken(cycleId: string, pool: string): string {
  return createHash('sha256').update(`${cycleId}\u0000${pool}`).digest('hex').slice(0, 40);
}

const scheduledTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/;

/**
 * The `stepscale:created-at` tag of a cycle's launches. Like every CreateFleet parameter it must be the same
 * whenever the same cycle launches, or EC2 refuses the reused client token (IdempotentParameterMismatch). A
 * duplicated scheduler delivery is a second execution with its own start time, so the scheduled time (the
 * cycle id the schedule passes) is used when the cycle id is one; a manual start's id is its unique execution
 * name, and its start time is used.
 */
export function launchCreatedAt(cycle: { readonly id: string; readonly startedAt: string }): string {
  const scheduled = scheduledTime.test(cycle.id) ? new Date(cycle.id) : undefined;
  return scheduled && !Number.isNaN(scheduled.getTime()) ? scheduled.toISOString() : cycle.startedAt;
}

export function scaleUp(deps: HandlerDeps) {
  const pools = new Map(deps.config.pools.map((pool) => [pool.name, pool]));
  return async (event: unknown): Promise<ScaleUpOutput> => {
    const { cycle, launches } = parseTaskInput('ScaleUp', inputSchema, event);
    const registered: string[] = [];
    const unregistered: string[] = [];
    let missing = 0;
    // Pools one after another: EC2 launch APIs allow only a few calls per second.
    for (const { pool: poolName, count } of launches) {
      const pool = pools.get(poolName);
      if (!pool) throw new Error(`ScaleUp: unknown pool "${poolName}"`);
      const result = await deps.fleet.launch({
        pool: pool.name,
        count,
        clientToken: launchToken(cycle.id, pool.name),
        createdAt: launchCreatedAt(cycle),
      });
      missing += result.missing;
      const fields = {
        cycleId: cycle.id,
        pool: pool.name,
        requested: count,
        launched: result.instanceIds.length,
      };
      if (result.missing > 0) {
        deps.log.warn('Launch partly fulfilled', {
          ...fields,
          missing: result.missing,
          errors: result.errors,
        });
      } else {
        deps.log.info('Launched instances', fields);
      }
      const outcomes = await registerRunners(deps, cycle.id, pool, result.instanceIds);
      registered.push(...outcomes.registered);
      unregistered.push(...outcomes.failed);
    }
    if (unregistered.length > 0) {
      await deps.fleet.terminate(unregistered);
      deps.log.warn('Terminated instances whose runner could not be registered', {
        cycleId: cycle.id,
        count: unregistered.length,
      });
    }
    return {
      launched: registered.length,
      missing,
      registrationFailed: unregistered.length,
      instanceIds: registered,
    };
  };
}

async function registerRunners(
  deps: HandlerDeps,
  cycleId: string,
  pool: PoolConfig,
  instanceIds: readonly string[],
) {
  const limit = pLimit(4);
  const registered: string[] = [];
  const failed: string[] = [];
  await Promise.all(
    instanceIds.map((instanceId) =>
      limit(async () => {
        const name = runnerNameFor(deps.config.stack, instanceId);
        try {
          const jit = await deps.github.createJitRunner({
            name,
            labels: pool.labels,
            runnerGroup: pool.runnerGroup,
          });
          await deps.runnerConfigs.put(instanceId, jit.encodedJitConfig);
          registered.push(instanceId);
        } catch (error) {
          if (error instanceof GitHubRequestError && error.status === 409) {
            // Registered by an earlier attempt of this task. Had storing its config failed then, the instance
            // cannot start its runner and is cleaned up as an orphan, its registration as a ghost.
            registered.push(instanceId);
            return;
          }
          deps.log.warn('Runner registration failed', {
            cycleId,
            pool: pool.name,
            instanceId,
            error: error as Error,
          });
          failed.push(instanceId);
        }
      }),
    ),
  );
  return { registered: registered.sort(), failed: failed.sort() };
}
