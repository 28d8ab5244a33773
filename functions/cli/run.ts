/**
 * `stepscale run [--wait]`: starts a scaling cycle now with the input the schedule passes
 * (`{"cycleId": "manual-<time>", "targets": {"repositories": []}}`), and with `--wait` follows it state by state.
 *
 * - STANDARD: `StartExecution`, then `GetExecutionHistory` every 2 s, each new event traced as it comes.
 * - EXPRESS: asynchronous Express executions cannot be described or listed, so `--wait` starts it with
 *   `StartSyncExecution` (at most once, and it answers with the result), and meanwhile tails the execution log
 *   (`FilterLogEvents` on the execution's name) for the progress. Without `--wait`, `StartExecution`.
 */
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import {
  SFNClient,
  StartExecutionCommand,
  StartSyncExecutionCommand,
  type StartSyncExecutionCommandOutput,
} from '@aws-sdk/client-sfn';
import type { CycleEvent } from '../observability/cycle-trace.ts';
import { TraceFormatter } from '../observability/cycle-trace.ts';
import { type CliIo, type Command, nowFor, parseCommandArgs, sleepFor } from './command.ts';
import { renderOutcome, summarizeCycle } from './cycle-summary.ts';
import { locatorOf, locatorOptions, locatorUsage } from './cycles.ts';
import {
  causeText,
  type ExecutionLogRecord,
  type ExecutionStatus,
  HistoryTranslator,
  historyEventOf,
  outcomeOf,
  parseData,
} from './execution-history.ts';
import { filterLogRecords, findStateMachine, type StateMachine, standardExecutions } from './executions.ts';
import { summaryOf } from './trace.ts';

const usage = `Usage: stepscale run [--wait] [--json] [--stack NAME | --state-machine ARN]

  Starts a scaling cycle now, with the input the schedule passes:
  {"cycleId": "manual-<ISO time>", "targets": {"repositories": []}}.

  --wait                   follow it state by state to its end (exit 1 if the cycle fails); on an EXPRESS
                           state machine it is started synchronously (StartSyncExecution) and its progress
                           read from the execution log
${locatorUsage}
  --json                   print one JSON object (the started execution, or with --wait the cycle's summary)
  --help                   show this help`;

/** How often a running execution is polled, and for how long at most (the cycle times out at 90 s). */
export const pollMs = 2000;
const maxPolls = 300;
/** After a synchronous Express execution answered, its last log records may still be on their way. */
const logGracePolls = 10;

export const runCommand: Command = {
  synopsis: 'stepscale run [--wait]',
  summary: 'start a cycle now and follow it to its end',
  usage,
  async run(args, io) {
    const { values } = parseCommandArgs(
      args,
      {
        ...locatorOptions,
        wait: { type: 'boolean' },
        json: { type: 'boolean' },
      },
      usage,
    );
    const sfn = new SFNClient({});
    const machine = await findStateMachine(sfn, locatorOf(values));
    const now = nowFor(io)();
    const start = {
      stateMachineArn: machine.arn,
      // Execution names may not contain ':'.
      name: `manual-${now.toISOString().replace(/[:.]/g, '-')}`,
      input: JSON.stringify({ cycleId: `manual-${now.toISOString()}`, targets: { repositories: [] } }),
    };
    const json = Boolean(values.json);
    const print = (line: string) => {
      if (!json) io.stdout(`${line}\n`);
    };

    if (!values.wait || machine.type === 'STANDARD') {
      const started = await sfn.send(new StartExecutionCommand(start));
      const executionArn = started.executionArn ?? '';
      if (!values.wait) {
        if (json)
          io.stdout(`${JSON.stringify({ executionArn, name: start.name, startDate: started.startDate })}\n`);
        print(`Started ${start.name} on ${machine.name} (${machine.type}):\n  ${executionArn}`);
        print(
          machine.type === 'EXPRESS'
            ? `Its trace, once its records reach ${machine.logGroup ?? 'the execution log'} (seconds): stepscale trace ${executionArn}`
            : `Its trace: stepscale trace ${executionArn}`,
        );
        return 0;
      }
      print(`Started ${start.name} on ${machine.name} (STANDARD), following it:\n  ${executionArn}\n`);
      return followStandard(sfn, machine, executionArn, io, json);
    }
    return followExpress(sfn, machine, start, io, json);
  },
};

async function followStandard(
  sfn: SFNClient,
  machine: StateMachine,
  executionArn: string,
  io: CliIo,
  json: boolean,
): Promise<number> {
  const source = standardExecutions(sfn, machine.arn);
  const translator = new HistoryTranslator();
  const trace = tracer(io, json);
  for (let poll = 0; !translator.ended; poll++) {
    if (poll > 0) await sleepFor(io)(pollMs);
    trace.add(translator.push(await source.history(executionArn)));
    if (poll >= maxPolls && !translator.ended) {
      io.stderr(
        `stepscale: ${executionArn} is still running; stepscale trace ${executionArn} shows it later\n`,
      );
      return 1;
    }
  }
  trace.add(translator.end());
  return trace.finish(summaryOf(executionArn, trace.events));
}

async function followExpress(
  sfn: SFNClient,
  machine: StateMachine,
  start: { stateMachineArn: string; name: string; input: string },
  io: CliIo,
  json: boolean,
): Promise<number> {
  const startedAt = nowFor(io)().getTime();
  const trace = tracer(io, json);
  if (!json)
    io.stdout(
      `Started ${start.name} on ${machine.name} (EXPRESS, synchronously)${machine.logGroup ? `, following its execution log ${machine.logGroup}` : ''}\n\n`,
    );
  if (!machine.logGroup && !json)
    io.stdout('  (no execution log group: no progress until it ends; pass --log-group NAME to follow it)\n');

  let answer: StartSyncExecutionCommandOutput | undefined;
  let failure: unknown;
  const done = sfn.send(new StartSyncExecutionCommand(start)).then(
    (output) => {
      answer = output;
    },
    (error: unknown) => {
      failure = error ?? new Error('StartSyncExecution failed');
    },
  );
  const settled = () => answer !== undefined || failure !== undefined;

  const logs = machine.logGroup ? new CloudWatchLogsClient({}) : undefined;
  const translator = new HistoryTranslator();
  const records = new Map<number, ExecutionLogRecord>();
  let fed = 0;
  let grace = logGracePolls;
  for (let poll = 0; logs && machine.logGroup && !translator.ended; poll++) {
    // Until it answers, a poll ends early when it does; then the last records get their time to arrive.
    if (poll > 0) await (settled() ? sleepFor(io)(pollMs) : Promise.race([sleepFor(io)(pollMs), done]));
    if (settled() && grace-- <= 0) break;
    for (const record of await tail(logs, machine.logGroup, start.name, startedAt, io))
      records.set(Number(record.id), record);
    // Records arrive out of order; the trace takes them in order, without gaps.
    const next: ExecutionLogRecord[] = [];
    while (records.has(fed + 1)) next.push(records.get(++fed) as ExecutionLogRecord);
    trace.add(translator.push(next.map(historyEventOf)));
    if (poll >= maxPolls) break;
  }
  await done;
  if (failure) throw failure;
  // Whatever arrived after a gap that never filled.
  trace.add(
    translator.push([...records.values()].filter((record) => Number(record.id) > fed).map(historyEventOf)),
  );
  trace.add(translator.end());

  const result = answer as StartSyncExecutionCommandOutput;
  const executionArn = result.executionArn ?? [...records.values()][0]?.execution_arn ?? start.name;
  const outcome = outcomeOf(trace.events);
  const status = (result.status ?? outcome.status) as ExecutionStatus;
  const summary = summarizeCycle(
    {
      executionArn,
      name: result.name ?? start.name,
      status,
      ...(result.startDate ? { startedAt: result.startDate.getTime() } : {}),
      ...(result.stopDate ? { stoppedAt: result.stopDate.getTime() } : {}),
      ...(result.error ? { error: result.error } : {}),
      ...(result.cause ? { cause: causeText(result.cause) ?? result.cause } : {}),
      input: parseData(start.input),
    },
    result.output ? parseData(result.output) : outcome.finalState,
  );
  return trace.finish(summary);
}

/** The execution's log records so far, found by its name (the ARN is known only once it ends). */
async function tail(
  logs: CloudWatchLogsClient,
  logGroupName: string,
  name: string,
  startedAt: number,
  io: CliIo,
): Promise<ExecutionLogRecord[]> {
  const found = await filterLogRecords(
    logs,
    {
      logGroupName,
      filterPattern: `"${name}"`,
      startTime: startedAt - 60_000,
      endTime: () => nowFor(io)().getTime() + 60_000,
    },
    50,
  );
  return found.filter((record) => record.execution_arn.includes(`:${name}:`));
}

/** Prints trace lines as events come, and the outcome at the end. */
function tracer(io: CliIo, json: boolean) {
  const formatter = new TraceFormatter();
  const events: CycleEvent[] = [];
  return {
    events,
    add(fresh: readonly CycleEvent[]) {
      for (const event of fresh) {
        events.push(event);
        const line = formatter.format(event);
        if (line && !json) io.stdout(`${line}\n`);
      }
    },
    finish(summary: ReturnType<typeof summarizeCycle>): number {
      if (json) io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
      else io.stdout(`${renderOutcome(summary).join('\n')}\n`);
      return summary.status === 'SUCCEEDED' ? 0 : 1;
    },
  };
}
