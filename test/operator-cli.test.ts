/**
 * `stepscale cycles`, `trace` and `run` against Step Functions and CloudWatch Logs mocked with aws-sdk-client-mock,
 * serving executions recorded from real runs of the state machine (test/fixtures/executions/: three cycles of the
 * demo and one that failed with retries and catches) as AWS serves them (test/support/recorded-executions.ts).
 * The same executions are read as a STANDARD state machine's history and as an EXPRESS one's execution log;
 * both must tell the same story.
 */
import { readFile } from 'node:fs/promises';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  StartSyncExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ExecutionLogRecord } from '../functions/cli/execution-history.ts';
import { type CliIo, main } from '../functions/cli/stepscale.ts';
import {
  loadAllRecorded,
  otherStackMachine,
  type RecordedExecution,
  serveExecutionLog,
  serveStepFunctions,
} from './support/recorded-executions.ts';

const sfn = mockClient(SFNClient);
const logs = mockClient(CloudWatchLogsClient);

/** Every IAM action the commands used, across this file (checked against docs/operations.md at the end). */
const used = new Set<string>();

let recorded: RecordedExecution[];
let cycle1: RecordedExecution;
let failed: RecordedExecution;
let cycle4: RecordedExecution;

beforeAll(async () => {
  recorded = await loadAllRecorded();
  [cycle1, failed, , cycle4] = recorded as [
    RecordedExecution,
    RecordedExecution,
    RecordedExecution,
    RecordedExecution,
  ];
});

/** Resets the mocks, noting first which actions were called. */
function resetMocks() {
  for (const call of sfn.calls()) used.add(`states:${call.args[0].constructor.name.replace(/Command$/, '')}`);
  for (const call of logs.calls()) used.add(`logs:${call.args[0].constructor.name.replace(/Command$/, '')}`);
  sfn.reset();
  logs.reset();
}

beforeEach(resetMocks);
afterEach(resetMocks);

function cli(now = '2026-01-05T09:10:00Z') {
  const out: string[] = [];
  const err: string[] = [];
  const sleeps: number[] = [];
  const io: CliIo = {
    env: {},
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    now: () => new Date(now),
  };
  return { io, out: () => out.join(''), err: () => err.join(''), sleeps };
}

const allRecords = () => recorded.flatMap((execution) => execution.express.records);

function serveExpress() {
  serveStepFunctions(sfn, { type: 'EXPRESS', executions: recorded });
  serveExecutionLog(logs, { logGroup: cycle1.logGroup, records: allRecords });
}

/** How long a recorded execution took, as the CLI prints it. */
const took = (execution: RecordedExecution) => {
  const events = execution.standard.events;
  const ms = (events.at(-1)?.timestamp?.getTime() ?? 0) - (events[0]?.timestamp?.getTime() ?? 0);
  return `${(ms / 1000).toFixed(1)} s`;
};

/** The table rows of `stepscale cycles`, spaces collapsed. */
const rows = (text: string) =>
  text
    .split('\n')
    .filter((line) => /^ {2}(2026-|\s{10,}linux)/.test(line))
    .map((line) => line.trim().replace(/\s{2,}/g, ' | '));

describe('stepscale cycles', () => {
  it('lists a STANDARD stack’s last cycles newest first: per pool queued, launched and removed, and why one failed', async () => {
    // Prepare
    serveStepFunctions(sfn, { type: 'STANDARD', executions: recorded });
    const { io, out } = cli();
    // Act
    const code = await main(['cycles'], io);
    // Assess
    expect(code).toBe(0);
    expect(out()).toContain('stepscale cycles: all 4 of ScalingCycleStateMachine-kQ3x9Lm2Vb7N (STANDARD)');
    const [, , cycle3] = recorded as RecordedExecution[];
    expect(rows(out())).toEqual([
      `2026-01-05 09:08:00 | ${took(cycle4)} | SUCCEEDED | linux-x64 | 0 | 1 | 0`,
      'linux-arm64 | 0 | 0 | 2',
      `2026-01-05 09:02:00 | ${took(cycle3 as RecordedExecution)} | SUCCEEDED | linux-x64 | 3 | 3 | 0`,
      'linux-arm64 | 2 | 2 | 0',
      `2026-01-05 09:01:00 | ${took(failed)} | FAILED | linux-x64 | 0 | 0 of 1 | 0`,
      'linux-arm64 | 0 | 0 | 0',
      `2026-01-05 09:00:00 | ${took(cycle1)} | SUCCEEDED | linux-x64 | 4 | 5 | 0`,
      'linux-arm64 | 2 | 2 | 0',
    ]);
    expect(out()).toContain(
      '09:01:00 ScaleUp failed after its retries: FleetThrottledError — CreateFleet: RequestLimitExceeded',
    );
    expect(out()).toContain('09:01:00 execution FAILED: ScalingActionsFailed');
    expect(out()).toContain('09:01:00 scale-down held: some repositories could not be read');
    // The stack's state machine was told apart from another stack's by its log group.
    expect(
      sfn.commandCalls(DescribeStateMachineCommand).map((call) => call.args[0].input.stateMachineArn),
    ).toContain(otherStackMachine);
    expect(sfn.commandCalls(ListExecutionsCommand)[0]?.args[0].input).toMatchObject({
      stateMachineArn: cycle1.stateMachineArn,
    });
  });

  it('reads an EXPRESS stack’s cycles from its execution log, and they say what the STANDARD histories say', async () => {
    // Prepare
    serveStepFunctions(sfn, { type: 'STANDARD', executions: recorded });
    const standard = cli();
    await main(['cycles', '--json'], standard.io);
    resetMocks();
    serveExpress();
    const express = cli();
    // Act
    const code = await main(['cycles', '--json'], express.io);
    // Assess
    expect(code).toBe(0);
    const withoutIds = (text: string) =>
      (JSON.parse(text) as Record<string, unknown>[]).map(({ executionArn: _, ...cycle }) => cycle);
    const fromLog = withoutIds(express.out());
    expect(fromLog).toHaveLength(4);
    expect(fromLog).toEqual(withoutIds(standard.out()));
    expect(fromLog[2]).toMatchObject({
      status: 'FAILED',
      error: 'ScalingActionsFailed',
      failedSteps: [
        { step: 'ScaleUp', error: 'FleetThrottledError', cause: 'CreateFleet: RequestLimitExceeded' },
      ],
      scaleDownHeld: true,
      pools: [
        { pool: 'linux-x64', queued: 0, launch: 1, launched: 0, removed: 0 },
        { pool: 'linux-arm64', queued: 0, launch: 0, launched: 0, removed: 0 },
      ],
    });
    expect(fromLog[0]).toMatchObject({
      cycleId: '2026-01-05T09:08:00.000Z',
      pools: [
        { pool: 'linux-x64', launched: 1 },
        { pool: 'linux-arm64', terminate: 2, removed: 2 },
      ],
    });
    const patterns = logs
      .commandCalls(FilterLogEventsCommand)
      .map((call) => call.args[0].input.filterPattern);
    expect(patterns).toContain('{ ($.type = "ExecutionStarted") }');
    expect(patterns).toContain(
      '{ ($.type = "ExecutionSucceeded") || ($.type = "ExecutionFailed") || ($.type = "ExecutionTimedOut") || ($.type = "ExecutionAborted") || ($.type = "FailStateEntered") }',
    );
  });

  it('widens the search of the execution log until it finds as many cycles as asked', async () => {
    serveExpress();
    const { io, out } = cli('2026-01-05T09:20:00Z');
    expect(await main(['cycles', '--last', '3'], io)).toBe(0);
    expect(rows(out()).filter((row) => row.startsWith('2026'))).toHaveLength(3);
    const starts = logs
      .commandCalls(FilterLogEventsCommand)
      .filter((call) => call.args[0].input.filterPattern === '{ ($.type = "ExecutionStarted") }')
      .map((call) => new Date(call.args[0].input.startTime ?? 0).toISOString());
    // 15 minutes back finds the 09:08 cycle only; three hours back finds all.
    expect(starts).toEqual(['2026-01-05T09:05:00.000Z', '2026-01-05T06:20:00.000Z']);
  });

  it('says when the execution log lost an EXPRESS cycle’s end, and shows how far it got', async () => {
    // Prepare: the 09:02 cycle's records after Decide never arrived.
    const [, , cycle3] = recorded as RecordedExecution[];
    const lost = new Set(cycle3?.express.records.slice(50).map((record) => record));
    serveStepFunctions(sfn, { type: 'EXPRESS', executions: recorded });
    serveExecutionLog(logs, {
      logGroup: cycle1.logGroup,
      records: () => allRecords().filter((record) => !lost.has(record)),
    });
    const { io, out } = cli();
    // Act
    expect(await main(['cycles'], io)).toBe(0);
    // Assess
    expect(rows(out())).toContain('2026-01-05 09:02:00 | — | UNKNOWN | linux-x64 | 3 | ? of 3 | –');
    expect(out()).toContain('09:02:00 no end record in the execution log (delivery is best effort)');
  });

  it('says which stack it looked for when none matches, and exits 1', async () => {
    serveStepFunctions(sfn, { type: 'STANDARD', executions: recorded });
    const { io, err } = cli();
    expect(await main(['cycles', '--stack', 'prod'], io)).toBe(1);
    expect(err()).toContain('ExecutionNotFoundError: no state machine of stack "prod"');
    expect(err()).toContain('/aws/vendedlogs/states/prod-scaling-cycle');
  });

  it('refuses a bad --last with its own usage (exit 2)', async () => {
    const { io, err } = cli();
    expect(await main(['cycles', '--last', '0'], io)).toBe(2);
    expect(err()).toContain('Usage: stepscale cycles');
    expect(sfn.calls()).toHaveLength(0);
  });
});

/** The trace lines, without durations (the one thing the two recordings may differ in). */
const traceOf = (text: string) =>
  text
    .split('\n')
    .filter((line) => /^ {2}[▶✓●]|^ {6}[↳↻⚠✗]/.test(line))
    .map((line) => line.replace(/ \d+ ms/, ''));

describe('stepscale trace', () => {
  it('prints a failed STANDARD cycle as npm start does: retries, a catch in the Map, a caught ScaleUp, the failure', async () => {
    // Prepare
    serveStepFunctions(sfn, { type: 'STANDARD', executions: recorded });
    const { io, out } = cli();
    // Act
    const code = await main(['trace', failed.standard.executionArn], io);
    // Assess
    expect(code).toBe(0);
    const trace = traceOf(out());
    expect(trace.slice(4, 12)).toEqual([
      '  ▶ ListRepositories (Task)',
      '      ✗ ListRepositories failed: GitHubUnavailableError — GitHub answered 502',
      '      ↻ ListRepositories retry 1',
      '      ✗ ListRepositories failed: GitHubUnavailableError — GitHub answered 502',
      '      ↻ ListRepositories retry 2',
      expect.stringMatching(/^ {2}✓ ListRepositories {2}12 repositories, 12 scanned/),
      '  ▶ CollectQueuedJobs (Map)',
      '      ✗ CollectRepositoryJobs [0] failed: GitHubAuthError — GitHub refused the token (403 without rate-limit headers)',
    ]);
    expect(trace).toContain('      ⚠ CollectRepositoryJobs [0] error caught → RecordBatchFailure');
    expect(trace.filter((line) => line.includes('↻ ScaleUp retry'))).toHaveLength(4);
    expect(trace).toContain('      ⚠ ScaleUp error caught → ScaleDown');
    expect(trace).toContain('  ✓ ScaleUp  failed');
    expect(trace.slice(-2)).toEqual([
      '      ✗ ScalingActionsFailed failed: ScalingActionsFailed — Scale-up, scale-down or runner registration failed after retries; see the ScaleUp/ScaleDown/RegisterRunners state output.',
      '  ● execution failed: ScalingActionsFailed',
    ]);
    expect(out()).toContain(`FAILED in ${took(failed)}: ScalingActionsFailed`);
    expect(out()).toMatch(/linux-x64 +0 +0 +5 +0 +1 +0 +0 +0/);
    // Every page of the history was read (AWS returns at most 25 here, fewer than asked).
    const pages = sfn.commandCalls(GetExecutionHistoryCommand);
    expect(pages.length).toBe(Math.ceil(failed.standard.events.length / 25));
    expect(pages[0]?.args[0].input).toMatchObject({ includeExecutionData: true });
    expect(sfn.commandCalls(DescribeStateMachineCommand)).toHaveLength(0);
  });

  it('rebuilds the same trace from an EXPRESS execution log, for the newest execution', async () => {
    // Prepare
    serveStepFunctions(sfn, { type: 'STANDARD', executions: recorded });
    const standard = cli();
    await main(['trace', cycle4.standard.executionArn], standard.io);
    resetMocks();
    serveExpress();
    const express = cli();
    // Act
    const code = await main(['trace', '--latest'], express.io);
    // Assess
    expect(code).toBe(0);
    expect(express.out()).toContain(
      `stepscale trace: ${cycle4.name} (EXPRESS), cycle 2026-01-05T09:08:00.000Z`,
    );
    expect(traceOf(express.out())).toEqual(traceOf(standard.out()));
    expect(traceOf(express.out())).toContain('  ✓ ScaleDown  terminated 2, skipped 0, failed 0');
    expect(express.out()).toMatch(/linux-arm64 +0 +2 +0 +0 +0 +0 +2 +2/);
    const calls = logs.commandCalls(FilterLogEventsCommand).map((call) => call.args[0].input);
    expect(calls.at(-1)).toMatchObject({
      logGroupName: cycle4.logGroup,
      filterPattern: `{ $.execution_arn = "${cycle4.express.executionArn}" }`,
    });
  });

  it('finds an EXPRESS execution’s log group from its state machine', async () => {
    serveExpress();
    const { io, out } = cli();
    expect(await main(['trace', failed.express.executionArn, '--json'], io)).toBe(0);
    expect(sfn.commandCalls(DescribeStateMachineCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: failed.stateMachineArn,
    });
    const json = JSON.parse(out()) as { status: string; events: { type: string }[] };
    expect(json.status).toBe('FAILED');
    expect(json.events.filter((event) => event.type === 'StateRetried')).toHaveLength(6);
  });

  it('says when an EXPRESS execution has no records (exit 1), and refuses what is not an execution ARN (exit 2)', async () => {
    serveExpress();
    const missing = cli();
    const arn = failed.express.executionArn.replace(failed.name, 'gone');
    expect(await main(['trace', arn, '--since', '1h'], missing.io)).toBe(1);
    expect(missing.err()).toContain('ExecutionNotFoundError: no records of');
    const bad = cli();
    expect(await main(['trace', 'arn:aws:lambda:us-east-1:123456789012:function:x'], bad.io)).toBe(2);
    expect(await main(['trace'], bad.io)).toBe(2);
    expect(await main(['trace', failed.express.executionArn, '--latest'], bad.io)).toBe(2);
    expect(bad.err()).toContain('Usage: stepscale trace');
  });
});

/** An execution's records as if it had started at `at` with this ARN (a `stepscale run` execution). */
function asRun(execution: RecordedExecution, executionArn: string, at: number): ExecutionLogRecord[] {
  const shift = at - Number(execution.express.records[0]?.event_timestamp);
  return execution.express.records.map((record) => ({
    ...record,
    execution_arn: executionArn,
    event_timestamp: String(Number(record.event_timestamp) + shift),
  }));
}

describe('stepscale run', () => {
  it('starts a STANDARD cycle with the schedule’s input and follows its history to the end, state by state', async () => {
    // Prepare: the history grows by 20 events a poll.
    let polls = 0;
    serveStepFunctions(sfn, {
      type: 'STANDARD',
      executions: recorded,
      history: (_, events) => events.slice(0, 20 * polls),
    });
    sfn.on(GetExecutionHistoryCommand).callsFake((input) => {
      if (!input.nextToken) polls += 1;
      const events = cycle1.standard.events.slice(0, 20 * polls);
      const from = Number(input.nextToken ?? 0);
      return {
        events: events.slice(from, from + 25),
        ...(from + 25 < events.length ? { nextToken: String(from + 25) } : {}),
      };
    });
    sfn.on(StartExecutionCommand).resolves({
      executionArn: cycle1.standard.executionArn,
      startDate: new Date('2026-01-05T09:10:00.050Z'),
    });
    const { io, out, sleeps } = cli();
    // Act
    const code = await main(['run', '--wait'], io);
    // Assess
    expect(code).toBe(0);
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: cycle1.stateMachineArn,
      name: 'manual-2026-01-05T09-10-00-000Z',
      input: '{"cycleId":"manual-2026-01-05T09:10:00.000Z","targets":{"repositories":[]}}',
    });
    expect(polls).toBe(4);
    expect(sleeps).toEqual([2000, 2000, 2000]);
    const trace = traceOf(out());
    expect(trace[0]).toBe('  ▶ HasCycleId (Choice)');
    expect(trace.at(-1)).toBe('  ● execution succeeded');
    expect(trace.filter((line) => line.startsWith('  ▶'))).toHaveLength(15);
    expect(out()).toMatch(/SUCCEEDED in \d+\.\d s/);
    expect(out()).toMatch(/linux-x64 +4 +0 +0 +0 +5 +5 +0 +0/);
  });

  it('exits 1 when the cycle it followed failed', async () => {
    serveStepFunctions(sfn, { type: 'STANDARD', executions: recorded });
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: failed.standard.executionArn, startDate: new Date() });
    const { io, out } = cli();
    expect(await main(['run', '--wait'], io)).toBe(1);
    expect(out()).toContain(`FAILED in ${took(failed)}: ScalingActionsFailed`);
    expect(out()).toContain('ScaleUp failed after its retries: FleetThrottledError');
  });

  it('runs an EXPRESS cycle synchronously and shows its progress from the execution log as records arrive', async () => {
    // Prepare: the records arrive out of order, a third at a time; the synchronous start answers after three polls.
    serveExpress();
    const name = 'manual-2026-01-05T09-10-00-000Z';
    const arn = `${cycle1.stateMachineArn.replace(':stateMachine:', ':express:')}:${name}:0f6e3d2c-1b0a-4988-8776-554433221100`;
    const records = asRun(cycle1, arn, Date.parse('2026-01-05T09:10:00.040Z'));
    let tails = 0;
    let answer: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => {
      answer = resolve;
    });
    logs.reset();
    serveExecutionLog(logs, {
      logGroup: cycle1.logGroup,
      records: () => {
        tails += 1;
        if (tails === 3) answer();
        const arrived = records.slice(0, Math.ceil((records.length * tails) / 3));
        return [...allRecords(), ...arrived.reverse()];
      },
    });
    const succeeded = cycle1.express.records.at(-1);
    sfn.on(StartSyncExecutionCommand).callsFake(async (input) => {
      await answered;
      return {
        executionArn: arn,
        stateMachineArn: input.stateMachineArn,
        name: input.name,
        startDate: new Date('2026-01-05T09:10:00.040Z'),
        stopDate: new Date('2026-01-05T09:10:06.300Z'),
        status: 'SUCCEEDED',
        input: input.input,
        output: succeeded?.details?.output as string,
        billingDetails: { billedDurationInMilliseconds: 6300, billedMemoryUsedInMB: 64 },
      };
    });
    const { io, out } = cli();
    // Act
    const code = await main(['run', '--wait'], io);
    // Assess
    expect(code).toBe(0);
    expect(sfn.commandCalls(StartSyncExecutionCommand)[0]?.args[0].input).toMatchObject({
      name,
      input: '{"cycleId":"manual-2026-01-05T09:10:00.000Z","targets":{"repositories":[]}}',
    });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    const tailCalls = logs.commandCalls(FilterLogEventsCommand).map((call) => call.args[0].input);
    expect(tailCalls[0]).toMatchObject({
      filterPattern: `"${name}"`,
      startTime: Date.parse('2026-01-05T09:09:00Z'),
    });
    const trace = traceOf(out());
    expect(trace[0]).toBe('  ▶ HasCycleId (Choice)');
    expect(trace.at(-1)).toBe('  ● execution succeeded');
    // Every state once, in order, though the records came out of order.
    const standard = cli();
    resetMocks();
    serveStepFunctions(sfn, { type: 'STANDARD', executions: recorded });
    await main(['trace', cycle1.standard.executionArn], standard.io);
    expect(trace).toEqual(traceOf(standard.out()));
    expect(out()).toContain('SUCCEEDED in 6.3 s');
  });

  it('without --wait starts it and says how to trace it', async () => {
    serveExpress();
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: cycle1.express.executionArn, startDate: new Date() });
    const { io, out } = cli();
    expect(await main(['run'], io)).toBe(0);
    expect(out()).toContain(`stepscale trace ${cycle1.express.executionArn}`);
    expect(sfn.commandCalls(StartSyncExecutionCommand)).toHaveLength(0);
  });
});

describe('the operator’s IAM', () => {
  it('docs/operations.md lists exactly the actions these commands call', async () => {
    const docs = await readFile(new URL('../docs/operations.md', import.meta.url), 'utf8');
    const section = docs.split('<!-- operator-iam -->')[1] ?? '';
    const listed = new Set([...section.matchAll(/`((?:states|logs):[A-Za-z]+)`/g)].map((match) => match[1]));
    expect(used.size).toBeGreaterThan(5);
    expect([...listed].sort()).toEqual([...used].sort());
  });
});
