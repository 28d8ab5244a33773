/**
 * `arc-listener`: actions-runner-controller with runner scale sets (gha-runner-scale-set), one scale set per
 * pool, modelled from its source (cmd/ghalistener/scaler/scaler.go,
 * controllers/actions.github.com/ephemeralrunnerset_controller.go) and actions/scaleset (listener/listener.go,
 * session_client.go), on the same ports as everyone:
 *
 * 1. The listener holds a message session and long-polls the scale set's queue; a job event reaches it
 *    0.2–1 s after it happens (SimActionsService). On every message it acknowledges it and sets
 *      desired = min(minRunners + statistics.totalAssignedJobs, maxRunners)
 *    on the EphemeralRunnerSet, with a new patch id. A poll that comes back empty (~50 s without a message)
 *    sets desired for 0 assigned jobs; its patch id is 0 when no job started or completed since the last
 *    decision and the target stayed at minRunners.
 * 2. The EphemeralRunnerSet controller: total = its pending + running runners (finished ones are gone).
 *      total < desired            → create desired − total runners at once
 *      patch id 0, total > desired → delete idle registered runners (never one holding a job)
 *      otherwise                   → nothing: surplus runners leave as they finish their job
 * 3. Each runner gets its JIT config from the scale set (an Actions-service call, not a REST write), boots
 *    like every other strategy's instance (a pod here is an EC2 instance, so the comparison is of the
 *    scaling logic, not of pods against VMs), takes one job and is gone.
 *
 * minRunners is the pool's minIdle (0 unless the workload keeps warm runners), maxRunners the pool's
 * maxRunners. Favouring the peer: no Kubernetes latency between the patch and the launch; an instance EC2 could
 * not launch is tried again 5 s later (in Kubernetes the pod would wait while the node provisioner retries).
 */

import type { PoolConfig } from '../../../functions/config/config.ts';
import { runnerNameFor } from '../../../functions/core/model.ts';
import type { ScaleSetMessage, ScaleSetSession } from '../ports.ts';
import { Timers } from './timers.ts';
import type { Strategy, StrategyContext } from './types.ts';

export const arcDefaults = {
  /** The message queue's long poll returns empty after about this long. */
  longPollSeconds: 50,
  /** A runner EC2 could not launch is created again this much later. */
  relaunchAfterSeconds: 5,
} as const;

/** The listener's scaler (scaler.go): the desired count and its patch id, one small method. */
export class ArcScaler {
  /** The last desired count patched (−1 before the first). */
  targetRunners = -1;
  private patchSeq = 0;
  /** A job started or completed since the last decision. */
  private dirty = false;

  constructor(
    readonly minRunners: number,
    readonly maxRunners: number,
  ) {}

  jobsStartedOrCompleted(): void {
    this.dirty = true;
  }

  /** desired = min(minRunners + assigned, maxRunners); patch id 0 forces the count (idle runners may go). */
  desired(totalAssignedJobs: number): { readonly replicas: number; readonly patchId: number } {
    const dirty = this.dirty;
    this.dirty = false;
    this.patchSeq += 1;
    const target = Math.min(this.minRunners + totalAssignedJobs, this.maxRunners);
    const old = this.targetRunners;
    this.targetRunners = target;
    const forced = !dirty && target === old && target === this.minRunners;
    return { replicas: target, patchId: forced ? 0 : this.patchSeq };
  }
}

interface ScaleSet {
  readonly pool: PoolConfig;
  readonly scaler: ArcScaler;
  session?: ScaleSetSession;
  readonly inbox: ScaleSetMessage[];
  /** Bumped whenever a long poll starts (after a message, or after an empty return). */
  pollGeneration: number;
  /** The EphemeralRunnerSet's replicas (the last patch). */
  replicas: number;
  readonly runnerIdOf: Map<string, number>;
}

export class ArcListenerStrategy implements Strategy {
  readonly name = 'arc-listener';
  readonly firstTickMs = 0;
  readonly conditionalRequests = false;
  private readonly timers = new Timers();
  private readonly sets: ScaleSet[] = [];
  private context?: StrategyContext;
  private nextFleetToken = 1;
  /** Every decision: when, which pool, assigned jobs and the desired count (tests read it). */
  readonly decisions: {
    atMs: number;
    pool: string;
    /** What the count came from: the session's statistics, a message's, or an empty poll (0). */
    from: 'session' | 'message' | 'empty-poll';
    assigned: number;
    replicas: number;
    patchId: number;
  }[] = [];
  private readonly counts = {
    messages: 0,
    emptyPolls: 0,
    created: 0,
    relaunches: 0,
    deletedIdle: 0,
    failedReconciles: 0,
  };

  constructor(private readonly settings: Partial<typeof arcDefaults> = {}) {}

  async start(context: StrategyContext): Promise<void> {
    this.context = context;
    for (const pool of context.config.pools) {
      const set: ScaleSet = {
        pool,
        scaler: new ArcScaler(pool.minIdle, pool.maxRunners),
        inbox: [],
        pollGeneration: 0,
        replicas: 0,
        runnerIdOf: new Map(),
      };
      set.session = context.actionsService.openSession(
        { name: pool.name, labels: pool.labels, runnerGroup: pool.runnerGroup },
        (message) => {
          set.inbox.push(message);
          context.wake(context.world.nowMs);
        },
      );
      this.sets.push(set);
      // The session's own statistics decide first (listener.Run).
      const first = set.session.statistics().totalAssignedJobs;
      this.timers.at(context.world.nowMs, () => this.failSoftly(this.decide(set, first, 'session')));
      this.startPoll(set);
    }
  }

  async tick(context: StrategyContext): Promise<number> {
    this.context = context;
    for (const set of this.sets) {
      for (const message of set.inbox.splice(0)) {
        this.counts.messages += 1;
        set.session?.acknowledge(message.messageId);
        if (message.jobsStarted.length > 0 || message.jobsCompleted.length > 0)
          set.scaler.jobsStartedOrCompleted();
        this.startPoll(set);
        await this.failSoftly(this.decide(set, message.statistics.totalAssignedJobs, 'message'));
      }
    }
    await this.timers.runDue(() => context.world.nowMs);
    return this.timers.nextAt();
  }

  report(): Record<string, unknown> {
    return { ...this.counts, decisions: this.decisions.length };
  }

  /** A long poll starts now; with no message within the poll's time it comes back empty. */
  private startPoll(set: ScaleSet): void {
    const { world } = this.required();
    set.pollGeneration += 1;
    const generation = set.pollGeneration;
    const longPollMs = (this.settings.longPollSeconds ?? arcDefaults.longPollSeconds) * 1000;
    this.timers.at(world.nowMs + longPollMs, () => {
      if (set.pollGeneration !== generation) return;
      this.counts.emptyPolls += 1;
      set.session?.pollReturnedEmpty();
      this.startPoll(set);
      this.failSoftly(this.decide(set, 0, 'empty-poll'));
    });
  }

  /** HandleDesiredRunnerCount, then the EphemeralRunnerSet controller's reconcile. */
  private async decide(
    set: ScaleSet,
    assigned: number,
    from: (typeof this.decisions)[number]['from'],
  ): Promise<void> {
    const { world } = this.required();
    const { replicas, patchId } = set.scaler.desired(assigned);
    set.replicas = replicas;
    this.decisions.push({ atMs: world.nowMs, pool: set.pool.name, from, assigned, replicas, patchId });
    await this.reconcile(set, patchId);
  }

  private async reconcile(set: ScaleSet, patchId: number): Promise<void> {
    const { world, fleet, runnerConfigs, config } = this.required();
    const mine = (await fleet.listInstances()).filter((instance) => instance.pool === set.pool.name);
    const total = mine.length;
    if (total < set.replicas) {
      const result = await fleet.launch({
        pool: set.pool.name,
        count: set.replicas - total,
        clientToken: `arc-listener-${this.nextFleetToken++}`,
        createdAt: world.agenda.now().toISOString(),
      });
      for (const instanceId of result.instanceIds) {
        const jit = await set.session?.generateJitConfig(runnerNameFor(config.stack, instanceId));
        if (!jit) continue;
        set.runnerIdOf.set(instanceId, jit.runnerId);
        await runnerConfigs.put(instanceId, jit.encodedJitConfig);
        this.counts.created += 1;
      }
      if (result.missing > 0) {
        const afterMs = (this.settings.relaunchAfterSeconds ?? arcDefaults.relaunchAfterSeconds) * 1000;
        this.timers.at(world.nowMs + afterMs, () => {
          this.counts.relaunches += 1;
          this.failSoftly(this.reconcile(set, -1));
        });
      }
      return;
    }
    if (patchId !== 0 || total <= set.replicas) return;
    // Forced count: idle registered runners go, booting ones first (never one holding a job).
    let surplus = total - set.replicas;
    const ordered = [...mine].sort((a, b) => (a.state === b.state ? 0 : a.state === 'pending' ? -1 : 1));
    for (const instance of ordered) {
      if (surplus === 0) break;
      const runnerId = set.runnerIdOf.get(instance.id);
      if (runnerId === undefined || !(await set.session?.removeRunner(runnerId))) continue;
      await fleet.terminate([instance.id]);
      set.runnerIdOf.delete(instance.id);
      this.counts.deletedIdle += 1;
      surplus -= 1;
    }
  }

  /** A failed reconcile is logged and tried again with the next decision (the controller requeues it). */
  private failSoftly(work: Promise<void>): Promise<void> {
    return work.catch(() => {
      this.counts.failedReconciles += 1;
    });
  }

  private required(): StrategyContext {
    if (!this.context) throw new Error('arc-listener has not been started');
    return this.context;
  }
}
