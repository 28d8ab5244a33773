/**
 * `stepscale`: the real thing, polling. Every 60 s of virtual time the schedule starts one execution of the
 * real state machine definition with the real handlers and the real decision core, wired to the simulated
 * world through the production ports (cycle-engine.ts: tasks take modelled virtual time; a cycle still running
 * when the next is due overlaps it, as in AWS).
 */

import type { HandlerDeps } from '../../../functions/handlers/deps.ts';
import type { TaskName } from '../../../functions/handlers/index.ts';
import type { MemoryMetrics } from '../../../functions/observability/metrics.ts';
import { CycleEngine, type CycleEngineOptions, type CycleRecord } from './cycle-engine.ts';
import type { Strategy, StrategyContext } from './types.ts';

export type { CycleRecord, TaskInvocation } from './cycle-engine.ts';

/** The template's defaults (template.yaml: MapConcurrency, ScheduleRate). */
export const templateDefaults = {
  mapConcurrency: 6,
  cycleIntervalSeconds: 60,
} as const;

export interface StepscaleOptions {
  readonly mapConcurrency?: number;
  readonly cycleIntervalSeconds?: number;
  /** Observe every task invocation (tests use it to compare with the core called directly). */
  readonly onTask?: (task: TaskName, input: unknown, output: unknown, deps: HandlerDeps) => void;
  /** What a variant runs its executions with (a job source, the ports it listens through). */
  readonly engine?: Pick<CycleEngineOptions, 'config' | 'eventPorts'>;
}

export class StepscaleStrategy implements Strategy {
  readonly name: string = 'stepscale';
  readonly firstTickMs = 0;
  /** The production adapter answers polled listings conditionally (functions/adapters/github-conditional.ts). */
  readonly conditionalRequests = true;
  protected readonly engine: CycleEngine;
  protected readonly intervalMs: number;
  private nextScheduledMs = 0;

  constructor(options: StepscaleOptions = {}) {
    this.engine = new CycleEngine({
      mapConcurrency: options.mapConcurrency ?? templateDefaults.mapConcurrency,
      ...(options.onTask ? { onTask: options.onTask } : {}),
      ...options.engine,
    });
    this.intervalMs = (options.cycleIntervalSeconds ?? templateDefaults.cycleIntervalSeconds) * 1000;
  }

  /** What the production handlers measured: the metrics they publish in Lambda. */
  get metrics(): MemoryMetrics {
    return this.engine.metrics;
  }

  /** The scheduled cycles (what the cost model measures). */
  get cycles(): CycleRecord[] {
    return this.engine.cycles.filter((cycle) => cycle.kind === 'scheduled');
  }

  async tick(context: StrategyContext): Promise<number> {
    if (context.world.nowMs >= this.nextScheduledMs) {
      // The schedule's input: its time names the cycle, no targets.
      const cycleId = context.world.agenda.now().toISOString();
      this.engine.start(context, { cycleId, targets: { repositories: [] } }, 'scheduled');
      this.nextScheduledMs = context.world.nowMs + this.intervalMs;
    }
    await this.engine.runDue(context);
    return Math.min(this.nextScheduledMs, this.engine.nextAt());
  }

  report(): Record<string, unknown> {
    return this.engine.report('scheduled');
  }
}
