/**
 * The record of recent launches in the state store (core/recent-launches.ts): ScaleUp adds what it launched,
 * Decide counts what EC2 does not list yet. Only the lease holder launches, so one writer at a time. Losing the
 * record costs at most a duplicate launch (the state store down), never a failed cycle: both sides carry on
 * without it.
 */
import { type RecentLaunch, recentLaunchSeconds, recordLaunches } from '../core/recent-launches.ts';
import type { Log } from '../observability/logger.ts';
import type { StateStore } from '../ports/state-store.ts';

export const recentLaunchesKey = 'recent-launches';

export async function readRecentLaunches(
  deps: { readonly stateStore: Pick<StateStore, 'getMany'>; readonly log: Log },
  cycleId: string,
): Promise<RecentLaunch[]> {
  try {
    const found = await deps.stateStore.getMany<RecentLaunch[]>([recentLaunchesKey]);
    const record = found.get(recentLaunchesKey);
    return Array.isArray(record) ? record : [];
  } catch (error) {
    deps.log.warn('Recent launches unreadable: counting only what EC2 lists', {
      cycleId,
      error: (error as Error).message,
    });
    return [];
  }
}

export async function rememberLaunches(
  deps: {
    readonly stateStore: Pick<StateStore, 'getMany' | 'putMany'>;
    readonly log: Log;
    readonly now: () => Date;
  },
  cycleId: string,
  launched: readonly RecentLaunch[],
): Promise<void> {
  if (launched.length === 0) return;
  const recorded = await readRecentLaunches(deps, cycleId);
  try {
    const value = recordLaunches(recorded, launched, deps.now());
    await deps.stateStore.putMany([{ key: recentLaunchesKey, value }], 2 * recentLaunchSeconds);
  } catch (error) {
    deps.log.warn('Recent launches not recorded: a cycle deciding within a minute may launch again', {
      cycleId,
      error: (error as Error).message,
    });
  }
}
