/**
 * An execution's history on AWS, read as the trace formatter reads every source (observability/cycle-trace.ts).
 *
 * Two shapes of the same events: a STANDARD execution's `GetExecutionHistory` answers with `HistoryEvent`s
 * (`{id, previousEventId, timestamp, type, <type>EventDetails}`); an EXPRESS execution has no history in Step
 * Functions, only its execution log in CloudWatch Logs, one JSON record per event (`{id, type, details,
 * previous_event_id, event_timestamp, execution_arn, redrive_count}`: the ids and the timestamp as strings, the
 * details those of the history event). Inputs and outputs are JSON text in both.
 *
 * What the history does not say directly, and how it is read here:
 * - which Map iteration an event belongs to: an event follows its `previousEventId` to the state it continues;
 *   an iteration starts at its `MapIterationStarted` (name and index);
 * - retries and catches: a failed attempt (`LambdaFunctionFailed`, `…TimedOut`, `TaskFailed`, …) followed by
 *   another `…Scheduled` in the same state is a retry; followed by the state's `…StateExited`, a catch (the
 *   state the catcher went to is the next one entered there); followed by nothing, the end.
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import type { CycleEvent, StateRef } from '../observability/cycle-trace.ts';

/** One record of an EXPRESS execution log, as Step Functions writes it to CloudWatch Logs. */
export interface ExecutionLogRecord {
  readonly id: string;
  readonly type: string;
  readonly details?: Record<string, unknown>;
  readonly previous_event_id: string;
  readonly event_timestamp: string;
  readonly execution_arn: string;
  readonly redrive_count?: string;
}

/** A log event's message as an execution log record; undefined for anything else in the log group. */
export function parseLogRecord(message: string | undefined): ExecutionLogRecord | undefined {
  if (!message) return undefined;
  try {
    const record = JSON.parse(message) as Partial<ExecutionLogRecord>;
    if (typeof record.type !== 'string' || typeof record.execution_arn !== 'string') return undefined;
    if (record.id === undefined || record.event_timestamp === undefined) return undefined;
    return record as ExecutionLogRecord;
  } catch {
    return undefined;
  }
}

/** The `HistoryEvent` a log record stands for: the same details, under the field GetExecutionHistory uses. */
export function historyEventOf(record: ExecutionLogRecord): HistoryEvent {
  const event: Record<string, unknown> = {
    id: Number(record.id),
    previousEventId: Number(record.previous_event_id ?? 0),
    timestamp: new Date(Number(record.event_timestamp)),
    type: record.type,
  };
  if (record.details && Object.keys(record.details).length > 0)
    event[detailsField(record.type)] = record.details;
  return event as unknown as HistoryEvent;
}

/** `TaskStateEntered` → `stateEnteredEventDetails`, `LambdaFunctionFailed` → `lambdaFunctionFailedEventDetails`. */
export function detailsField(type: string): string {
  if (type.endsWith('StateEntered')) return 'stateEnteredEventDetails';
  if (type.endsWith('StateExited')) return 'stateExitedEventDetails';
  return `${type.charAt(0).toLowerCase()}${type.slice(1)}EventDetails`;
}

/** The details object of any history event, whatever its type. */
export function detailsOf(event: HistoryEvent): Record<string, unknown> {
  const field = detailsField(String(event.type));
  return ((event as unknown as Record<string, unknown>)[field] as Record<string, unknown> | undefined) ?? {};
}

/** Input or output text as JSON, or the text itself when it is not JSON. */
export function parseData(text: unknown): unknown {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * A failure's cause for a reader: Lambda reports `{"errorType", "errorMessage", "trace"}` as JSON (Node.js;
 * Python says `stackTrace`), of which the message is what matters.
 */
export function causeText(cause: unknown): string | undefined {
  if (cause === undefined || cause === null || cause === '') return undefined;
  const parsed = parseData(cause);
  if (parsed && typeof parsed === 'object' && 'errorMessage' in parsed) {
    const message = (parsed as { errorMessage?: unknown }).errorMessage;
    if (typeof message === 'string') return message;
  }
  return typeof cause === 'string' ? cause : JSON.stringify(cause);
}

const failedAttempt = new Set([
  'LambdaFunctionFailed',
  'LambdaFunctionTimedOut',
  'LambdaFunctionScheduleFailed',
  'LambdaFunctionStartFailed',
  'TaskFailed',
  'TaskTimedOut',
  'TaskStartFailed',
  'TaskSubmitFailed',
  'ActivityFailed',
  'ActivityTimedOut',
  'ActivityScheduleFailed',
]);
const scheduledAttempt = new Set(['LambdaFunctionScheduled', 'TaskScheduled', 'ActivityScheduled']);

/** Where events run: the top level, or one iteration of a Map state. */
interface Context {
  readonly index?: number;
  readonly parent?: Context;
  state?: StateRef;
  /** An attempt of the current state failed; what follows says whether it was retried, caught or the end. */
  failed: boolean;
  attempts: number;
  /** A caught state's catch and exit, held until the state the catcher went to is entered. */
  caught?: { caught: CycleEvent; exited: CycleEvent };
  /** The Fail state entered here, if any: the execution's failure is its failure. */
  failState?: StateRef;
}

/**
 * Turns history events, in id order, into trace events as they come (a running execution's history can be read
 * page by page, poll by poll). Events it has seen are skipped, so overlapping pages are harmless.
 */
export class HistoryTranslator {
  private readonly top: Context = { failed: false, attempts: 0 };
  private readonly contexts = new Map<number, Context>();
  private readonly iterations = new Map<string, Context>();
  /** Map states entered and not yet exited, innermost last: where their own events belong. */
  private readonly maps: { name: string; context: Context }[] = [];
  private lastId = 0;

  /** Everything seen so far ended the execution. */
  ended = false;

  push(events: readonly HistoryEvent[]): CycleEvent[] {
    const out: CycleEvent[] = [];
    for (const event of [...events].sort((a, b) => Number(a.id) - Number(b.id))) {
      const id = Number(event.id);
      if (id <= this.lastId) continue;
      this.lastId = id;
      this.translate(event, out);
    }
    return out;
  }

  /** The catches still waiting for the state they went to (the history ends, or was read only this far). */
  end(): CycleEvent[] {
    const out: CycleEvent[] = [];
    for (const context of [this.top, ...this.iterations.values()]) this.releaseCaught(context, out);
    return out;
  }

  private translate(event: HistoryEvent, out: CycleEvent[]): void {
    const type = String(event.type);
    const details = detailsOf(event);
    const timestamp = event.timestamp instanceof Date ? event.timestamp.getTime() : Number(event.timestamp);
    const context = this.contextOf(event, type, details);
    this.contexts.set(Number(event.id), context);
    const where = {
      timestamp,
      ...(context.index === undefined ? {} : { index: context.index }),
    };

    if (type === 'ExecutionStarted') {
      out.push({ type, timestamp, input: parseData(details.input) });
    } else if (type === 'ExecutionSucceeded') {
      this.endAll(out);
      out.push({ type, timestamp, output: parseData(details.output) });
    } else if (type === 'ExecutionFailed' || type === 'ExecutionTimedOut' || type === 'ExecutionAborted') {
      this.endAll(out);
      const error = typeof details.error === 'string' ? details.error : undefined;
      const cause = causeText(details.cause);
      const failState = this.top.failState;
      if (type === 'ExecutionFailed' && failState)
        out.push({
          type: 'StateFailed',
          timestamp,
          state: failState,
          error: error ?? failState.name,
          ...opt(cause),
        });
      out.push({ type, timestamp, ...(error ? { error } : {}), ...opt(cause) });
    } else if (type.endsWith('StateEntered')) {
      const state = { name: String(details.name), type: type.slice(0, -'StateEntered'.length) };
      this.releaseCaught(context, out, state.name);
      context.state = state;
      context.failed = false;
      context.attempts = 0;
      if (state.type === 'Fail') context.failState = state;
      if (state.type === 'Map') this.maps.push({ name: state.name, context });
      out.push({ type: 'StateEntered', ...where, state, input: parseData(details.input) });
    } else if (type.endsWith('StateExited')) {
      const state = { name: String(details.name), type: type.slice(0, -'StateExited'.length) };
      if (state.type === 'Map') this.closeMap(state.name);
      const exited: CycleEvent = { type: 'StateExited', ...where, state, output: parseData(details.output) };
      if (context.failed) {
        // The attempt failed and the state still exited: a catcher took it.
        context.failed = false;
        context.caught = { caught: { type: 'StateCaught', ...where, state }, exited };
      } else {
        out.push(exited);
      }
    } else if (scheduledAttempt.has(type)) {
      if (context.failed && context.state) {
        context.failed = false;
        context.attempts += 1;
        out.push({ type: 'StateRetried', ...where, state: context.state, attempt: context.attempts });
      }
    } else if (failedAttempt.has(type)) {
      context.failed = true;
      const error = typeof details.error === 'string' ? details.error : type;
      const state = context.state ?? { name: 'unknown', type: 'Task' };
      out.push({ type: 'StateFailed', ...where, state, error, ...opt(causeText(details.cause)) });
    } else if (type.startsWith('MapIteration')) {
      const map = { name: String(details.name), type: 'Map' };
      const index = Number(details.index);
      const iteration = this.iterations.get(`${map.name}#${index}`);
      if (type === 'MapIterationStarted') out.push({ type, timestamp, state: map, index });
      else if (type === 'MapIterationSucceeded') {
        if (iteration) this.releaseCaught(iteration, out);
        out.push({ type, timestamp, state: map, index });
      } else if (type === 'MapIterationFailed' || type === 'MapIterationAborted') {
        if (iteration) this.releaseCaught(iteration, out);
        out.push({ type: 'MapIterationFailed', timestamp, state: map, index });
      }
    }
    // MapStateStarted/Succeeded/Failed, …Started, …Succeeded say nothing the trace shows.
  }

  /** The context an event runs in; see the module header. */
  private contextOf(event: HistoryEvent, type: string, details: Record<string, unknown>): Context {
    if (type.startsWith('Execution')) return this.top;
    if (type.startsWith('MapIteration')) {
      const key = `${String(details.name)}#${Number(details.index)}`;
      const map = this.openMap(String(details.name));
      if (type === 'MapIterationStarted') {
        const iteration: Context = { index: Number(details.index), parent: map, failed: false, attempts: 0 };
        this.iterations.set(key, iteration);
        return iteration;
      }
      // An iteration's end belongs to the Map's level: what follows it is the Map's own, or the next iteration.
      return this.iterations.get(key)?.parent ?? map;
    }
    if (type === 'MapStateExited') return this.openMap(String(details.name));
    if (type.startsWith('MapState') && !type.endsWith('Entered'))
      return this.maps.at(-1)?.context ?? this.top;
    return this.contexts.get(Number(event.previousEventId ?? 0)) ?? this.top;
  }

  private openMap(name: string): Context {
    return this.maps.findLast((map) => map.name === name)?.context ?? this.top;
  }

  private closeMap(name: string): void {
    const index = this.maps.findLastIndex((map) => map.name === name);
    if (index >= 0) this.maps.splice(index, 1);
  }

  private releaseCaught(context: Context, out: CycleEvent[], next?: string): void {
    if (!context.caught) return;
    const { caught, exited } = context.caught;
    context.caught = undefined;
    out.push(next && caught.type === 'StateCaught' ? { ...caught, next } : caught, exited);
  }

  private endAll(out: CycleEvent[]): void {
    this.ended = true;
    for (const iteration of this.iterations.values()) this.releaseCaught(iteration, out);
  }
}

function opt(cause: string | undefined): { cause?: string } {
  return cause === undefined ? {} : { cause };
}

/** All of a history's events as trace events. */
export function translateHistory(events: readonly HistoryEvent[]): CycleEvent[] {
  const translator = new HistoryTranslator();
  return [...translator.push(events), ...translator.end()];
}

export type ExecutionStatus =
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'TIMED_OUT'
  | 'ABORTED'
  | 'PENDING_REDRIVE'
  /** EXPRESS only: no end record in the execution log although an Express execution has long ended. */
  | 'UNKNOWN';

/** How an execution went, read from its trace events. */
export interface ExecutionOutcome {
  readonly status: ExecutionStatus;
  readonly startedAt?: number;
  readonly stoppedAt?: number;
  readonly error?: string;
  readonly cause?: string;
  /**
   * The last whole state of the cycle seen: the execution's output, the input of the Fail state it ended in, or
   * the output of the last top-level state that exited (a running or timed-out execution).
   */
  readonly finalState?: unknown;
}

export function outcomeOf(events: readonly CycleEvent[]): ExecutionOutcome {
  let status: ExecutionStatus = 'RUNNING';
  let startedAt: number | undefined;
  let stoppedAt: number | undefined;
  let error: string | undefined;
  let cause: string | undefined;
  let finalState: unknown;
  for (const event of events) {
    switch (event.type) {
      case 'ExecutionStarted':
        startedAt = event.timestamp;
        break;
      case 'StateExited':
        if (event.index === undefined) finalState = event.output;
        break;
      case 'StateEntered':
        if (event.index === undefined && event.state.type === 'Fail') finalState = event.input;
        break;
      case 'ExecutionSucceeded':
        status = 'SUCCEEDED';
        stoppedAt = event.timestamp;
        if (event.output !== undefined) finalState = event.output;
        break;
      case 'ExecutionFailed':
      case 'ExecutionTimedOut':
      case 'ExecutionAborted':
        status =
          event.type === 'ExecutionFailed'
            ? 'FAILED'
            : event.type === 'ExecutionTimedOut'
              ? 'TIMED_OUT'
              : 'ABORTED';
        stoppedAt = event.timestamp;
        error = event.error;
        cause = event.cause;
        break;
      default:
        break;
    }
  }
  return {
    status,
    ...(startedAt === undefined ? {} : { startedAt }),
    ...(stoppedAt === undefined ? {} : { stoppedAt }),
    ...(error === undefined ? {} : { error }),
    ...(cause === undefined ? {} : { cause }),
    ...(finalState === undefined ? {} : { finalState }),
  };
}
