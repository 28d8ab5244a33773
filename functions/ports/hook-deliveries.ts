import type { FailedDelivery } from '../core/redelivery.ts';

/**
 * A GitHub App's record of its webhook's deliveries (GitHub keeps them three days, GHES seven), and asking for
 * one again. GitHub never redelivers by itself; only an App can list and redeliver this way (a token cannot).
 */
export interface HookDeliveries {
  /**
   * The attempts that failed (no 2xx or 3xx from the receiver: an error, a timeout, no connection), newest first,
   * back to `since` or until `maxPages` pages of 100 were read.
   */
  listFailed(since: Date, maxPages: number): Promise<FailedDelivery[]>;
  /** Asks GitHub to deliver this attempt's event again (a new attempt, the same `X-GitHub-Delivery`). */
  redeliver(deliveryId: number): Promise<void>;
}
