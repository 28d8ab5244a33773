/**
 * Task `AggregateDemand`: sums the Map's per-batch counts into the cycle's demand per pool.
 * Its output replaces the whole state, so the repository list and the parts go no further.
 */
import { z } from 'zod';
import { type Demand, sumDemand } from '../core/demand.ts';
import { type Cycle, cycleSchema, type HandlerDeps, parseTaskInput } from './deps.ts';

const count = z.int().min(0);
const partSchema = z.object({
  queuedByPool: z.record(z.string(), count),
  unmatched: count,
  repositories: count,
  failedRepositories: count,
});
const inputSchema = z.object({ cycle: cycleSchema, parts: z.array(partSchema) });

export interface CycleDemand extends Demand {
  readonly repositories: number;
  readonly failedRepositories: number;
  /** True when every repository was collected: only then may the cycle scale down. */
  readonly complete: boolean;
}

export function aggregateDemand(deps: HandlerDeps) {
  return async (event: unknown): Promise<{ cycle: Cycle; demand: CycleDemand }> => {
    const { cycle, parts } = parseTaskInput('AggregateDemand', inputSchema, event);
    const demand = sumDemand(deps.policy.pools, parts);
    const repositories = parts.reduce((sum, part) => sum + part.repositories, 0);
    const failedRepositories = parts.reduce((sum, part) => sum + part.failedRepositories, 0);
    const cycleDemand = { ...demand, repositories, failedRepositories, complete: failedRepositories === 0 };
    deps.log.info('Aggregated demand', { cycleId: cycle.id, ...cycleDemand });
    return { cycle, demand: cycleDemand };
  };
}
