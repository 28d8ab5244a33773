/**
 * `npm start -- --sfn-endpoint URL`: the local scenario on Step Functions Local (local/sfn-local.ts), its Lambda
 * tasks answered by the Lambda Invoke endpoint in this process (local/lambda-endpoint.ts).
 *
 * No Docker here, so no `amazon/aws-stepfunctions-local`: its API is mocked with aws-sdk-client-mock, and the
 * mock does what the image does with what it is sent — it validates and keeps the definition CreateStateMachine
 * sends, runs each StartExecution's input through it (on the embedded executor), invokes every Task's Lambda ARN
 * over HTTP on the Lambda endpoint as the image does with LAMBDA_ENDPOINT, and answers GetExecutionHistory
 * with the execution's events as Step Functions records them (test/support/aws-history.ts) and
 * DescribeExecution with its outcome. The endpoint itself is tested over real HTTP.
 */
import { fileURLToPath } from 'node:url';
import {
  CreateStateMachineCommand,
  type CreateStateMachineCommandInput,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
  type StartExecutionCommandInput,
} from '@aws-sdk/client-sfn';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { placeholdersIn } from '../functions/statemachine-definition.ts';
import { localFunctionArn, startLambdaEndpoint, taskOfFunction } from '../local/lambda-endpoint.ts';
import { runLocal } from '../local/local-run.ts';
import { ExecutionRecorder } from './support/aws-history.ts';
import { closedPort } from './support/closed-port.ts';
import { FakeGitHub, namedError, testDeps } from './support/fakes.ts';

const demo = fileURLToPath(new URL('../local/scenarios/demo.json', import.meta.url));
const sfn = mockClient(SFNClient);

beforeEach(() => sfn.reset());
afterEach(() => sfn.reset());

describe('Lambda endpoint', () => {
  const invoke = (url: string, functionName: string, body: string) =>
    fetch(`${url}/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`, {
      method: 'POST',
      headers: { 'X-Amz-Invocation-Type': 'RequestResponse', 'Content-Type': 'application/json' },
      body,
    });

  it('answers an Invoke with the handler’s result, for a logical id, a Task name or an ARN', async () => {
    // Prepare
    const { deps } = testDeps();
    const endpoint = await startLambdaEndpoint({ deps });
    try {
      const input = {
        cycle: { id: 'c', startedAt: '2026-01-05T09:00:00Z', mapConcurrency: 4 },
        parts: [{ queuedByPool: { 'linux-x64': 2 }, unmatched: 1, repositories: 3, failedRepositories: 0 }],
      };
      // Act
      const answers = await Promise.all(
        ['AggregateDemandFunction', 'AggregateDemand', `${localFunctionArn('AggregateDemand')}:$LATEST`].map(
          (name) => invoke(endpoint.url, name, JSON.stringify(input)),
        ),
      );
      // Assess
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(answer.headers.get('x-amz-function-error')).toBeNull();
        expect(await answer.json()).toMatchObject({
          demand: { queuedByPool: { 'linux-x64': 2 }, unmatched: 1, complete: true },
        });
      }
      expect(endpoint.invocations.map((invocation) => invocation.task)).toEqual([
        'AggregateDemand',
        'AggregateDemand',
        'AggregateDemand',
      ]);
    } finally {
      await endpoint.close();
    }
  });

  it('reports a handler’s error as Lambda reports a function error: its name is the error Step Functions sees', async () => {
    const github = new FakeGitHub();
    github.listRepositories = async () => {
      throw namedError('GitHubUnavailableError', 'GitHub answered 502');
    };
    const { deps } = testDeps({ github });
    const endpoint = await startLambdaEndpoint({ deps });
    try {
      const answer = await invoke(
        endpoint.url,
        localFunctionArn('ListRepositories'),
        JSON.stringify({ cycle: { id: 'c', startedAt: '2026-01-05T09:00:00Z', mapConcurrency: 4 } }),
      );
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-amz-function-error')).toBe('Unhandled');
      expect(await answer.json()).toMatchObject({
        errorType: 'GitHubUnavailableError',
        errorMessage: 'GitHub answered 502',
      });
    } finally {
      await endpoint.close();
    }
  });

  it('refuses an unknown function (404) and a body that is not JSON (400), as Lambda does', async () => {
    const { deps } = testDeps();
    const endpoint = await startLambdaEndpoint({ deps });
    try {
      const unknown = await invoke(endpoint.url, 'DeleteEverythingFunction', '{}');
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
      const garbled = await invoke(endpoint.url, 'DecideFunction', '{not json');
      expect(garbled.status).toBe(400);
      expect(garbled.headers.get('x-amzn-errortype')).toBe('InvalidRequestContentException');
      expect(taskOfFunction('arn:aws:lambda:us-east-1:123456789012:function:ScaleUpFunction:live')).toBe(
        'ScaleUp',
      );
      expect(taskOfFunction('toString')).toBeUndefined();
    } finally {
      await endpoint.close();
    }
  });
});

interface FakeExecution {
  readonly recorder: ExecutionRecorder;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
  readonly input: string;
  readonly startDate: Date;
}

/**
 * Step Functions Local behind the mocked client, with LAMBDA_ENDPOINT = `lambdaEndpoint`. Histories are handed
 * out a few events more per poll, as a running execution's would.
 */
function fakeStepFunctionsLocal(lambdaEndpoint: string, options: { unreachable?: string } = {}) {
  const machines = new Map<string, Record<string, unknown>>();
  const executions = new Map<string, FakeExecution>();
  const polls = new Map<string, number>();
  let lambdaCalls = 0;

  sfn.on(CreateStateMachineCommand).callsFake(async (input: CreateStateMachineCommandInput) => {
    const definition = JSON.parse(input.definition ?? '') as Record<string, unknown>;
    // The image validates the definition; so does the executor this fake runs it on.
    new StateMachine(structuredClone(definition) as unknown as StateMachineDefinition, {
      validationOptions: { checkPaths: true, checkArn: true },
    });
    const arn = `arn:aws:states:us-east-1:123456789012:stateMachine:${input.name}`;
    machines.set(arn, definition);
    return { stateMachineArn: arn, creationDate: new Date() };
  });

  sfn.on(StartExecutionCommand).callsFake(async (input: StartExecutionCommandInput) => {
    const definition = machines.get(input.stateMachineArn ?? '');
    if (!definition)
      throw Object.assign(new Error('State Machine Does Not Exist'), { name: 'StateMachineDoesNotExist' });
    const executionArn = `${input.stateMachineArn?.replace(':stateMachine:', ':execution:')}:${input.name}`;
    const startDate = new Date();
    const recorder = new ExecutionRecorder({
      functionArn: localFunctionArn,
      definition,
      startAt: startDate.getTime(),
    });
    const states = allStates(definition);
    // Every Task invokes its Resource — a Lambda ARN — on the Lambda endpoint, as the image does.
    const handlers = Object.fromEntries(
      states
        .filter(([, state]) => state.Type === 'Task')
        .map(([name, state]) => [
          name,
          recorder.wrapTask(name as never, async (payload: unknown) => {
            // What the image reports when it cannot invoke a function at all.
            if (name === options.unreachable)
              throw namedError('Lambda.SdkClientException', 'Unable to execute HTTP request');
            lambdaCalls += 1;
            const answer = await fetch(
              `${lambdaEndpoint}/2015-03-31/functions/${encodeURIComponent(String(state.Resource))}/invocations`,
              { method: 'POST', body: JSON.stringify(payload) },
            );
            const body = (await answer.json()) as { errorType?: string; errorMessage?: string };
            if (answer.headers.get('x-amz-function-error'))
              throw namedError(body.errorType ?? 'Lambda.Unknown', body.errorMessage);
            return body;
          }),
        ]),
    );
    const run = new StateMachine(structuredClone(definition) as unknown as StateMachineDefinition).run(
      JSON.parse(input.input ?? '{}'),
      {
        overrides: {
          taskResourceLocalHandlers: handlers as never,
          waitTimeOverrides: Object.fromEntries(
            states.filter(([, s]) => s.Type === 'Wait').map(([n]) => [n, 0]),
          ),
          retryIntervalOverrides: Object.fromEntries(states.filter(([, s]) => s.Retry).map(([n]) => [n, 0])),
        },
        context: { Execution: { Name: input.name } },
      },
    );
    const consume = (async () => {
      for await (const event of run.eventLogs) recorder.onEvent(event);
    })();
    const output = await run.result.catch(() => undefined);
    await consume;
    // How it ended, as the history says (the executor's own error wraps the Fail state's).
    const failed = recorder
      .history()
      .find((event) => event.type === 'ExecutionFailed')?.executionFailedEventDetails;
    const execution: FakeExecution = failed
      ? {
          recorder,
          status: 'FAILED',
          error: failed.error,
          cause: failed.cause,
          input: input.input ?? '',
          startDate,
        }
      : {
          recorder,
          status: 'SUCCEEDED',
          output: JSON.stringify(output),
          input: input.input ?? '',
          startDate,
        };
    executions.set(executionArn, execution);
    return { executionArn, startDate };
  });

  sfn.on(GetExecutionHistoryCommand).callsFake(async (input) => {
    const execution = executions.get(input.executionArn ?? '');
    if (!execution)
      throw Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' });
    const poll = (polls.get(input.executionArn ?? '') ?? 0) + (input.nextToken ? 0 : 1);
    polls.set(input.executionArn ?? '', poll);
    const events = execution.recorder.history().slice(0, 30 * poll);
    const from = Number(input.nextToken ?? 0);
    return {
      events: events.slice(from, from + 100),
      ...(from + 100 < events.length ? { nextToken: String(from + 100) } : {}),
    };
  });

  sfn.on(DescribeExecutionCommand).callsFake(async (input) => {
    const execution = executions.get(input.executionArn ?? '');
    if (!execution)
      throw Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' });
    return {
      executionArn: input.executionArn,
      status: execution.status,
      startDate: execution.startDate,
      input: execution.input,
      ...(execution.output ? { output: execution.output } : {}),
      ...(execution.error ? { error: execution.error, cause: execution.cause } : {}),
    };
  });

  return { lambdaCalls: () => lambdaCalls, polls };
}

type StateDef = {
  Type: string;
  Resource?: string;
  Retry?: unknown;
  ItemProcessor?: { States: Record<string, StateDef> };
};
function allStates(definition: { States?: Record<string, StateDef> }): [string, StateDef][] {
  return Object.entries(definition.States ?? {}).flatMap(([name, state]) => [
    [name, state] as [string, StateDef],
    ...(state.ItemProcessor ? allStates(state.ItemProcessor) : []),
  ]);
}

/** The printed lines but the executor's own, without durations and the stand-in's port. */
const traceOf = (lines: readonly string[]) =>
  lines
    .filter((line) => !line.startsWith('Executor:'))
    .map((line) => line.replace(/ \d+ ms/, '').replace(/127\.0\.0\.1:\d+/, '127.0.0.1:PORT'));

/** Step Functions Local at localhost:8083, its Lambda endpoint on `lambdaPort`, its history polled without waiting. */
const onStepFunctionsLocal = (lambdaPort: number) => ({
  endpoint: 'http://localhost:8083',
  lambdaPort,
  lambdaHost: '127.0.0.1',
  sleep: async () => undefined,
});

/** The demo scenario run (on the embedded executor unless `sfn` says where), and the lines it printed. */
async function runDemo(options: { faults?: boolean; sfn?: ReturnType<typeof onStepFunctionsLocal> } = {}) {
  const printed: string[] = [];
  const result = await runLocal({
    webhooks: false,
    scenarioPath: demo,
    ...options,
    print: (line) => printed.push(line),
  });
  return { result, printed };
}

describe('npm start -- --sfn-endpoint URL', () => {
  it('creates the state machine there, runs every cycle as an execution, and prints what the embedded run prints', async () => {
    // Prepare
    const port = await closedPort();
    const image = fakeStepFunctionsLocal(`http://127.0.0.1:${port}`);
    const { result: expected, printed: embedded } = await runDemo();
    // Act
    const { result, printed } = await runDemo({ sfn: onStepFunctionsLocal(port) });
    // Assess: the definition as deployed, with the local Lambda ARNs and the virtual start time.
    const created = sfn.commandCalls(CreateStateMachineCommand).map((call) => call.args[0].input);
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({
      type: 'STANDARD',
      roleArn: 'arn:aws:iam::123456789012:role/stepscale-local',
    });
    expect(created[0]?.name).toMatch(/^stepscale-local-[0-9T-]+Z$/);
    const definition = created[0]?.definition ?? '';
    expect(placeholdersIn(definition)).toEqual([]);
    expect(definition).toContain('"$$.Execution.Input.startedAt"');
    const resources = allStates(JSON.parse(definition))
      .filter(([, state]) => state.Type === 'Task')
      .map(([name, state]) => [name, state.Resource]);
    expect(resources).toEqual(resources.map(([name]) => [name, localFunctionArn(name as string)]));
    // One execution per cycle, started with the schedule's input and the world's time.
    const starts = sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input);
    expect(starts.map((start) => JSON.parse(start.input ?? '{}'))).toEqual([
      {
        cycleId: '2026-01-05T09:00:00.000Z',
        targets: { repositories: [] },
        startedAt: '2026-01-05T09:00:00.000Z',
      },
      {
        cycleId: '2026-01-05T09:02:00.000Z',
        targets: { repositories: [] },
        startedAt: '2026-01-05T09:02:00.000Z',
      },
      {
        cycleId: '2026-01-05T09:08:00.000Z',
        targets: { repositories: [] },
        startedAt: '2026-01-05T09:08:00.000Z',
      },
    ]);
    expect(starts.map((start) => start.name)).toEqual(
      [1, 2, 3].map((n) => expect.stringMatching(new RegExp(`^cycle-${n}-[^:]+$`))),
    );
    // Followed through its history over several polls, every Task answered over HTTP by the endpoint.
    expect(Math.max(...image.polls.values())).toBeGreaterThan(1);
    expect(image.lambdaCalls()).toBeGreaterThan(20);
    expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(3);
    // The same cycles, decided alike, traced alike.
    expect(result.cycles.map((cycle) => cycle.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    expect(result.cycles.map((cycle) => cycle.output.plan)).toEqual(
      expected.cycles.map((cycle) => cycle.output.plan),
    );
    expect(printed.find((line) => line.startsWith('Executor:'))).toContain(
      'Step Functions Local at http://localhost:8083',
    );
    expect(traceOf(printed)).toEqual(traceOf(embedded));
  });

  it('shows the retries of transient failures (--faults) as the embedded run does', async () => {
    // Prepare: faults make the GitHub stand-in fail requests once and EC2 throttle the first launch of a cycle.
    const port = await closedPort();
    fakeStepFunctionsLocal(`http://127.0.0.1:${port}`);
    const { printed: embedded } = await runDemo({ faults: true });
    // Act
    const { result, printed } = await runDemo({ faults: true, sfn: onStepFunctionsLocal(port) });
    // Assess
    expect(printed).toContain(
      '      ✗ ScaleUp failed: FleetThrottledError — Request limit exceeded (injected by --faults)',
    );
    expect(printed).toContain('      ↻ ScaleUp retry 1');
    expect(traceOf(printed)).toEqual(traceOf(embedded));
    expect(result.cycles.every((cycle) => cycle.status === 'SUCCEEDED')).toBe(true);
  });

  it('reports a cycle that failed there: its retries, its catch, and the execution’s error', async () => {
    // Prepare: the image cannot reach ScaleUp's function.
    const port = await closedPort();
    fakeStepFunctionsLocal(`http://127.0.0.1:${port}`, { unreachable: 'ScaleUp' });
    // Act
    const { result, printed } = await runDemo({ sfn: onStepFunctionsLocal(port) });
    // Assess
    expect(result.cycles.map((cycle) => cycle.status)).toEqual(['FAILED', 'FAILED', 'FAILED']);
    expect(result.cycles[0]?.error?.name).toBe('ScalingActionsFailed');
    expect(result.cycles[0]?.output).toMatchObject({ scaleUpError: { Error: 'Lambda.SdkClientException' } });
    expect(printed).toContain('      ↻ ScaleUp retry 4');
    expect(printed).toContain('      ⚠ ScaleUp error caught → ScaleDown');
    expect(printed).toContain('  ● execution failed: ScalingActionsFailed');
    expect(printed.filter((line) => line.startsWith('  Cycle FAILED: ScalingActionsFailed — '))).toHaveLength(
      3,
    );
  });

  it('says so when Step Functions Local refuses the definition, and frees the Lambda port', async () => {
    const port = await closedPort();
    sfn.on(CreateStateMachineCommand).rejects(
      Object.assign(new Error("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED'"), {
        name: 'InvalidDefinition',
      }),
    );
    await expect(
      runLocal({
        webhooks: false,
        scenarioPath: demo,
        print: () => undefined,
        sfn: { endpoint: 'http://localhost:8083', lambdaPort: port, lambdaHost: '127.0.0.1' },
      }),
    ).rejects.toThrow('Invalid State Machine Definition');
    // The port is free again: another endpoint can listen on it.
    const again = await startLambdaEndpoint({ deps: testDeps().deps, port, host: '127.0.0.1' });
    await again.close();
  });
});
