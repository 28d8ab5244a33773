import { z } from 'zod';
import type { Config } from '../config/config.ts';
import type { ScalingPolicy } from '../core/policy.ts';
import { InvalidTaskInputError } from '../errors.ts';
import type { Log } from '../observability/logger.ts';
import type { FleetPort } from '../ports/fleet.ts';
import type { GitHubPort } from '../ports/github.ts';
import type { RunnerConfigStore } from '../ports/runner-configs.ts';
import type { StateStore } from '../ports/state-store.ts';
import type { WriteBudget } from '../ports/write-budget.ts';

/** Everything a handler may touch, injected so the same handlers run in Lambda, locally and in tests. */
export interface HandlerDeps {
  readonly config: Config;
  readonly policy: ScalingPolicy;
  readonly github: GitHubPort;
  readonly fleet: FleetPort;
  readonly runnerConfigs: RunnerConfigStore;
  /** Memory across cycles: the governor's rotation and activity (DynamoDB in Lambda, memory locally). */
  readonly stateStore: StateStore;
  /** The stack's GitHub write pacing: every registration and deletion takes a slot (ports/write-budget.ts). */
  readonly writeBudget: WriteBudget;
  readonly log: Log;
  /** The only clock handlers read. */
  readonly now: () => Date;
  /** Waits until `at` on that clock (virtual time passes instead, locally and in the simulator). */
  readonly sleepUntil: (at: Date) => Promise<void>;
}

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

/** Parse a task's input or throw {@link InvalidTaskInputError} naming every problem. */
export function parseTaskInput<S extends z.ZodType>(task: string, schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`,
  );
  throw new InvalidTaskInputError(`${task} received invalid input: ${problems.join('; ')}`);
}
