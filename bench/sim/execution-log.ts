/**
 * What one execution writes to CloudWatch Logs, modelled on the events AWS records (not on the embedded
 * executor's own events, which carry more). Step Functions logs each history event as one JSON record —
 * `id`, `type`, `details`, `previous_event_id`, `event_timestamp`, `execution_arn` — and with
 * IncludeExecutionData the details carry the state's input or output as an escaped JSON string:
 *
 * - ExecutionStarted (input), ExecutionSucceeded/Failed (output or error);
 * - every state: {Type}StateEntered (input) and {Type}StateExited (output) — not both on one record;
 * - a Lambda Task in addition: TaskScheduled (the parameters sent), TaskStarted, TaskSucceeded (the raw
 *   result) or TaskFailed (error, cause), once per attempt;
 * - a Map: MapStateStarted, per iteration MapIterationStarted and MapIterationSucceeded (index and name only),
 *   MapStateSucceeded — around its iterations' own state events.
 *
 * Level ALL logs all of them; ERROR only failures (TaskFailed, ExecutionFailed, …); OFF nothing
 * (docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html, "Log levels").
 */
import type { TraceEvent } from '../../functions/executor/cycle-runner.ts';

/** A record's fixed part: type, ids, timestamp and the execution ARN (an Express ARN with a long name). */
export const recordOverheadBytes = 330;

export interface ExecutionLogBytes {
  /** Level ALL with IncludeExecutionData. */
  readonly allWithData: number;
  /** Level ALL without execution data: the records, their details stripped of inputs and outputs. */
  readonly allWithoutData: number;
  /** Level ERROR with execution data: failure records only. */
  readonly errorOnly: number;
  /** The share of {@link allWithData} per state name (for finding what to slim). */
  readonly byState: Readonly<Record<string, number>>;
}

const escaped = (value: unknown): number =>
  value === undefined ? 0 : JSON.stringify(JSON.stringify(value) ?? 'null').length;

export class ExecutionLogMeter {
  private withData = 0;
  private withoutData = 0;
  private errors = 0;
  private readonly byState = new Map<string, number>();

  private add(state: string, dataBytes: number, options: { error?: boolean } = {}): void {
    this.withData += recordOverheadBytes + dataBytes;
    this.withoutData += recordOverheadBytes;
    if (options.error) this.errors += recordOverheadBytes + dataBytes;
    this.byState.set(state, (this.byState.get(state) ?? 0) + recordOverheadBytes + dataBytes);
  }

  /** One embedded-executor event, as the AWS records it stands for. */
  event(event: NonNullable<TraceEvent>): void {
    switch (event.type) {
      case 'ExecutionStarted':
        this.add('(execution)', escaped(event.input));
        return;
      case 'ExecutionSucceeded':
        this.add('(execution)', escaped(event.output));
        return;
      case 'ExecutionFailed':
        this.add('(execution)', escaped({ error: event.Error, cause: event.Cause }), { error: true });
        return;
      case 'StateEntered': {
        const { name, type, input } = event.state;
        this.add(name, escaped(input));
        if (type === 'Map') this.add(name, 0); // MapStateStarted
        if (type === 'Task') this.add(name, 0); // TaskStarted (TaskScheduled comes with the invocation)
        return;
      }
      case 'StateExited': {
        const { name, type, output } = event.state;
        this.add(name, escaped(output));
        if (type === 'Map') this.add(name, 0); // MapStateSucceeded
        return;
      }
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
        this.add(event.parentState.name, 0);
        return;
      case 'StateRetried':
        this.add(event.state.name, 0); // TaskStarted of the next attempt
        return;
      case 'StateFailed':
      case 'MapIterationFailed':
        this.add('(failures)', escaped({ error: 'error', cause: 'cause' }), { error: true });
        return;
      default:
        return;
    }
  }

  /** One Lambda invocation of a Task: TaskScheduled carries its parameters, TaskSucceeded its result. */
  invocation(task: string, input: unknown, output: unknown): void {
    this.add(task, escaped(input));
    this.add(task, escaped(output));
  }

  /** A failed invocation: TaskScheduled, then TaskFailed with the error and its cause. */
  failedInvocation(task: string, input: unknown, error: unknown): void {
    this.add(task, escaped(input));
    const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
    this.add(task, escaped({ error: name, cause: message }), { error: true });
  }

  bytes(): ExecutionLogBytes {
    return {
      allWithData: this.withData,
      allWithoutData: this.withoutData,
      errorOnly: this.errors,
      byState: Object.fromEntries(this.byState),
    };
  }
}
