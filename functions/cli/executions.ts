/**
 * Where a deployed stack's cycles are read from. The state machine is found from `--state-machine ARN`, or from
 * `--stack NAME` (default `stepscale`): the stack's state machine is the one whose execution log group is the one
 * template.yaml names, `/aws/vendedlogs/states/<stack>-scaling-cycle` — found with `ListStateMachines` and
 * `DescribeStateMachine`, so no CloudFormation access is needed. Its type decides where executions are:
 *
 * - STANDARD: `ListExecutions`, and each execution's `GetExecutionHistory`;
 * - EXPRESS: Step Functions keeps no history and `ListExecutions` does not list them; the execution log in
 *   CloudWatch Logs is the only record. `FilterLogEvents` with JSON filter patterns finds the executions' start
 *   and end records and, for one execution, all of its records. Log delivery is best effort and takes seconds.
 */
import { type CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { StepscaleError } from '../errors.ts';
import {
  detailsOf,
  type ExecutionLogRecord,
  type ExecutionOutcome,
  type ExecutionStatus,
  historyEventOf,
  outcomeOf,
  parseData,
  parseLogRecord,
  translateHistory,
} from './execution-history.ts';

/** No state machine, execution or execution log where the CLI was told to look. */
export class ExecutionNotFoundError extends StepscaleError {
  override readonly name = 'ExecutionNotFoundError';
}

export interface StateMachine {
  readonly arn: string;
  readonly name: string;
  readonly type: 'STANDARD' | 'EXPRESS';
  /** The execution log group (required for EXPRESS), from the logging configuration or `--log-group`. */
  readonly logGroup?: string;
}

export interface Locator {
  readonly stateMachine?: string;
  readonly stack?: string;
  readonly logGroup?: string;
}

/** template.yaml's execution log group of a stack. */
export const stackLogGroup = (stack: string) => `/aws/vendedlogs/states/${stack}-scaling-cycle`;

export async function findStateMachine(sfn: SFNClient, locator: Locator): Promise<StateMachine> {
  if (locator.stateMachine) return describe(sfn, locator.stateMachine, locator.logGroup);
  const stack = locator.stack ?? 'stepscale';
  const wanted = stackLogGroup(stack);
  const candidates: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListStateMachinesCommand({ maxResults: 1000, nextToken }));
    for (const machine of page.stateMachines ?? []) {
      // CloudFormation names it after the template's logical id, with or without the stack name in front.
      if (machine.stateMachineArn && machine.name?.includes('ScalingCycleStateMachine'))
        candidates.push(machine.stateMachineArn);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  for (const arn of candidates) {
    const machine = await describe(sfn, arn, locator.logGroup);
    if (machine.logGroup === wanted || (locator.logGroup && candidates.length === 1)) return machine;
  }
  throw new ExecutionNotFoundError(
    `no state machine of stack "${stack}" (one logging to ${wanted}) among ${candidates.length} ScalingCycleStateMachine(s); pass --stack NAME or --state-machine ARN`,
  );
}

async function describe(sfn: SFNClient, arn: string, logGroup: string | undefined): Promise<StateMachine> {
  const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
  const destination = described.loggingConfiguration?.destinations?.[0]?.cloudWatchLogsLogGroup?.logGroupArn;
  const group = logGroup ?? (destination ? logGroupName(destination) : undefined);
  return {
    arn,
    name: described.name ?? arn.split(':').at(-1) ?? arn,
    type: described.type === 'EXPRESS' ? 'EXPRESS' : 'STANDARD',
    ...(group ? { logGroup: group } : {}),
  };
}

/** `arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/x:*` → `/aws/vendedlogs/states/x`. */
export function logGroupName(arn: string): string {
  const name = arn.split(':log-group:')[1] ?? arn;
  return name.endsWith(':*') ? name.slice(0, -2) : name;
}

/** Execution ARNs name their kind: `…:execution:<machine>:<name>` or `…:express:<machine>:<name>:<id>`. */
export function executionKind(arn: string): 'STANDARD' | 'EXPRESS' | undefined {
  const parts = arn.split(':');
  return parts[5] === 'execution' ? 'STANDARD' : parts[5] === 'express' ? 'EXPRESS' : undefined;
}

/** The state machine an execution ARN belongs to. */
export function stateMachineOf(executionArn: string): string {
  const parts = executionArn.split(':');
  return [...parts.slice(0, 5), 'stateMachine', parts[6]].join(':');
}

export function executionName(executionArn: string): string {
  return executionArn.split(':')[7] ?? executionArn;
}

/** A recent execution: what the list knows, and the cycle's state when it ended (or as far as it got). */
export interface RecentExecution extends ExecutionOutcome {
  readonly executionArn: string;
  readonly name: string;
  readonly input?: unknown;
}

export interface ExecutionSource {
  /** The newest executions, newest first. */
  recent(count: number): Promise<RecentExecution[]>;
  /** One execution's whole history, oldest first. */
  history(executionArn: string): Promise<HistoryEvent[]>;
  /** The newest execution's ARN, if any. */
  latest(): Promise<string | undefined>;
}

/** Every event of an execution's history (Standard, or Step Functions Local), with its data, all pages. */
export async function executionHistory(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn,
        maxResults: 1000,
        includeExecutionData: true,
        nextToken,
      }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

export function standardExecutions(sfn: SFNClient, stateMachineArn: string): ExecutionSource {
  const history = (executionArn: string) => executionHistory(sfn, executionArn);
  return {
    history,
    async latest() {
      const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1 }));
      return page.executions?.[0]?.executionArn;
    },
    async recent(count) {
      const listed: { executionArn: string; name: string; status: string; start?: Date; stop?: Date }[] = [];
      let nextToken: string | undefined;
      do {
        const page = await sfn.send(
          new ListExecutionsCommand({ stateMachineArn, maxResults: Math.min(count, 1000), nextToken }),
        );
        for (const execution of page.executions ?? []) {
          if (listed.length >= count || !execution.executionArn) continue;
          listed.push({
            executionArn: execution.executionArn,
            name: execution.name ?? executionName(execution.executionArn),
            status: String(execution.status),
            ...(execution.startDate ? { start: execution.startDate } : {}),
            ...(execution.stopDate ? { stop: execution.stopDate } : {}),
          });
        }
        nextToken = listed.length < count ? page.nextToken : undefined;
      } while (nextToken);
      const recent: RecentExecution[] = [];
      for (const execution of listed) {
        const outcome =
          (await lastEvents(sfn, execution.executionArn)) ??
          outcomeOf(translateHistory(await history(execution.executionArn)));
        recent.push({
          ...outcome,
          executionArn: execution.executionArn,
          name: execution.name,
          status: execution.status as ExecutionStatus,
          ...(execution.start ? { startedAt: execution.start.getTime() } : {}),
          ...(execution.stop ? { stoppedAt: execution.stop.getTime() } : {}),
        });
      }
      return recent;
    },
  };
}

/**
 * How an execution ended, from the last few events of its history: the output it succeeded with, or the
 * failure and the input of the Fail state it ended in. Undefined when those are not among them (running, timed
 * out, failed without a Fail state): then the whole history says it.
 */
async function lastEvents(sfn: SFNClient, executionArn: string): Promise<ExecutionOutcome | undefined> {
  const page = await sfn.send(
    new GetExecutionHistoryCommand({
      executionArn,
      reverseOrder: true,
      maxResults: 10,
      includeExecutionData: true,
    }),
  );
  const events = page.events ?? [];
  const succeeded = events.find((event) => event.type === 'ExecutionSucceeded');
  if (succeeded) return { status: 'SUCCEEDED', finalState: parseData(detailsOf(succeeded).output) };
  const failed = events.find((event) => event.type === 'ExecutionFailed');
  const failState = events.find((event) => event.type === 'FailStateEntered');
  if (!failed || !failState) return undefined;
  const details = detailsOf(failed);
  return {
    status: 'FAILED',
    ...(typeof details.error === 'string' ? { error: details.error } : {}),
    ...(typeof details.cause === 'string' ? { cause: details.cause } : {}),
    finalState: parseData(detailsOf(failState).input),
  };
}

/** How far back the execution log is searched when no window is given: widened until enough is found. */
export const searchWindowsMs = [15 * 60_000, 3 * 3_600_000, 24 * 3_600_000, 7 * 24 * 3_600_000];

/** Express executions run 5 minutes at most; a minute more for the log to deliver the last records. */
const expressLimitMs = 6 * 60_000;

const endTypes = ['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionTimedOut', 'ExecutionAborted'];

/** A JSON filter pattern matching records of any of these types. */
export function typePattern(types: readonly string[]): string {
  return `{ ${types.map((type) => `($.type = "${type}")`).join(' || ')} }`;
}

export interface ExpressOptions {
  readonly logGroup: string;
  readonly now: () => Date;
  /** Search only this far back (default: widening {@link searchWindowsMs}). */
  readonly sinceMs?: number;
}

export function expressExecutions(logs: CloudWatchLogsClient, options: ExpressOptions): ExecutionSource {
  const windows = options.sinceMs ? [options.sinceMs] : searchWindowsMs;
  const filter = (filterPattern: string, startTime: number) =>
    filterLogRecords(
      logs,
      { logGroupName: options.logGroup, filterPattern, startTime, endTime: () => options.now().getTime() },
      500,
    );
  const history = async (executionArn: string) => {
    for (const window of windows) {
      const records = await filter(
        `{ $.execution_arn = "${executionArn}" }`,
        options.now().getTime() - window,
      );
      if (records.length > 0) return toHistory(records);
    }
    throw new ExecutionNotFoundError(
      `no records of ${executionArn} in ${options.logGroup} (searched back ${hours(windows.at(-1) ?? 0)}; log delivery takes seconds, and the log group's retention bounds how far back it goes)`,
    );
  };
  const started = async (count: number) => {
    let found: ExecutionLogRecord[] = [];
    for (const window of windows) {
      found = await filter(typePattern(['ExecutionStarted']), options.now().getTime() - window);
      if (found.length >= count) break;
    }
    return {
      records: found.sort((a, b) => Number(b.event_timestamp) - Number(a.event_timestamp)).slice(0, count),
    };
  };
  return {
    history,
    async latest() {
      const { records } = await started(1);
      return records[0]?.execution_arn;
    },
    async recent(count) {
      const { records: starts } = await started(count);
      if (starts.length === 0) return [];
      const from = Math.min(...starts.map((record) => Number(record.event_timestamp)));
      const ends = await filter(typePattern([...endTypes, 'FailStateEntered']), from);
      const recent: RecentExecution[] = [];
      for (const start of starts) {
        const own = ends.filter((record) => record.execution_arn === start.execution_arn);
        let outcome = outcomeOf(translateHistory(toHistory([start, ...own])));
        const ended = own.some((record) => endTypes.includes(record.type));
        if (!ended || outcome.finalState === undefined) {
          // Running, timed out or failed without a Fail state: its own records say how far it got.
          outcome = outcomeOf(translateHistory(await history(start.execution_arn)));
        }
        // An Express execution lasts 5 minutes at most: without an end record by then, the log lost it.
        const lost =
          outcome.status === 'RUNNING' &&
          options.now().getTime() - Number(start.event_timestamp) > expressLimitMs;
        recent.push({
          ...outcome,
          ...(lost ? { status: 'UNKNOWN' as const } : {}),
          executionArn: start.execution_arn,
          name: executionName(start.execution_arn),
          input: parseData(start.details?.input),
          startedAt: Number(start.event_timestamp),
        });
      }
      return recent;
    },
  };
}

export interface LogRecordQuery {
  readonly logGroupName: string;
  readonly filterPattern: string;
  readonly startTime: number;
  /** Asked again for every page: the window ends at the clock's time when that page is read. */
  readonly endTime: () => number;
}

/**
 * The execution log records `FilterLogEvents` finds, page after page up to `maxPages`; log lines that are not
 * execution records are passed over.
 */
export async function filterLogRecords(
  logs: CloudWatchLogsClient,
  query: LogRecordQuery,
  maxPages: number,
): Promise<ExecutionLogRecord[]> {
  const records: ExecutionLogRecord[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  do {
    const page = await logs.send(
      new FilterLogEventsCommand({
        logGroupName: query.logGroupName,
        filterPattern: query.filterPattern,
        startTime: query.startTime,
        endTime: query.endTime(),
        nextToken,
      }),
    );
    for (const event of page.events ?? []) {
      const record = parseLogRecord(event.message);
      if (record) records.push(record);
    }
    nextToken = page.nextToken;
    pages += 1;
  } while (nextToken && pages < maxPages);
  return records;
}

function toHistory(records: readonly ExecutionLogRecord[]): HistoryEvent[] {
  const byId = new Map(records.map((record) => [Number(record.id), record]));
  return [...byId.values()].sort((a, b) => Number(a.id) - Number(b.id)).map(historyEventOf);
}

function hours(ms: number): string {
  return ms >= 24 * 3_600_000 ? `${ms / (24 * 3_600_000)} days` : `${ms / 3_600_000} hours`;
}
