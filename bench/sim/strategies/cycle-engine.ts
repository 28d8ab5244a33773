/**
 * Executions of the real state machine in virtual time, side by side as Step Functions runs them: a scheduled
 * cycle and the targeted cycles webhook deliveries start may overlap, and meet as they do in AWS (the scaling
 * lease, registration claims, the write budget). Each execution is the real definition on aws-local-stepfunctions
 * with the real handlers, wired to the world through the production ports. Its tasks take virtual time,
 * modelled from the requests each made (timing.ts): before a task runs, its execution sleeps on the engine's
 * timers until the modelled time has come, so the world (and other executions) go on meanwhile; a task waiting
 * for a GitHub write slot (RegisterRunners, ScaleDown) sleeps the same way. The strategy's tick runs whatever
 * is due ({@link CycleEngine.runDue}) and returns {@link CycleEngine.nextAt}.
 */

import { MemoryCycleStarter } from '../../../functions/adapters/memory-cycle-starter.ts';
import { MemoryStateStore } from '../../../functions/adapters/memory-state-store.ts';
import { MemoryWebhookInbox } from '../../../functions/adapters/memory-webhook-inbox.ts';
import { MemoryWriteBudget } from '../../../functions/adapters/memory-write-budget.ts';
import { noScaleSets } from '../../../functions/adapters/no-scale-sets.ts';
import { type Config, scalingPolicyOf, writeIntervalMs } from '../../../functions/config/config.ts';
import { runCycle } from '../../../functions/executor/cycle-runner.ts';
import type { HandlerDeps } from '../../../functions/handlers/deps.ts';
import type { TaskName } from '../../../functions/handlers/index.ts';
import { MemoryMetrics } from '../../../functions/observability/metrics.ts';
import { CountingLog } from '../counting-log.ts';
import { ExecutionLogMeter } from '../execution-log.ts';
import { round } from '../metrics.ts';
import { emptyCounts, type RequestCounts } from '../requests.ts';
import { modeledTaskMs } from '../timing.ts';
import { settle, Timers } from './timers.ts';
import type { StrategyContext } from './types.ts';

export interface TaskInvocation {
  readonly task: TaskName;
  readonly modeledMs: number;
  readonly requests: RequestCounts;
}

/** What started an execution: the schedule, the webhook receiver (a targeted cycle), or the scale set listener. */
export type CycleKind = 'scheduled' | 'webhook' | 'listener';

export interface CycleRecord {
  readonly kind: CycleKind;
  readonly startMs: number;
  readonly status: 'SUCCEEDED' | 'FAILED';
  /** StateEntered events, Map iterations' states included: what Standard bills. */
  readonly transitions: number;
  readonly invocations: TaskInvocation[];
  /** Modelled wall time of the execution (what Express bills). */
  readonly durationMs: number;
  /** Bytes of the execution's CloudWatch log (level ALL, execution data included; execution-log.ts). */
  readonly executionLogBytes: number;
  /** {@link executionLogBytes} per state name. */
  readonly executionLogByState: Readonly<Record<string, number>>;
  /** The same log without execution data (IncludeExecutionData: false): event metadata only. */
  readonly executionLogBytesWithoutData: number;
  /** Bytes the functions' INFO logs wrote during the execution (all executions in flight then). */
  readonly functionLogBytes: number;
  readonly launched: number;
  /** Runners registered by this cycle's registration loop. */
  readonly registered: number;
  /** Repositories scanned (listQueuedJobs), and those whose answer changed (a conditional-cache write). */
  readonly repositoryScans: number;
  readonly changedScans: number;
}

export interface CycleEngineOptions {
  readonly mapConcurrency: number;
  /** Observe every task invocation (tests use it to compare with the core called directly). */
  readonly onTask?: (task: TaskName, input: unknown, output: unknown, deps: HandlerDeps) => void;
  /** The config the executions run with; by default the workload's (every pool polled). */
  readonly config?: (context: StrategyContext) => Config;
  /** The scale set port and the cycle starter; by default none (nothing listens, nothing starts cycles). */
  readonly eventPorts?: (context: StrategyContext) => Pick<HandlerDeps, 'scaleSets' | 'cycleStarter'>;
}

export interface CycleInput {
  readonly cycleId: string;
  readonly targets: { readonly repositories: readonly string[]; readonly scaleSets?: readonly string[] };
}

export class CycleEngine {
  readonly cycles: CycleRecord[] = [];
  readonly timers = new Timers();
  readonly functionLog = new CountingLog();
  private deps?: HandlerDeps;
  private executions = 0;
  private inFlight = 0;
  /** Executions waiting on a timer: when all in flight are, nothing happens until time passes. */
  private sleeping = 0;

  /** What the production handlers measured over the run (the same metrics they publish in Lambda). */
  readonly metrics = new MemoryMetrics();

  constructor(private readonly options: CycleEngineOptions) {}

  /** The production handlers' dependencies over the world: one set, shared by every execution. */
  depsFor(context: StrategyContext): HandlerDeps {
    if (this.deps) return this.deps;
    const { world } = context;
    const now = world.agenda.now;
    const epochMs = now().getTime() - world.nowMs;
    const config = this.options.config?.(context) ?? context.config;
    const deps: HandlerDeps = {
      config,
      policy: scalingPolicyOf(config),
      github: context.github,
      fleet: context.fleet,
      runnerConfigs: context.runnerConfigs,
      stateStore: new MemoryStateStore(now),
      writeBudget: new MemoryWriteBudget(writeIntervalMs(config), now),
      webhookInbox: new MemoryWebhookInbox(now),
      ...(this.options.eventPorts?.(context) ?? {
        scaleSets: noScaleSets,
        cycleStarter: new MemoryCycleStarter(),
      }),
      log: this.functionLog.log,
      now,
      // Waiting for a write slot is virtual time in which the world and the other executions go on.
      sleepUntil: (at) => this.sleepUntil(at.getTime() - epochMs),
      metrics: this.metrics,
    };
    this.deps = deps;
    return deps;
  }

  /** Executions started and not yet ended. */
  get running(): number {
    return this.inFlight;
  }

  /** Starts an execution now; it runs as the engine's timers come due. */
  start(context: StrategyContext, input: CycleInput, kind: CycleKind): void {
    this.inFlight += 1;
    void this.execute(context, input, kind).finally(() => {
      this.inFlight -= 1;
    });
  }

  /**
   * Runs every piece of work due by now, in virtual-time order, and returns once every execution in flight
   * waits for a later time (the embedded executor takes several turns of the event loop between tasks).
   */
  async runDue(context: StrategyContext): Promise<void> {
    for (;;) {
      await this.quiesce();
      if (this.timers.nextAt() > context.world.nowMs) return;
      await this.timers.runDue(() => context.world.nowMs);
    }
  }

  private async quiesce(): Promise<void> {
    for (let turns = 0; this.sleeping < this.inFlight; turns += 1) {
      if (turns > 100_000) throw new Error('an execution neither ends nor waits for virtual time');
      await settle();
    }
  }

  private async sleepUntil(atMs: number): Promise<void> {
    this.sleeping += 1;
    try {
      await this.timers.sleepUntil(atMs);
    } finally {
      this.sleeping -= 1;
    }
  }

  nextAt(): number {
    return this.timers.nextAt();
  }

  private async execute(context: StrategyContext, input: CycleInput, kind: CycleKind): Promise<void> {
    const { world, meter } = context;
    const deps = this.depsFor(context);
    const startMs = world.nowMs;
    const logBefore = this.functionLog.bytes;
    const scansBefore = { ...meter.scans };
    const invocations: TaskInvocation[] = [];
    let transitions = 0;
    const executionLog = new ExecutionLogMeter();
    // Virtual time spent so far in this execution, phase by phase.
    let elapsedMs = 0;
    let mapTaskMs = 0;
    let mapTasks = 0;
    let mapStarted = false;
    const collectConcurrency = deps.config.collection.concurrency;
    const { mapConcurrency } = this.options;

    const closeMapPhase = () => {
      if (mapTasks === 0) return;
      const lanes = Math.min(mapConcurrency || mapTasks, mapTasks);
      elapsedMs += Math.round(mapTaskMs / lanes);
      mapTaskMs = 0;
      mapTasks = 0;
    };

    this.executions += 1;
    const result = await runCycle({
      deps,
      cycleId: input.cycleId,
      input: { cycleId: input.cycleId, targets: input.targets },
      executionName: `${input.cycleId}-${this.executions}`,
      mapConcurrency,
      beforeTask: async (task) => {
        if (task === 'CollectRepositoryJobs') {
          if (mapStarted) return; // iterations run side by side; time passes once the Map is done
          mapStarted = true;
        } else {
          closeMapPhase();
        }
        await this.sleepUntil(startMs + elapsedMs);
      },
      wrapTask: (task, handler) => async (taskInput) => {
        const counts = emptyCounts();
        const before = world.nowMs;
        let output: unknown;
        try {
          output = await meter.within(counts, () => handler(taskInput));
        } catch (error) {
          executionLog.failedInvocation(task, taskInput, error);
          throw error;
        }
        executionLog.invocation(task, taskInput, output);
        // Time the task spent waiting for write slots has passed in the world already.
        const waitedMs = world.nowMs - before;
        const concurrency = task === 'CollectRepositoryJobs' ? collectConcurrency : 4;
        const modeledMs = modeledTaskMs(counts, concurrency) + waitedMs;
        invocations.push({ task, modeledMs, requests: counts });
        if (task === 'CollectRepositoryJobs') {
          mapTaskMs += modeledMs;
          mapTasks += 1;
        } else {
          elapsedMs += modeledMs;
        }
        this.options.onTask?.(task, taskInput, output, deps);
        return output;
      },
      onEvent: (event) => {
        if (event.type === 'StateEntered') transitions += 1;
        executionLog.event(event);
      },
    });
    closeMapPhase();
    await this.sleepUntil(startMs + elapsedMs);
    const scaleUp = result.output.scaleUp as { launched?: number } | undefined;
    const registration = result.output.registration as { registered?: number } | undefined;
    const log = executionLog.bytes();
    this.cycles.push({
      kind,
      startMs,
      status: result.status,
      transitions,
      invocations,
      durationMs: elapsedMs,
      executionLogBytes: log.allWithData,
      executionLogBytesWithoutData: log.allWithoutData,
      executionLogByState: log.byState,
      functionLogBytes: this.functionLog.bytes - logBefore,
      launched: scaleUp?.launched ?? 0,
      registered: registration?.registered ?? 0,
      repositoryScans: meter.scans.total - scansBefore.total,
      changedScans: meter.scans.changed - scansBefore.changed,
    });
  }

  /** Cycles, failures, transitions and durations of the executions of one kind. */
  report(kind: CycleKind): Record<string, number> {
    const cycles = this.cycles.filter((cycle) => cycle.kind === kind);
    const n = Math.max(1, cycles.length);
    return {
      cycles: cycles.length,
      failedCycles: cycles.filter((cycle) => cycle.status === 'FAILED').length,
      transitionsPerCycle: round(cycles.reduce((s, c) => s + c.transitions, 0) / n, 1),
      meanCycleSeconds: round(cycles.reduce((s, c) => s + c.durationMs, 0) / n / 1000, 2),
      maxCycleSeconds: round(Math.max(0, ...cycles.map((c) => c.durationMs)) / 1000, 2),
    };
  }
}
