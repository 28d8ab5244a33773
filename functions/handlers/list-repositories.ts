/**
 * Task `ListRepositories`: the organization's repositories, the governor's choice of which of them this cycle
 * scans (functions/core/governor.ts), and those packed into batches for the collect Map.
 *
 * A targeted cycle (started by a webhook delivery, `targets` in its input) lists nothing: it scans the
 * repositories the deliveries named (its own and those waiting in the webhook inbox) and the hot ones (where
 * the rest of the current demand is), within the governor's budget, and leaves the round robin alone. Either
 * kind of cycle takes the webhook inbox, so a repository posted there is scanned by the next cycle of any kind;
 * what the budget leaves out of this one goes back in (put-back.ts).
 *
 * It also settles each pool's job source for the cycle (job-sources.ts): a pool whose demand comes from its
 * runner scale set is not polled for. When no pool is polled for — every pool on scale sets, or a cycle the
 * scale set listener started (`targets.scaleSets`) — nothing is listed or scanned at all: such a cycle sends
 * GitHub's REST API no request here, and leaves the webhook inbox to the next cycle that polls.
 */
import * as z from 'zod';
import { repositoryFilter } from '../adapters/github-repositories.ts';
import { type ActivityMemory, planScan } from '../core/governor.ts';
import type { RateLimit } from '../ports/github.ts';
import { cycleSchema, type PortNeeds, parseTaskInput, type TaskDeps } from './deps.ts';
import {
  governorKeys,
  governorSettingsOf,
  readGovernorMemory,
  type StoredRotation,
  writeGovernorMemory,
} from './governor-memory.ts';
import { pollsAnything, readScaleSetStates, resolveSources, type Sources } from './job-sources.ts';
import { putBackUnscanned } from './put-back.ts';
import { type PackedBatch, packBatches } from './repository-batches.ts';

const inputSchema = z.object({
  cycle: cycleSchema,
  /** The repositories whose webhook deliveries started the cycle; none in a scheduled cycle. */
  targets: z
    .object({
      repositories: z.array(z.string().min(1).max(100)).max(1000),
      /** Pools whose scale set statistics rose: a cycle the scale set listener started. */
      scaleSets: z.array(z.string().min(1).max(100)).max(100).default([]),
    })
    .default({ repositories: [], scaleSets: [] }),
});

export interface ListRepositoriesOutput {
  /** Repositories in the organization. */
  readonly count: number;
  /** Scanned this cycle; the others are skipped to stay within GitHub's rate limits. */
  readonly scanned: number;
  readonly skipped: number;
  /** Repositories with queued jobs recently: scanned every cycle. */
  readonly hot: number;
  /** False when any repository is skipped: the cycle's view is incomplete and scale-down holds. */
  readonly complete: boolean;
  /** A webhook-started cycle: it scanned the repositories named and the hot ones, not the organization. */
  readonly targeted: boolean;
  /** The governor's arithmetic, for the trace and the logs (counts only). */
  readonly budget: {
    readonly slots: number;
    readonly hardSlots: number;
    /** Primary-limit requests this cycle may spend on scanning; null without a primary limit. */
    readonly requests: number | null;
    readonly remaining: number | null;
    readonly costPerScan: number;
    /** Secondary-limit points per scan on the busier endpoint: 2 (runs), more when many runs are active. */
    readonly endpointPointsPerScan: number;
  };
  /** The scanned repositories, sorted, packed (see repository-batches.ts); one Map iteration each. */
  readonly batches: PackedBatch[];
  /** Each pool's job source this cycle, and why (job-sources.ts). */
  readonly sources: Sources;
}

export const listRepositoriesNeeds = {
  github: ['listRepositories', 'rateLimit'],
  stateStore: ['getMany', 'putMany'],
  webhookInbox: ['take', 'putBack'],
} as const satisfies PortNeeds;

/** How far back (in schedule intervals) a targeted cycle looks for repositories whose jobs may still wait. */
export const pendingForIntervals = 1;

export function listRepositories(deps: TaskDeps<typeof listRepositoriesNeeds>) {
  const settings = governorSettingsOf(deps.config);
  const { org } = deps.config.github;
  const keys = governorKeys(org);
  const keep = repositoryFilter(deps.config.github.repositories);
  return async (event: unknown): Promise<ListRepositoriesOutput> => {
    const input = parseTaskInput('ListRepositories', inputSchema, event);
    const { cycle } = input;
    const listenerCycle = input.targets.scaleSets.length > 0 && input.targets.repositories.length === 0;
    const sources = resolveSources(deps.config, await readScaleSetStates(deps), deps.now(), listenerCycle);
    if (!pollsAnything(sources)) return noScan(sources, listenerCycle, deps.log, cycle.id);
    const targets = input.targets.repositories.length > 0 ? input.targets : null;
    const [names, rateLimit, memory] = await Promise.all([
      targets ? [] : deps.github.listRepositories(),
      deps.github.rateLimit(),
      readGovernorMemory(deps, org, cycle.id),
    ]);
    // Taking empties the inbox: only once nothing else here can fail, or a retried (or failed) attempt would
    // have dropped what the deliveries posted.
    const posted = await deps.webhookInbox.take();
    const now = deps.now();
    // Repositories posted by deliveries count as active now: hot, so scanned first.
    const activity = withActive(memory.activity, posted, now.getTime());
    // A targeted cycle scans what deliveries named (its own and those posted since) and the repositories that
    // had queued jobs in the last two intervals: those jobs may still wait, with capacity booting for them, so
    // the decision must see them too or it would take that capacity for the new job. Older activity is the
    // scheduled sweep's; the endpoint share kept for targeted cycles is small.
    const candidates = targets
      ? [
          ...new Set([
            ...targets.repositories,
            ...posted,
            ...hotIn(activity, now, pendingForIntervals * settings.cycleIntervalSeconds),
          ]),
        ]
          .filter(keep)
          .sort()
      : names;
    const plan = planScan({
      targeted: targets !== null,
      repositories: candidates,
      rateLimit,
      now,
      settings,
      ...(memory.basis ? { rotation: memory.basis } : {}),
      activity,
    });
    // What deliveries named that the budget leaves out waits for the next cycle, not for the sweep.
    const scanning = new Set(plan.scan);
    const named = [...(targets?.repositories ?? []), ...posted].filter(keep);
    await putBackUnscanned(
      deps,
      named.filter((repository) => !scanning.has(repository)),
      { cycleId: cycle.id, why: 'budget' },
    );
    const { repositoriesPerBatch, maxBatches } = deps.config.collection;
    const batches = packBatches(plan.scan, repositoriesPerBatch, maxBatches);
    const stored: StoredRotation = {
      ...plan.rotation,
      cycleId: cycle.id,
      ...(memory.basis ? { basis: memory.basis } : {}),
    };
    // A targeted cycle's choice says nothing about the round robin over the organization: leave it as it is.
    if (!targets) await writeGovernorMemory(deps, [{ key: keys.rotation, value: stored }], cycle.id);

    const { counts } = plan;
    const output: ListRepositoriesOutput = {
      count: counts.repositories,
      scanned: counts.scanned,
      skipped: counts.skipped,
      hot: counts.hot,
      complete: plan.complete,
      targeted: targets !== null,
      budget: {
        slots: counts.slots,
        hardSlots: counts.hardSlots,
        requests: counts.budgetRequests,
        remaining: rateLimit?.remaining ?? null,
        costPerScan: Math.round(counts.costPerScan * 100) / 100,
        endpointPointsPerScan: Math.round(counts.endpointPointsPerScan * 100) / 100,
      },
      batches,
      sources,
    };
    recordCollectionMetrics(deps, output, rateLimit);
    deps.log.info('Governor', {
      cycleId: cycle.id,
      repositories: counts.repositories,
      scanned: counts.scanned,
      skipped: counts.skipped,
      hot: counts.hot,
      hotScanned: counts.hotScanned,
      targeted: targets !== null,
      posted: posted.length,
      rotated: counts.rotated,
      ...output.budget,
      batches: batches.length,
    });
    return output;
  };
}

/** The share a scheduled cycle scans, and the rate limit it began with (a targeted cycle's share says little). */
function recordCollectionMetrics(
  deps: Pick<TaskDeps<typeof listRepositoriesNeeds>, 'metrics' | 'config'>,
  output: ListRepositoriesOutput,
  rateLimit: RateLimit | undefined,
): void {
  if (!output.targeted && output.count > 0) {
    deps.metrics.stack('RepositoriesScanned', (100 * output.scanned) / output.count);
  }
  if (rateLimit) {
    deps.metrics.stack('GitHubRateLimitRemaining', rateLimit.remaining);
    deps.metrics.stack(
      'GitHubRateLimitBelowReserve',
      rateLimit.remaining < deps.config.collection.reserveRequests ? 1 : 0,
    );
  }
}

/** A cycle that polls for no pool: nothing listed, nothing scanned, the view complete unless the listener started it. */
function noScan(
  sources: Sources,
  listenerCycle: boolean,
  log: TaskDeps<typeof listRepositoriesNeeds>['log'],
  cycleId: string,
): ListRepositoriesOutput {
  log.info('Job sources: no pool is polled this cycle', { cycleId, listenerCycle, sources });
  return {
    count: 0,
    scanned: 0,
    skipped: 0,
    hot: 0,
    complete: true,
    // A cycle the listener started acts on the scale sets' rise only: removing waits for a scheduled cycle.
    targeted: listenerCycle,
    budget: {
      slots: 0,
      hardSlots: 0,
      requests: null,
      remaining: null,
      costPerScan: 0,
      endpointPointsPerScan: 0,
    },
    batches: [],
    sources,
  };
}

/** The activity memory with `repositories` active at `nowMs`. */
function withActive(
  activity: ActivityMemory | undefined,
  repositories: readonly string[],
  nowMs: number,
): ActivityMemory {
  const lastActive = { ...(activity?.lastActive ?? {}) };
  for (const repository of repositories) lastActive[repository] = nowMs;
  return { ...activity, lastActive };
}

/** Repositories active within `hotForSeconds` of `now`. */
function hotIn(activity: ActivityMemory, now: Date, hotForSeconds: number): string[] {
  const cutoff = now.getTime() - hotForSeconds * 1000;
  return Object.entries(activity.lastActive)
    .filter(([, at]) => at >= cutoff)
    .map(([name]) => name);
}
