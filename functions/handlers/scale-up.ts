/**
 * Task `ScaleUp`: grows the fleet as Decide asked, and queues the new runners' instances for registration behind
 * the ones earlier cycles launched. It registers nothing itself: launching is cheap and fast, a registration is
 * a paced GitHub write (RegisterRunners). In order:
 * 1. warm pools' ready instances are started (StartInstances) — they register like launches, the JIT path;
 *    one EC2 could not start for capacity is made up by a fresh launch of the same pool in this cycle, and any
 *    instance that did not start is terminated (it is tagged started: never counted ready again);
 * 2. the fresh launches, one CreateFleet per pool;
 * 3. the warm pools' refill, launched in prepare mode (they power themselves off; nothing to register).
 *
 * Retry-safe: each launch carries a client token derived from the cycle id and pool, so a Step Functions
 * retry of this task (or a duplicated cycle) gets the same instances back instead of new ones.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { mayChangeFleet } from '../core/cycle-timing.ts';
import type { RecentLaunch } from '../core/recent-launches.ts';
import { cycleSchema, type PortNeeds, parseTaskInput, scheduledTimeOf, type TaskDeps } from './deps.ts';
import { rememberLaunches } from './launch-record.ts';
import { type RegistrationQueue, registrationQueueSchema } from './registration-queue.ts';

const inputSchema = z.object({
  cycle: cycleSchema,
  launches: z.array(z.object({ pool: z.string().min(1), count: z.int().min(1).max(10_000) })),
  /** Instances of earlier cycles still waiting for their registration (Decide). */
  registrations: registrationQueueSchema.default([]),
  /** Ready warm instances to start, per pool (Decide; absent from plans without warm pools). */
  starts: z
    .array(z.object({ pool: z.string().min(1), instanceIds: z.array(z.string().min(1)).max(1000) }))
    .default([]),
  /** Warm refills to launch in prepare mode, per pool. */
  prepares: z
    .array(
      z.object({
        pool: z.string().min(1),
        count: z.int().min(1).max(10_000),
        templateVersion: z.int().positive().optional(),
      }),
    )
    .default([]),
});

export interface ScaleUpOutput {
  /** Instances launched. */
  readonly launched: number;
  /** Requested but not launched (capacity); the next cycle asks again. */
  readonly missing: number;
  /** Warm instances started (they are registered with the launched ones). */
  readonly started: number;
  /** Warm instances EC2 would not start (terminated); those refused for capacity were launched fresh instead. */
  readonly startFailed: number;
  /** Instances launched in prepare mode (warm refill). */
  readonly prepared: number;
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

/**
 * The `stepscale:created-at` tag of a cycle's launches. Like every CreateFleet parameter it must be the same
 * whenever the same cycle launches, or EC2 refuses the reused client token (IdempotentParameterMismatch). A
 * duplicated scheduler delivery is a second execution with its own start time, so the scheduled time (the
 * cycle id the schedule passes) is used when the cycle id is one; a manual start's id is its unique execution
 * name, and its start time is used.
 */
export function launchCreatedAt(cycle: { readonly id: string; readonly startedAt: string }): string {
  return scheduledTimeOf(cycle)?.toISOString() ?? cycle.startedAt;
}

export const scaleUpNeeds = {
  fleet: ['launch', 'start', 'prepare', 'terminate'],
  stateStore: ['getMany', 'putMany'],
} as const satisfies PortNeeds;

export function scaleUp(deps: TaskDeps<typeof scaleUpNeeds>) {
  const pools = new Map(deps.config.pools.map((pool) => [pool.name, pool]));
  return async (event: unknown): Promise<ScaleUpOutput> => {
    const { cycle, launches, registrations, starts, prepares } = parseTaskInput(
      'ScaleUp',
      inputSchema,
      event,
    );
    const made = new Map<string, string[]>();
    const add = (pool: string, ids: readonly string[]) => made.set(pool, [...(made.get(pool) ?? []), ...ids]);
    const tally = { missing: 0, started: 0, startFailed: 0, prepared: 0 };
    const asked = [...launches, ...starts.map((s) => ({ count: s.instanceIds.length }))];
    if (asked.length + prepares.length > 0 && !mayChangeFleet(cycle.startedAt, deps.now())) {
      // Too late in the cycle: the lease Decide took may be about to end, and another cycle could decide
      // without seeing these instances (cycle-timing.ts). The next cycle asks again.
      deps.log.warn('ScaleUp started too late in its cycle: nothing launched', { cycleId: cycle.id });
      return output(registrations, made, { ...tally, missing: asked.reduce((sum, a) => sum + a.count, 0) });
    }
    const createdAt = launchCreatedAt(cycle);
    const recent: RecentLaunch[] = [];
    const at = () => deps.now().toISOString();
    const poolOf = (name: string) => {
      const pool = pools.get(name);
      if (!pool) throw new Error(`ScaleUp: unknown pool "${name}"`);
      return pool;
    };

    // 1. Warm starts, and a fresh launch for each start refused for capacity.
    const fallback = new Map<string, number>();
    for (const { pool: poolName, instanceIds } of starts) {
      const pool = poolOf(poolName);
      const result = await deps.fleet.start(instanceIds);
      tally.started += result.started.length;
      tally.startFailed += result.failed.length;
      add(pool.name, [...result.started].sort());
      // A start makes a runner as a launch does: counted with them.
      deps.metrics.pool('RunnersLaunched', pool.name, result.started.length);
      recent.push({ pool: pool.name, instanceIds: result.started, at: at(), kind: 'start' });
      const capacity = result.failed.filter((failure) => failure.capacity).length;
      if (capacity > 0) fallback.set(pool.name, capacity);
      if (result.failed.length > 0) {
        // Tagged started already: never ready again. Whatever stopped them, they do not run: terminate now.
        await deps.fleet.terminate(result.failed.map((failure) => failure.instanceId));
        deps.log.warn('Warm instances not started: terminated; those refused for capacity launched fresh', {
          cycleId: cycle.id,
          pool: pool.name,
          failed: result.failed,
        });
      }
      deps.log.info('Started warm instances', {
        cycleId: cycle.id,
        pool: pool.name,
        requested: instanceIds.length,
        started: result.started.length,
      });
    }

    // 2. Fresh launches: Decide's, then the capacity fallbacks under their own client token (a retry of this
    // task may see another start outcome; EC2 refuses a reused token with other parameters).
    const fresh = [
      ...launches.map((launch) => ({ ...launch, token: launchToken(cycle.id, launch.pool) })),
      ...[...fallback].map(([pool, count]) => ({
        pool,
        count,
        token: launchToken(cycle.id, `${pool}\u0000start-fallback`),
      })),
    ];
    // Pools one after another: EC2 launch APIs allow only a few calls per second.
    for (const { pool: poolName, count, token } of fresh) {
      const pool = poolOf(poolName);
      const result = await deps.fleet.launch({ pool: pool.name, count, clientToken: token, createdAt });
      tally.missing += result.missing;
      add(pool.name, [...result.instanceIds].sort());
      recent.push({ pool: pool.name, instanceIds: result.instanceIds, at: at() });
      deps.metrics.pool('RunnersLaunched', pool.name, result.instanceIds.length);
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

    // 3. Warm refills, last: jobs waiting come first.
    for (const { pool: poolName, count, templateVersion } of prepares) {
      const pool = poolOf(poolName);
      const result = await deps.fleet.prepare({
        pool: pool.name,
        count,
        // A token of its own: the same pool's fresh launch in this cycle must not answer for it.
        clientToken: launchToken(cycle.id, `${pool.name}\u0000prepare`),
        createdAt,
        ...(templateVersion === undefined ? {} : { templateVersion }),
      });
      tally.prepared += result.instanceIds.length;
      recent.push({
        pool: pool.name,
        instanceIds: result.instanceIds,
        at: at(),
        kind: 'prepare',
        preparedAt: createdAt,
      });
      deps.log.info('Prepared warm instances', {
        cycleId: cycle.id,
        pool: pool.name,
        requested: count,
        prepared: result.instanceIds.length,
        ...(result.missing > 0 ? { missing: result.missing, errors: result.errors } : {}),
      });
    }
    await rememberLaunches(
      deps,
      cycle.id,
      recent.filter((launch) => launch.instanceIds.length > 0),
    );
    return output(registrations, made, tally);
  };
}

function output(
  waiting: readonly RegistrationQueue[],
  made: ReadonlyMap<string, string[]>,
  tally: { missing: number; started: number; startFailed: number; prepared: number },
): ScaleUpOutput {
  const queue = mergeQueues(waiting, made);
  const instanceIds = [...made.values()].flat();
  return {
    launched: instanceIds.length - tally.started,
    ...tally,
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
