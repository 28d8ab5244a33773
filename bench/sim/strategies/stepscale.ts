/**
 * `stepscale`: the real thing. Every 60 s of virtual time one execution of the real state machine definition
 * (aws-local-stepfunctions) with the real handlers and the real decision core, wired to the simulated world
 * through the production ports. The cycle takes virtual time: each task's duration is modelled from the
 * requests it made (timing.ts), and a task that waits for a GitHub write slot (RegisterRunners, ScaleDown)
 * lets the world go on while it waits (instances boot, jobs start).
 */
import { MemoryCycleStarter } from '../../../functions/adapters/memory-cycle-starter.ts';
import { MemoryWebhookInbox } from '../../../functions/adapters/memory-webhook-inbox.ts';
import { MemoryWriteBudget } from '../../../functions/adapters/memory-write-budget.ts';
import { noScaleSets } from '../../../functions/adapters/no-scale-sets.ts';
import { scalingPolicyOf, writeIntervalMs } from '../../../functions/config/config.ts';
import type { HandlerDeps } from '../../../functions/handlers/deps.ts';
import type { TaskName } from '../../../functions/handlers/index.ts';
import { type CycleRunOptions, runCycle } from '../../../local/cycle-runner.ts';
import { MemoryStateStore } from '../../../local/state/memory-state-store.ts';
import { CountingLog } from '../counting-log.ts';
import { ExecutionLogMeter } from '../execution-log.ts';
import { emptyCounts, type RequestCounts } from '../requests.ts';
import { modeledTaskMs } from '../timing.ts';
import type { Strategy, StrategyContext } from './types.ts';

/** The template's defaults (template.yaml: MapConcurrency, ScheduleRate). */
export const templateDefaults = {
  mapConcurrency: 6,
  cycleIntervalSeconds: 60,
} as const;

export interface TaskInvocation {
  readonly task: TaskName;
  readonly modeledMs: number;
  readonly requests: RequestCounts;
}

export interface CycleRecord {
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
  /** Bytes the functions' INFO logs would have written. */
  readonly functionLogBytes: number;
  readonly launched: number;
  /** Runners registered by this cycle's registration loop. */
  readonly registered: number;
  /** Repositories scanned (listQueuedJobs), and those whose answer changed (a conditional-cache write). */
  readonly repositoryScans: number;
  readonly changedScans: number;
}

export interface StepscaleOptions {
  readonly mapConcurrency?: number;
  readonly cycleIntervalSeconds?: number;
  /** Observe every task invocation (tests use it to compare with the core called directly). */
  readonly onTask?: (task: TaskName, input: unknown, output: unknown, deps: HandlerDeps) => void;
}

export class StepscaleStrategy implements Strategy {
  readonly name: string = 'stepscale';
  readonly firstTickMs = 0;
  /** The production adapter answers polled listings conditionally (functions/adapters/github-conditional.ts). */
  readonly conditionalRequests = true;
  readonly cycles: CycleRecord[] = [];
  private deps?: HandlerDeps;
  protected readonly functionLog = new CountingLog();
  private readonly mapConcurrency: number;
  protected readonly intervalMs: number;

  constructor(private readonly options: StepscaleOptions = {}) {
    this.mapConcurrency = options.mapConcurrency ?? templateDefaults.mapConcurrency;
    this.intervalMs = (options.cycleIntervalSeconds ?? templateDefaults.cycleIntervalSeconds) * 1000;
  }

  /** The config the cycles run with: the workload's (every pool polled). */
  protected configFor(context: StrategyContext): HandlerDeps['config'] {
    return context.config;
  }

  /** The scale set port and the cycle starter: none here (nothing listens, nothing starts cycles). */
  protected eventPortsFor(_context: StrategyContext): Pick<HandlerDeps, 'scaleSets' | 'cycleStarter'> {
    return { scaleSets: noScaleSets, cycleStarter: new MemoryCycleStarter() };
  }

  protected depsFor(context: StrategyContext): HandlerDeps {
    if (this.deps) return this.deps;
    const { world } = context;
    const now = world.agenda.now;
    const epochMs = now().getTime() - world.nowMs;
    const config = this.configFor(context);
    const deps: HandlerDeps = {
      config,
      policy: scalingPolicyOf(config),
      github: context.github,
      fleet: context.fleet,
      runnerConfigs: context.runnerConfigs,
      stateStore: new MemoryStateStore(now),
      writeBudget: new MemoryWriteBudget(writeIntervalMs(config), now),
      webhookInbox: new MemoryWebhookInbox(now),
      ...this.eventPortsFor(context),
      log: this.functionLog.log,
      now,
      // Waiting for a write slot is virtual time in which the world goes on.
      sleepUntil: async (at) => world.advanceTo(at.getTime() - epochMs),
    };
    this.deps = deps;
    return deps;
  }

  async tick(context: StrategyContext): Promise<number> {
    const startMs = context.world.nowMs;
    await this.runOneCycle(context, { cycleId: context.world.agenda.now().toISOString() });
    return startMs + this.intervalMs;
  }

  /** One execution of the scaling state machine, taking the virtual time its tasks are modelled to take. */
  protected async runOneCycle(
    context: StrategyContext,
    start: { readonly cycleId: string; readonly targets?: CycleRunOptions['targets'] },
  ): Promise<void> {
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

    const closeMapPhase = () => {
      if (mapTasks === 0) return;
      const lanes = Math.min(this.mapConcurrency || mapTasks, mapTasks);
      elapsedMs += Math.round(mapTaskMs / lanes);
      mapTaskMs = 0;
      mapTasks = 0;
    };

    const result = await runCycle({
      deps,
      cycleId: start.cycleId,
      ...(start.targets ? { targets: start.targets } : {}),
      mapConcurrency: this.mapConcurrency,
      beforeTask: (task) => {
        if (task === 'CollectRepositoryJobs') {
          if (mapStarted) return; // iterations run side by side; time passes once the Map is done
          mapStarted = true;
        } else {
          closeMapPhase();
        }
        world.advanceTo(startMs + elapsedMs);
      },
      wrapTask: (task, handler) => async (input) => {
        const counts = emptyCounts();
        const before = world.nowMs;
        let output: unknown;
        try {
          output = await meter.within(counts, () => handler(input));
        } catch (error) {
          executionLog.failedInvocation(task, input, error);
          throw error;
        }
        executionLog.invocation(task, input, output);
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
        this.options.onTask?.(task, input, output, deps);
        return output;
      },
      onEvent: (event) => {
        if (event.type === 'StateEntered') transitions += 1;
        executionLog.event(event);
      },
    });
    closeMapPhase();
    const durationMs = elapsedMs;
    world.advanceTo(startMs + durationMs);
    const scaleUp = result.output.scaleUp as { launched?: number } | undefined;
    const registration = result.output.registration as { registered?: number } | undefined;
    this.cycles.push({
      startMs,
      status: result.status,
      transitions,
      invocations,
      durationMs,
      executionLogBytes: executionLog.bytes().allWithData,
      executionLogBytesWithoutData: executionLog.bytes().allWithoutData,
      executionLogByState: executionLog.bytes().byState,
      functionLogBytes: this.functionLog.bytes - logBefore,
      launched: scaleUp?.launched ?? 0,
      registered: registration?.registered ?? 0,
      repositoryScans: meter.scans.total - scansBefore.total,
      changedScans: meter.scans.changed - scansBefore.changed,
    });
  }

  report(): Record<string, unknown> {
    const n = Math.max(1, this.cycles.length);
    return {
      cycles: this.cycles.length,
      failedCycles: this.cycles.filter((cycle) => cycle.status === 'FAILED').length,
      transitionsPerCycle: round(this.cycles.reduce((s, c) => s + c.transitions, 0) / n, 1),
      meanCycleSeconds: round(this.cycles.reduce((s, c) => s + c.durationMs, 0) / n / 1000, 2),
      maxCycleSeconds: round(Math.max(0, ...this.cycles.map((c) => c.durationMs)) / 1000, 2),
    };
  }
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
