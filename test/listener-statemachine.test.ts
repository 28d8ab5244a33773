/**
 * The listener state machine (statemachine/listener.asl.json) on the local executor, its Task answered by
 * scripted rounds: what it does after a round that listened, waits, stops or fails.
 */
import '../functions/executor/polyfills.ts';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { listenerDefinitionPath, loadDefinition } from '../functions/statemachine-definition.ts';
import { isOurErrorName, stepscaleErrorNames } from './support/asl-errors.ts';

type Round = Record<string, unknown> | Error;

async function run(rounds: Round[], input: Record<string, unknown> = {}, maxRounds = 3) {
  const definition = await loadDefinition(
    {
      ListenFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:stepscale-listen',
      ListenerMaxRounds: String(maxRounds),
    },
    listenerDefinitionPath,
  );
  const machine = new StateMachine(structuredClone(definition) as unknown as StateMachineDefinition, {
    validationOptions: { checkPaths: true, checkArn: true },
  });
  const inputs: Record<string, unknown>[] = [];
  const continued: unknown[] = [];
  const execution = machine.run(JSON.parse(JSON.stringify(input)), {
    overrides: {
      taskResourceLocalHandlers: {
        Listen: async (event: unknown) => {
          inputs.push(event as Record<string, unknown>);
          const next = rounds.shift();
          if (!next) throw new Error('no more rounds scripted');
          if (next instanceof Error) throw next;
          return JSON.parse(JSON.stringify(next));
        },
        ContinueAsNew: async (event: unknown) => {
          continued.push(event);
          return {};
        },
      },
      waitTimeOverrides: { WaitBeforeListening: 0, PauseAfterFailure: 0 },
      retryIntervalOverrides: { Listen: 0, ContinueAsNew: 0 },
    },
    // On AWS the context object carries these itself.
    context: {
      Execution: {
        Name: 'listener-1',
        Id: 'arn:aws:states:us-east-1:123456789012:execution:listener:listener-1',
      },
      StateMachine: { Id: 'arn:aws:states:us-east-1:123456789012:stateMachine:stepscale-listener' },
    },
  });
  const states: string[] = [];
  const consume = (async () => {
    for await (const event of execution.eventLogs)
      if (event.type === 'StateEntered' && event.index === undefined) states.push(event.state.name);
  })();
  let status: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED';
  let error: string | undefined;
  try {
    await execution.result;
  } catch (failure) {
    status = 'FAILED';
    error = `${(failure as Error).name}: ${(failure as Error).message}`;
  }
  await consume.catch(() => undefined);
  return { status, error, inputs, continued, states };
}

const round = (rounds: number, fields: Record<string, unknown> = {}) => ({
  rounds,
  maxRounds: 3,
  stop: false,
  waitSeconds: 0,
  ...fields,
});

class ScaleSetUnavailableError extends Error {
  override name = 'ScaleSetUnavailableError';
}

describe('Listener state machine', () => {
  it('retries only error names that Step Functions, Lambda or stepscale actually raise', async () => {
    // Prepare
    const named = stepscaleErrorNames();
    const definition = await loadDefinition(
      { ListenFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f', ListenerMaxRounds: '3' },
      listenerDefinitionPath,
    );

    // Act
    const matched = Object.values(
      definition.States as Record<string, { Retry?: { ErrorEquals: string[] }[] }>,
    )
      .flatMap((state) => state.Retry ?? [])
      .flatMap((rule) => rule.ErrorEquals)
      .filter(isOurErrorName);

    // Assess
    expect(matched).toContain('ScaleSetUnavailableError');
    for (const name of matched) expect(named, name).toContain(name);
  });

  it('listens round after round and continues as a new execution after the last one', async () => {
    // Act
    const result = await run([round(1), round(2), round(3)]);

    // Assess
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('SUCCEEDED');
    expect(result.inputs).toEqual([
      { execution: 'listener-1', rounds: 0, maxRounds: 3 },
      { execution: 'listener-1', rounds: 1, maxRounds: 3 },
      { execution: 'listener-1', rounds: 2, maxRounds: 3 },
    ]);
    expect(result.continued).toEqual([
      {
        StateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:stepscale-listener',
        Input: {
          rounds: 0,
          AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID:
            'arn:aws:states:us-east-1:123456789012:execution:listener:listener-1',
        },
      },
    ]);
    expect(result.states.at(-1)).toBe('ContinueAsNew');
  });

  it('waits for a hand-over when told to, and stops when another listener listens', async () => {
    // Act
    const result = await run([round(1, { waitSeconds: 30 }), round(2, { stop: true })], { rounds: 0 });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.states).toEqual([
      'HasRounds',
      'Listen',
      'NextRound',
      'WaitBeforeListening',
      'Listen',
      'NextRound',
      'Stopped',
    ]);
    expect(result.continued).toEqual([]);
  });

  it('retries a round the Actions service failed, pauses after a failed round, and a good round clears the count', async () => {
    // Act: one round fails past its retries (five attempts), the next succeeds, then three fail, then stop
    const unavailable = () => new ScaleSetUnavailableError('503');
    const result = await run([
      ...Array.from({ length: 5 }, unavailable),
      round(1),
      new Error('boom'),
      new Error('boom'),
      new Error('boom'),
      round(2, { stop: true }),
    ]);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.states.filter((state) => state === 'PauseAfterFailure')).toHaveLength(4);
    expect(result.states).toContain('FirstFailure');
    expect(result.states).toContain('AnotherFailure');
  });

  it('ends as failed after five failed rounds in a row', async () => {
    // Act
    const result = await run(Array.from({ length: 5 }, () => new Error('boom')));

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.states.at(-1)).toBe('ListenerFailed');
    expect(result.inputs).toHaveLength(5);
  });
});
