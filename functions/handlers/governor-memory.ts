/**
 * Where the governor's memory lives in the StateStore, and who writes it. Two items, one writer each, so
 * neither overwrites the other with a stale copy (the DynamoDB store reads eventually consistently):
 * - rotation (cursor, learned cost, last rate-limit reading): read and written by ListRepositories;
 * - activity (which repositories had queued jobs, and when): written by AggregateDemand, read by both.
 * Memory is an optimisation: a store that cannot be read or written is logged and the cycle goes on.
 */
import * as z from 'zod';
import type { Config } from '../config/config.ts';
import type { ActivityMemory, GovernorSettings, RotationMemory } from '../core/governor.ts';
import type { Log } from '../observability/logger.ts';
import type { StateStore } from '../ports/state-store.ts';

/** Kept a day: a paused schedule resumes where the rotation stopped. */
export const governorMemoryTtlSeconds = 86_400;
/** Share of a cycle's scan slots always left to the round robin over cold repositories. */
export const rotationShare = 0.1;

export function governorKeys(org: string) {
  const base = `governor/v1/${org.toLowerCase()}`;
  return { rotation: `${base}/rotation`, activity: `${base}/activity` } as const;
}

export function governorSettingsOf(config: Config): GovernorSettings {
  const { reserveRequests, cycleIntervalSeconds, endpointPointsPerMinute, hotForSeconds, targetedShare } =
    config.collection;
  return {
    reserveRequests,
    cycleIntervalSeconds,
    endpointPointsPerMinute,
    hotForSeconds,
    rotationShare,
    targetedShare,
  };
}

const rotationSchema = z.object({
  cursor: z.string().optional(),
  costPerScan: z.number().positive().optional(),
  lastReading: z.object({ remaining: z.number(), resetAt: z.string(), scanned: z.int().min(0) }).optional(),
});

/**
 * The rotation as stored: what this cycle's ListRepositories computed, and what it computed it from, so a
 * retry of the same cycle plans from the same basis instead of advancing the cursor twice.
 */
const storedRotationSchema = rotationSchema.extend({
  cycleId: z.string().optional(),
  basis: rotationSchema.optional(),
});
export type StoredRotation = z.infer<typeof storedRotationSchema>;

const activitySchema = z.object({
  lastActive: z.record(z.string(), z.number()),
  jobListingsPerScan: z.number().min(0).max(10_000).optional(),
});

export async function readGovernorMemory(
  deps: { stateStore: Pick<StateStore, 'getMany'>; log: Log },
  org: string,
  cycleId: string,
): Promise<{ rotation?: StoredRotation; activity?: ActivityMemory; basis?: RotationMemory }> {
  const keys = governorKeys(org);
  try {
    const found = await deps.stateStore.getMany<unknown>([keys.rotation, keys.activity]);
    const rotation = storedRotationSchema.safeParse(found.get(keys.rotation));
    const activity = activitySchema.safeParse(found.get(keys.activity));
    const stored = rotation.success ? rotation.data : undefined;
    // A retry of this very cycle starts from what the first attempt started from.
    const basis = stored?.cycleId === cycleId ? stored.basis : stored;
    return {
      ...(stored ? { rotation: stored } : {}),
      ...(basis ? { basis: stripBookkeeping(basis) } : {}),
      ...(activity.success ? { activity: activity.data } : {}),
    };
  } catch (error) {
    deps.log.warn('Governor memory unreadable; planning without it', { cycleId, error: error as Error });
    return {};
  }
}

export async function writeGovernorMemory(
  deps: { stateStore: Pick<StateStore, 'putMany'>; log: Log },
  entries: { key: string; value: unknown }[],
  cycleId: string,
): Promise<void> {
  try {
    await deps.stateStore.putMany(entries, governorMemoryTtlSeconds);
  } catch (error) {
    deps.log.warn('Governor memory not written', { cycleId, error: error as Error });
  }
}

function stripBookkeeping(rotation: StoredRotation): RotationMemory {
  const { cycleId: _cycleId, basis: _basis, ...memory } = rotation;
  return memory;
}
