/**
 * The scaling lease that keeps overlapping cycles from both launching (functions/handlers/scaling-lease.ts):
 * its semantics in the in-memory store, the conditional requests of the DynamoDB store, and how Decide and
 * ScaleDown use it. The races themselves, through the state machine, are in faults-races.test.ts.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createDynamoDbStateStore } from '../functions/adapters/dynamodb-state-store.ts';
import { MemoryStateStore } from '../functions/adapters/memory-state-store.ts';
import { StateStoreUnavailableError } from '../functions/errors.ts';
import { decide } from '../functions/handlers/decide.ts';
import type { HandlerDeps } from '../functions/handlers/deps.ts';
import { scaleDown } from '../functions/handlers/scale-down.ts';
import { scalingLeaseKey, scalingLeaseSeconds } from '../functions/handlers/scaling-lease.ts';
import type { Log } from '../functions/observability/logger.ts';
import { FakeGitHub, queuedJobs, testDeps } from './support/fakes.ts';

const t0 = new Date('2026-01-05T09:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

describe('lease semantics of the in-memory store', () => {
  it.each([
    { case: 'free', before: undefined, who: 'b', when: 0, acquired: true },
    { case: 'held by another', before: { holder: 'a', until: 90 }, who: 'b', when: 30, acquired: false },
    {
      case: 'held by the same holder (renewed)',
      before: { holder: 'a', until: 90 },
      who: 'a',
      when: 30,
      acquired: true,
    },
    { case: 'ended exactly now', before: { holder: 'a', until: 90 }, who: 'b', when: 90, acquired: true },
    { case: 'ended', before: { holder: 'a', until: 90 }, who: 'b', when: 120, acquired: true },
  ])('$case → acquired: $acquired', async ({ before, who, when, acquired }) => {
    let now = t0;
    const store = new MemoryStateStore(() => now);
    if (before) await store.acquireLease('lease', before.holder, at(before.until));
    now = at(when);
    const outcome = await store.acquireLease('lease', who, at(when + 90));
    expect(outcome).toEqual(
      acquired
        ? { acquired: true }
        : { acquired: false, heldBy: { holder: 'a', until: at(90).toISOString() } },
    );
  });

  it('renewing moves the end; releasing frees it only for its holder', async () => {
    let now = t0;
    const store = new MemoryStateStore(() => now);
    await store.acquireLease('lease', 'a', at(90));
    now = at(60);
    await store.acquireLease('lease', 'a', at(150));
    now = at(100);
    expect(await store.acquireLease('lease', 'b', at(190))).toMatchObject({ acquired: false });
    await store.releaseLease('lease', 'b');
    expect(await store.acquireLease('lease', 'b', at(190))).toMatchObject({ acquired: false });
    await store.releaseLease('lease', 'a');
    expect(await store.acquireLease('lease', 'b', at(190))).toEqual({ acquired: true });
  });
});

describe('lease requests of the DynamoDB store', () => {
  const dynamodb = mockClient(DynamoDBClient);
  const table = 'stepscale-state';
  const store = () =>
    createDynamoDbStateStore({
      client: new DynamoDBClient({ region: 'eu-west-1' }),
      tableName: table,
      now: () => at(0.5),
      retryDelayMs: 1,
    });
  const refused = (item?: Record<string, AttributeValue>) =>
    new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: {},
      ...(item ? { Item: item } : {}),
    });
  beforeEach(() => dynamodb.reset());

  it('takes a lease with one conditional put: free, ended, or already this holder’s', async () => {
    dynamodb.on(PutItemCommand).resolves({});
    expect(await store().acquireLease('scaling-lease', 'cycle-1', at(90.2))).toEqual({ acquired: true });
    expect(dynamodb.commandCalls(PutItemCommand).map((call) => call.args[0].input)).toEqual([
      {
        TableName: table,
        Item: {
          pk: { S: 'scaling-lease' },
          holder: { S: 'cycle-1' },
          value: { S: JSON.stringify({ holder: 'cycle-1', until: at(90.2).toISOString() }) },
          expiresAt: { N: String(t0.getTime() / 1000 + 91) },
        },
        ConditionExpression: 'attribute_not_exists(#pk) OR #expiresAt <= :now OR #holder = :holder',
        ExpressionAttributeNames: { '#pk': 'pk', '#expiresAt': 'expiresAt', '#holder': 'holder' },
        ExpressionAttributeValues: {
          ':now': { N: String(t0.getTime() / 1000) },
          ':holder': { S: 'cycle-1' },
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    ]);
  });

  it('reports who holds a lease it could not take, from the item returned with the refusal', async () => {
    dynamodb
      .on(PutItemCommand)
      .rejects(
        refused({ pk: { S: 'scaling-lease' }, holder: { S: 'cycle-0' }, expiresAt: { N: '1767603660' } }),
      );
    expect(await store().acquireLease('scaling-lease', 'cycle-1', at(90))).toEqual({
      acquired: false,
      heldBy: { holder: 'cycle-0', until: '2026-01-05T09:01:00.000Z' },
    });
  });

  it('turns any other failure but a refusal into StateStoreUnavailableError (Decide retries it)', async () => {
    dynamodb
      .on(PutItemCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    await expect(store().acquireLease('scaling-lease', 'cycle-1', at(90))).rejects.toBeInstanceOf(
      StateStoreUnavailableError,
    );
  });

  it('gives a lease back with a delete conditional on the holder, and ignores one it no longer holds', async () => {
    dynamodb.on(DeleteItemCommand).resolvesOnce({}).rejects(refused());
    await store().releaseLease('scaling-lease', 'cycle-1');
    await store().releaseLease('scaling-lease', 'cycle-1');
    expect(dynamodb.commandCalls(DeleteItemCommand)[0]?.args[0].input).toEqual({
      TableName: table,
      Key: { pk: { S: 'scaling-lease' } },
      ConditionExpression: '#holder = :holder',
      ExpressionAttributeNames: { '#holder': 'holder' },
      ExpressionAttributeValues: { ':holder': { S: 'cycle-1' } },
    });
    dynamodb.on(DeleteItemCommand).rejects(new Error('network'));
    await expect(store().releaseLease('scaling-lease', 'cycle-1')).rejects.toBeInstanceOf(
      StateStoreUnavailableError,
    );
  });
});

/** Warnings a handler logged, by message. */
function recordingLog(): { log: Log; warnings: { message: string; fields: unknown }[] } {
  const warnings: { message: string; fields: unknown }[] = [];
  const ignore = () => {};
  const log = {
    debug: ignore,
    info: ignore,
    error: ignore,
    warn: (message: string, fields: unknown) => warnings.push({ message, fields }),
  } as unknown as Log;
  return { log, warnings };
}

const cycle = (id: string) => ({
  id,
  startedAt: t0.toISOString(),
  mapConcurrency: 4,
});
const demand = { queuedByPool: { 'linux-x64': 3 }, unmatched: 0, complete: true };
const noRemovals = {
  removals: [],
  cleanup: { orphansToMark: [], orphansToTerminate: [], ghosts: [], staleRunnerConfigs: [] },
};

describe('Decide and ScaleDown with the lease', () => {
  function setup() {
    const github = new FakeGitHub();
    github.jobsByRepo.set('api', queuedJobs(3));
    const base = testDeps({ github, now: () => t0 });
    const { log, warnings } = recordingLog();
    const deps: HandlerDeps = { ...base.deps, log };
    return { ...base, deps, warnings };
  }

  it('Decide holds the lease for scalingLeaseSeconds from its own clock', async () => {
    const { deps, stateStore } = setup();
    await decide(deps)({ cycle: cycle('c1'), demand });
    expect((await stateStore.getMany([scalingLeaseKey])).get(scalingLeaseKey)).toEqual({
      holder: 'c1',
      until: at(scalingLeaseSeconds).toISOString(),
    });
  });

  it('Decide without the lease plans nothing and says who holds it; a retry of the holder plans as usual', async () => {
    const { deps, stateStore, warnings } = setup();
    await stateStore.acquireLease(scalingLeaseKey, 'c0', at(60));
    const other = await decide(deps)({ cycle: cycle('c1'), demand });
    const holderRetry = await decide(deps)({ cycle: cycle('c0'), demand });
    expect(other).toMatchObject({
      leaseHeldBy: 'c0',
      launches: [],
      removals: [],
      scaleDownHeld: true,
      pools: [{ pool: 'linux-x64', queued: 3, launch: 0, terminate: 0 }],
    });
    expect(warnings).toContainEqual({
      message: 'Another cycle holds the scaling lease: this cycle launches and removes nothing',
      fields: expect.objectContaining({
        holder: 'c0',
        until: at(60).toISOString(),
        wouldLaunch: [{ pool: 'linux-x64', count: 3 }],
      }),
    });
    expect(holderRetry).toMatchObject({ launches: [{ pool: 'linux-x64', count: 3 }] });
    expect(holderRetry.leaseHeldBy).toBeUndefined();
  });

  it('a Decide that fails gives the lease back, so the next cycle is not held up; never one it does not hold', async () => {
    const { deps, stateStore, github } = setup();
    github.listRunners = async () => {
      throw new Error('GitHub down');
    };
    await expect(decide(deps)({ cycle: cycle('c1'), demand })).rejects.toThrow('GitHub down');
    expect((await stateStore.getMany([scalingLeaseKey])).size).toBe(0);
    // Another cycle's lease stays when this one fails without it.
    await stateStore.acquireLease(scalingLeaseKey, 'c0', at(60));
    await expect(decide(deps)({ cycle: cycle('c1'), demand })).rejects.toThrow('GitHub down');
    expect((await stateStore.getMany([scalingLeaseKey])).get(scalingLeaseKey)).toMatchObject({
      holder: 'c0',
    });
  });

  it('ScaleDown gives the lease back, also when it fails, and never one it does not hold', async () => {
    const { deps, stateStore, fleet } = setup();
    const held = () => stateStore.getMany([scalingLeaseKey]);
    // Another cycle's lease stays.
    await stateStore.acquireLease(scalingLeaseKey, 'c0', at(60));
    await scaleDown(deps)({ cycle: cycle('c1'), ...noRemovals });
    expect((await held()).size).toBe(1);
    await scaleDown(deps)({ cycle: cycle('c0'), ...noRemovals });
    expect((await held()).size).toBe(0);
    // A failing ScaleDown of the holder still gives it back.
    await stateStore.acquireLease(scalingLeaseKey, 'c2', at(60));
    fleet.listInstances = async () => {
      throw new Error('EC2 down');
    };
    await expect(
      scaleDown(deps)({
        cycle: cycle('c2'),
        ...noRemovals,
        cleanup: { ...noRemovals.cleanup, orphansToTerminate: ['i-1'] },
      }),
    ).rejects.toThrow('EC2 down');
    expect((await held()).size).toBe(0);
  });

  it('ScaleDown reports its work when the lease cannot be given back (it ends by itself)', async () => {
    const { deps, stateStore, warnings } = setup();
    stateStore.releaseLease = async () => {
      throw new StateStoreUnavailableError('DynamoDB down');
    };
    const output = await scaleDown(deps)({ cycle: cycle('c1'), ...noRemovals });
    expect(output).toMatchObject({ terminated: 0, failed: 0 });
    expect(warnings.map((warning) => warning.message)).toEqual([
      'Scaling lease not released; it ends by itself',
    ]);
  });
});
