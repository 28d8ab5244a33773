/**
 * Task `ListRepositories`: the organization's repositories, the governor's choice of which of them this cycle
 * scans (functions/core/governor.ts), and those packed into batches for the collect Map.
 */
import { z } from 'zod';
import { planScan } from '../core/governor.ts';
import { cycleSchema, type PortNeeds, parseTaskInput, type TaskDeps } from './deps.ts';
import {
  governorKeys,
  governorSettingsOf,
  readGovernorMemory,
  type StoredRotation,
  writeGovernorMemory,
} from './governor-memory.ts';
import { type PackedBatch, packBatches } from './repository-batches.ts';

const inputSchema = z.object({ cycle: cycleSchema });

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
}

export const listRepositoriesNeeds = {
  github: ['listRepositories', 'rateLimit'],
  stateStore: ['getMany', 'putMany'],
} as const satisfies PortNeeds;

export function listRepositories(deps: TaskDeps<typeof listRepositoriesNeeds>) {
  const settings = governorSettingsOf(deps.config);
  const { org } = deps.config.github;
  const keys = governorKeys(org);
  return async (event: unknown): Promise<ListRepositoriesOutput> => {
    const { cycle } = parseTaskInput('ListRepositories', inputSchema, event);
    const [names, rateLimit, memory] = await Promise.all([
      deps.github.listRepositories(),
      deps.github.rateLimit(),
      readGovernorMemory(deps, org, cycle.id),
    ]);
    const plan = planScan({
      repositories: names,
      rateLimit,
      now: deps.now(),
      settings,
      ...(memory.basis ? { rotation: memory.basis } : {}),
      ...(memory.activity ? { activity: memory.activity } : {}),
    });
    const { repositoriesPerBatch, maxBatches } = deps.config.collection;
    const batches = packBatches(plan.scan, repositoriesPerBatch, maxBatches);
    const stored: StoredRotation = {
      ...plan.rotation,
      cycleId: cycle.id,
      ...(memory.basis ? { basis: memory.basis } : {}),
    };
    await writeGovernorMemory(deps, [{ key: keys.rotation, value: stored }], cycle.id);

    const { counts } = plan;
    const output: ListRepositoriesOutput = {
      count: counts.repositories,
      scanned: counts.scanned,
      skipped: counts.skipped,
      hot: counts.hot,
      complete: plan.complete,
      budget: {
        slots: counts.slots,
        hardSlots: counts.hardSlots,
        requests: counts.budgetRequests,
        remaining: rateLimit?.remaining ?? null,
        costPerScan: Math.round(counts.costPerScan * 100) / 100,
        endpointPointsPerScan: Math.round(counts.endpointPointsPerScan * 100) / 100,
      },
      batches,
    };
    deps.log.info('Governor', {
      cycleId: cycle.id,
      repositories: counts.repositories,
      scanned: counts.scanned,
      skipped: counts.skipped,
      hot: counts.hot,
      hotScanned: counts.hotScanned,
      rotated: counts.rotated,
      ...output.budget,
      batches: batches.length,
    });
    return output;
  };
}
