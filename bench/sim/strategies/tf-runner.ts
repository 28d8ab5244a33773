/**
 * `tf-runner`: github-aws-runners/terraform-aws-github-runner with its defaults for ephemeral runners, modelled
 * from its source (lambdas/functions/webhook, lambdas/functions/control-plane/src/scale-runners/scale-up.ts,
 * scale-down.ts, lambda.ts; variables.tf, main.tf, modules/runners) on the same ports as everyone:
 *
 * 1. Webhook: a `workflow_job` delivery with action `queued` (every other action is answered and ignored)
 *    goes to the first runner configuration whose labels include every job label, case-insensitively, and
 *    into its SQS build queue with DelaySeconds = `delay_webhook_event` (30). No dedupe, and nothing recovers
 *    a delivery that never came (job retry and the pool are off by default).
 * 2. Scale-up Lambda, one per configuration (reserved concurrency 1), on batches of up to 10 visible
 *    messages (the event source's default):
 *      current = the configuration's live instances (pending + running, by tag)
 *      launch  = min(messages, runners_maximum_count − current)
 *    with no look at idle or booting runners (`enable_job_queued_check` defaults to off for ephemeral
 *    runners). The batch's surplus goes back to the queue: a message comes back 30 s after it was received
 *    (the queue's visibility timeout, the Lambda's timeout), as often as it takes. One CreateFleet, then per
 *    instance a JIT config (POST generate-jitconfig, a REST write like everyone's; the client's throttling
 *    plugin spaces writes a second apart), its runner id tagged, the config put in SSM. Instances EC2 could
 *    not launch, and those whose JIT config failed (terminated), send as many messages back.
 * 3. Scale-down Lambda, `cron(*\/5 * * * ? *)`: an instance with a registration, launched longer than
 *    `minimum_running_time_in_minutes` (5 on Linux) ago, is re-read on GitHub and, if not busy, deregistered
 *    and then terminated (no idle runners are kept: `idle_config` is empty). An instance without a
 *    registration past `runner_boot_time_in_minutes` (5) is tagged orphan and terminated by the next run.
 * 4. The runner is ephemeral: one job, then its instance shuts itself down (the world does that).
 *
 * Where the defaults are not what a comparison should use, the reading that favours the peer: runners at
 * organization level (the module defaults to repository level, whose runners serve one repository only),
 * `runners_maximum_count` = the pool's maxRunners (default 3), the Lambdas start at once and take no time
 * beyond their calls (timing.ts latencies), writes of both Lambdas share one pacing (never secondary-limited).
 */

import type { PoolConfig } from '../../../functions/config/config.ts';
import { matchPool } from '../../../functions/core/labels.ts';
import { type Instance, runnerNameFor } from '../../../functions/core/model.ts';
import type { WebhookDelivery } from '../../../local/world/webhooks.ts';
import { assumedLatency } from '../timing.ts';
import { Timers } from './timers.ts';
import type { Strategy, StrategyContext } from './types.ts';

/** The module's defaults this model uses (variables.tf, modules/runners). */
export const tfRunnerDefaults = {
  /** `delay_webhook_event`: the build queue's DelaySeconds. */
  delayWebhookEventSeconds: 30,
  /** `runners_scale_up_lambda_timeout`, which is also the build queue's visibility timeout. */
  visibilityTimeoutSeconds: 30,
  /** `job_queue_retention_in_seconds`. */
  messageRetentionSeconds: 86_400,
  /** `lambda_event_source_mapping_batch_size`. */
  batchSize: 10,
  /** `minimum_running_time_in_minutes` (null → 5 for Linux, modules/runners/scale-down.tf). */
  minimumRunningTimeMinutes: 5,
  /** `runner_boot_time_in_minutes`. */
  runnerBootTimeMinutes: 5,
  /** `scale_down_schedule_expression` = cron(*\/5 * * * ? *). */
  scaleDownEveryMinutes: 5,
  /** @octokit/plugin-throttling's write limiter: minTime 1,000 ms between writes. */
  writeIntervalMs: 1000,
} as const;

export type TfRunnerSettings = { -readonly [K in keyof typeof tfRunnerDefaults]: number };

interface BuildMessage {
  readonly id: number;
  readonly jobId: number;
  readonly enqueuedAtMs: number;
  visibleAtMs: number;
  receiveCount: number;
  deleted: boolean;
}

export class TfRunnerStrategy implements Strategy {
  readonly name = 'tf-runner';
  readonly firstTickMs = 0;
  /** Its Octokit sends no If-None-Match. */
  readonly conditionalRequests = false;
  readonly settings: TfRunnerSettings;
  private readonly timers = new Timers();
  private readonly inbox: WebhookDelivery[] = [];
  private readonly queues = new Map<string, BuildMessage[]>();
  private readonly consuming = new Set<string>();
  /** The `ghr:github_runner_id` tag of each instance. */
  private readonly runnerIdOf = new Map<string, number>();
  private lastWriteMs = Number.NEGATIVE_INFINITY;
  private nextMessageId = 1;
  private nextFleetToken = 1;
  private context?: StrategyContext;
  private readonly counts = {
    deliveries: 0,
    enqueued: 0,
    ignored: 0,
    invocations: 0,
    returnedAtMax: 0,
    returnedFailed: 0,
    expired: 0,
    launched: 0,
    jitFailures: 0,
    scaleDowns: 0,
    failedScaleDowns: 0,
    removedIdle: 0,
    orphansTerminated: 0,
  };

  constructor(settings: Partial<TfRunnerSettings> = {}) {
    this.settings = { ...tfRunnerDefaults, ...settings };
  }

  async start(context: StrategyContext): Promise<void> {
    this.context = context;
    context.webhooks.subscribe((delivery) => {
      this.inbox.push(delivery);
      context.wake(context.world.nowMs);
    });
    this.scheduleScaleDown(context);
  }

  async tick(context: StrategyContext): Promise<number> {
    this.context = context;
    for (const delivery of this.inbox.splice(0)) this.webhook(context, delivery);
    await this.timers.runDue(() => context.world.nowMs);
    return this.timers.nextAt();
  }

  report(): Record<string, unknown> {
    const waiting = [...this.queues.values()].flat().filter((m) => !m.deleted).length;
    return { ...this.counts, messagesLeft: waiting };
  }

  /** The webhook Lambda: `queued` for a configuration's labels → that configuration's build queue. */
  private webhook(context: StrategyContext, delivery: WebhookDelivery): void {
    this.counts.deliveries += 1;
    const pool = matchPool(delivery.payload.workflow_job.labels, context.config.pools);
    if (delivery.action !== 'queued' || !pool) {
      this.counts.ignored += 1;
      return;
    }
    const now = context.world.nowMs;
    const message: BuildMessage = {
      id: this.nextMessageId++,
      jobId: delivery.payload.workflow_job.id,
      enqueuedAtMs: now,
      visibleAtMs: now + this.settings.delayWebhookEventSeconds * 1000,
      receiveCount: 0,
      deleted: false,
    };
    const queue = this.queues.get(pool.name) ?? [];
    this.queues.set(pool.name, queue);
    queue.push(message);
    this.counts.enqueued += 1;
    this.timers.at(message.visibleAtMs, () => this.consume(pool));
  }

  /** The event source mapping: while messages are visible, invoke the Lambda (one at a time) on ≤ 10. */
  private consume(pool: PoolConfig): void {
    if (this.consuming.has(pool.name)) return;
    this.consuming.add(pool.name);
    void this.consumeLoop(pool).finally(() => this.consuming.delete(pool.name));
  }

  private async consumeLoop(pool: PoolConfig): Promise<void> {
    const context = this.required();
    const queue = this.queues.get(pool.name) ?? [];
    for (;;) {
      const now = context.world.nowMs;
      for (const message of queue) {
        if (!message.deleted && now - message.enqueuedAtMs >= this.settings.messageRetentionSeconds * 1000) {
          message.deleted = true;
          this.counts.expired += 1;
        }
      }
      queue.splice(0, queue.length, ...queue.filter((message) => !message.deleted));
      const batch = queue
        .filter((message) => message.visibleAtMs <= now)
        .sort((a, b) => a.visibleAtMs - b.visibleAtMs || a.id - b.id)
        .slice(0, this.settings.batchSize);
      if (batch.length === 0) return;
      for (const message of batch) {
        message.receiveCount += 1;
        message.visibleAtMs = now + this.settings.visibilityTimeoutSeconds * 1000;
        // Not deleted by then: the queue hands it out again.
        this.timers.at(message.visibleAtMs, () => this.consume(pool));
      }
      let returned: Set<BuildMessage>;
      try {
        returned = await this.scaleUp(pool, batch);
      } catch {
        // The handler's catch: the whole batch is retried.
        returned = new Set(batch);
      }
      for (const message of batch) if (!returned.has(message)) message.deleted = true;
    }
  }

  /** One scale-up invocation on a batch; the messages it sends back (batch item failures). */
  private async scaleUp(pool: PoolConfig, batch: readonly BuildMessage[]): Promise<Set<BuildMessage>> {
    const { world, fleet, github, runnerConfigs, meter, config } = this.required();
    this.counts.invocations += 1;
    const returned = new Set<BuildMessage>();
    await this.pass(assumedLatency.invokeOverheadMs + assumedLatency.awsCallMs);
    const current = (await fleet.listInstances()).filter((instance) => instance.pool === pool.name).length;
    const launch = Math.max(0, Math.min(batch.length, pool.maxRunners - current));
    // Over the maximum: the first messages go back to the queue (ephemeral runners).
    const overMax = batch.slice(0, batch.length - launch);
    for (const message of overMax) returned.add(message);
    this.counts.returnedAtMax += overMax.length;
    if (launch === 0) return returned;

    await this.pass(assumedLatency.awsCallMs);
    const result = await fleet.launch({
      pool: pool.name,
      count: launch,
      clientToken: `tf-runner-${this.nextFleetToken++}`,
      createdAt: world.agenda.now().toISOString(),
    });
    const failed: string[] = [];
    for (const instanceId of result.instanceIds) {
      await this.writeSlot();
      try {
        const jit = await github.createJitRunner({
          name: runnerNameFor(config.stack, instanceId),
          labels: pool.labels,
          runnerGroup: pool.runnerGroup,
        });
        // A name registered already (409) has no config to hand out: its source counts that as a failure.
        if (jit.alreadyRegistered) throw new Error(`runner for ${instanceId} already registered`);
        this.runnerIdOf.set(instanceId, jit.runnerId);
        meter.record('ec2:CreateTags', 'aws');
        await this.pass(assumedLatency.awsCallMs);
        await runnerConfigs.put(instanceId, jit.encodedJitConfig);
        await this.pass(assumedLatency.awsCallMs);
      } catch {
        failed.push(instanceId);
      }
    }
    if (failed.length > 0) {
      this.counts.jitFailures += failed.length;
      await fleet.terminate(failed);
    }
    this.counts.launched += result.instanceIds.length - failed.length;
    const shortfall = launch - (result.instanceIds.length - failed.length);
    const notOverMax = batch.slice(overMax.length);
    for (const message of notOverMax.slice(0, shortfall)) returned.add(message);
    this.counts.returnedFailed += Math.min(shortfall, notOverMax.length);
    return returned;
  }

  /** The scale-down Lambda on its schedule. */
  private scheduleScaleDown(context: StrategyContext): void {
    const everyMs = this.settings.scaleDownEveryMinutes * 60_000;
    // cron(*/5 …) fires on the wall clock's five-minute marks.
    const epochMs = context.world.agenda.now().getTime() - context.world.nowMs;
    const first = Math.ceil(epochMs / everyMs) * everyMs - epochMs;
    const run = (atMs: number) => {
      this.timers.at(atMs, () => {
        // The handler logs an error and waits for the next run.
        this.scaleDown().catch(() => {
          this.counts.failedScaleDowns += 1;
        });
        run(atMs + everyMs);
      });
    };
    run(first);
  }

  private async scaleDown(): Promise<void> {
    const { world, fleet, github } = this.required();
    this.counts.scaleDowns += 1;
    const now = world.nowMs;
    const minutesAgo = (instance: Instance, minutes: number) =>
      world.agenda.msOf(instance.launchedAt) + minutes * 60_000 < now;
    await this.pass(assumedLatency.invokeOverheadMs + assumedLatency.awsCallMs);
    // First the orphans tagged by an earlier run: terminated unless their runner turns out to be alive.
    for (const instance of (await fleet.listInstances()).filter((i) => i.orphanedSince !== undefined)) {
      const runnerId = this.runnerIdOf.get(instance.id);
      const runner = runnerId === undefined ? undefined : await github.getRunner(runnerId);
      if (runner && !(runner.status === 'offline' && runner.busy)) continue;
      await fleet.terminate([instance.id]);
      this.counts.orphansTerminated += 1;
    }
    await this.pass(assumedLatency.awsCallMs);
    const instances = (await fleet.listInstances())
      .filter((i) => i.orphanedSince === undefined)
      .sort((a, b) => a.launchedAt.localeCompare(b.launchedAt));
    if (instances.length === 0) return;
    const registrations = await github.listRunners();
    await this.pass(assumedLatency.githubGetMs);
    for (const instance of instances) {
      const own = registrations.filter((runner) => runner.name.endsWith(instance.id));
      if (own.length === 0) {
        if (minutesAgo(instance, this.settings.runnerBootTimeMinutes))
          await fleet.markOrphaned([instance.id], world.agenda.now());
        continue;
      }
      if (!minutesAgo(instance, this.settings.minimumRunningTimeMinutes)) continue;
      // Re-read right before removing (the listing may be stale), deregister, then terminate.
      let busy = false;
      let gone = false;
      for (const registration of own) {
        const fresh = await github.getRunner(registration.id);
        // Not found counts as not busy; its DELETE then answers 404, so the instance is left alone.
        gone = gone || fresh === undefined;
        busy = (fresh?.busy ?? false) || busy;
        await this.pass(assumedLatency.githubGetMs);
      }
      if (busy || gone) continue;
      let deregistered = true;
      for (const registration of own) {
        await this.writeSlot();
        try {
          await github.deleteRunner(registration.id);
        } catch {
          deregistered = false;
        }
      }
      if (!deregistered) continue;
      await fleet.terminate([instance.id]);
      this.counts.removedIdle += 1;
    }
  }

  /** Take the client's next write slot (writes a second apart) and wait for it. */
  private async writeSlot(): Promise<void> {
    const { world } = this.required();
    const at = Math.max(world.nowMs, this.lastWriteMs + this.settings.writeIntervalMs);
    this.lastWriteMs = at;
    if (at > world.nowMs) await this.timers.sleepUntil(at);
  }

  /** Let `ms` of virtual time pass in this piece of work (a call's latency). */
  private async pass(ms: number): Promise<void> {
    const { world } = this.required();
    await this.timers.sleepUntil(world.nowMs + ms);
  }

  private required(): StrategyContext {
    if (!this.context) throw new Error('tf-runner has not been started');
    return this.context;
  }
}
