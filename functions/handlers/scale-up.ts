/**
 * Task `ScaleUp`: launches what Decide asked for, one CreateFleet per pool, and queues the new instances for
 * registration behind the ones earlier cycles launched. It registers nothing itself: launching is cheap and
 * fast, a registration is a paced GitHub write (RegisterRunners).
 *
 * Retry-safe: each launch carries a client token derived from the cycle id and pool, so a Step Functions
 * retry of this task (or a duplicated cycle) gets the same instances back instead of new ones.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { mayChangeFleet } from '../core/cycle-timing.ts';
import { cycleSchema, type PortNeeds, parseTaskInput, type TaskDeps } from './deps.ts';
import { rememberLaunches } from './launch-record.ts';
import { type RegistrationQueue, registrationQueueSchema } from './registration-queue.ts';

const inputSchema = z.object({
  cycle: cycleSchema,
  launches: z.array(z.object({ pool: z.string().min(1), count: z.int().min(1).max(10_000) })),
  /** Instances of earlier cycles still waiting for their registration (Decide). */
  registrations: registrationQueueSchema.default([]),
});

export interface ScaleUpOutput {
  /** Instances launched. */
  readonly launched: number;
  /** Requested but not launched (capacity); the next cycle asks again. */
  readonly missing: number;
  readonly instanceIds: string[];
  /** What waits for registration, per pool: the earlier cycles' instances first, then this cycle's. */
  readonly registrations: RegistrationQueue[];
  /** How many instances that is. */
  readonly toRegister: number;
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

export const scaleUpNeeds = {
  fleet: ['launch'],
  stateStore: ['getMany', 'putMany'],
} as const satisfies PortNeeds;

export function scaleUp(deps: TaskDeps<typeof scaleUpNeeds>) {
  const pools = new Map(deps.config.pools.map((pool) => [pool.name, pool]));
  return async (event: unknown): Promise<ScaleUpOutput> => {
    const { cycle, launches, registrations } = parseTaskInput('ScaleUp', inputSchema, event);
    const launched = new Map<string, string[]>();
    let missing = 0;
    if (launches.length > 0 && !mayChangeFleet(cycle.startedAt, deps.now())) {
      // Too late in the cycle: the lease Decide took may be about to end, and another cycle could decide
      // without seeing these instances (cycle-timing.ts). The next cycle asks again.
      deps.log.warn('ScaleUp started too late in its cycle: nothing launched', { cycleId: cycle.id });
      return output(
        registrations,
        launched,
        launches.reduce((sum, launch) => sum + launch.count, 0),
      );
    }
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
      launched.set(pool.name, [...result.instanceIds].sort());
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
    }
    const at = deps.now().toISOString();
    await rememberLaunches(
      deps,
      cycle.id,
      [...launched].map(([pool, instanceIds]) => ({ pool, instanceIds, at })),
    );
    return output(registrations, launched, missing);
  };
}

function output(
  waiting: readonly RegistrationQueue[],
  launched: ReadonlyMap<string, string[]>,
  missing: number,
): ScaleUpOutput {
  const queue = mergeQueues(waiting, launched);
  const instanceIds = [...launched.values()].flat();
  return {
    launched: instanceIds.length,
    missing,
    instanceIds,
    registrations: queue,
    toRegister: queue.reduce((sum, entry) => sum + entry.instanceIds.length, 0),
  };
}

/** Per pool, the waiting instances first (oldest first), then the new ones; each instance once. */
function mergeQueues(waiting: readonly RegistrationQueue[], launched: ReadonlyMap<string, string[]>) {
  const merged = new Map<string, string[]>();
  for (const { pool, instanceIds } of waiting)
    merged.set(pool, [...(merged.get(pool) ?? []), ...instanceIds]);
  for (const [pool, instanceIds] of launched) merged.set(pool, [...(merged.get(pool) ?? []), ...instanceIds]);
  return [...merged]
    .map(([pool, instanceIds]) => ({ pool, instanceIds: [...new Set(instanceIds)] }))
    .filter((entry) => entry.instanceIds.length > 0);
}
