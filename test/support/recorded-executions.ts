/**
 * The recorded executions (test/fixtures/executions/, from scripts/record-executions.ts) served the way Step
 * Functions and CloudWatch Logs serve them, on aws-sdk-client-mock mocks: pages no larger than AWS may return
 * (fewer than asked is allowed), `nextToken`, `reverseOrder`, and the few CloudWatch Logs filter patterns the
 * CLI sends — any other pattern fails the test rather than match by accident.
 */
import { readFile } from 'node:fs/promises';
import {
  type CloudWatchLogsClient,
  FilterLogEventsCommand,
  type FilterLogEventsCommandInput,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  type GetExecutionHistoryCommandInput,
  type HistoryEvent,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import type { ExecutionLogRecord } from '../../functions/cli/execution-history.ts';

export interface RecordedExecution {
  readonly file: string;
  readonly name: string;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly stateMachineArn: string;
  readonly logGroup: string;
  readonly standard: { readonly executionArn: string; readonly events: HistoryEvent[] };
  readonly express: { readonly executionArn: string; readonly records: ExecutionLogRecord[] };
}

/** Oldest first, as recorded: +0 s, +60 s (failed), +120 s, +480 s. */
export const recordedFiles = ['cycle-1.json', 'cycle-2-failed.json', 'cycle-3.json', 'cycle-4.json'] as const;

export async function loadRecorded(file: string): Promise<RecordedExecution> {
  const text = await readFile(new URL(`../fixtures/executions/${file}`, import.meta.url), 'utf8');
  const fixture = JSON.parse(text) as RecordedExecution;
  // The SDK hands out timestamps as Dates.
  for (const event of fixture.standard.events)
    event.timestamp = new Date(event.timestamp as unknown as string);
  return { ...fixture, file };
}

export const loadAllRecorded = () => Promise.all(recordedFiles.map(loadRecorded));

export const otherStackMachine =
  'arn:aws:states:us-east-1:123456789012:stateMachine:staging-ScalingCycleStateMachine-Zr8wq1PnT5cX';

/** The largest page the fakes return, whatever was asked: AWS may return fewer than maxResults. */
const pageSize = 25;

/**
 * Step Functions with our stack's state machine (as `type`) and a second stack's, and these executions.
 * `history` lets a test grow an execution's history between polls.
 */
export function serveStepFunctions(
  sfn: AwsClientStub<SFNClient>,
  options: {
    type: 'STANDARD' | 'EXPRESS';
    executions: readonly RecordedExecution[];
    history?: (executionArn: string, recorded: HistoryEvent[]) => HistoryEvent[];
    logging?: boolean;
  },
): void {
  const first = options.executions[0];
  const ours = first?.stateMachineArn ?? 'arn:aws:states:us-east-1:123456789012:stateMachine:none';
  sfn.on(ListStateMachinesCommand).resolves({
    stateMachines: [
      {
        stateMachineArn: otherStackMachine,
        name: 'staging-ScalingCycleStateMachine-Zr8wq1PnT5cX',
        type: options.type,
        creationDate: new Date('2025-12-01'),
      },
      {
        stateMachineArn: ours,
        name: ours.split(':').at(-1),
        type: options.type,
        creationDate: new Date('2025-12-02'),
      },
    ],
  });
  const logGroupArn = (group: string) => `arn:aws:logs:us-east-1:123456789012:log-group:${group}:*`;
  sfn.on(DescribeStateMachineCommand, { stateMachineArn: otherStackMachine }).resolves({
    stateMachineArn: otherStackMachine,
    name: 'staging-ScalingCycleStateMachine-Zr8wq1PnT5cX',
    type: options.type,
    loggingConfiguration: {
      level: 'ALL',
      includeExecutionData: true,
      destinations: [
        {
          cloudWatchLogsLogGroup: {
            logGroupArn: logGroupArn('/aws/vendedlogs/states/staging-scaling-cycle'),
          },
        },
      ],
    },
  });
  sfn.on(DescribeStateMachineCommand, { stateMachineArn: ours }).resolves({
    stateMachineArn: ours,
    name: ours.split(':').at(-1),
    type: options.type,
    loggingConfiguration:
      options.logging === false
        ? { level: 'OFF' }
        : {
            level: 'ALL',
            includeExecutionData: true,
            destinations: [{ cloudWatchLogsLogGroup: { logGroupArn: logGroupArn(first?.logGroup ?? '') } }],
          },
  });
  if (options.type === 'EXPRESS') return;
  const newestFirst = [...options.executions].reverse();
  sfn
    .on(ListExecutionsCommand, { stateMachineArn: ours })
    .callsFake((input: { maxResults?: number; nextToken?: string }) => {
      const from = Number(input.nextToken ?? 0);
      const size = Math.min(input.maxResults || 100, pageSize);
      const page = newestFirst.slice(from, from + size);
      return {
        executions: page.map((execution) => ({
          executionArn: execution.standard.executionArn,
          stateMachineArn: ours,
          name: execution.name,
          status: execution.status,
          startDate: execution.standard.events[0]?.timestamp,
          stopDate: execution.standard.events.at(-1)?.timestamp,
        })),
        ...(from + size < newestFirst.length ? { nextToken: String(from + size) } : {}),
      };
    });
  sfn.on(GetExecutionHistoryCommand).callsFake((input: GetExecutionHistoryCommandInput) => {
    const execution = options.executions.find(
      (candidate) => candidate.standard.executionArn === input.executionArn,
    );
    if (!execution)
      throw Object.assign(new Error(`Execution Does Not Exist: '${input.executionArn}'`), {
        name: 'ExecutionDoesNotExist',
      });
    const recorded = execution.standard.events;
    const events = options.history ? options.history(execution.standard.executionArn, recorded) : recorded;
    const ordered = input.reverseOrder ? [...events].reverse() : events;
    const from = Number(input.nextToken ?? 0);
    const size = Math.min(input.maxResults || 100, pageSize);
    return {
      events: ordered.slice(from, from + size),
      ...(from + size < ordered.length ? { nextToken: String(from + size) } : {}),
    };
  });
}

/**
 * CloudWatch Logs with these executions' log records in one log group, as FilterLogEvents returns them: matching
 * the filter pattern, within [startTime, endTime], in pages. `records` lets a test choose what has arrived.
 */
export function serveExecutionLog(
  logs: AwsClientStub<CloudWatchLogsClient>,
  options: {
    logGroup: string;
    records: () => readonly ExecutionLogRecord[];
  },
): void {
  logs.on(FilterLogEventsCommand).callsFake((input: FilterLogEventsCommandInput) => {
    if (input.logGroupName !== options.logGroup)
      throw Object.assign(new Error('The specified log group does not exist.'), {
        name: 'ResourceNotFoundException',
      });
    const matches = patternMatcher(input.filterPattern ?? '');
    const events = options
      .records()
      .filter((record) => {
        const at = Number(record.event_timestamp);
        return (
          (input.startTime === undefined || at >= input.startTime) &&
          (input.endTime === undefined || at <= input.endTime)
        );
      })
      .filter(matches)
      .sort((a, b) => Number(a.event_timestamp) - Number(b.event_timestamp))
      .map((record) => ({
        logStreamName: `states/${record.execution_arn.split(':')[6]}/2026-01-05-09-00/0f8e2c1a`,
        timestamp: Number(record.event_timestamp),
        message: JSON.stringify(record),
        ingestionTime: Number(record.event_timestamp) + 850,
        eventId: `${record.event_timestamp}${record.id.padStart(6, '0')}`,
      }));
    const from = Number(input.nextToken ?? 0);
    const size = 40;
    return {
      events: events.slice(from, from + size),
      ...(from + size < events.length ? { nextToken: String(from + size) } : {}),
    };
  });
}

/** The filter patterns the CLI sends: JSON equality on `type` (or-ed) or `execution_arn`, or one quoted term. */
function patternMatcher(pattern: string): (record: ExecutionLogRecord) => boolean {
  const term = /^"([^"]+)"$/.exec(pattern);
  if (term) return (record) => JSON.stringify(record).includes(term[1] as string);
  const arn = /^\{ \$\.execution_arn = "([^"]+)" \}$/.exec(pattern);
  if (arn) return (record) => record.execution_arn === arn[1];
  const types = /^\{ (\(\$\.type = "[A-Za-z]+"\)(?: \|\| \(\$\.type = "[A-Za-z]+"\))*) \}$/.exec(pattern);
  if (types) {
    const wanted = [...(types[1] as string).matchAll(/"([A-Za-z]+)"/g)].map((match) => match[1]);
    return (record) => wanted.includes(record.type);
  }
  throw new Error(`the fake CloudWatch Logs does not know the filter pattern ${pattern}`);
}
