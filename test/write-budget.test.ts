/**
 * The stack's GitHub write pacing (ports/write-budget.ts): one contract, run against the in-memory budget and
 * the DynamoDB one (over a small fake table that evaluates the condition and update expressions DynamoDB
 * would), then the DynamoDB requests themselves.
 */
import {
  DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createDynamoDbWriteBudget } from '../functions/adapters/dynamodb-write-budget.ts';
import { MemoryWriteBudget } from '../functions/adapters/memory-write-budget.ts';
import { StateStoreUnavailableError } from '../functions/errors.ts';
import type { WriteBudget } from '../functions/ports/write-budget.ts';
import { FakeTable } from './support/fake-dynamodb.ts';
import { ManualClock } from './support/manual-clock.ts';

const dynamodb = mockClient(DynamoDBClient);
const table = 'stepscale-state';
const start = '2026-03-01T12:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(start) + seconds * 1000);

interface Subject {
  readonly budget: WriteBudget;
  readonly clock: ManualClock;
}

const implementations: [string, (intervalMs: number) => Subject][] = [
  [
    'MemoryWriteBudget',
    (intervalMs) => {
      const clock = new ManualClock(start);
      return { budget: new MemoryWriteBudget(intervalMs, clock.now), clock };
    },
  ],
  [
    'DynamoDB write budget',
    (intervalMs) => {
      const clock = new ManualClock(start);
      const fake = new FakeTable();
      dynamodb.reset();
      dynamodb.on(GetItemCommand).callsFake((input: GetItemCommandInput) => fake.get(input));
      dynamodb.on(UpdateItemCommand).callsFake((input: UpdateItemCommandInput) => fake.update(input));
      const budget = createDynamoDbWriteBudget({
        client: new DynamoDBClient({ region: 'eu-west-1' }),
        tableName: table,
        intervalMs,
        now: clock.now,
      });
      return { budget, clock };
    },
  ],
];

describe.each(implementations)('WriteBudget contract: %s', (_name, create) => {
  it('gives the first slot now and each next one an interval later', async () => {
    const { budget } = create(1000);
    const slots = [];
    for (let i = 0; i < 3; i += 1) slots.push(await budget.reserve(at(60)));
    expect(slots).toEqual([at(0), at(1), at(2)]);
  });

  it('never gives the same slot twice, however many writers ask at once', async () => {
    const { budget } = create(500);
    const slots = await Promise.all(Array.from({ length: 20 }, () => budget.reserve(at(60))));
    const times = slots.map((slot) => slot?.getTime() as number).sort((a, b) => a - b);
    expect(new Set(times).size).toBe(20);
    for (let i = 1; i < times.length; i += 1)
      expect((times[i] as number) - (times[i - 1] as number)).toBe(500);
  });

  it('gives no slot that would start after the caller’s limit, and takes none then', async () => {
    const { budget } = create(1000);
    await budget.reserve(at(60));
    await budget.reserve(at(60));
    expect(await budget.reserve(at(1.5))).toBeUndefined();
    // Refusing did not use the slot up: it is still the next one.
    expect(await budget.reserve(at(60))).toEqual(at(2));
  });

  it('starts again from now once the booked slots are in the past', async () => {
    const { budget, clock } = create(1000);
    await budget.reserve(at(60));
    clock.advance(30);
    expect(await budget.reserve(at(60))).toEqual(at(30));
  });

  it('counts the free slots up to a time', async () => {
    const { budget } = create(1000);
    expect(await budget.available(at(59))).toBe(60);
    await budget.reserve(at(60));
    expect(await budget.available(at(59))).toBe(59);
    expect(await budget.available(at(-1))).toBe(0);
  });

  it('pauses every writer until GitHub’s retry-after has passed, and a shorter pause never shortens it', async () => {
    const { budget } = create(1000);
    await budget.pause(at(90));
    await budget.pause(at(30));
    expect(await budget.reserve(at(60))).toBeUndefined();
    expect(await budget.available(at(100))).toBe(11);
    expect(await budget.reserve(at(120))).toEqual(at(90));
  });
});

describe('DynamoDB write budget: requests', () => {
  beforeEach(() => dynamodb.reset());
  const budget = () =>
    createDynamoDbWriteBudget({
      client: new DynamoDBClient({ region: 'eu-west-1' }),
      tableName: table,
      intervalMs: 1000,
      now: () => at(0),
    });

  it('takes a free slot with one conditional update of one item, and reads it consistently', async () => {
    dynamodb.on(UpdateItemCommand).resolves({});
    dynamodb
      .on(GetItemCommand)
      .resolves({ Item: { pk: { S: 'github-writes' }, nextAt: { N: String(at(5).getTime()) } } });
    expect(await budget().reserve(at(60))).toEqual(at(0));
    expect(dynamodb.commandCalls(UpdateItemCommand)[0]?.args[0].input).toMatchObject({
      TableName: table,
      Key: { pk: { S: 'github-writes' } },
      ConditionExpression: 'attribute_not_exists(#pk) OR #nextAt <= :now',
    });
    expect(await budget().available(at(59))).toBe(55);
    expect(dynamodb.commandCalls(GetItemCommand)[0]?.args[0].input).toMatchObject({ ConsistentRead: true });
  });

  it('reports any other DynamoDB failure but a refusal as StateStoreUnavailableError, which Step Functions retries', async () => {
    dynamodb
      .on(UpdateItemCommand)
      .rejects(
        Object.assign(new Error('Throughput exceeded'), { name: 'ProvisionedThroughputExceededException' }),
      );
    await expect(budget().reserve(at(60))).rejects.toBeInstanceOf(StateStoreUnavailableError);
    await expect(budget().pause(at(60))).rejects.toBeInstanceOf(StateStoreUnavailableError);
  });
});
