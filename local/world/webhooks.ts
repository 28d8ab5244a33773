/**
 * The world's `workflow_job` webhooks: what GitHub sends an App (or an organization hook) when a job changes
 * its status, and GitHub's record of each attempt.
 *
 * - Every change of a job's status — created `queued` (or `waiting` for approval), `in_progress`, `completed` —
 *   makes one delivery to every hook, `delaySeconds` ± `jitterSeconds` (uniform) later. A job that arrives
 *   already running is announced `queued`, then `in_progress`, as GitHub does. Handing a queued job to a runner
 *   or giving it back changes no status and sends nothing.
 * - With probability `lossRate` an attempt fails: GitHub tried, the receiver did not answer 2xx (an outage, a
 *   timeout). The receiver never sees it; the hook's record lists it `failed`. GitHub never retries by itself.
 * - An App can list its hook's recent attempts ({@link WebhookHook.deliveries}, GitHub's
 *   `GET /app/hook/deliveries`), read one with its payload ({@link WebhookHook.delivery}) and ask for a
 *   redelivery of any of them within three days ({@link WebhookHook.redeliver},
 *   `POST /app/hook/deliveries/{id}/attempts`): a new attempt with a new id, the same GUID and
 *   `redelivery: true`, after the same delay. A redelivery is an ordinary attempt: it can be lost too, with
 *   the same probability, and then shows `failed` like any other.
 *
 * Draws are keyed, not sequential: whether the attempt for (hook, job, action, attempt number) is lost and
 * how long it takes is a function of the world's seed and that key alone. So every strategy played on the
 * same seed loses the same `queued` deliveries, whatever else it does to the world. Nothing is scheduled
 * while no hook is subscribed: a world without hooks runs exactly as before they existed.
 */
import type { Agenda } from './agenda.ts';
import type { JobRecord, JobStatus } from './github.ts';
import type { Rng } from './rng.ts';

export type WorkflowJobAction = 'queued' | 'waiting' | 'in_progress' | 'completed';

export interface WebhookSettings {
  /** Mean time from the change to the attempt. */
  readonly delaySeconds: number;
  /** The attempt comes uniformly within delay ± jitter (never before the change). */
  readonly jitterSeconds: number;
  /** The chance that one attempt fails (the receiver does not see it). */
  readonly lossRate: number;
}

export const defaultWebhookSettings: WebhookSettings = { delaySeconds: 1, jitterSeconds: 0.5, lossRate: 0 };

/** GitHub keeps deliveries, and redelivers them on request, for three days (github.com). */
export const redeliveryWindowMs = 3 * 24 * 3_600_000;

/** The `workflow_job` payload, as far as scalers read it (GitHub's field names). */
export interface WorkflowJobPayload {
  readonly action: WorkflowJobAction;
  readonly workflow_job: {
    readonly id: number;
    readonly run_id: number;
    readonly run_attempt: number;
    readonly name: string;
    readonly status: JobStatus;
    readonly conclusion: string | null;
    readonly labels: readonly string[];
    readonly runner_id: number | null;
    readonly runner_name: string | null;
    readonly created_at: string;
    readonly started_at: string | null;
    readonly completed_at: string | null;
  };
  readonly repository: {
    readonly name: string;
    readonly full_name: string;
    readonly owner: { readonly login: string };
  };
  readonly organization: { readonly login: string };
}

/** One attempt as the receiver gets it (headers X-GitHub-Event, X-GitHub-Delivery and the body). */
export interface WebhookDelivery {
  /** The attempt's id (what redelivery and GET /app/hook/deliveries/{id} take). */
  readonly id: number;
  /** X-GitHub-Delivery: the same for an original delivery and its redeliveries. */
  readonly guid: string;
  readonly event: 'workflow_job';
  readonly action: WorkflowJobAction;
  readonly redelivery: boolean;
  readonly deliveredAt: string;
  /** Virtual ms since the world started. */
  readonly deliveredAtMs: number;
  readonly payload: WorkflowJobPayload;
}

/** One attempt as GitHub's list of recent deliveries shows it. */
export interface DeliveryRecord {
  readonly id: number;
  readonly guid: string;
  readonly event: 'workflow_job';
  readonly action: WorkflowJobAction;
  readonly deliveredAt: string;
  readonly deliveredAtMs: number;
  /** `OK` when the receiver answered 2xx; `failed` when it did not (lost). */
  readonly status: 'OK' | 'failed';
  /** 200, or 502 for a lost attempt. */
  readonly statusCode: number;
  readonly redelivery: boolean;
  readonly jobId: number;
}

export type WebhookReceiver = (delivery: WebhookDelivery) => void;

export class WebhookError extends Error {
  override readonly name = 'WebhookError';
}

export interface WebhooksOptions {
  readonly agenda: Agenda;
  /** Forked once per hook and key; never drawn from directly. */
  readonly rng: Rng;
  readonly org: string;
  /** The repository of a run (payloads name it). */
  readonly repoOfRun: (runId: number) => string | undefined;
  readonly settings?: Partial<WebhookSettings>;
}

/** One subscription: an App's webhook. Its records and ids are its own. */
export interface WebhookHook {
  readonly id: number;
  /** Attempts made at or after `sinceMs` (virtual ms), oldest first: GitHub's list of recent deliveries. */
  deliveries(sinceMs?: number): DeliveryRecord[];
  /** One attempt with its payload; undefined when there is no such attempt. */
  delivery(id: number): WebhookDelivery | undefined;
  /** Attempt this delivery again, after the delay; returns when the attempt will be made (virtual ms). */
  redeliver(id: number): number;
  unsubscribe(): void;
}

interface Attempt {
  readonly delivery: WebhookDelivery;
  readonly record: DeliveryRecord;
}

export class Webhooks {
  readonly settings: WebhookSettings;
  private readonly hooks = new Map<number, Hook>();
  private nextHookId = 1;

  constructor(private readonly options: WebhooksOptions) {
    this.settings = { ...defaultWebhookSettings, ...options.settings };
    const { delaySeconds, jitterSeconds, lossRate } = this.settings;
    if (!(delaySeconds >= 0) || !(jitterSeconds >= 0) || jitterSeconds > delaySeconds)
      throw new WebhookError('webhooks: need 0 ≤ jitterSeconds ≤ delaySeconds');
    if (!(lossRate >= 0 && lossRate < 1)) throw new WebhookError('webhooks: lossRate must be in [0, 1)');
  }

  /**
   * Deliveries from now on go to `receiver` too (a hook sees no change made before it existed).
   *
   * @example
   * const hook = world.webhooks.subscribe((delivery) => inbox.push(delivery));
   * // later: redeliver what the receiver never got
   * for (const lost of hook.deliveries(sinceMs).filter((d) => d.status === 'failed')) hook.redeliver(lost.id);
   */
  subscribe(receiver: WebhookReceiver): WebhookHook {
    const hook = new Hook(this.nextHookId++, receiver, this.options, this.settings, () =>
      this.hooks.delete(hook.id),
    );
    this.hooks.set(hook.id, hook);
    return hook;
  }

  /** The world tells every change of a job's status (GitHubState's onJobStatusChanged). */
  jobChanged(job: JobRecord, created: boolean): void {
    if (this.hooks.size === 0) return;
    // A job created running (or done) was queued first, as far as its webhooks go.
    const lifecycle: WorkflowJobAction[] = ['queued', 'in_progress', 'completed'];
    const actions: WorkflowJobAction[] =
      created && (job.status === 'in_progress' || job.status === 'completed')
        ? lifecycle.slice(0, lifecycle.indexOf(job.status) + 1)
        : [job.status];
    for (const action of actions) {
      const payload = this.payloadOf(job, action);
      for (const hook of this.hooks.values()) hook.emit(job.id, action, payload);
    }
  }

  private payloadOf(job: JobRecord, action: WorkflowJobAction): WorkflowJobPayload {
    const repo = this.options.repoOfRun(job.runId) ?? '';
    return {
      action,
      workflow_job: {
        id: job.id,
        run_id: job.runId,
        run_attempt: job.attempt,
        name: job.name,
        status: action,
        conclusion: action === 'completed' ? job.conclusion : null,
        labels: [...job.labels],
        runner_id: action === 'queued' || action === 'waiting' ? null : (job.runnerId ?? null),
        runner_name: action === 'queued' || action === 'waiting' ? null : (job.runnerName ?? null),
        created_at: job.createdAt,
        started_at: action === 'in_progress' || action === 'completed' ? (job.startedAt ?? null) : null,
        completed_at: action === 'completed' ? (job.completedAt ?? null) : null,
      },
      repository: {
        name: repo,
        full_name: `${this.options.org}/${repo}`,
        owner: { login: this.options.org },
      },
      organization: { login: this.options.org },
    };
  }
}

class Hook implements WebhookHook {
  private readonly attempts: Attempt[] = [];
  private readonly byId = new Map<number, Attempt>();
  /** Attempts per GUID so far (the next attempt's number), and occurrences per (job, action). */
  private readonly attemptsOfGuid = new Map<string, number>();
  private readonly occurrences = new Map<string, number>();
  private nextDeliveryId = 1;
  private active = true;

  constructor(
    readonly id: number,
    private readonly receiver: WebhookReceiver,
    private readonly options: WebhooksOptions,
    private readonly settings: WebhookSettings,
    private readonly onUnsubscribe: () => void,
  ) {}

  deliveries(sinceMs = 0): DeliveryRecord[] {
    return this.attempts.filter((a) => a.record.deliveredAtMs >= sinceMs).map((a) => a.record);
  }

  delivery(id: number): WebhookDelivery | undefined {
    return this.byId.get(id)?.delivery;
  }

  redeliver(id: number): number {
    const original = this.byId.get(id);
    if (!original) throw new WebhookError(`no delivery ${id} (404)`);
    const { agenda } = this.options;
    if (agenda.elapsedMs - original.record.deliveredAtMs > redeliveryWindowMs)
      throw new WebhookError(`delivery ${id} is older than three days (422)`);
    const { guid, payload } = original.delivery;
    return this.schedule(guid, payload, original.record.jobId, true);
  }

  unsubscribe(): void {
    this.active = false;
    this.onUnsubscribe();
  }

  emit(jobId: number, action: WorkflowJobAction, payload: WorkflowJobPayload): void {
    const key = `${jobId}/${action}`;
    const occurrence = (this.occurrences.get(key) ?? 0) + 1;
    this.occurrences.set(key, occurrence);
    const draw = this.options.rng.fork(`guid/${this.id}/${key}/${occurrence}`);
    const guid = guidOf(draw, this.id, jobId, action);
    this.schedule(guid, payload, jobId, false);
  }

  /** One attempt: its delay and fate are drawn from its key; the record appears when it is made. */
  private schedule(guid: string, payload: WorkflowJobPayload, jobId: number, redelivery: boolean): number {
    const attempt = (this.attemptsOfGuid.get(guid) ?? 0) + 1;
    this.attemptsOfGuid.set(guid, attempt);
    const draw = this.options.rng.fork(`attempt/${this.id}/${guid}/${attempt}`);
    const { delaySeconds, jitterSeconds, lossRate } = this.settings;
    const delayMs = Math.max(
      0,
      Math.round(draw.uniform(delaySeconds - jitterSeconds, delaySeconds + jitterSeconds) * 1000),
    );
    const lost = draw.chance(lossRate);
    const { agenda } = this.options;
    const at = agenda.elapsedMs + delayMs;
    agenda.schedule(at, () => {
      if (!this.active) return;
      const id = this.nextDeliveryId++;
      const deliveredAt = agenda.isoAt(agenda.elapsedMs);
      const delivery: WebhookDelivery = {
        id,
        guid,
        event: 'workflow_job',
        action: payload.action,
        redelivery,
        deliveredAt,
        deliveredAtMs: agenda.elapsedMs,
        payload,
      };
      const record: DeliveryRecord = {
        id,
        guid,
        event: 'workflow_job',
        action: payload.action,
        deliveredAt,
        deliveredAtMs: agenda.elapsedMs,
        status: lost ? 'failed' : 'OK',
        statusCode: lost ? 502 : 200,
        redelivery,
        jobId,
      };
      const made = { delivery, record };
      this.attempts.push(made);
      this.byId.set(id, made);
      if (!lost) this.receiver(delivery);
    });
    return at;
  }
}

const actionCodes: Record<WorkflowJobAction, number> = {
  queued: 8,
  waiting: 9,
  in_progress: 10,
  completed: 11,
};

/**
 * A UUID-shaped GUID: random parts from the draw; the action, the hook and the job in the last two groups,
 * so that deliveries of different (hook, job, action) never share one.
 */
function guidOf(draw: Rng, hookId: number, jobId: number, action: WorkflowJobAction): string {
  const hex = (bits: number) => Math.floor(draw.next() * 2 ** bits).toString(16);
  const pad = (text: string, length: number) => text.padStart(length, '0').slice(-length);
  return [
    pad(hex(32), 8),
    pad(hex(16), 4),
    `4${pad(hex(12), 3)}`,
    `${actionCodes[action].toString(16)}${pad(hookId.toString(16), 3)}`,
    pad(jobId.toString(16), 12),
  ].join('-');
}
