/**
 * `npm start -- --sfn-endpoint URL`: the local scenario's cycles executed by Step Functions Local
 * (`amazon/aws-stepfunctions-local`) instead of the embedded executor, through client-sfn: the state machine is
 * created from the real definition (CreateStateMachine, STANDARD, its Lambda ARNs those the local Lambda endpoint
 * serves: local/lambda-endpoint.ts), each cycle is an execution (StartExecution) followed through its history
 * (GetExecutionHistory, every event traced as `npm start` traces the embedded run) to its end, whose status and
 * output DescribeExecution gives.
 *
 * The one change to the definition is the embedded run's: `$$.Execution.StartTime` is read from the execution
 * input's `startedAt`, the world's virtual start of the cycle (cycle-runner.ts), since the handlers live in
 * the world's time and Step Functions Local in the wall clock's.
 */
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { HistoryTranslator, parseData } from '../functions/cli/execution-history.ts';
import { executionHistory } from '../functions/cli/executions.ts';
import {
  type CycleRunResult,
  cycleSubstitutions,
  withVirtualStartTime,
} from '../functions/executor/cycle-runner.ts';
import type { CycleEvent } from '../functions/observability/cycle-trace.ts';
import { loadDefinition } from '../functions/statemachine-definition.ts';
import { localFunctionArn } from './lambda-endpoint.ts';

/** Step Functions Local accepts any credentials; the SDK still wants some. */
export function localSfnClient(endpoint: string): SFNClient {
  return new SFNClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/** A role ARN for CreateStateMachine; Step Functions Local does not assume it. */
export const localRoleArn = 'arn:aws:iam::123456789012:role/stepscale-local';

export async function createLocalStateMachine(
  client: SFNClient,
  options: { name: string; mapConcurrency?: number },
): Promise<string> {
  const definition = withVirtualStartTime(
    await loadDefinition(cycleSubstitutions(localFunctionArn, options.mapConcurrency)),
  );
  const created = await client.send(
    new CreateStateMachineCommand({
      name: options.name,
      definition: JSON.stringify(definition),
      roleArn: localRoleArn,
      type: 'STANDARD',
    }),
  );
  if (!created.stateMachineArn) throw new Error('CreateStateMachine answered without a stateMachineArn');
  return created.stateMachineArn;
}

export interface SfnCycleResult extends CycleRunResult<CycleEvent> {
  readonly executionArn: string;
}

export interface SfnCycleOptions {
  readonly stateMachineArn: string;
  readonly cycleId: string;
  /** The world's (virtual) time the cycle starts at. */
  readonly startedAt: Date;
  readonly executionName: string;
  /**
   * The execution input's targets (none: a scheduled cycle's): the repositories a webhook-started cycle scans,
   * the scale sets whose listener started it.
   */
  readonly targets?: { readonly repositories: readonly string[]; readonly scaleSets?: readonly string[] };
  readonly onEvent?: (event: CycleEvent) => void;
  /** Between polls of the history. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly pollMs?: number;
  /** Give up on an execution after this many polls. */
  readonly maxPolls?: number;
}

export async function runCycleOnSfn(client: SFNClient, options: SfnCycleOptions): Promise<SfnCycleResult> {
  const started = await client.send(
    new StartExecutionCommand({
      stateMachineArn: options.stateMachineArn,
      name: options.executionName,
      input: JSON.stringify({
        cycleId: options.cycleId,
        targets: options.targets ?? { repositories: [] },
        startedAt: options.startedAt.toISOString(),
      }),
    }),
  );
  const executionArn = started.executionArn;
  if (!executionArn) throw new Error('StartExecution answered without an executionArn');
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const translator = new HistoryTranslator();
  const events: CycleEvent[] = [];
  const take = (fresh: readonly CycleEvent[]) => {
    for (const event of fresh) {
      events.push(event);
      options.onEvent?.(event);
    }
  };
  for (let poll = 0; !translator.ended; poll++) {
    if (poll >= (options.maxPolls ?? 600))
      throw new Error(`${executionArn} did not end after ${poll} polls of its history`);
    if (poll > 0) await sleep(options.pollMs ?? 250);
    take(translator.push(await executionHistory(client, executionArn)));
  }
  take(translator.end());

  const described = await client.send(new DescribeExecutionCommand({ executionArn }));
  const output = parseData(described.output);
  const status = described.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED';
  // Like the embedded run: a failed cycle's output is the last state a top-level state exited with.
  const lastState = [...events]
    .reverse()
    .find((event) => event.type === 'StateExited' && event.index === undefined) as
    | { output?: unknown }
    | undefined;
  return {
    status,
    output: isObject(output) ? output : isObject(lastState?.output) ? lastState.output : {},
    ...(status === 'FAILED'
      ? { error: { name: described.error ?? String(described.status), cause: described.cause } }
      : {}),
    events,
    executionArn,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
