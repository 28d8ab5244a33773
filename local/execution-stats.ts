/**
 * What a cycle costs in Step Functions terms, read from the embedded executor's events: the largest state
 * input or output (AWS refuses more than 256 KiB) and the history events a STANDARD execution would record
 * (capped at 25,000).
 *
 * History events per AWS's model: a Task state is entered, its Lambda scheduled, started and finished, and it
 * exits (5), each retry adds a scheduled/started/failed triple (3); Pass/Choice/Wait/Succeed/Fail states enter and
 * exit (2); a Map state enters, starts, succeeds and exits (4), and each of its iterations starts and ends (2)
 * around its own states; the execution starts and ends (2). A successful Map iteration with one Task is
 * therefore 7 events.
 */
import type { TraceEvent } from '../functions/executor/cycle-runner.ts';

type Event = NonNullable<TraceEvent>;

export interface ExecutionStats {
  /** Bytes of the largest JSON state input or output. */
  readonly largestPayloadBytes: number;
  /** Which state, and whether it was its input or output. */
  readonly largestPayloadAt: string;
  /** Estimated events in a STANDARD execution's history. */
  readonly standardHistoryEvents: number;
  readonly mapIterations: number;
}

/** Step Functions' limits. */
export const maxPayloadBytes = 256 * 1024;
export const maxStandardHistoryEvents = 25_000;

export function executionStats(events: readonly Event[]): ExecutionStats {
  let largestPayloadBytes = 0;
  let largestPayloadAt = '';
  let historyEvents = 0;
  let mapIterations = 0;
  const measure = (value: unknown, at: string) => {
    const bytes = Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
    if (bytes > largestPayloadBytes) {
      largestPayloadBytes = bytes;
      largestPayloadAt = at;
    }
  };
  for (const event of events) {
    switch (event.type) {
      case 'ExecutionStarted':
      case 'ExecutionSucceeded':
      case 'ExecutionFailed':
      case 'ExecutionTerminated':
        historyEvents += 1;
        break;
      case 'StateEntered': {
        const where = `${event.state.name}${event.index === undefined ? '' : `[${event.index}]`}`;
        measure(event.state.input, `${where} input`);
        historyEvents += event.state.type === 'Task' ? 4 : event.state.type === 'Map' ? 2 : 1;
        break;
      }
      case 'StateExited': {
        const where = `${event.state.name}${event.index === undefined ? '' : `[${event.index}]`}`;
        measure(event.state.output, `${where} output`);
        historyEvents += event.state.type === 'Map' ? 2 : 1;
        break;
      }
      case 'StateRetried':
        historyEvents += 3;
        break;
      case 'MapIterationStarted':
        mapIterations += 1;
        historyEvents += 1;
        break;
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
        historyEvents += 1;
        break;
      default:
        break;
    }
  }
  return { largestPayloadBytes, largestPayloadAt, standardHistoryEvents: historyEvents, mapIterations };
}
