/**
 * Task `CollectRepositoryJobs` (inside the Map): queued jobs of a batch of repositories, counted per pool.
 * A repository that fails is reported, never silently counted as zero demand. When every repository of the
 * batch failed the error is rethrown so the state machine's Retry gets a chance. The repositories that had
 * queued jobs are reported too (counted, and the first few by name) so the governor scans them every cycle.
 * A job a scale-set pool serves is counted for that pool whatever pool comes first (`claims`, job-sources.ts):
 * GitHub gives it to the scale set, whose statistics are that pool's demand, so no polled pool launches for it.
 */
import pLimit from 'p-limit';
import * as z from 'zod';
import { countDemand, type Demand, sumDemand } from '../core/demand.ts';
import { matchPool } from '../core/labels.ts';
import type { ListingObservation, StartedJob } from '../ports/github.ts';
import {
  type Cycle,
  cycleSchema,
  type PortNeeds,
  parseTaskInput,
  scheduledTimeOf,
  type TaskDeps,
} from './deps.ts';
import { claimingPools, sourcesSchema } from './job-sources.ts';
import { packedBatchSchema, unpackBatch } from './repository-batches.ts';

const inputSchema = z.object({
  cycle: cycleSchema,
  repositories: packedBatchSchema,
  /** Each pool's job source as ListRepositories settled it (a scale set's pool claims the jobs it serves). */
  sources: sourcesSchema.optional(),
});

/** Names of active repositories reported per batch: bounded so the Map's output stays small. */
export const maxActiveNamesPerBatch = 10;

export interface CollectRepositoryJobsOutput extends Demand {
  readonly repositories: number;
  readonly failedRepositories: number;
  /** Repositories with at least one queued job. */
  readonly activeRepositories: number;
  /** The first {@link maxActiveNamesPerBatch} of them by name: the governor's memory of hot repositories. */
  readonly active: string[];
  /** Requests to the jobs endpoint (one per active run listed), as far as the adapter tells. */
  readonly jobListings: number;
}

export const collectRepositoryJobsNeeds = {
  github: ['listQueuedJobs', 'prefetchRepositories'],
} as const satisfies PortNeeds;

export function collectRepositoryJobs(deps: TaskDeps<typeof collectRepositoryJobsNeeds>) {
  const pools = deps.policy.pools;
  return async (event: unknown): Promise<CollectRepositoryJobsOutput> => {
    const {
      cycle,
      repositories: batch,
      sources,
    } = parseTaskInput('CollectRepositoryJobs', inputSchema, event);
    const claiming = claimingPools(sources);
    const repositories = unpackBatch(batch);
    try {
      // A hint to an adapter that remembers answers across cycles: one store read for the whole batch.
      await deps.github.prefetchRepositories?.(repositories);
    } catch (error) {
      deps.log.warn('Prefetch failed; collecting without it', { cycleId: cycle.id, error: error as Error });
    }
    const limit = pLimit(deps.config.collection.concurrency);
    let jobListings = 0;
    const recordStarts = jobStartRecorder(deps, cycle);
    const observe = (seen: ListingObservation) => {
      jobListings += seen.activeRuns;
      if (seen.started) recordStarts(seen.started);
    };
    const outcomes = await Promise.all(
      repositories.map((repository) =>
        limit(async () => {
          try {
            const jobs = await deps.github.listQueuedJobs(repository, observe);
            return {
              ok: true as const,
              repository,
              active: jobs.length > 0,
              demand: countDemand(jobs, pools, claiming),
            };
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

    const collected = outcomes.flatMap((outcome) => (outcome.ok ? [outcome] : []));
    const demand = sumDemand(
      pools,
      collected.map((outcome) => outcome.demand),
    );
    const active = collected.filter((outcome) => outcome.active).map((outcome) => outcome.repository);
    return {
      ...demand,
      repositories: repositories.length,
      failedRepositories: failures.length,
      activeRepositories: active.length,
      active: active.sort().slice(0, maxActiveNamesPerBatch),
      jobListings,
    };
  };
}

/**
 * Records the wait of each job a runner started since the schedule's previous cycle: a scheduled cycle counts
 * the starts in the interval before its scheduled time, so each start is counted by one cycle only (targeted
 * and manual cycles count none). The jobs come with the runs' listings, at no extra request.
 */
function jobStartRecorder(
  deps: Pick<TaskDeps<typeof collectRepositoryJobsNeeds>, 'metrics' | 'policy' | 'config'>,
  cycle: Cycle,
): (started: readonly StartedJob[]) => void {
  const scheduled = scheduledTimeOf(cycle);
  if (!scheduled) return () => undefined;
  const untilMs = scheduled.getTime();
  const fromMs = untilMs - deps.config.collection.cycleIntervalSeconds * 1000;
  return (started) => {
    for (const job of started) {
      const startedMs = Date.parse(job.startedAt);
      const queuedMs = Date.parse(job.queuedAt);
      if (!(startedMs > fromMs && startedMs <= untilMs) || Number.isNaN(queuedMs)) continue;
      const pool = matchPool(job.labels, deps.policy.pools);
      if (pool) deps.metrics.jobWait(pool.name, (startedMs - queuedMs) / 1000, 'poll');
    }
  };
}
