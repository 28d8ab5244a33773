/**
 * Task `CollectRepositoryJobs` (inside the Map): queued jobs of a batch of repositories, counted per pool.
 * A repository that fails is reported, never silently counted as zero demand. When every repository of the
 * batch failed the error is rethrown so the state machine's Retry gets a chance.
 */
import pLimit from 'p-limit';
import { z } from 'zod';
import { countDemand, type Demand, sumDemand } from '../core/demand.ts';
import { cycleSchema, type HandlerDeps, parseTaskInput } from './deps.ts';

const inputSchema = z.object({
  cycle: cycleSchema,
  repositories: z.array(z.string().min(1).max(100)).max(500),
});

export interface CollectRepositoryJobsOutput extends Demand {
  readonly repositories: number;
  readonly failedRepositories: number;
}

export function collectRepositoryJobs(deps: HandlerDeps) {
  const pools = deps.policy.pools;
  return async (event: unknown): Promise<CollectRepositoryJobsOutput> => {
    const { cycle, repositories } = parseTaskInput('CollectRepositoryJobs', inputSchema, event);
    const limit = pLimit(deps.config.collection.concurrency);
    const outcomes = await Promise.all(
      repositories.map((repository) =>
        limit(async () => {
          try {
            const jobs = await deps.github.listQueuedJobs(repository);
            return { ok: true as const, demand: countDemand(jobs, pools) };
          } catch (error) {
            deps.log.warn('Could not collect queued jobs', {
              cycleId: cycle.id,
              repository,
              error: error as Error,
            });
            return { ok: false as const, error };
          }
        }),
      ),
    );

    const failures = outcomes.filter((outcome) => !outcome.ok);
    if (repositories.length > 0 && failures.length === repositories.length) throw failures[0]?.error;

    const demand = sumDemand(
      pools,
      outcomes.flatMap((outcome) => (outcome.ok ? [outcome.demand] : [])),
    );
    return { ...demand, repositories: repositories.length, failedRepositories: failures.length };
  };
}
