import * as z from 'zod';
import type { Config } from '../config/config.ts';
import type { ScalingPolicy } from '../core/policy.ts';
import { InvalidTaskInputError } from '../errors.ts';
import type { Log } from '../observability/logger.ts';
import type { MetricsRecorder } from '../observability/metrics.ts';
import type { CycleStarter } from '../ports/cycle-starter.ts';
import type { FleetPort } from '../ports/fleet.ts';
import type { GitHubPort } from '../ports/github.ts';
import type { RunnerConfigStore } from '../ports/runner-configs.ts';
import type { ScaleSetPort } from '../ports/scale-sets.ts';
import type { StateStore } from '../ports/state-store.ts';
import type { WebhookInbox } from '../ports/webhook-inbox.ts';
import type { WriteBudget } from '../ports/write-budget.ts';

/** What every handler gets: the config and the policy derived from it, a logger and the clock. */
export interface Essentials {
  readonly config: Config;
  readonly policy: ScalingPolicy;
  readonly log: Log;
  /** The only clock handlers read. */
  readonly now: () => Date;
  /** Waits until `at` on that clock (virtual time passes instead, locally and in the simulator). */
  readonly sleepUntil: (at: Date) => Promise<void>;
  /** What the cycle measured (observability/metrics.ts): CloudWatch metrics in Lambda, kept in memory elsewhere. */
  readonly metrics: MetricsRecorder;
}

/** The ports a handler may use, each defined by the scaler's needs (functions/ports/). */
export interface Ports {
  readonly github: GitHubPort;
  readonly fleet: FleetPort;
  readonly runnerConfigs: RunnerConfigStore;
  /** Memory across cycles: the governor's rotation and activity, leases, claims (DynamoDB in Lambda). */
  readonly stateStore: StateStore;
  /** The stack's GitHub write pacing: every registration and deletion takes a slot (ports/write-budget.ts). */
  readonly writeBudget: WriteBudget;
  /** Repositories webhook deliveries named, for the next cycle to scan (ports/webhook-inbox.ts). */
  readonly webhookInbox: WebhookInbox;
  /** GitHub's runner scale sets: the Actions service (ports/scale-sets.ts). */
  readonly scaleSets: ScaleSetPort;
  /** Starts a scaling cycle (the scale set listener does, when demand rises). */
  readonly cycleStarter: CycleStarter;
}

/**
 * Which port methods a handler calls, declared next to it: the Lambda entry point wires exactly these ports
 * (so its bundle holds only their adapters), the template grants exactly their IAM actions
 * (test/template.test.ts), and the handler's type lets it call nothing else.
 */
export type PortNeeds = { readonly [P in keyof Ports]?: readonly (keyof Ports[P] & string)[] };

/** What a handler that declared `needs` receives: the essentials and the declared methods of its ports. */
export type TaskDeps<N extends PortNeeds> = Essentials & {
  readonly [P in keyof N & keyof Ports]: Pick<Ports[P], Extract<NonNullable<N[P]>[number], keyof Ports[P]>>;
};

/** Everything at once: what local runs, the simulator and tests build, assignable to any {@link TaskDeps}. */
export type HandlerDeps = Essentials & Ports;

/** The per-execution context every task receives (built by the ASL's Configure state). */
export const cycleSchema = z.object({
  id: z.string().min(1).max(256),
  /**
   * The execution's own name (`$$.Execution.Name`): unlike the id, it tells apart two executions of the same
   * scheduled cycle (a duplicated delivery).
   */
  execution: z.string().min(1).max(256).optional(),
  /** The execution's start (`$$.Execution.StartTime`): the same on every retry of a task in this cycle. */
  startedAt: z.iso.datetime(),
  mapConcurrency: z.int().min(0).max(40),
});
export type Cycle = z.infer<typeof cycleSchema>;

const scheduledTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/;

/** The scheduled time of a scheduled cycle (the schedule passes it as the cycle id); undefined for any other. */
export function scheduledTimeOf(cycle: { readonly id: string }): Date | undefined {
  const scheduled = scheduledTime.test(cycle.id) ? new Date(cycle.id) : undefined;
  return scheduled && !Number.isNaN(scheduled.getTime()) ? scheduled : undefined;
}

/** Parse a task's input or throw {@link InvalidTaskInputError} naming every problem. */
export function parseTaskInput<S extends z.ZodType>(task: string, schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`,
  );
  throw new InvalidTaskInputError(`${task} received invalid input: ${problems.join('; ')}`);
}
