import { type LabelledPool, matchPool } from './labels.ts';

/** Queued jobs counted per pool. Counts only: this travels through Step Functions state. */
export interface Demand {
  /** Pool name → queued jobs; every configured pool is present. */
  readonly queuedByPool: Record<string, number>;
  /** Queued jobs that no pool serves (GitHub-hosted or foreign labels): reported, never acted on. */
  readonly unmatched: number;
}

export function emptyDemand(pools: readonly LabelledPool[]): Demand {
  return { queuedByPool: Object.fromEntries(pools.map((pool) => [pool.name, 0])), unmatched: 0 };
}

/**
 * Count queued jobs per pool; each job is counted once: for the first of the `claiming` pools that serves it,
 * else for the first pool that serves it.
 *
 * A claiming pool is one whose runner scale set GitHub offers every job its labels cover, and whose listener
 * acquires them: such a job runs on that scale set's runners only, and is counted in its statistics. Counted
 * for an earlier polled pool as well, it would have a runner launched for it twice.
 */
export function countDemand(
  jobs: readonly { readonly labels: readonly string[] }[],
  pools: readonly LabelledPool[],
  claiming: ReadonlySet<string> = new Set(),
): Demand {
  const queuedByPool = emptyDemand(pools).queuedByPool;
  const claimers = pools.filter((pool) => claiming.has(pool.name));
  let unmatched = 0;
  for (const job of jobs) {
    const pool = matchPool(job.labels, claimers) ?? matchPool(job.labels, pools);
    if (pool) queuedByPool[pool.name] = (queuedByPool[pool.name] ?? 0) + 1;
    else unmatched += 1;
  }
  return { queuedByPool, unmatched };
}

/** Sum partial demands (one per repository or batch) into the cycle's demand. */
export function sumDemand(pools: readonly LabelledPool[], parts: readonly Demand[]): Demand {
  const queuedByPool = emptyDemand(pools).queuedByPool;
  let unmatched = 0;
  for (const part of parts) {
    unmatched += part.unmatched;
    for (const [pool, count] of Object.entries(part.queuedByPool)) {
      // A pool that is not (or no longer) configured cannot be scaled: count its jobs as unmatched.
      if (pool in queuedByPool) queuedByPool[pool] = (queuedByPool[pool] ?? 0) + count;
      else unmatched += count;
    }
  }
  return { queuedByPool, unmatched };
}
