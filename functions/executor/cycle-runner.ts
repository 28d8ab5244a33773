/**
 * Executes the real state machine definition on aws-local-stepfunctions, with every Task state
 * answered by the real handler in-process. Used by `npm start` and by the end-to-end tests.
 */
import './polyfills.ts';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { HandlerDeps } from '../handlers/deps.ts';
import { type TaskName, taskHandlers } from '../handlers/index.ts';
import type { CycleEvent } from '../observability/cycle-trace.ts';
import { loadDefinition } from '../statemachine-definition.ts';

export type TraceEvent = Awaited<ReturnType<ReturnType<StateMachine['run']>['eventLogs']['next']>>['value'];

export interface CycleRunOptions {
  readonly deps: HandlerDeps;
  readonly cycleId: string;
  /** The repositories a webhook-started cycle scans; by default none, as the schedule starts a cycle. */
  readonly targets?: {
    readonly repositories: readonly string[];
    /** A cycle the scale set listener started: the pools whose scale set statistics rose. */
    readonly scaleSets?: readonly string[];
  };
  /** The execution input as given (a manual start may omit the cycle id or targets); replaces the two above. */
  readonly input?: Record<string, unknown>;
  /** `$$.Execution.Name`; by default the cycle id and a number unique in this process, as AWS names each. */
  readonly executionName?: string;
  /** Overrides for the definition's numeric substitutions. */
  readonly mapConcurrency?: number;
  /** Wall-clock milliseconds for some Wait states (all take none by default: time is virtual). */
  readonly waitMs?: Readonly<Record<string, number>>;
  /** Runs before each Task's handler; the benchmark lets the world's virtual time pass there. */
  readonly beforeTask?: (task: TaskName, input: unknown) => void | Promise<void>;
  /** Replace a handler (fault injection in tests). */
  readonly wrapTask?: (
    task: TaskName,
    handler: (input: unknown) => Promise<unknown>,
  ) => (input: unknown) => Promise<unknown>;
  /** Receives every execution event as it happens. */
  readonly onEvent?: (event: NonNullable<TraceEvent>) => void;
}

/** How a cycle ended, and its events: the executor's own, or (local runs) as the trace reads them. */
export interface CycleRunResult<Event = NonNullable<TraceEvent>> {
  readonly status: 'SUCCEEDED' | 'FAILED';
  /** The execution output, or the last state output seen before a failure. */
  readonly output: Record<string, unknown>;
  readonly error?: { readonly name: string; readonly cause: unknown };
  readonly events: Event[];
}

const fakeArn = (task: string) => `arn:aws:lambda:us-east-1:123456789012:function:stepscale-${task}`;

interface LoadedMachine {
  readonly definition: Record<string, unknown>;
  readonly machine: StateMachine;
}

/**
 * One validated StateMachine per set of substitutions. Building one validates the definition, which takes
 * ~200 ms (asl-validator compiles its schemas each time); a simulation runs hundreds of cycles.
 */
const machines = new Map<string, Promise<LoadedMachine>>();

function loadMachine(substitutions: Record<string, string>): Promise<LoadedMachine> {
  const key = JSON.stringify(substitutions);
  let loaded = machines.get(key);
  if (!loaded) {
    loaded = loadDefinition(substitutions)
      .then(withVirtualStartTime)
      .then((definition) => ({
        definition,
        // The library mutates the definition it is given: it gets a copy.
        machine: new StateMachine(structuredClone(definition) as unknown as StateMachineDefinition, {
          validationOptions: { checkPaths: true, checkArn: true },
        }),
      }));
    loaded.catch(() => machines.delete(key));
    machines.set(key, loaded);
  }
  return loaded;
}

/**
 * aws-local-stepfunctions stamps `$$.Execution.StartTime` with the wall clock whatever context it is given,
 * while local runs and the simulator live in virtual time (and the cycle's registration deadline is counted
 * from its start). The one path that reads it is pointed at the execution input's `startedAt`, which
 * {@link runCycle} sets to the deps' clock: the same value AWS would put there.
 */
export function withVirtualStartTime(definition: Record<string, unknown>): Record<string, unknown> {
  const text = JSON.stringify(definition);
  if (!text.includes('"$$.Execution.StartTime"')) return definition;
  // A function, not a replacement string: in those `$$` stands for one `$`.
  return JSON.parse(text.replaceAll('"$$.Execution.StartTime"', () => '"$$.Execution.Input.startedAt"'));
}

/**
 * An embedded-executor event as the trace formatter (functions/observability/cycle-trace.ts) reads events from
 * any source; ParallelBranch events have no counterpart (the state machine has no Parallel state).
 */
export function toCycleEvent(event: NonNullable<TraceEvent>): CycleEvent | undefined {
  const { timestamp } = event;
  switch (event.type) {
    case 'ExecutionStarted':
      return { type: event.type, timestamp, input: event.input };
    case 'ExecutionSucceeded':
      return { type: event.type, timestamp, output: event.output };
    case 'ExecutionFailed':
      return { type: event.type, timestamp, error: event.Error, cause: causeText(event.Cause) };
    case 'ExecutionTerminated':
      return { type: 'ExecutionAborted', timestamp };
    case 'MapIterationStarted':
    case 'MapIterationSucceeded':
      return { type: event.type, timestamp, state: stateRef(event.parentState), index: event.index };
    case 'MapIterationFailed':
      return {
        type: event.type,
        timestamp,
        state: stateRef(event.parentState),
        index: event.index,
        error: event.Error,
      };
    case 'StateEntered':
      return { type: event.type, timestamp, ...where(event), input: event.state.input };
    case 'StateExited':
      return { type: event.type, timestamp, ...where(event), output: event.state.output };
    case 'StateFailed':
      return {
        type: event.type,
        timestamp,
        ...where(event),
        error: event.Error,
        cause: causeText(event.Cause),
      };
    case 'StateRetried':
      return { type: event.type, timestamp, ...where(event), attempt: event.retry.attempt };
    case 'StateCaught':
      return { type: event.type, timestamp, ...where(event), next: event.catch.catcher.Next };
    default:
      return undefined;
  }
}

function stateRef(state: { name: string; type: string }) {
  return { name: state.name, type: state.type };
}

function where(event: { state: { name: string; type: string }; index?: number }) {
  return { state: stateRef(event.state), ...(event.index === undefined ? {} : { index: event.index }) };
}

function causeText(cause: unknown): string | undefined {
  if (cause === undefined || cause === null) return undefined;
  return typeof cause === 'string' ? cause : cause instanceof Error ? cause.message : JSON.stringify(cause);
}

let executions = 0;

/** The scaling cycle's DefinitionSubstitutions: each Task's function ARN, and the Map's concurrency. */
export function cycleSubstitutions(
  arnOf: (task: TaskName) => string,
  mapConcurrency = 4,
): Record<string, string> {
  return {
    MapConcurrency: String(mapConcurrency),
    ...Object.fromEntries(
      (Object.keys(taskHandlers) as TaskName[]).map((task) => [`${task}FunctionArn`, arnOf(task)]),
    ),
  };
}

export async function runCycle(options: CycleRunOptions): Promise<CycleRunResult> {
  const { definition, machine } = await loadMachine(cycleSubstitutions(fakeArn, options.mapConcurrency));

  const localHandlers = Object.fromEntries(
    (Object.keys(taskHandlers) as TaskName[]).map((task) => {
      const real = taskHandlers[task](options.deps) as (input: unknown) => Promise<unknown>;
      const handler = options.wrapTask ? options.wrapTask(task, real) : real;
      return [
        task,
        async (input: unknown) => {
          await options.beforeTask?.(task, input);
          // A JSON round trip, as Lambda does: handlers must not depend on object identity or undefined fields.
          return JSON.parse(JSON.stringify((await handler(input)) ?? null));
        },
      ];
    }),
  );

  const startedAt = options.deps.now().toISOString();
  const execution = machine.run(
    {
      ...(options.input ?? { cycleId: options.cycleId, targets: options.targets ?? { repositories: [] } }),
      startedAt,
    },
    {
      overrides: {
        taskResourceLocalHandlers: localHandlers,
        // Virtual time: Waits and retry backoffs take no wall time locally.
        waitTimeOverrides: Object.fromEntries(
          waitStateNames(definition).map((name) => [name, options.waitMs?.[name] ?? 0]),
        ),
        retryIntervalOverrides: Object.fromEntries(retryableStateNames(definition).map((name) => [name, 0])),
      },
      context: {
        Execution: { Name: options.executionName ?? `${options.cycleId}-${++executions}` },
      },
    },
  );

  const events: NonNullable<TraceEvent>[] = [];
  let lastOutput: Record<string, unknown> = {};
  const consumeEvents = (async () => {
    for await (const event of execution.eventLogs) {
      events.push(event);
      if (event.type === 'StateExited' && event.index === undefined && isObject(event.state.output)) {
        lastOutput = event.state.output;
      }
      options.onEvent?.(event);
    }
  })();

  try {
    const output = await execution.result;
    await consumeEvents;
    return { status: 'SUCCEEDED', output: isObject(output) ? output : {}, events };
  } catch (error) {
    await consumeEvents.catch(() => undefined);
    const failed = events.find((event) => event.type === 'ExecutionFailed');
    const name = failed && 'Error' in failed ? failed.Error : (error as Error).name;
    const cause = failed && 'Cause' in failed ? failed.Cause : (error as Error).message;
    return { status: 'FAILED', output: lastOutput, error: { name, cause }, events };
  }
}

type States = Record<string, { Type: string; Retry?: unknown; ItemProcessor?: { States: States } }>;

function allStates(definition: { States?: States }): [string, States[string]][] {
  return Object.entries(definition.States ?? {}).flatMap(([name, state]) => [
    [name, state] as [string, States[string]],
    ...(state.ItemProcessor ? allStates(state.ItemProcessor) : []),
  ]);
}

function waitStateNames(definition: Record<string, unknown>): string[] {
  return allStates(definition as { States: States })
    .filter(([, s]) => s.Type === 'Wait')
    .map(([name]) => name);
}

function retryableStateNames(definition: Record<string, unknown>): string[] {
  return allStates(definition as { States: States })
    .filter(([, s]) => s.Retry)
    .map(([name]) => name);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
