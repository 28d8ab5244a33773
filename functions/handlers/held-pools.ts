/**
 * Pools held at maxRunners with jobs waiting, as the last decision found them. A job completing in such a pool
 * frees capacity a waiting job can use at once, so the webhook receiver starts a cycle on a `completed` delivery
 * for these pools as it does on `queued` ones (and only for these: elsewhere a completion changes nothing worth a
 * cycle). Decide writes the record whenever it finds one; it is trusted for two schedule intervals.
 */
import type { PoolPlan } from '../core/decide.ts';
import type { Log } from '../observability/logger.ts';
import type { StateStore } from '../ports/state-store.ts';

export const heldPoolsKey = 'held-pools';
/** Schedule intervals the record is trusted for: past the next scheduled decision, with room for its lag. */
const trustedForIntervals = 2;

interface HeldPools {
  readonly pools: readonly string[];
  /** ISO-8601 time of the decision. */
  readonly at: string;
}

/**
 * Pools whose waiting jobs the decision could not make runners for because the pool is at its maximum. What
 * counts toward maxRunners is what core/decide.ts counts: runners, the instances this plan starts and launches,
 * and the warm pool's stopped instances (ready ones not started, those preparing, the refill this plan asks for).
 */
export function heldAtMax(plans: readonly PoolPlan[], maxRunners: ReadonlyMap<string, number>): string[] {
  return plans
    .filter((plan) => {
      const started = plan.start.length;
      const capacity = plan.idle + plan.booting + plan.launch + started;
      const warm = plan.warm ? plan.warm.ready - started + plan.warm.preparing + plan.prepare : 0;
      const live = plan.idle + plan.busy + plan.booting + plan.orphaned + plan.launch + started + warm;
      return plan.queued > capacity && live >= (maxRunners.get(plan.pool) ?? Number.POSITIVE_INFINITY);
    })
    .map((plan) => plan.pool);
}

export async function recordHeldPools(
  deps: { readonly stateStore: Pick<StateStore, 'putMany'>; readonly log: Log },
  pools: readonly string[],
  now: Date,
  cycleIntervalSeconds: number,
): Promise<void> {
  if (pools.length === 0) return;
  try {
    const value: HeldPools = { pools, at: now.toISOString() };
    await deps.stateStore.putMany([{ key: heldPoolsKey, value }], trustedForIntervals * cycleIntervalSeconds);
  } catch (error) {
    // Only a completion's fast path depends on it: the next scheduled cycle launches anyway.
    deps.log.warn('Held pools not recorded', { error: (error as Error).message });
  }
}

/** The pools held at their maximum by a decision still trusted (two schedule intervals old at most). */
export async function readHeldPools(
  stateStore: Pick<StateStore, 'getMany'>,
  now: Date,
  cycleIntervalSeconds: number,
): Promise<ReadonlySet<string>> {
  const maxAgeSeconds = trustedForIntervals * cycleIntervalSeconds;
  const found = (await stateStore.getMany<HeldPools>([heldPoolsKey])).get(heldPoolsKey);
  if (!found || !Array.isArray(found.pools)) return new Set();
  const age = now.getTime() - Date.parse(found.at);
  return age >= 0 && age <= maxAgeSeconds * 1000 ? new Set(found.pools) : new Set();
}
