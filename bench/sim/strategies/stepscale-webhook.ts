/**
 * `stepscale-webhook`: stepscale with its webhook fast path. The 1-minute schedule runs as in `stepscale` (the
 * reconciling poll); besides, every `workflow_job` delivery the world's webhook sends goes through the real
 * receiver (functions/webhook/receiver.ts: signature, dedupe by delivery id, pool and repository filters, the
 * inbox), and a delivery it answers by starting a cycle starts a targeted execution of the same state machine,
 * with the same handlers, through the same engine (cycle-engine.ts), overlapping whatever else runs.
 *
 * Timing: the receiver answers at the delivery's arrival (its handler time is below a millisecond, measured by
 * `npm run bench:webhook`, and left out); StartExecution and the execution's first state take
 * {@link startLatencyMs}.
 */

import { sign } from '@octokit/webhooks-methods';
import { defaultRedeliverySettings } from '../../../functions/core/redelivery.ts';
import { readHeldPools } from '../../../functions/handlers/held-pools.ts';
import type { CycleStartRequest } from '../../../functions/ports/cycle-starter.ts';
import type { HookDeliveries } from '../../../functions/ports/hook-deliveries.ts';
import { createWebhookReceiver } from '../../../functions/webhook/receiver.ts';
import { redeliverFailed } from '../../../functions/webhook/redelivery.ts';
import type { WebhookDelivery } from '../../../local/world/webhooks.ts';
import { assumedLatency } from '../timing.ts';
import { type StepscaleOptions, StepscaleStrategy } from './stepscale.ts';
import type { StrategyContext } from './types.ts';

/** StartExecution's call, and Step Functions entering the first state. */
export const startLatencyMs = assumedLatency.awsCallMs + assumedLatency.invokeOverheadMs;

const secret = 'simulated-webhook-secret';
/** The redelivery task's schedule (template.yaml: RedeliverWebhooksFunction). */
const redeliveryEveryMs = 120_000;

export interface StepscaleWebhookOptions extends StepscaleOptions {
  /** The App's redelivery task (default on: GitHub App auth); off models a token, where only the poll reconciles. */
  readonly redelivery?: boolean;
}

export class StepscaleWebhookStrategy extends StepscaleStrategy {
  override readonly name = 'stepscale-webhook';
  private readonly arrived: WebhookDelivery[] = [];
  private readonly started = new Set<string>();
  private receive?: ReturnType<typeof createWebhookReceiver>;
  private readonly answered: { readonly atMs: number; readonly outcome: string }[] = [];
  private readonly counts = { deliveries: 0, redelivered: 0, outcomes: {} as Record<string, number> };

  constructor(private readonly options: StepscaleWebhookOptions = {}) {
    super(options);
  }

  async start(context: StrategyContext): Promise<void> {
    const hook = context.webhooks.subscribe((delivery) => {
      this.arrived.push(delivery);
      context.wake(context.world.nowMs);
    });
    if (this.options.redelivery === false) return;
    // The App's redelivery task, on its own two-minute schedule (functions/webhook/redelivery.ts).
    const deps = this.engine.depsFor(context);
    const hookDeliveries: HookDeliveries = {
      listFailed: async (since) =>
        (await hook.listDeliveries(context.world.nowMs - (deps.now().getTime() - since.getTime())))
          .filter((record) => record.status === 'failed')
          .map(({ id, guid, deliveredAt, event, action }) => ({ id, guid, deliveredAt, event, action })),
      redeliver: (id) => hook.redeliver(id),
    };
    const run = async () => {
      const result = await redeliverFailed({
        hookDeliveries,
        stateStore: deps.stateStore,
        settings: defaultRedeliverySettings,
        maxPages: 10,
        log: this.engine.functionLog.log,
        now: deps.now,
      });
      this.counts.redelivered += result.redelivered;
      this.engine.timers.at(context.world.nowMs + redeliveryEveryMs, () => void run());
    };
    this.engine.timers.at(redeliveryEveryMs, () => void run());
  }

  override async tick(context: StrategyContext): Promise<number> {
    const receive = this.receiverFor(context);
    for (const delivery of this.arrived.splice(0)) {
      this.counts.deliveries += 1;
      const body = JSON.stringify(delivery.payload);
      const response = await receive({
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': delivery.event,
          'x-github-delivery': delivery.guid,
          'x-hub-signature-256': await sign(secret, body),
        },
        body,
      });
      this.counts.outcomes[response.outcome] = (this.counts.outcomes[response.outcome] ?? 0) + 1;
      this.answered.push({ atMs: context.world.nowMs, outcome: response.outcome });
    }
    return super.tick(context);
  }

  override report(): Record<string, unknown> {
    return {
      ...super.report(),
      webhook: { ...this.counts, cycles: this.engine.report('webhook') },
    };
  }

  /** Deliveries the receiver answered from `fromMs` on, and those it acted on (claimed and posted). */
  deliveryCounts(fromMs: number): { readonly deliveries: number; readonly actedOn: number } {
    const since = this.answered.filter((answer) => answer.atMs >= fromMs);
    return {
      deliveries: since.length,
      actedOn: since.filter((answer) => answer.outcome === 'started' || answer.outcome === 'coalesced')
        .length,
    };
  }

  /** The targeted executions (what the webhook path adds to the bill). */
  get webhookCycles() {
    return this.engine.cycles.filter((cycle) => cycle.kind === 'webhook');
  }

  private receiverFor(context: StrategyContext) {
    if (this.receive) return this.receive;
    const deps = this.engine.depsFor(context);
    let claims = 0;
    this.receive = createWebhookReceiver({
      config: context.config,
      secret: async () => secret,
      deliveries: deps.stateStore,
      inbox: deps.webhookInbox,
      cycles: {
        start: async ({ name, input }: CycleStartRequest) => {
          // Execution names are unique (Standard keeps them 90 days): a second start of a name is refused.
          if (this.started.has(name)) return 'exists';
          this.started.add(name);
          this.engine.timers.at(context.world.nowMs + startLatencyMs, () =>
            this.engine.start(context, input, 'webhook'),
          );
          return 'started';
        },
      },
      heldPools: () =>
        readHeldPools(deps.stateStore, deps.now(), context.config.collection.cycleIntervalSeconds),
      log: this.engine.functionLog.log,
      now: deps.now,
      newId: () => `claim-${++claims}`,
    });
    return this.receive;
  }
}
