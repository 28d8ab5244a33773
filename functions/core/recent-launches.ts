/**
 * Launches too recent for EC2 to list. DescribeInstances is eventually consistent: an instance launched a few
 * seconds ago may be missing from it (EC2 API reference, "Eventual consistency"). A cycle that decides right
 * after another launched — webhook cycles do, seconds apart — would then count no booting capacity and launch
 * again. The cycle that launches records what it launched; the next decision counts a recorded instance the
 * listing lacks as pending for {@link recentLaunchSeconds}, long enough for EC2 to catch up, short enough that
 * an instance that really failed to start is replaced within a minute.
 */
import { type Instance, runnerNameFor } from './model.ts';

export const recentLaunchSeconds = 60;

export interface RecentLaunch {
  readonly pool: string;
  readonly instanceIds: readonly string[];
  /** ISO-8601 time of the launch. */
  readonly at: string;
}

/** The listing, plus each recorded launch younger than {@link recentLaunchSeconds} that it lacks, as pending. */
export function withRecentLaunches(
  listed: readonly Instance[],
  recent: readonly RecentLaunch[],
  stack: string,
  now: Date,
): Instance[] {
  const known = new Set(listed.map((instance) => instance.id));
  const missing = recent
    .filter((launch) => isRecent(launch, now))
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
          }),
        ),
    );
  const unique = new Map(missing.map((instance) => [instance.id, instance]));
  return [...listed, ...unique.values()];
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
