/**
 * Reading an execution's history as the trace formatter reads the embedded executor (functions/cli/
 * execution-history.ts), and the recorder the CLI's fixtures come from (test/support/aws-history.ts).
 *
 * The recorder is held to histories AWS recorded (the event types and previousEventId chains of LocalStack's
 * snapshot tests, which record against AWS: scenarios/test_base_scenarios `test_lambda_invoke_with_retry_base`
 * and `test_map_state_item_selector_parameters`, logs/test_logs `test_base[…_ALL_True]`); the translator is then
 * held to the embedded executor's own account of the same run: the trace rebuilt from the history must be the
 * trace `npm start` prints.
 */
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import {
  causeText,
  HistoryTranslator,
  historyEventOf,
  outcomeOf,
  parseLogRecord,
  translateHistory,
} from '../functions/cli/execution-history.ts';
import { runCycle, type TraceEvent, toCycleEvent } from '../functions/executor/cycle-runner.ts';
import type { CycleEvent } from '../functions/observability/cycle-trace.ts';
import { loadDefinition } from '../functions/statemachine-definition.ts';
import { ExecutionRecorder } from './support/aws-history.ts';
import { FakeGitHub, namedError, queuedJobs, testDeps } from './support/fakes.ts';

const lambdaArn = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;

/** Runs a small definition on the embedded executor, recorded. */
async function recordSmall(
  definition: Record<string, unknown>,
  input: unknown,
  handlers: Record<string, (input: unknown) => Promise<unknown>> = {},
) {
  const recorder = new ExecutionRecorder({
    functionArn: lambdaArn,
    definition,
    startAt: Date.UTC(2026, 0, 5),
  });
  const machine = new StateMachine(structuredClone(definition) as unknown as StateMachineDefinition);
  const states = Object.keys((definition as { States: object }).States);
  const run = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: Object.fromEntries(
        Object.entries(handlers).map(([name, handler]) => [name, recorder.wrapTask(name as never, handler)]),
      ) as never,
      retryIntervalOverrides: Object.fromEntries(states.map((state) => [state, 0])),
    },
  });
  const consume = (async () => {
    for await (const event of run.eventLogs) recorder.onEvent(event);
  })();
  await run.result.catch(() => undefined);
  await consume;
  return recorder;
}

const shape = (recorder: ExecutionRecorder) =>
  recorder.history().map((event) => [event.type, event.id, event.previousEventId]);

describe('ExecutionRecorder (the fixtures) records what AWS records', () => {
  it('a Lambda task retried three times, then caught: one scheduled/started/failed triple per attempt', async () => {
    // Prepare: the definition of AWS's recording, a Task on a Lambda ARN with a retrier and a catcher.
    const definition = {
      StartAt: 'InvokeLambdaWithRetry',
      States: {
        InvokeLambdaWithRetry: {
          Type: 'Task',
          Resource: lambdaArn('handler'),
          Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 1 }],
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'HandleError' }],
          End: true,
        },
        HandleError: { Type: 'Pass', End: true },
      },
    };
    // Act
    const recorder = await recordSmall(
      definition,
      { Value1: 'HelloWorld!' },
      {
        InvokeLambdaWithRetry: async () => {
          throw namedError('Exception', 'Some exception was raised.');
        },
      },
    );
    // Assess: AWS's recording, event for event.
    expect(shape(recorder)).toEqual([
      ['ExecutionStarted', 1, 0],
      ['TaskStateEntered', 2, 0],
      ['LambdaFunctionScheduled', 3, 2],
      ['LambdaFunctionStarted', 4, 3],
      ['LambdaFunctionFailed', 5, 4],
      ['LambdaFunctionScheduled', 6, 5],
      ['LambdaFunctionStarted', 7, 6],
      ['LambdaFunctionFailed', 8, 7],
      ['LambdaFunctionScheduled', 9, 8],
      ['LambdaFunctionStarted', 10, 9],
      ['LambdaFunctionFailed', 11, 10],
      ['LambdaFunctionScheduled', 12, 11],
      ['LambdaFunctionStarted', 13, 12],
      ['LambdaFunctionFailed', 14, 13],
      ['TaskStateExited', 15, 14],
      ['PassStateEntered', 16, 15],
      ['PassStateExited', 17, 16],
      ['ExecutionSucceeded', 18, 17],
    ]);
    const failed = recorder.history()[4];
    expect(failed?.lambdaFunctionFailedEventDetails?.error).toBe('Exception');
    expect(causeText(failed?.lambdaFunctionFailedEventDetails?.cause)).toBe('Some exception was raised.');
    expect(recorder.history()[2]?.lambdaFunctionScheduledEventDetails).toMatchObject({
      resource: lambdaArn('InvokeLambdaWithRetry'),
      input: '{"Value1":"HelloWorld!"}',
      inputDetails: { truncated: false },
    });
  });

  it('a Map one iteration at a time: each iteration chained from its start, the next from the last one’s end', async () => {
    // Prepare: the definition of AWS's recording.
    const definition = {
      StartAt: 'Start',
      States: {
        Start: {
          Type: 'Pass',
          Result: { content: { bucket: 'test-bucket', values: ['1', '2', '3'] } },
          Next: 'MapState',
        },
        MapState: {
          Type: 'Map',
          ItemsPath: '$.content.values',
          ItemSelector: { 'bucketName.$': '$.content.bucket', 'value.$': '$$.Map.Item.Value' },
          MaxConcurrency: 1,
          ItemProcessor: {
            ProcessorConfig: { Mode: 'INLINE' },
            StartAt: 'EndState',
            States: {
              EndState: { Type: 'Pass', Result: { message: 'Processing item completed' }, End: true },
            },
          },
          ResultPath: null,
          End: true,
        },
      },
    };
    // Act
    const recorder = await recordSmall(definition, {});
    // Assess
    expect(shape(recorder)).toEqual([
      ['ExecutionStarted', 1, 0],
      ['PassStateEntered', 2, 0],
      ['PassStateExited', 3, 2],
      ['MapStateEntered', 4, 3],
      ['MapStateStarted', 5, 4],
      ['MapIterationStarted', 6, 5],
      ['PassStateEntered', 7, 6],
      ['PassStateExited', 8, 7],
      ['MapIterationSucceeded', 9, 8],
      ['MapIterationStarted', 10, 8],
      ['PassStateEntered', 11, 10],
      ['PassStateExited', 12, 11],
      ['MapIterationSucceeded', 13, 12],
      ['MapIterationStarted', 14, 12],
      ['PassStateEntered', 15, 14],
      ['PassStateExited', 16, 15],
      ['MapIterationSucceeded', 17, 16],
      ['MapStateSucceeded', 18, 17],
      ['MapStateExited', 19, 17],
      ['ExecutionSucceeded', 20, 19],
    ]);
    expect(recorder.history()[4]?.mapStateStartedEventDetails).toEqual({ length: 3 });
    expect(recorder.history()[9]?.mapIterationStartedEventDetails).toEqual({ index: 1, name: 'MapState' });
  });

  it('writes Express log records in the execution log format: ids and times as strings, the same details', async () => {
    const recorder = await recordSmall(
      { StartAt: 'State_1', States: { State_1: { Type: 'Pass', Result: { Arg1: 'argument1' }, End: true } } },
      {},
    );
    const arn = 'arn:aws:states:us-east-1:123456789012:express:sm:name:id';
    const records = recorder.logRecords(arn);
    expect(records.map((record) => Object.keys(record))).toEqual(
      records.map(() => [
        'id',
        'type',
        'details',
        'previous_event_id',
        'event_timestamp',
        'execution_arn',
        'redrive_count',
      ]),
    );
    expect(records.map((record) => [record.id, record.type, record.previous_event_id])).toEqual([
      ['1', 'ExecutionStarted', '0'],
      ['2', 'PassStateEntered', '0'],
      ['3', 'PassStateExited', '2'],
      ['4', 'ExecutionSucceeded', '3'],
    ]);
    expect(Object.keys(records[0]?.details ?? {})).toEqual(['input', 'inputDetails', 'roleArn']);
    expect(records[2]?.details).toEqual({
      name: 'State_1',
      output: '{"Arg1":"argument1"}',
      outputDetails: { truncated: false },
    });
    expect(records[3]?.event_timestamp).toMatch(/^\d{13}$/);
  });
});

/** A cycle whose history has every shape the trace shows: retries, a catch in a Map, a caught Task, a Fail. */
async function recordFailingCycle() {
  const github = new FakeGitHub();
  for (const repository of ['api', 'web', 'docs', 'infra', 'tools'])
    github.jobsByRepo.set(repository, queuedJobs(1));
  const { deps } = testDeps({ github });
  const recorder = new ExecutionRecorder({
    functionArn: lambdaArn,
    definition: await loadDefinition({
      MapConcurrency: '4',
      ListRepositoriesFunctionArn: 'x',
      CollectRepositoryJobsFunctionArn: 'x',
      AggregateDemandFunctionArn: 'x',
      DecideFunctionArn: 'x',
      ScaleUpFunctionArn: 'x',
      ScaleDownFunctionArn: 'x',
      RegisterRunnersFunctionArn: 'x',
    }),
    startAt: Date.UTC(2026, 0, 5, 9),
  });
  const local: NonNullable<TraceEvent>[] = [];
  let listings = 0;
  let batches = 0;
  const result = await runCycle({
    deps,
    cycleId: '2026-01-05T09:00:00Z',
    wrapTask: (task, handler) =>
      recorder.wrapTask(task, async (input) => {
        if (task === 'ListRepositories' && listings++ < 2)
          throw namedError('GitHubUnavailableError', 'GitHub 502');
        if (task === 'CollectRepositoryJobs' && batches++ === 1)
          throw namedError('GitHubAuthError', 'refused');
        if (task === 'ScaleUp') throw namedError('FleetThrottledError', 'RequestLimitExceeded');
        return handler(input);
      }),
    onEvent: (event) => {
      local.push(event);
      recorder.onEvent(event);
    },
  });
  return { recorder, result, local: local.map(toCycleEvent).filter((e): e is CycleEvent => e !== undefined) };
}

/** What the trace shows of an event, without times. */
function gist(event: CycleEvent): string {
  const parts: unknown[] = [event.type];
  if ('state' in event) parts.push(event.state.name, event.state.type);
  if ('index' in event && event.index !== undefined) parts.push(`[${event.index}]`);
  if (event.type === 'StateRetried') parts.push(`attempt ${event.attempt}`);
  if (event.type === 'StateCaught') parts.push(`→ ${event.next}`);
  if (event.type === 'StateFailed' || event.type === 'ExecutionFailed') parts.push(event.error, event.cause);
  return parts.join(' ');
}

/** Entered/exited data, the execution input without the embedded run's virtual start time. */
function data(event: CycleEvent): unknown {
  const value =
    event.type === 'StateEntered' ? event.input : event.type === 'StateExited' ? event.output : null;
  if (value && typeof value === 'object' && 'startedAt' in value && 'cycleId' in value) {
    const { startedAt: _, ...rest } = value as Record<string, unknown>;
    return rest;
  }
  return value;
}

describe('Class: HistoryTranslator', () => {
  it('rebuilds from a STANDARD history the events npm start traces for the same run', async () => {
    // Prepare
    const { recorder, result, local } = await recordFailingCycle();
    expect(result.status).toBe('FAILED');
    // Act
    const fromAws = translateHistory(recorder.history());
    // Assess: the positive control first — the run has every shape.
    const gists = local.map(gist);
    expect(gists).toContain('StateRetried ListRepositories Task attempt 2');
    expect(gists).toContain('StateCaught CollectRepositoryJobs Task [1] → RecordBatchFailure');
    expect(gists).toContain('StateCaught ScaleUp Task → ScaleDown');
    expect(gists).toContain(
      'StateFailed ScalingActionsFailed Fail ScalingActionsFailed Scale-up, scale-down or runner registration failed after retries; see the ScaleUp/ScaleDown/RegisterRunners state output.',
    );
    expect(fromAws.map(gist)).toEqual(gists);
    expect(fromAws.map(data)).toEqual(local.map(data));
  });

  it('rebuilds the same events from the EXPRESS execution log records', async () => {
    const { recorder, local } = await recordFailingCycle();
    const records = recorder.logRecords('arn:aws:states:us-east-1:123456789012:express:sm:n:id');
    // CloudWatch Logs returns a log event's message; records may arrive out of order.
    const parsed = records
      .map((record) => parseLogRecord(JSON.stringify(record)))
      .reverse()
      .flatMap((record) => (record ? [historyEventOf(record)] : []));
    expect(translateHistory(parsed).map(gist)).toEqual(local.map(gist));
  });

  it('reads a running execution page by page, and a caught state once the catcher’s next state arrives', async () => {
    // Prepare
    const { recorder, local } = await recordFailingCycle();
    const history = recorder.history();
    const translator = new HistoryTranslator();
    // Act: three polls of a growing history, overlapping.
    const first = translator.push(history.slice(0, 40));
    const second = translator.push(history.slice(30, 60));
    const rest = [...translator.push(history), ...translator.end()];
    // Assess
    expect([...first, ...second, ...rest].map(gist)).toEqual(local.map(gist));
    expect(translator.ended).toBe(true);
  });

  it('says how the execution went and what the cycle state was when it ended', async () => {
    const { recorder } = await recordFailingCycle();
    const outcome = outcomeOf(translateHistory(recorder.history()));
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'ScalingActionsFailed' });
    expect(outcome.finalState).toMatchObject({
      scaleUpError: { Error: 'FleetThrottledError' },
      plan: { pools: [{ pool: 'linux-x64' }] },
    });
    expect(outcome.stoppedAt).toBeGreaterThan(outcome.startedAt ?? Number.POSITIVE_INFINITY);
  });

  it('ignores log lines that are not execution log records', () => {
    expect(parseLogRecord('START RequestId: 1')).toBeUndefined();
    expect(parseLogRecord('{"level":"INFO"}')).toBeUndefined();
    expect(parseLogRecord(undefined)).toBeUndefined();
  });
});
