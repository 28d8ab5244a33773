/**
 * Task `AggregateDemand`: sums the Map's per-batch counts into the cycle's demand per pool, and records which
 * repositories had queued jobs in the governor's memory (they are scanned every cycle while hot).
 * The repositories of a batch that failed after its retries go back in the webhook inbox, which the next cycle
 * of any kind takes and scans first: without that, those a webhook delivery had posted (taken by this cycle)
 * would wait for the scheduled sweep to come round to them.
 * Its output replaces the whole state, so the batches and their parts go no further.
 */
import * as z from 'zod';
import { type Demand, sumDemand } from '../core/demand.ts';
import { learnJobListings, recordActivity } from '../core/governor.ts';
import { type Cycle, cycleSchema, type PortNeeds, parseTaskInput, type TaskDeps } from './deps.ts';
import {
  governorKeys,
  governorSettingsOf,
  readGovernorMemory,
  writeGovernorMemory,
} from './governor-memory.ts';
import { type Sources, sourcesSchema } from './job-sources.ts';
import { putBackUnscanned } from './put-back.ts';
import { packedBatchSchema, unpackBatch } from './repository-batches.ts';

const count = z.int().min(0);
const partSchema = z.object({
  queuedByPool: z.record(z.string(), count),
  unmatched: count,
  repositories: count,
  failedRepositories: count,
  // Absent from a failed batch's part (RecordBatchFailure) and from parts of older payloads.
  activeRepositories: count.default(0),
  active: z.array(z.string().min(1).max(100)).max(100).default([]),
  jobListings: count.default(0),
  /** A failed batch's repositories, as ListRepositories packed them (RecordBatchFailure). */
  failedBatch: packedBatchSchema.optional(),
});
const inputSchema = z.object({
  cycle: cycleSchema,
  parts: z.array(partSchema),
  /** Repositories the governor left out this cycle (rate limits). */
  skippedRepositories: count.default(0),
  /** A webhook-started cycle that scanned the repositories deliveries named and the hot ones. */
  targeted: z.boolean().default(false),
  /** Each pool's job source, as ListRepositories settled it; absent: every pool polled. */
  sources: sourcesSchema.default({}),
});

export interface CycleDemand extends Demand {
  /** Repositories scanned this cycle. */
  readonly repositories: number;
  readonly failedRepositories: number;
  /** Left out by the governor this cycle. */
  readonly skippedRepositories: number;
  /** Scanned repositories with queued jobs. */
  readonly activeRepositories: number;
  /**
   * True when no repository failed: only then may the cycle scale down. Repositories the governor skipped
   * do not count against it: what scale-down removes is a runner that has sat idle for minRunningSeconds
   * and is re-read as idle right before removal, and GitHub hands a queued job to a matching idle runner
   * within seconds, so an unscanned repository cannot be hiding demand that runner would serve. A failure
   * is different: it may mean GitHub itself is in trouble, and then nothing is removed. (Holding on skips
   * too would stop every organization larger than one cycle's scan budget from ever scaling down.)
   */
  readonly complete: boolean;
  /** A webhook-started cycle: its demand covers the repositories it scanned; removing waits for a full cycle. */
  readonly targeted: boolean;
  /** Each pool's job source this cycle (scale-set pools carry their assigned jobs). */
  readonly sources: Sources;
}

export const aggregateDemandNeeds = {
  stateStore: ['getMany', 'putMany'],
  webhookInbox: ['putBack'],
} as const satisfies PortNeeds;

export function aggregateDemand(deps: TaskDeps<typeof aggregateDemandNeeds>) {
  const settings = governorSettingsOf(deps.config);
  const keys = governorKeys(deps.config.github.org);
  return async (event: unknown): Promise<{ cycle: Cycle; demand: CycleDemand }> => {
    const { cycle, parts, skippedRepositories, targeted, sources } = parseTaskInput(
      'AggregateDemand',
      inputSchema,
      event,
    );
    const demand = sumDemand(deps.policy.pools, parts);
    const total = (field: 'repositories' | 'failedRepositories' | 'activeRepositories' | 'jobListings') =>
      parts.reduce((sum, part) => sum + part[field], 0);
    const failedRepositories = total('failedRepositories');
    const cycleDemand: CycleDemand = {
      ...demand,
      repositories: total('repositories'),
      failedRepositories,
      skippedRepositories,
      activeRepositories: total('activeRepositories'),
      complete: failedRepositories === 0,
      targeted,
      sources,
    };

    // The cycle's start, not the clock: a retry of this task records the same times.
    const at = new Date(cycle.startedAt);
    const { activity } = await readGovernorMemory(deps, deps.config.github.org, cycle.id);
    const active = parts.flatMap((part) => part.active);
    // Per repository that answered: a failed batch lists nothing, and counting its repositories would understate.
    const answered = cycleDemand.repositories - failedRepositories;
    const jobListings = total('jobListings');
    const jobListingsPerScan = learnJobListings(activity?.jobListingsPerScan, jobListings, answered);
    const next = {
      ...recordActivity(activity, active, at, settings),
      ...(jobListingsPerScan === undefined ? {} : { jobListingsPerScan }),
    };
    await writeGovernorMemory(deps, [{ key: keys.activity, value: next }], cycle.id);
    const unscanned = parts.flatMap((part) => (part.failedBatch ? unpackBatch(part.failedBatch) : []));
    await putBackUnscanned(deps, unscanned, { cycleId: cycle.id, why: 'failed-batch' });

    deps.log.info('Aggregated demand', {
      cycleId: cycle.id,
      ...cycleDemand,
      hot: Object.keys(next.lastActive).length,
      jobListings,
    });
    return { cycle, demand: cycleDemand };
  };
}
