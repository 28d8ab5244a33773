/**
 * Launches too recent for EC2 to list. DescribeInstances is eventually consistent: an instance launched a few
 * seconds ago may be missing from it (EC2 API reference, "Eventual consistency"). A cycle that decides right
 * after another launched — webhook cycles do, seconds apart — would then count no booting capacity and launch
 * again. The cycle that launches records what it launched; the next decision counts a recorded instance the
 * listing lacks as pending for {@link recentLaunchSeconds}, long enough for EC2 to catch up, short enough that
 * an instance that really failed to start is replaced within a minute.
 *
 * Warm pools add two kinds: a prepare launch missing from the listing counts as preparing, and an instance this
 * stack started from the pool that EC2 still lists stopped (or untagged as started: tags are eventually
 * consistent too) counts as started and pending, so a cycle seconds later neither starts it again nor counts
 * it as ready.
 */
import { type Instance, runnerNameFor } from './model.ts';

export const recentLaunchSeconds = 60;

export interface RecentLaunch {
  readonly pool: string;
  readonly instanceIds: readonly string[];
  /** ISO-8601 time of the launch. */
  readonly at: string;
  /** `prepare`: launched into the warm pool; `start`: started from it. Absent: a fresh launch. */
  readonly kind?: 'prepare' | 'start';
  /** Prepare launches: the cycle's time their `stepscale:created-at` tag carries. */
  readonly preparedAt?: string;
}

/** The listing, plus each recorded launch younger than {@link recentLaunchSeconds} that it lacks, as pending. */
export function withRecentLaunches(
  listed: readonly Instance[],
  recent: readonly RecentLaunch[],
  stack: string,
  now: Date,
): Instance[] {
  const young = recent.filter((launch) => isRecent(launch, now));
  const started = new Map(
    young
      .filter((launch) => launch.kind === 'start')
      .flatMap((launch) => launch.instanceIds.map((id) => [id, launch.at])),
  );
  const merged = listed.map((instance) => {
    const at = started.get(instance.id);
    const stale =
      instance.warm?.stage !== 'started' || instance.state === 'stopped' || instance.state === 'stopping';
    if (at === undefined || !instance.warm || !stale) return instance;
    const { stopReason: _, ...rest } = instance;
    return {
      ...rest,
      state: 'pending' as const,
      launchedAt: at,
      warm: { ...instance.warm, stage: 'started' as const },
    };
  });
  const known = new Set(listed.map((instance) => instance.id));
  const missing = young
    .filter((launch) => launch.kind !== 'start')
    .flatMap((launch) =>
      launch.instanceIds
        .filter((id) => !known.has(id))
        .map(
          (id): Instance => ({
            id,
            pool: launch.pool,
            state: 'pending',
            launchedAt: launch.at,
            runnerName: runnerNameFor(stack, id),
            ...(launch.kind === 'prepare'
              ? { warm: { stage: 'preparing' as const, preparedAt: launch.preparedAt ?? launch.at } }
              : {}),
          }),
        ),
    );
  const unique = new Map(missing.map((instance) => [instance.id, instance]));
  return [...merged, ...unique.values()];
}

/** The record after a cycle launched `launched` at `now`: older entries dropped. */
export function recordLaunches(
  recorded: readonly RecentLaunch[],
  launched: readonly RecentLaunch[],
  now: Date,
): RecentLaunch[] {
  return [...recorded, ...launched].filter(
    (launch) => isRecent(launch, now) && launch.instanceIds.length > 0,
  );
}

function isRecent(launch: RecentLaunch, now: Date): boolean {
  const age = now.getTime() - Date.parse(launch.at);
  return age >= 0 && age < recentLaunchSeconds * 1000;
}
