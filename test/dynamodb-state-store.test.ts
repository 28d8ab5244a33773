import {
  BatchGetItemCommand,
  type BatchGetItemCommandInput,
  BatchWriteItemCommand,
  type BatchWriteItemCommandInput,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createDynamoDbStateStore } from '../functions/adapters/dynamodb-state-store.ts';
import { StateStoreUnavailableError } from '../functions/errors.ts';

const dynamodb = mockClient(DynamoDBClient);
const table = 'stepscale-state';
const now = new Date('2026-03-01T12:00:00Z');
const nowSeconds = now.getTime() / 1000;
const store = (options: { maxAttempts?: number } = {}) =>
  createDynamoDbStateStore({
    client: new DynamoDBClient({ region: 'eu-west-1' }),
    tableName: table,
    now: () => now,
    retryDelayMs: 1,
    ...options,
  });

const key = (pk: string) => ({ pk: { S: pk } });
const item = (pk: string, value: unknown, expiresAt = nowSeconds + 60) => ({
  pk: { S: pk },
  value: { S: JSON.stringify(value) },
  expiresAt: { N: String(expiresAt) },
});
const getInputs = () =>
  dynamodb.commandCalls(BatchGetItemCommand).map((call) => call.args[0].input as BatchGetItemCommandInput);
const writeInputs = () =>
  dynamodb
    .commandCalls(BatchWriteItemCommand)
    .map((call) => call.args[0].input as BatchWriteItemCommandInput);
const readProjection = {
  ProjectionExpression: '#pk, #value, #expiresAt',
  ExpressionAttributeNames: { '#pk': 'pk', '#value': 'value', '#expiresAt': 'expiresAt' },
};

describe('DynamoDB state store: reads', () => {
  beforeEach(() => dynamodb.reset());

  it('reads keys with BatchGetItem, 100 at a time, each key once', async () => {
    const keys = Array.from({ length: 230 }, (_, i) => `k${i}`);
    dynamodb.on(BatchGetItemCommand).callsFake((input: BatchGetItemCommandInput) => ({
      Responses: {
        [table]: (input.RequestItems?.[table]?.Keys ?? []).map((k) =>
          item(k.pk?.S as string, { n: k.pk?.S }),
        ),
      },
    }));

    const found = await store().getMany<{ n: string }>([...keys, 'k0', 'k1']);
    expect(found.size).toBe(230);
    expect(found.get('k229')).toEqual({ n: 'k229' });
    expect(getInputs()).toEqual([
      { RequestItems: { [table]: { Keys: keys.slice(0, 100).map(key), ...readProjection } } },
      { RequestItems: { [table]: { Keys: keys.slice(100, 200).map(key), ...readProjection } } },
      { RequestItems: { [table]: { Keys: keys.slice(200).map(key), ...readProjection } } },
    ]);
  });

  it('asks again for the keys DynamoDB left unprocessed, and only for those', async () => {
    dynamodb
      .on(BatchGetItemCommand)
      .resolvesOnce({
        Responses: { [table]: [item('a', 1)] },
        UnprocessedKeys: { [table]: { Keys: [key('b'), key('c')] } },
      })
      .resolvesOnce({
        Responses: { [table]: [item('b', 2)] },
        UnprocessedKeys: { [table]: { Keys: [key('c')] } },
      })
      .resolves({ Responses: { [table]: [item('c', 3)] } });

    const found = await store().getMany<number>(['a', 'b', 'c']);
    expect([...found]).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    expect(getInputs().map((input) => input.RequestItems?.[table]?.Keys)).toEqual([
      [key('a'), key('b'), key('c')],
      [key('b'), key('c')],
      [key('c')],
    ]);
  });

  it('gives up with StateStoreUnavailableError when keys stay unprocessed', async () => {
    dynamodb.on(BatchGetItemCommand).resolves({ UnprocessedKeys: { [table]: { Keys: [key('a')] } } });
    await expect(store({ maxAttempts: 3 }).getMany(['a'])).rejects.toBeInstanceOf(StateStoreUnavailableError);
    expect(getInputs()).toHaveLength(3);
  });

  it('ignores items whose expiresAt has passed (TTL deletes lazily) and values that do not parse', async () => {
    dynamodb.on(BatchGetItemCommand).resolves({
      Responses: {
        [table]: [
          item('fresh', 'yes'),
          item('expired', 'no', nowSeconds - 1),
          item('now', 'no', nowSeconds),
          { pk: { S: 'broken' }, value: { S: '{' }, expiresAt: { N: String(nowSeconds + 60) } },
          { pk: { S: 'no-expiry' }, value: { S: '"no"' } },
        ],
      },
    });
    const found = await store().getMany(['fresh', 'expired', 'now', 'broken', 'no-expiry', 'missing']);
    expect([...found]).toEqual([['fresh', 'yes']]);
  });

  it('sends nothing for no keys', async () => {
    expect((await store().getMany([])).size).toBe(0);
    await store().putMany([], 60);
    expect(dynamodb.calls()).toHaveLength(0);
  });
});

describe('DynamoDB state store: writes', () => {
  beforeEach(() => dynamodb.reset());

  it('puts items with BatchWriteItem, 25 at a time, expiring ttlSeconds from now', async () => {
    dynamodb.on(BatchWriteItemCommand).resolves({});
    const entries = Array.from({ length: 60 }, (_, i) => ({ key: `k${i}`, value: { i } }));
    await store().putMany(entries, 86_400);

    const put = (i: number) => ({
      PutRequest: {
        Item: {
          pk: { S: `k${i}` },
          value: { S: JSON.stringify({ i }) },
          expiresAt: { N: String(nowSeconds + 86_400) },
        },
      },
    });
    const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => put(from + i));
    expect(writeInputs()).toEqual([
      { RequestItems: { [table]: range(0, 25) } },
      { RequestItems: { [table]: range(25, 50) } },
      { RequestItems: { [table]: range(50, 60) } },
    ]);
  });

  it('writes a key given twice once, with its last value (DynamoDB refuses duplicates in a batch)', async () => {
    dynamodb.on(BatchWriteItemCommand).resolves({});
    await store().putMany(
      [
        { key: 'a', value: 1 },
        { key: 'b', value: 2 },
        { key: 'a', value: 3 },
      ],
      60,
    );
    expect(writeInputs()[0]?.RequestItems?.[table]?.map((request) => request.PutRequest?.Item)).toEqual([
      { pk: { S: 'b' }, value: { S: '2' }, expiresAt: { N: String(nowSeconds + 60) } },
      { pk: { S: 'a' }, value: { S: '3' }, expiresAt: { N: String(nowSeconds + 60) } },
    ]);
  });

  it('retries the items DynamoDB left unprocessed, and only those', async () => {
    const unprocessed = {
      PutRequest: { Item: { pk: { S: 'b' }, value: { S: '2' }, expiresAt: { N: String(nowSeconds + 60) } } },
    };
    dynamodb
      .on(BatchWriteItemCommand)
      .resolvesOnce({ UnprocessedItems: { [table]: [unprocessed] } })
      .resolves({});
    await store().putMany(
      [
        { key: 'a', value: 1 },
        { key: 'b', value: 2 },
      ],
      60,
    );
    expect(writeInputs().map((input) => input.RequestItems?.[table]?.length)).toEqual([2, 1]);
    expect(writeInputs()[1]).toEqual({ RequestItems: { [table]: [unprocessed] } });
  });

  it('gives up with StateStoreUnavailableError when items stay unprocessed', async () => {
    dynamodb.on(BatchWriteItemCommand).callsFake((input: BatchWriteItemCommandInput) => ({
      UnprocessedItems: input.RequestItems,
    }));
    await expect(store({ maxAttempts: 2 }).putMany([{ key: 'a', value: 1 }], 60)).rejects.toBeInstanceOf(
      StateStoreUnavailableError,
    );
    expect(writeInputs()).toHaveLength(2);
  });

  it('names a batch DynamoDB throttled StateStoreUnavailableError, and passes a refusal on as itself', async () => {
    // Prepare
    const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
    const noTable = new ResourceNotFoundException({ message: 'no such table', $metadata: {} });
    dynamodb.on(BatchGetItemCommand).rejects(throttled);
    dynamodb.on(BatchWriteItemCommand).rejects(noTable);

    // Act + Assess
    await expect(store().getMany(['a'])).rejects.toMatchObject({
      name: 'StateStoreUnavailableError',
      message: `DynamoDB table ${table} failed (ProvisionedThroughputExceededException): slow down`,
      cause: throttled,
    });
    await expect(store().putMany([{ key: 'a', value: 1 }], 60)).rejects.toBe(noTable);
  });

  it('refuses a value too large for a DynamoDB item before sending anything', async () => {
    await expect(store().putMany([{ key: 'big', value: 'x'.repeat(400_000) }], 60)).rejects.toThrow(
      /big exceeds/,
    );
    expect(dynamodb.calls()).toHaveLength(0);
  });
});
