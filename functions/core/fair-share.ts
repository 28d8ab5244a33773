/**
 * Max-min fair shares of a per-cycle budget (launches, removals, GitHub writes) among the pools that ask.
 *
 *   level L = the largest whole number with Σ min(askᵢ, L) ≤ budget
 *   shareᵢ  = min(askᵢ, L), plus one more unit for the first r pools still asking beyond L,
 *             where r = budget − Σ min(askᵢ, L), in priority order
 *
 * So every asking pool gets a unit before any gets a second, none gets more than it asked, and what a
 * satisfied pool leaves goes to those still asking. The priority order of the last, partial round is the
 * larger ask first, then the pool's rank (config order): it does not depend on the budget, which keeps the
 * shares monotone (more budget never gives a pool less), and not on the order the asks are listed in.
 *
 * Tiers: what a lower tier asks (minIdle top-ups) is served only from what the higher tiers (queued jobs)
 * left, each tier shared the same way.
 */

export interface Ask {
  /** The pool (or whatever is being shared among). */
  readonly key: string;
  /** Units wanted; negative or fractional asks count as their floor, at least 0. */
  readonly ask: number;
  /** The final tie-break: lower first (the pool's index in the config). */
  readonly rank: number;
}

/** Each key's share of `budget`. Keys that asked nothing get 0. Infinite budgets give everyone their ask. */
export function fairShares(asks: readonly Ask[], budget: number): Map<string, number> {
  const wanted = asks.map((ask) => ({ ...ask, ask: units(ask.ask) }));
  const shares = new Map(wanted.map((ask) => [ask.key, 0]));
  let left = Math.max(0, Math.floor(budget));
  const total = wanted.reduce((sum, ask) => sum + ask.ask, 0);
  if (left >= total) {
    for (const ask of wanted) shares.set(ask.key, ask.ask);
    return shares;
  }
  // Water-filling over the distinct ask sizes, smallest first.
  const ascending = [...wanted].sort((a, b) => a.ask - b.ask);
  let level = 0;
  let stillAsking = ascending.filter((ask) => ask.ask > 0);
  while (stillAsking.length > 0) {
    const next = stillAsking[0]?.ask ?? level;
    const step = next - level;
    if (step * stillAsking.length > left) break;
    left -= step * stillAsking.length;
    level = next;
    stillAsking = stillAsking.filter((ask) => ask.ask > level);
  }
  const raise = stillAsking.length > 0 ? Math.floor(left / stillAsking.length) : 0;
  level += raise;
  left -= raise * stillAsking.length;
  for (const ask of wanted) shares.set(ask.key, Math.min(ask.ask, level));
  const priority = stillAsking.filter((ask) => ask.ask > level).sort(byPriority);
  for (const ask of priority.slice(0, left)) shares.set(ask.key, level + 1);
  return shares;
}

/** Tier by tier: each tier shares what the tiers before it left. The result sums every tier's share. */
export function tieredFairShares(tiers: readonly (readonly Ask[])[], budget: number): Map<string, number> {
  const totals = new Map<string, number>();
  let left = Math.max(0, Math.floor(budget));
  for (const tier of tiers) {
    const shares = fairShares(tier, left);
    for (const [key, share] of shares) {
      totals.set(key, (totals.get(key) ?? 0) + share);
      left -= share;
    }
  }
  return totals;
}

/**
 * A fair order of work items across keys: round robin, each round in priority order, so any prefix of the
 * order takes max-min fair counts from each key (the registration loop works through it as its write slots
 * come, and stops wherever the cycle's time ends).
 */
export function fairOrder<T>(
  queues: readonly { readonly key: string; readonly rank: number; readonly items: readonly T[] }[],
): T[] {
  const ordered = [...queues].sort((a, b) =>
    byPriority({ ...a, ask: a.items.length }, { ...b, ask: b.items.length }),
  );
  const result: T[] = [];
  const longest = Math.max(0, ...ordered.map((queue) => queue.items.length));
  for (let round = 0; round < longest; round += 1) {
    for (const queue of ordered) {
      const item = queue.items[round];
      if (item !== undefined) result.push(item);
    }
  }
  return result;
}

function byPriority(a: Ask, b: Ask): number {
  return b.ask - a.ask || a.rank - b.rank || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

function units(ask: number): number {
  return Number.isFinite(ask) ? Math.max(0, Math.floor(ask)) : 0;
}
