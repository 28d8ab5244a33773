/**
 * The webhook receiver: GitHub's `workflow_job` deliveries turned into targeted scaling cycles within a second.
 *
 * A delivery is only a hint of where to look. A `queued` job whose labels match a pool, in a repository the
 * config scans — or a `completed` one in a pool the last decision held at maxRunners with jobs waiting, whose
 * completion frees a place — names its repository; the cycle it starts scans that repository (and the others
 * deliveries named meanwhile) through the same collect tasks as the poll and counts what GitHub lists as queued
 * there. A pool whose jobSource is `scaleset` is left to its listener, which hears of the job from the scale set.
 * The delivery's own job data never counts as demand, so a job the poll sees too is counted once, by whichever
 * cycle lists it, and a job that started before the cycle ran is not launched for.
 *
 * Deliveries close together share one execution (see WebhookInbox): the first starts it, the others add their
 * repository to the inbox that execution takes when it starts listing; one posted after that starts the next.
 * Each delivery id acts once: a duplicate or redelivered delivery (same `X-GitHub-Delivery`) is claimed in the
 * state store for a week (GHES keeps deliveries for redelivery 7 days, github.com 3) and answered without
 * effect. A delivery that could not be acted on gives its claim back and answers 500, so GitHub shows it as
 * failed and a redelivery (by hand or by the redelivery task) acts on it.
 *
 * Every answer is small JSON without internals: 401 for a missing or wrong signature (before anything else is
 * read), 400 for malformed input, 415 for a content type other than GitHub's two, 500 when the secret cannot be
 * read or the cycle cannot be started.
 */

import { verify } from '@octokit/webhooks-methods';
import { repositoryFilter } from '../adapters/github-repositories.ts';
import { type Config, jobSourceOf } from '../config/config.ts';
import { matchPool } from '../core/labels.ts';
import type { Log } from '../observability/logger.ts';
import type { MetricsRecorder } from '../observability/metrics.ts';
import type { CycleStarter } from '../ports/cycle-starter.ts';
import type { StateStore } from '../ports/state-store.ts';
import type { WebhookInbox } from '../ports/webhook-inbox.ts';
import { parseWorkflowJob } from './workflow-job.ts';

/** An HTTP request as the receiver needs it; header names lower-case. */
export interface WebhookRequest {
  readonly method: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string | undefined;
  /** The body is base64 of the raw bytes (Lambda Function URLs do this for some content types). */
  readonly isBase64Encoded?: boolean;
}

export interface WebhookResponse {
  readonly statusCode: number;
  readonly outcome: WebhookOutcome;
  /** Small JSON for GitHub's delivery log. */
  readonly body: string;
}

export type WebhookOutcome =
  | 'started'
  | 'coalesced'
  | 'duplicate'
  | 'pong'
  | 'ignored-event'
  | 'ignored-action'
  | 'ignored-organization'
  | 'ignored-repository'
  | 'ignored-labels'
  | 'ignored-scale-set'
  | 'method-not-allowed'
  | 'unsigned'
  | 'bad-signature'
  | 'unsupported-media-type'
  | 'malformed'
  | 'secret-unavailable'
  | 'start-failed';

export interface WebhookReceiverDeps {
  readonly config: Pick<Config, 'github' | 'pools' | 'jobSource'>;
  /** The webhook secret (cached by the caller). */
  readonly secret: () => Promise<string>;
  /** Claims delivery ids; without a state table every claim is granted (no dedupe). */
  readonly deliveries: Pick<StateStore, 'acquireLease' | 'releaseLease'>;
  /** Absent without a state table: each delivery then starts its own execution naming its repository. */
  readonly inbox?: WebhookInbox;
  readonly cycles: CycleStarter;
  /**
   * Pools the last decision held at maxRunners with jobs waiting (handlers/held-pools.ts): a `completed` job
   * there frees capacity, and starts a cycle too. Absent without a state table.
   */
  readonly heldPools?: () => Promise<ReadonlySet<string>>;
  readonly log: Pick<Log, 'info' | 'warn' | 'error'>;
  readonly now: () => Date;
  /** A unique claim holder per delivery handled (crypto.randomUUID in Lambda). */
  readonly newId: () => string;
  /** Where an `in_progress` delivery's queued-to-started seconds go (CloudWatch in Lambda). */
  readonly metrics?: Pick<MetricsRecorder, 'jobWait'>;
}

/** How long a claimed delivery id is remembered: GHES's redelivery window. */
export const deliveryClaimSeconds = 7 * 24 * 3600;
/** How long a started execution has to take the inbox before a later delivery may start another. */
export const startingForSeconds = 30;

/** GitHub's delivery ids are GUIDs; anything usable in an execution name is accepted. */
const deliveryIdPattern = /^[A-Za-z0-9-]{1,64}$/;

export function createWebhookReceiver(deps: WebhookReceiverDeps) {
  const keep = repositoryFilter(deps.config.github.repositories);
  const org = deps.config.github.org.toLowerCase();

  return async (request: WebhookRequest): Promise<WebhookResponse> => {
    const event = request.headers['x-github-event'];
    const deliveryId = request.headers['x-github-delivery'];
    const context = { event, deliveryId };
    if (request.method.toUpperCase() !== 'POST') {
      return answer(405, 'method-not-allowed', 'GitHub webhooks are POST requests');
    }

    let secret: string;
    try {
      secret = await deps.secret();
    } catch (error) {
      // The error names the secret's shape or the AWS error, never its content (secretValue, getSecret).
      deps.log.error('Webhook secret cannot be read', { ...context, error: (error as Error).name });
      return answer(500, 'secret-unavailable', 'the receiver cannot read its webhook secret; see its log');
    }

    const signature = request.headers['x-hub-signature-256'];
    if (!signature) return answer(401, 'unsigned', 'X-Hub-Signature-256 is missing');
    const raw = request.isBase64Encoded
      ? Buffer.from(request.body ?? '', 'base64').toString('utf8')
      : (request.body ?? '');
    if (raw === '')
      return answer(401, 'bad-signature', 'the body is empty: nothing the signature could cover');
    if (!(await verify(secret, raw, signature))) {
      deps.log.warn('Webhook signature does not match', context);
      return answer(401, 'bad-signature', 'X-Hub-Signature-256 does not match the body');
    }

    const json = jsonText(raw, request.headers['content-type']);
    if (json.kind === 'unsupported') {
      return answer(415, 'unsupported-media-type', 'set the webhook content type to application/json');
    }
    let payload: unknown;
    try {
      payload = JSON.parse(json.text);
    } catch {
      return answer(400, 'malformed', 'the body is not JSON');
    }
    if (!event) return answer(400, 'malformed', 'X-GitHub-Event is missing');
    if (event === 'ping') return answer(200, 'pong', 'pong');
    if (event !== 'workflow_job') return answer(200, 'ignored-event', `${event} deliveries are not used`);
    if (!deliveryId || !deliveryIdPattern.test(deliveryId)) {
      return answer(400, 'malformed', 'X-GitHub-Delivery is missing or not a delivery id');
    }
    const parsed = parseWorkflowJob(payload);
    if (!parsed.ok) return answer(400, 'malformed', `not a workflow_job payload (${parsed.problem})`);
    const { action, workflow_job: job, repository } = parsed.delivery;
    const facts = { ...context, action, repository: repository.name, jobId: job.id, runId: job.run_id };

    if (action !== 'queued' && action !== 'completed' && action !== 'in_progress') {
      return logged(200, 'ignored-action', `${action} needs no cycle`, facts);
    }
    if (repository.owner.login.toLowerCase() !== org) {
      return logged(200, 'ignored-organization', 'another organization', facts);
    }
    if (!keep(repository.name)) return logged(200, 'ignored-repository', 'repository not scanned', facts);
    const pool = matchPool(job.labels, deps.config.pools);
    if (!pool) return logged(200, 'ignored-labels', 'no pool serves these labels', facts);
    if (action === 'in_progress') {
      // The job's wait for a runner, to the second: nothing to scale.
      const waited = secondsBetween(job.created_at, job.started_at);
      if (waited !== undefined) deps.metrics?.jobWait(pool.name, waited, 'webhook');
      return logged(200, 'ignored-action', 'in_progress needs no cycle', { ...facts, waited });
    }
    // GitHub assigns such a job to the pool's runner scale set, whose listener starts the cycle (jobSource
    // scaleset). With auto the pool may be polled (no scale sets on this host): the delivery counts.
    if (jobSourceOf(deps.config, pool) === 'scaleset') {
      return logged(200, 'ignored-scale-set', 'the pool’s scale set listener serves these jobs', {
        ...facts,
        pool: pool.name,
      });
    }
    // A completion matters only where jobs wait for capacity: it frees a place for one of them.
    if (action === 'completed' && !(await heldAtMax(pool.name))) {
      return logged(200, 'ignored-action', 'completed: its pool has room', facts);
    }

    return act(deliveryId, repository.name, { ...facts, pool: pool.name });
  };

  async function act(deliveryId: string, repository: string, facts: Record<string, unknown>) {
    const now = deps.now();
    const claim = { key: `webhook-delivery:${deliveryId}`, holder: deps.newId() };
    let claimed = false;
    let starting = false;
    try {
      const outcome = await deps.deliveries.acquireLease(
        claim.key,
        claim.holder,
        new Date(now.getTime() + deliveryClaimSeconds * 1000),
      );
      if (!outcome.acquired) return logged(200, 'duplicate', 'delivery already handled', facts);
      claimed = true;
      const startNow = deps.inbox
        ? await deps.inbox.post(repository, new Date(now.getTime() + startingForSeconds * 1000))
        : true;
      if (!startNow) return logged(202, 'coalesced', 'joins the cycle being started', facts);
      starting = true;
      await deps.cycles.start({
        name: `webhook-${deliveryId}`,
        input: { cycleId: `webhook-${deliveryId}`, targets: { repositories: [repository] } },
      });
      return logged(202, 'started', 'cycle started', facts);
    } catch (error) {
      deps.log.error('Webhook delivery not acted on', { ...facts, error: (error as Error).message });
      // Let a redelivery act, and let the next delivery start a cycle.
      await Promise.allSettled([
        claimed ? deps.deliveries.releaseLease(claim.key, claim.holder) : Promise.resolve(),
        starting && deps.inbox ? deps.inbox.startFailed() : Promise.resolve(),
      ]);
      return answer(500, 'start-failed', 'the scaling cycle could not be started; redeliver later');
    }
  }

  async function heldAtMax(pool: string): Promise<boolean> {
    if (!deps.heldPools) return false;
    try {
      return (await deps.heldPools()).has(pool);
    } catch (error) {
      deps.log.warn('Held pools unreadable: a completion starts no cycle', {
        error: (error as Error).message,
      });
      return false;
    }
  }

  function logged(
    statusCode: number,
    outcome: WebhookOutcome,
    message: string,
    facts: Record<string, unknown>,
  ): WebhookResponse {
    deps.log.info('Webhook delivery', { ...facts, outcome });
    return answer(statusCode, outcome, message);
  }
}

function answer(statusCode: number, outcome: WebhookOutcome, message: string): WebhookResponse {
  return { statusCode, outcome, body: JSON.stringify({ outcome, message }) };
}

/**
 * GitHub sends either `application/json` or `application/x-www-form-urlencoded` with the JSON in the
 * `payload` field; both are accepted (the signature covers the body as sent). A request without a content
 * type is read as JSON.
 */
function jsonText(
  raw: string,
  contentType: string | undefined,
): { readonly kind: 'json'; readonly text: string } | { readonly kind: 'unsupported' } {
  const type = (contentType ?? 'application/json').split(';')[0]?.trim().toLowerCase();
  if (type === 'application/json') return { kind: 'json', text: raw };
  if (type === 'application/x-www-form-urlencoded') {
    return { kind: 'json', text: new URLSearchParams(raw).get('payload') ?? '' };
  }
  return { kind: 'unsupported' };
}

/** Seconds from `from` to `to` (ISO-8601), or undefined when either is missing or unreadable. */
function secondsBetween(from: string | null | undefined, to: string | null | undefined): number | undefined {
  const fromMs = from ? Date.parse(from) : Number.NaN;
  const toMs = to ? Date.parse(to) : Number.NaN;
  return Number.isNaN(fromMs) || Number.isNaN(toMs) ? undefined : Math.max(0, (toMs - fromMs) / 1000);
}
