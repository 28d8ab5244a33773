/**
 * Records a cycle run on the embedded executor (functions/executor/cycle-runner.ts) as AWS records it: the `HistoryEvent`s
 * GetExecutionHistory returns for a STANDARD execution, and the execution log records an EXPRESS one writes to
 * CloudWatch Logs. The CLI's tests read these, so what they read came from a real run of the ASL with the real
 * handlers, not from a hand-written history.
 *
 * What AWS records, and this reproduces (checked against histories recorded on AWS: the API reference's
 * HistoryEvent, CloudWatch Logs' "Log levels" table, and LocalStack's snapshot tests recorded against AWS,
 * e.g. tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.snapshot.json, `…retry…`, `…map…`, and
 * …/logs/test_logs.snapshot.json):
 * - a Task whose Resource is a Lambda function ARN: `TaskStateEntered`, then per attempt
 *   `LambdaFunctionScheduled` (resource, input, timeoutInSeconds), `LambdaFunctionStarted`, and
 *   `LambdaFunctionSucceeded` (output) or `LambdaFunctionFailed` (error; cause = Lambda's error JSON) or
 *   `LambdaFunctionTimedOut` (States.Timeout); then `TaskStateExited`, also after a catch (its output the error
 *   at the catcher's ResultPath), but not when the failure ends the execution;
 * - a retry's `LambdaFunctionScheduled` follows the failure (previousEventId = the failed event);
 * - other states: `<Type>StateEntered` / `<Type>StateExited`; a Fail state only enters, `ExecutionFailed` follows;
 * - a Map: `MapStateEntered`, `MapStateStarted` (length), per iteration `MapIterationStarted` (previous: the
 *   MapStateStarted, or for an iteration that waited for a free slot the last event of the one that ended) and
 *   `MapIterationSucceeded` (name, index), its states chained from the iteration's start, then
 *   `MapStateSucceeded` and `MapStateExited`, both after the last iteration's end;
 * - ids count from 1, the first state entered has previousEventId 0, inputs and outputs are JSON text with
 *   `inputDetails`/`outputDetails: {truncated: false}`;
 * - a log record: `{id, type, details, previous_event_id, event_timestamp, execution_arn, redrive_count}`, the
 *   numbers as strings, `details` the history event's details.
 * Times: the run's own, plus the world's virtual time (registration pacing), plus the retry backoffs and Wait
 * seconds the embedded run skips (its waits take no time).
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { detailsField, type ExecutionLogRecord } from '../../functions/cli/execution-history.ts';
import type { CycleRunOptions, TraceEvent } from '../../functions/executor/cycle-runner.ts';

type LibEvent = NonNullable<TraceEvent>;
type Handler = (input: unknown) => Promise<unknown>;

interface Invocation {
  readonly task: string;
  readonly input: unknown;
  output?: unknown;
  error?: { readonly name: string; readonly message: string };
  /** The world's virtual time when the handler returned (registrations wait for write slots in it). */
  virtualEnd?: number;
}

export interface RecorderOptions {
  /** The Lambda function ARN each Task state invokes (the definition's substitution). */
  readonly functionArn: (task: string) => string;
  /** The state machine definition as run (for Task timeouts and Wait seconds). */
  readonly definition: Record<string, unknown>;
  /** Epoch milliseconds of the execution's start. */
  readonly startAt: number;
  /** The world's virtual clock, when the run has one. */
  readonly virtualNow?: () => number;
  readonly roleArn?: string;
}

export const fixtureRoleArn =
  'arn:aws:iam::123456789012:role/stepscale-ScalingCycleStateMachineRole-Q2ZbX7m1uY4N';

interface Sample {
  readonly event: LibEvent;
  readonly wall: number;
}

export class ExecutionRecorder {
  private readonly samples: Sample[] = [];
  private readonly invocations: Invocation[] = [];
  private readonly states: Map<string, StateDef>;
  private readonly virtualStart: number;

  constructor(private readonly options: RecorderOptions) {
    this.states = new Map(flattenStates(options.definition));
    this.virtualStart = options.virtualNow?.() ?? 0;
  }

  /** For runCycle's `wrapTask`: records each invocation's input and result or error. */
  readonly wrapTask: NonNullable<CycleRunOptions['wrapTask']> = (task, handler) => async (input) => {
    const invocation: Invocation = { task, input: roundTrip(input) };
    this.invocations.push(invocation);
    try {
      const output = await (handler as Handler)(input);
      invocation.output = roundTrip(output ?? null);
      return output;
    } catch (error) {
      const { name, message } = error as Error;
      invocation.error = { name: name ?? 'Error', message: message ?? String(error) };
      throw error;
    } finally {
      invocation.virtualEnd = this.options.virtualNow?.();
    }
  };

  /** For runCycle's `onEvent`. */
  readonly onEvent = (event: LibEvent): void => {
    this.samples.push({ event, wall: Date.now() });
  };

  /** The execution's history as GetExecutionHistory returns it (oldest first). */
  history(): HistoryEvent[] {
    const used = new Set<Invocation>();
    const out: HistoryEvent[] = [];
    const last = new Map<string, number>();
    const caught = new Set<string>();
    const enteredInput = new Map<string, unknown>();
    let mapStarted = 0;
    let lastIterationEnd = 0;
    let slotFreedBy = 0;
    let delay = 0;
    const first = this.samples[0];
    let latest = this.options.startAt;
    // Virtual time passes inside handlers: an event is as late as the last handler that returned before it.
    let virtual = this.virtualStart;
    const timeOf = (sample: Sample) => {
      latest = Math.max(
        latest,
        this.options.startAt + (sample.wall - (first?.wall ?? 0)) + (virtual - this.virtualStart) + delay,
      );
      return latest;
    };
    const emit = (type: string, previousEventId: number, at: number, details?: Record<string, unknown>) => {
      const id = out.length + 1;
      const event: Record<string, unknown> = { id, previousEventId, timestamp: new Date(at), type };
      if (details) event[detailsField(type)] = details;
      out.push(event as unknown as HistoryEvent);
      return id;
    };
    const key = (index: number | undefined) => (index === undefined ? 'top' : `iteration#${index}`);
    /** When each context's current attempt was scheduled: on entering the state, after a retry's backoff. */
    const attemptStart = new Map<string, number>();
    const attempt = (k: string, state: string, sample: Sample, index: number | undefined) => {
      const invocation = this.take(used, state, index === undefined ? undefined : enteredInput.get(k));
      if (invocation?.virtualEnd !== undefined) virtual = Math.max(virtual, invocation.virtualEnd);
      const at = timeOf(sample);
      const from = Math.min(attemptStart.get(k) ?? at, at);
      // Lambda starts the function a few milliseconds after Step Functions schedules it.
      const startedAt = Math.min(from + 12, at);
      const scheduled = emit('LambdaFunctionScheduled', last.get(k) ?? 0, from, {
        resource: this.options.functionArn(state),
        input: json(invocation?.input ?? null),
        inputDetails: { truncated: false },
        ...(this.states.get(state)?.TimeoutSeconds
          ? { timeoutInSeconds: this.states.get(state)?.TimeoutSeconds }
          : {}),
      });
      const started = emit('LambdaFunctionStarted', scheduled, startedAt);
      let end: number;
      if (invocation?.error?.name === 'States.Timeout')
        end = emit('LambdaFunctionTimedOut', started, at, { error: 'States.Timeout' });
      else if (invocation?.error)
        end = emit('LambdaFunctionFailed', started, at, {
          error: invocation.error.name,
          cause: lambdaErrorCause(invocation.error),
        });
      else
        end = emit('LambdaFunctionSucceeded', started, at, {
          output: json(invocation?.output ?? null),
          outputDetails: { truncated: false },
        });
      last.set(k, end);
    };

    for (const sample of this.inAwsOrder()) {
      const { event } = sample;
      // The embedded run takes no time in a Wait state; AWS waits its Seconds before the state exits.
      if (event.type === 'StateExited' && event.state.type === 'Wait')
        delay += (this.states.get(event.state.name)?.Seconds ?? 0) * 1000;
      const at = timeOf(sample);
      switch (event.type) {
        case 'ExecutionStarted':
          emit('ExecutionStarted', 0, at, {
            input: json(event.input),
            inputDetails: { truncated: false },
            roleArn: this.options.roleArn ?? fixtureRoleArn,
          });
          last.set('top', 0);
          break;
        case 'StateEntered': {
          const k = key(event.index);
          const { name, type, input } = event.state;
          enteredInput.set(k, input);
          attemptStart.set(k, at);
          caught.delete(k);
          const id = emit(`${type}StateEntered`, last.get(k) ?? 0, at, {
            input: json(input),
            inputDetails: { truncated: false },
            name,
          });
          last.set(k, id);
          if (type === 'Map') {
            const length = this.samples.filter(
              (s) => s.event.type === 'MapIterationStarted' && s.event.parentState.name === name,
            ).length;
            mapStarted = emit('MapStateStarted', id, at, { length });
            slotFreedBy = 0;
            last.set(k, mapStarted);
          }
          break;
        }
        case 'MapIterationStarted':
          // Iterations that start at once follow the MapStateStarted; one that waited for a free slot follows
          // the last event of the iteration that ended.
          last.set(
            key(event.index),
            emit('MapIterationStarted', slotFreedBy || mapStarted, at, {
              index: event.index,
              name: event.parentState.name,
            }),
          );
          break;
        case 'MapIterationSucceeded':
        case 'MapIterationFailed':
          slotFreedBy = last.get(key(event.index)) ?? mapStarted;
          lastIterationEnd = emit(event.type, slotFreedBy, at, {
            index: event.index,
            name: event.parentState.name,
          });
          break;
        case 'StateFailed':
          // A Fail state's failure is the execution's (ExecutionFailed); a Task's is a failed invocation.
          if (event.state.type === 'Task') attempt(key(event.index), event.state.name, sample, event.index);
          break;
        case 'StateRetried': {
          const retrier = event.retry.retrier as {
            IntervalSeconds?: number;
            BackoffRate?: number;
            MaxDelaySeconds?: number;
            JitterStrategy?: string;
          };
          const base =
            (retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** (event.retry.attempt - 1);
          const capped = Math.min(base, retrier.MaxDelaySeconds ?? Number.POSITIVE_INFINITY);
          // FULL jitter waits a random part of the delay; a fixed part keeps the recording reproducible.
          delay += Math.round(capped * (retrier.JitterStrategy === 'FULL' ? 0.6 : 1) * 1000);
          attemptStart.set(key(event.index), timeOf(sample));
          break;
        }
        case 'StateCaught':
          caught.add(key(event.index));
          break;
        case 'StateExited': {
          const k = key(event.index);
          const { name, type, output } = event.state;
          if (type === 'Task' && !caught.has(k)) attempt(k, name, sample, event.index);
          const at = timeOf(sample);
          caught.delete(k);
          if (type === 'Map') {
            emit('MapStateSucceeded', lastIterationEnd, at);
            last.set(
              k,
              emit('MapStateExited', lastIterationEnd, at, {
                name,
                output: json(output),
                outputDetails: { truncated: false },
              }),
            );
            break;
          }
          last.set(
            k,
            emit(`${type}StateExited`, last.get(k) ?? 0, at, {
              name,
              output: json(output),
              outputDetails: { truncated: false },
            }),
          );
          break;
        }
        case 'ExecutionSucceeded':
          emit('ExecutionSucceeded', last.get('top') ?? 0, at, {
            output: json(event.output),
            outputDetails: { truncated: false },
          });
          break;
        case 'ExecutionFailed':
          emit('ExecutionFailed', last.get('top') ?? 0, at, {
            error: event.Error,
            ...(event.Cause === undefined ? {} : { cause: String(event.Cause) }),
          });
          break;
        default:
          break;
      }
    }
    return out;
  }

  /** The same execution's EXPRESS log records (level ALL, execution data included). */
  logRecords(executionArn: string): ExecutionLogRecord[] {
    return this.history().map((event) => {
      const details = (event as unknown as Record<string, unknown>)[detailsField(String(event.type))];
      return {
        id: String(event.id),
        type: String(event.type),
        details: (details as Record<string, unknown> | undefined) ?? {},
        previous_event_id: String(event.previousEventId ?? 0),
        event_timestamp: String((event.timestamp as Date).getTime()),
        execution_arn: executionArn,
        redrive_count: '0',
      };
    });
  }

  /** The invocation an attempt of `task` made: the next one, or in a Map iteration the one with its input. */
  private take(used: Set<Invocation>, task: string, iterationInput: unknown): Invocation | undefined {
    const wanted = iterationInput === undefined ? undefined : JSON.stringify(iterationInput);
    const invocation = this.invocations.find(
      (candidate) =>
        !used.has(candidate) &&
        candidate.task === task &&
        (wanted === undefined || JSON.stringify(candidate.input) === wanted),
    );
    if (invocation) used.add(invocation);
    return invocation;
  }

  /**
   * The embedded executor starts the iteration that takes a free Map slot before it reports the end of the one
   * that freed it; AWS records the end first. An iteration that would run beyond the Map's concurrency is held
   * back, with its events, until an iteration ends.
   */
  private inAwsOrder(): Sample[] {
    const out: Sample[] = [];
    let limit = 0;
    let running = 0;
    const held: { index: number; samples: Sample[] }[] = [];
    const release = () => {
      const next = held.shift();
      if (!next) return;
      running += 1;
      out.push(...next.samples);
    };
    for (const sample of this.samples) {
      const { event } = sample;
      if (event.type === 'StateEntered' && event.state.type === 'Map') {
        limit = maxConcurrency(this.states.get(event.state.name), event.state.input);
        running = 0;
      }
      const index = 'index' in event ? event.index : undefined;
      const waiting = held.find((iteration) => iteration.index === index);
      if (waiting) {
        waiting.samples.push(sample);
        continue;
      }
      if (event.type === 'MapIterationStarted') {
        if (limit > 0 && running >= limit) {
          held.push({ index: event.index, samples: [sample] });
          continue;
        }
        running += 1;
      }
      out.push(sample);
      if (event.type === 'MapIterationSucceeded' || event.type === 'MapIterationFailed') {
        running -= 1;
        release();
      }
    }
    while (held.length > 0) release();
    return out;
  }
}

/** What the Node.js Lambda runtime reports for an error a handler threw. */
function lambdaErrorCause(error: { name: string; message: string }): string {
  return JSON.stringify({
    errorType: error.name,
    errorMessage: error.message,
    trace: [`${error.name}: ${error.message}`, '    at Runtime.handler (file:///var/task/index.mjs:2:1741)'],
  });
}

/**
 * The embedded run passes its virtual start time in the execution input (cycle-runner.ts reads it where AWS's
 * definition reads $$.Execution.StartTime); AWS's execution input has no such field, so the recording drops it.
 */
function json(value: unknown): string {
  if (value && typeof value === 'object' && 'cycleId' in value && 'startedAt' in value) {
    const { startedAt: _virtual, ...input } = value as Record<string, unknown>;
    return JSON.stringify(input);
  }
  return JSON.stringify(value ?? null);
}

function roundTrip(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? null));
}

type StateDef = {
  Type: string;
  TimeoutSeconds?: number;
  Seconds?: number;
  MaxConcurrency?: number;
  MaxConcurrencyPath?: string;
  ItemProcessor?: { States: States };
};

/** A Map's concurrency limit (0: none), from MaxConcurrency or a `$.a.b` MaxConcurrencyPath into its input. */
function maxConcurrency(state: StateDef | undefined, input: unknown): number {
  if (state?.MaxConcurrency !== undefined) return state.MaxConcurrency;
  if (!state?.MaxConcurrencyPath) return 0;
  let value: unknown = input;
  for (const part of state.MaxConcurrencyPath.replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean))
    value = (value as Record<string, unknown> | undefined)?.[part];
  return typeof value === 'number' ? value : 0;
}
type States = Record<string, StateDef>;

function flattenStates(definition: { States?: States }): [string, StateDef][] {
  return Object.entries(definition.States ?? {}).flatMap(([name, state]) => [
    [name, state] as [string, StateDef],
    ...(state.ItemProcessor ? flattenStates(state.ItemProcessor) : []),
  ]);
}
