/**
 * The redelivery task: a scheduled run that asks GitHub to deliver again the `workflow_job` events whose
 * delivery failed (the receiver was down, throttled or too slow), so a lost `queued` delivery costs seconds
 * instead of a poll sweep. Which to ask for is the pure plan (core/redelivery.ts); what earlier runs asked for
 * is kept in the state store — each run may be a fresh Lambda container — under `webhook-redelivery:<guid>`,
 * for the window plus an hour. GitHub App auth only: with a token the poll is the only reconciler.
 */
import {
  type FailedDelivery,
  planRedeliveries,
  type RedeliveryPlan,
  type RedeliveryProgress,
  type RedeliverySettings,
} from '../core/redelivery.ts';
import type { Log } from '../observability/logger.ts';
import type { HookDeliveries } from '../ports/hook-deliveries.ts';
import type { StateStore } from '../ports/state-store.ts';

export interface RedeliveryDeps {
  readonly hookDeliveries: HookDeliveries;
  readonly stateStore: Pick<StateStore, 'getMany' | 'putMany'>;
  readonly settings: RedeliverySettings;
  /** Pages of 100 deliveries read per run, at most. */
  readonly maxPages: number;
  readonly log: Pick<Log, 'info' | 'warn'>;
  readonly now: () => Date;
}

/** The plan's counts, and what came of asking. */
export type RedeliveryRun = RedeliveryPlan['counts'] & {
  readonly redelivered: number;
  /** Asked for, but GitHub refused (e.g. too old): counted as an attempt, not asked again this run. */
  readonly refused: number;
};

const progressKey = (guid: string) => `webhook-redelivery:${guid}`;

export async function redeliverFailed(deps: RedeliveryDeps): Promise<RedeliveryRun> {
  const now = deps.now();
  const since = new Date(now.getTime() - deps.settings.windowSeconds * 1000);
  const failed: FailedDelivery[] = await deps.hookDeliveries.listFailed(since, deps.maxPages);
  const guids = [...new Set(failed.map((delivery) => delivery.guid))];
  const stored =
    guids.length > 0 ? await deps.stateStore.getMany<RedeliveryProgress>(guids.map(progressKey)) : new Map();
  const remembered = new Map<string, RedeliveryProgress>();
  for (const guid of guids) {
    const progress = stored.get(progressKey(guid));
    if (progress) remembered.set(guid, progress);
  }
  const plan = planRedeliveries(failed, remembered, now, deps.settings);
  let redelivered = 0;
  let refused = 0;
  for (const { id, guid } of plan.redeliver) {
    try {
      await deps.hookDeliveries.redeliver(id);
      redelivered += 1;
    } catch (error) {
      refused += 1;
      deps.log.warn('Redelivery refused', { deliveryId: id, guid, error: (error as Error).message });
    }
  }
  // Remembered even when refused: an attempt that cannot succeed is not asked for again every run.
  if (plan.progress.length > 0) {
    await deps.stateStore.putMany(
      plan.progress.map(({ guid, value }) => ({ key: progressKey(guid), value })),
      deps.settings.windowSeconds + 3600,
    );
  }
  const run = { ...plan.counts, redelivered, refused };
  deps.log.info('Webhook redelivery', { ...run });
  return run;
}
