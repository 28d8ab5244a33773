/**
 * Which failed webhook deliveries to ask GitHub to deliver again. GitHub never redelivers by itself; a GitHub
 * App can list its hook's failed deliveries and request a redelivery of each. Pure: the deliveries GitHub
 * lists as failed (newest first, any order accepted), what earlier runs did (kept in the state store, not in
 * memory) and the time → the deliveries to redeliver and what to remember.
 *
 * A delivery is an attempt: each redelivery is a new one, with a new, larger id and the same `guid` (the
 * event). An event is asked for again when its newest failed attempt is newer than the one this task last
 * answered — so a redelivery that failed again is retried, one that succeeded (no newer failure) is done —
 * at most `maxAttempts` times, `minIntervalSeconds` apart, within `windowSeconds` of its first failure.
 */

export interface FailedDelivery {
  /** The attempt's id (what a redelivery request names). */
  readonly id: number;
  /** The event's id, shared by every attempt to deliver it (the `X-GitHub-Delivery` header). */
  readonly guid: string;
  /** ISO-8601. */
  readonly deliveredAt: string;
  readonly event: string;
  readonly action: string | null;
}

/** What this task remembers of an event it redelivered. */
export interface RedeliveryProgress {
  readonly attempts: number;
  /** The newest failed attempt's id when it last asked: a newer failure means that request failed too. */
  readonly answeredId: number;
  /** ISO-8601 time of the last request. */
  readonly lastAt: string;
}

export interface RedeliverySettings {
  /** Events older than this are left to the poll (it has swept the organization by then). */
  readonly windowSeconds: number;
  readonly maxAttempts: number;
  readonly minIntervalSeconds: number;
  /** Requests per run, so one run's GitHub cost stays bounded. */
  readonly maxPerRun: number;
  /** The events and actions worth redelivering (the receiver acts on nothing else). */
  readonly actions: readonly string[];
}

export const defaultRedeliverySettings: RedeliverySettings = {
  windowSeconds: 1800,
  maxAttempts: 3,
  minIntervalSeconds: 60,
  maxPerRun: 50,
  actions: ['queued'],
};

export interface RedeliveryPlan {
  /** Attempt ids to redeliver, oldest event first. */
  readonly redeliver: { readonly id: number; readonly guid: string }[];
  /** Progress to store for the events asked for again. */
  readonly progress: { readonly guid: string; readonly value: RedeliveryProgress }[];
  readonly counts: {
    readonly failedEvents: number;
    readonly exhausted: number;
    readonly waiting: number;
    readonly done: number;
    readonly deferred: number;
  };
}

/** Whether a listed attempt is old enough to stop listing further (pages are newest first). */
export function beforeWindow(deliveredAt: string, now: Date, settings: RedeliverySettings): boolean {
  return Date.parse(deliveredAt) < now.getTime() - settings.windowSeconds * 1000;
}

export function planRedeliveries(
  failed: readonly FailedDelivery[],
  remembered: ReadonlyMap<string, RedeliveryProgress>,
  now: Date,
  settings: RedeliverySettings = defaultRedeliverySettings,
): RedeliveryPlan {
  const byEvent = new Map<string, { newest: FailedDelivery; first: FailedDelivery }>();
  for (const delivery of failed) {
    if (delivery.event !== 'workflow_job' || !settings.actions.includes(delivery.action ?? '')) continue;
    const seen = byEvent.get(delivery.guid);
    byEvent.set(delivery.guid, {
      newest: !seen || delivery.id > seen.newest.id ? delivery : seen.newest,
      first: !seen || delivery.id < seen.first.id ? delivery : seen.first,
    });
  }
  const counts = { failedEvents: 0, exhausted: 0, waiting: 0, done: 0, deferred: 0 };
  const due: { newest: FailedDelivery; first: FailedDelivery; attempts: number }[] = [];
  for (const [guid, { newest, first }] of byEvent) {
    if (beforeWindow(first.deliveredAt, now, settings)) continue;
    counts.failedEvents += 1;
    const progress = remembered.get(guid);
    if (!progress) {
      due.push({ newest, first, attempts: 0 });
    } else if (newest.id <= progress.answeredId) {
      counts.done += 1; // the last redelivery has not failed (it succeeded, or GitHub has not tried yet)
    } else if (progress.attempts >= settings.maxAttempts) {
      counts.exhausted += 1;
    } else if (now.getTime() - Date.parse(progress.lastAt) < settings.minIntervalSeconds * 1000) {
      counts.waiting += 1;
    } else {
      due.push({ newest, first, attempts: progress.attempts });
    }
  }
  due.sort((a, b) => a.first.id - b.first.id);
  const chosen = due.slice(0, settings.maxPerRun);
  counts.deferred = due.length - chosen.length;
  return {
    redeliver: chosen.map(({ newest }) => ({ id: newest.id, guid: newest.guid })),
    progress: chosen.map(({ newest, attempts }) => ({
      guid: newest.guid,
      value: { attempts: attempts + 1, answeredId: newest.id, lastAt: now.toISOString() },
    })),
    counts,
  };
}
