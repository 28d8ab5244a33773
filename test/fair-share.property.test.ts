/**
 * Max-min fair shares of a per-cycle budget (functions/core/fair-share.ts), as properties over generated
 * asks and budgets, with a few worked examples first.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Ask, fairOrder, fairShares, tieredFairShares } from '../functions/core/fair-share.ts';

const NUM_RUNS = 500;

/** Pools with distinct keys and ranks (config order), asking 0..60 units each. */
const asksArb = fc
  .array(fc.integer({ min: 0, max: 60 }), { minLength: 0, maxLength: 8 })
  .map((asks): Ask[] => asks.map((ask, rank) => ({ key: `pool-${rank}`, ask, rank })));
const budgetArb = fc.integer({ min: 0, max: 250 });

const total = (shares: Map<string, number>) => [...shares.values()].reduce((sum, n) => sum + n, 0);

describe('fairShares: examples', () => {
  it.each([
    { asks: [15, 15], budget: 20, shares: [10, 10] },
    { asks: [40, 3], budget: 20, shares: [17, 3] },
    { asks: [5, 3], budget: 5, shares: [3, 2] }, // the larger ask takes the odd unit
    { asks: [1, 1, 1], budget: 2, shares: [1, 1, 0] }, // equal asks: config order breaks the tie
    { asks: [7, 0, 2], budget: 100, shares: [7, 0, 2] },
    { asks: [123, 130], budget: 20, shares: [10, 10] },
  ])('$asks within $budget → $shares', ({ asks, budget, shares }) => {
    const result = fairShares(
      asks.map((ask, rank) => ({ key: `p${rank}`, ask, rank })),
      budget,
    );
    expect(asks.map((_, rank) => result.get(`p${rank}`))).toEqual(shares);
  });

  it('gives every ask in full without a budget', () => {
    const result = fairShares([{ key: 'a', ask: 1000, rank: 0 }], Number.POSITIVE_INFINITY);
    expect(result.get('a')).toBe(1000);
  });
});

describe('fairShares: properties', () => {
  it('never hands out more than the budget, nor leaves units while a pool still asks', () => {
    fc.assert(
      fc.property(asksArb, budgetArb, (asks, budget) => {
        const shares = fairShares(asks, budget);
        const asked = asks.reduce((sum, ask) => sum + ask.ask, 0);
        expect(total(shares)).toBeLessThanOrEqual(budget);
        expect(total(shares)).toBe(Math.min(budget, asked));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('gives no pool more than it asked', () => {
    fc.assert(
      fc.property(asksArb, budgetArb, (asks, budget) => {
        const shares = fairShares(asks, budget);
        for (const ask of asks) expect(shares.get(ask.key)).toBeLessThanOrEqual(ask.ask);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('is max-min fair: a pool left short has at most one unit less than any other', () => {
    fc.assert(
      fc.property(asksArb, budgetArb, (asks, budget) => {
        const shares = fairShares(asks, budget);
        for (const short of asks.filter((ask) => (shares.get(ask.key) ?? 0) < ask.ask)) {
          const shortShare = shares.get(short.key) ?? 0;
          for (const other of asks) expect(shares.get(other.key) ?? 0).toBeLessThanOrEqual(shortShare + 1);
        }
        // In particular no asking pool gets nothing while another gets more than one unit.
        const starved = asks.some((ask) => ask.ask > 0 && shares.get(ask.key) === 0);
        if (starved) for (const ask of asks) expect(shares.get(ask.key)).toBeLessThanOrEqual(1);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('never gives a pool less when the budget grows', () => {
    fc.assert(
      fc.property(asksArb, budgetArb, fc.integer({ min: 1, max: 50 }), (asks, budget, more) => {
        const before = fairShares(asks, budget);
        const after = fairShares(asks, budget + more);
        for (const ask of asks)
          expect(after.get(ask.key) ?? 0).toBeGreaterThanOrEqual(before.get(ask.key) ?? 0);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('does not depend on the order the asks are listed in (rank, not position, breaks ties)', () => {
    fc.assert(
      fc.property(
        asksArb.chain((asks) =>
          fc.tuple(fc.constant(asks), fc.shuffledSubarray(asks, { minLength: asks.length })),
        ),
        budgetArb,
        ([asks, shuffled], budget) => {
          expect(fairShares(shuffled, budget)).toEqual(
            new Map(asks.map((ask) => [ask.key, fairShares(asks, budget).get(ask.key)])),
          );
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('tieredFairShares', () => {
  it('serves a lower tier only from what the tiers above left, and stays monotone in the budget', () => {
    fc.assert(
      fc.property(
        asksArb,
        asksArb,
        budgetArb,
        fc.integer({ min: 1, max: 40 }),
        (queued, topUps, budget, more) => {
          // The same pools in both tiers.
          const pools = Math.min(queued.length, topUps.length);
          const tiers = [queued.slice(0, pools), topUps.slice(0, pools)];
          const shares = tieredFairShares(tiers, budget);
          const firstTier = fairShares(tiers[0] ?? [], budget);
          const firstTotal = total(firstTier);
          const queuedTotal = (tiers[0] ?? []).reduce((sum, ask) => sum + ask.ask, 0);
          // The top tier gets exactly what it would alone; the rest only once it is satisfied.
          expect(firstTotal).toBe(Math.min(budget, queuedTotal));
          if (firstTotal < queuedTotal) {
            for (const ask of tiers[0] ?? []) expect(shares.get(ask.key)).toBe(firstTier.get(ask.key));
          }
          expect(total(shares)).toBeLessThanOrEqual(budget);
          const grown = tieredFairShares(tiers, budget + more);
          for (const ask of tiers[0] ?? [])
            expect(grown.get(ask.key) ?? 0).toBeGreaterThanOrEqual(shares.get(ask.key) ?? 0);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('fairOrder', () => {
  const queuesArb = fc
    .array(fc.integer({ min: 0, max: 15 }), { minLength: 0, maxLength: 6 })
    .map((asks): Ask[] => asks.map((ask, rank) => ({ key: `pool-${rank}`, ask, rank })));

  it('takes fair shares in every prefix: the registration loop may stop anywhere', () => {
    fc.assert(
      fc.property(queuesArb, (asks) => {
        const queues = asks.map((ask) => ({
          key: ask.key,
          rank: ask.rank,
          items: Array.from({ length: ask.ask }, (_, i) => `${ask.key}/${i}`),
        }));
        const order = fairOrder(queues);
        expect(order).toHaveLength(asks.reduce((sum, ask) => sum + ask.ask, 0));
        for (let prefix = 0; prefix <= order.length; prefix += 1) {
          const taken = new Map<string, number>();
          for (const item of order.slice(0, prefix)) {
            const key = item.split('/')[0] as string;
            taken.set(key, (taken.get(key) ?? 0) + 1);
          }
          for (const short of asks.filter((ask) => (taken.get(ask.key) ?? 0) < ask.ask)) {
            for (const other of asks)
              expect(taken.get(other.key) ?? 0).toBeLessThanOrEqual((taken.get(short.key) ?? 0) + 1);
          }
        }
        // Each queue keeps its own order (oldest first).
        for (const queue of queues)
          expect(order.filter((item) => item.startsWith(`${queue.key}/`))).toEqual(queue.items);
      }),
      { numRuns: 200 },
    );
  });
});
