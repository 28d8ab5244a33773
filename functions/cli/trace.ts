/**
 * `stepscale trace EXECUTION_ARN | --latest`: one cycle as `npm start` prints it — every state entered and
 * exited with its duration, Map iterations, retries and catches (observability/cycle-trace.ts) — rebuilt from
 * the execution's history (STANDARD) or its execution log (EXPRESS), then per pool what it planned and did.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { type CycleEvent, TraceFormatter } from '../observability/cycle-trace.ts';
import { type Command, parseCommandArgs, UsageError } from './command.ts';
import { type CycleSummary, renderOutcome, summarizeCycle } from './cycle-summary.ts';
import { executionOptions, executionUsage, locatorOf, sourceFor } from './cycles.ts';
import { outcomeOf, translateHistory } from './execution-history.ts';
import {
  ExecutionNotFoundError,
  executionKind,
  executionName,
  findStateMachine,
  stateMachineOf,
} from './executions.ts';

const usage = `Usage: stepscale trace EXECUTION_ARN | --latest [--json] [--stack NAME | --state-machine ARN]

  One scaling cycle as npm start prints it — each state with its duration, Map iterations, retries and
  catches — rebuilt from the execution's history (STANDARD) or its execution log in CloudWatch Logs
  (EXPRESS), then per pool what the cycle planned and did.

  EXECUTION_ARN            arn:aws:states:…:execution:… (STANDARD) or arn:aws:states:…:express:… (EXPRESS)
  --latest                 the state machine's newest execution
${executionUsage}
  --json                   the cycle's summary and its events as one JSON object
  --help                   show this help`;

export const traceCommand: Command = {
  synopsis: 'stepscale trace EXECUTION_ARN | --latest',
  summary: 'one cycle state by state, as npm start prints it',
  usage,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(
      args,
      {
        ...executionOptions,
        latest: { type: 'boolean' },
        json: { type: 'boolean' },
      },
      usage,
      true,
    );
    if (positionals.length > 1) throw new UsageError('one execution ARN at most', usage);
    const [given] = positionals;
    if (given && values.latest) throw new UsageError('an execution ARN or --latest, not both', usage);
    if (!given && !values.latest) throw new UsageError('an execution ARN or --latest is required', usage);

    const sfn = new SFNClient({});
    let executionArn = given;
    let machine: Awaited<ReturnType<typeof findStateMachine>>;
    if (given) {
      const kind = executionKind(given);
      if (!kind) throw new UsageError(`"${given}" is not a Step Functions execution ARN`, usage);
      // A STANDARD execution's history needs no more than its ARN; an EXPRESS one's log group comes from its state machine.
      machine =
        kind === 'STANDARD' && !values['state-machine']
          ? {
              arn: stateMachineOf(given),
              name: stateMachineOf(given).split(':').at(-1) ?? '',
              type: 'STANDARD',
            }
          : await findStateMachine(sfn, { ...locatorOf(values), stateMachine: stateMachineOf(given) });
    } else {
      machine = await findStateMachine(sfn, locatorOf(values));
    }
    const source = sourceFor(machine, sfn, io, values.since, usage);
    executionArn ??= await source.latest();
    if (!executionArn) throw new ExecutionNotFoundError(`${machine.name} has no executions to trace`);

    const events = translateHistory(await source.history(executionArn));
    const summary = summaryOf(executionArn, events);
    if (values.json) {
      io.stdout(`${JSON.stringify({ ...summary, events }, null, 2)}\n`);
      return 0;
    }
    io.stdout(
      `${[...traceHeader(summary, machine.type), ...traceLines(events), ...renderOutcome(summary)].join('\n')}\n`,
    );
    return 0;
  },
};

export function summaryOf(executionArn: string, events: readonly CycleEvent[]): CycleSummary {
  const outcome = outcomeOf(events);
  const started = events.find((event) => event.type === 'ExecutionStarted');
  return summarizeCycle(
    {
      executionArn,
      name: executionName(executionArn),
      ...outcome,
      ...(started?.type === 'ExecutionStarted' ? { input: started.input } : {}),
    },
    outcome.finalState,
  );
}

export function traceHeader(summary: CycleSummary, type: string): string[] {
  return [
    `stepscale trace: ${summary.name} (${type})${summary.cycleId ? `, cycle ${summary.cycleId}` : ''}`,
    `  ${summary.executionArn}`,
    '',
  ];
}

export function traceLines(events: readonly CycleEvent[]): string[] {
  const formatter = new TraceFormatter();
  return events.flatMap((event) => formatter.format(event) ?? []);
}
