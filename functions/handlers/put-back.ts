/**
 * Repositories a cycle took from the webhook inbox (or was started for) but did not scan go back in, for the
 * next cycle of any kind to take and scan first: those the governor's budget left out (ListRepositories), and
 * those of a collect batch that failed after its retries (AggregateDemand). Best effort: should the inbox be
 * unavailable, the scheduled sweep still comes round to them, so a failure here is logged and nothing more.
 */
import type { Log } from '../observability/logger.ts';
import type { WebhookInbox } from '../ports/webhook-inbox.ts';

export async function putBackUnscanned(
  deps: { readonly webhookInbox: Pick<WebhookInbox, 'putBack'>; readonly log: Log },
  repositories: readonly string[],
  fields: { readonly cycleId: string; readonly why: 'budget' | 'failed-batch' },
): Promise<void> {
  const left = [...new Set(repositories)];
  if (left.length === 0) return;
  try {
    await deps.webhookInbox.putBack(left);
    deps.log.info('Unscanned repositories put back for the next cycle', { ...fields, count: left.length });
  } catch (error) {
    deps.log.warn('Unscanned repositories not put back: the scheduled sweep will reach them', {
      ...fields,
      count: left.length,
      error: (error as Error).message,
    });
  }
}
