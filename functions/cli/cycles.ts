/**
 * `stepscale cycles`: the deployed stack's recent scaling cycles — when each started, how long it took, how it
 * ended, and per pool what was queued, launched and removed (functions/cli/cycle-summary.ts), from the
 * executions' histories (STANDARD) or execution log (EXPRESS) (functions/cli/executions.ts).
 */
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { type CliIo, type Command, nowFor, parseCommandArgs, UsageError } from './command.ts';
import { actual, type CycleSummary, cycleNotes, summarizeCycle, took, utc } from './cycle-summary.ts';
import {
  type ExecutionSource,
  expressExecutions,
  findStateMachine,
  type StateMachine,
  standardExecutions,
} from './executions.ts';
import { textTable } from './table.ts';

export const locatorUsage = `  --stack NAME             the stack's state machine (default stepscale): the one logging to
                           /aws/vendedlogs/states/NAME-scaling-cycle
  --state-machine ARN      the state machine itself, instead of --stack
  --log-group NAME         its execution log group, instead of its logging configuration (EXPRESS)`;

export const locatorOptions = {
  stack: { type: 'string' },
  'state-machine': { type: 'string' },
  'log-group': { type: 'string' },
} as const;

/** Where to find the executions: the state machine, and for EXPRESS how far back to search its log. */
export const executionOptions = { ...locatorOptions, since: { type: 'string' } } as const;

/** {@link executionOptions} as a command's usage lists them. */
export const executionUsage = `${locatorUsage}
  --since DURATION         EXPRESS: search the log this far back (30m, 6h, 7d; default: widening to 7d)`;

const usage = `Usage: stepscale cycles [--last N] [--json] [--stack NAME | --state-machine ARN]

  The last scaling cycles of a deployed stack: start, duration, status, and per pool what was queued,
  launched and removed. Reads Step Functions (STANDARD) or the execution log in CloudWatch Logs (EXPRESS)
  with the standard AWS credentials and region (AWS_PROFILE, AWS_REGION).

  --last N                 how many cycles (default 10)
${executionUsage}
  --json                   one JSON array instead of a table
  --help                   show this help`;

export const cyclesCommand: Command = {
  synopsis: 'stepscale cycles [--last N] [--json]',
  summary: 'recent cycles: status, per pool queued/launched/removed',
  usage,
  async run(args, io) {
    const { values } = parseCommandArgs(
      args,
      {
        ...executionOptions,
        last: { type: 'string' },
        json: { type: 'boolean' },
      },
      usage,
    );
    const last = Number(values.last ?? 10);
    if (!Number.isInteger(last) || last < 1 || last > 1000)
      throw new UsageError('--last must be a whole number from 1 to 1000', usage);
    const sfn = new SFNClient({});
    const machine = await findStateMachine(sfn, locatorOf(values));
    const source = sourceFor(machine, sfn, io, values.since, usage);
    const recent = await source.recent(last);
    const summaries = recent.map((execution) => summarizeCycle(execution, execution.finalState));
    if (values.json) io.stdout(`${JSON.stringify(summaries, null, 2)}\n`);
    else io.stdout(renderCycles(machine, summaries, last));
    return 0;
  },
};

export function locatorOf(values: { stack?: string; 'state-machine'?: string; 'log-group'?: string }) {
  return {
    ...(values.stack ? { stack: values.stack } : {}),
    ...(values['state-machine'] ? { stateMachine: values['state-machine'] } : {}),
    ...(values['log-group'] ? { logGroup: values['log-group'] } : {}),
  };
}

/** Where a state machine's executions are: its own history, or its execution log. */
export function sourceFor(
  machine: StateMachine,
  sfn: SFNClient,
  io: CliIo,
  since: string | undefined,
  usageText: string,
): ExecutionSource {
  if (machine.type === 'STANDARD') return standardExecutions(sfn, machine.arn);
  if (!machine.logGroup)
    throw new UsageError(
      `${machine.name} is EXPRESS without an execution log group in its logging configuration: pass --log-group NAME`,
      usageText,
    );
  const sinceMs = since === undefined ? undefined : parseDuration(since, usageText);
  return expressExecutions(new CloudWatchLogsClient({}), {
    logGroup: machine.logGroup,
    now: nowFor(io),
    ...(sinceMs ? { sinceMs } : {}),
  });
}

/** "30m", "6h", "7d" → milliseconds. */
export function parseDuration(text: string, usageText: string): number {
  const match = /^(\d+)([smhd])$/.exec(text.trim());
  if (!match) throw new UsageError(`--since: "${text}" is not a duration like 30m, 6h or 7d`, usageText);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

export function renderCycles(
  machine: StateMachine,
  summaries: readonly CycleSummary[],
  asked: number,
): string {
  const where = machine.type === 'EXPRESS' ? `EXPRESS, execution log ${machine.logGroup}` : 'STANDARD';
  const lines = [
    `stepscale cycles: ${summaries.length === asked ? 'the last' : 'all'} ${summaries.length} of ${machine.name} (${where})`,
  ];
  if (summaries.length === 0) {
    lines.push('  No executions found.');
    return `${lines.join('\n')}\n`;
  }
  // Starts from a warm pool (what the plan started; ScaleUp reports them for the whole cycle only).
  const withWarm = summaries.some((summary) => summary.pools.some((pool) => pool.warm));
  const rows: string[][] = [];
  for (const summary of summaries) {
    const head = [utc(summary.startedAt), took(summary), summary.status];
    const pools = summary.pools.length > 0 ? summary.pools : [undefined];
    pools.forEach((pool, i) => {
      const lead = i === 0 ? head : ['', '', ''];
      rows.push(
        pool
          ? [
              ...lead,
              pool.pool,
              String(pool.queued),
              actual(pool.launched, pool.launch),
              ...(withWarm ? [pool.warm ? String(pool.warm.start.length) : '–'] : []),
              actual(pool.removed, pool.terminate),
            ]
          : [...lead, '(no plan)', '', '', '', ...(withWarm ? [''] : [])],
      );
    });
  }
  lines.push(
    '',
    textTable(
      [
        { title: 'started (UTC)' },
        { title: 'took', align: 'right' },
        { title: 'status' },
        { title: 'pool' },
        { title: 'queued', align: 'right' },
        { title: 'launched', align: 'right' },
        ...(withWarm ? [{ title: 'started', align: 'right' as const }] : []),
        { title: 'removed', align: 'right' },
      ],
      rows,
    ),
  );
  const notes = summaries.flatMap(cycleNotes);
  if (notes.length > 0) lines.push('', ...notes.map((note) => `  ${note}`));
  return `${lines.join('\n')}\n`;
}
