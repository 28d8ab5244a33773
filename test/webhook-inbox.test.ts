/**
 * The webhook inbox (ports/webhook-inbox.ts): one contract, run against the in-memory inbox and the DynamoDB
 * one over a fake table that evaluates DynamoDB's update and condition expressions.
 */
import { DynamoDBClient, UpdateItemCommand, type UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { createDynamoDbWebhookInbox } from '../functions/adapters/dynamodb-webhook-inbox.ts';
import { MemoryWebhookInbox } from '../functions/adapters/memory-webhook-inbox.ts';
import { StateStoreUnavailableError } from '../functions/errors.ts';
import type { WebhookInbox } from '../functions/ports/webhook-inbox.ts';
import { FakeTable } from './support/fake-dynamodb.ts';
import { ManualClock } from './support/manual-clock.ts';

const dynamodb = mockClient(DynamoDBClient);
const start = '2026-03-01T12:00:00.000Z';
const seconds = (n: number) => new Date(Date.parse(start) + n * 1000);

const implementations: [string, (clock: ManualClock) => WebhookInbox][] = [
  ['MemoryWebhookInbox', (clock) => new MemoryWebhookInbox(clock.now)],
  [
    'DynamoDB webhook inbox',
    (clock) => {
      const fake = new FakeTable();
      dynamodb.reset();
      dynamodb.on(UpdateItemCommand).callsFake((input: UpdateItemCommandInput) => fake.update(input));
      return createDynamoDbWebhookInbox({
        client: new DynamoDBClient({ region: 'eu-west-1' }),
        tableName: 'stepscale-state',
        now: clock.now,
      });
    },
  ],
];

describe.each(implementations)('WebhookInbox contract: %s', (_name, create) => {
  it('lets the first delivery start an execution and the ones after it only add their repository', async () => {
    const clock = new ManualClock(start);
    const inbox = create(clock);
    expect(await inbox.post('api', seconds(10))).toBe(true);
    expect(await inbox.post('web', seconds(10))).toBe(false);
    expect(await inbox.post('api', seconds(10))).toBe(false);
    expect(await inbox.take()).toEqual(['api', 'web']);
  });

  it('lets the next delivery start another execution once one has taken the inbox, and leaves nothing out', async () => {
    const clock = new ManualClock(start);
    const inbox = create(clock);
    await inbox.post('api', seconds(10));
    expect(await inbox.take()).toEqual(['api']);
    // Posted after the take: not in the first execution, so it starts the next.
    expect(await inbox.post('docs', seconds(10))).toBe(true);
    expect(await inbox.take()).toEqual(['docs']);
    expect(await inbox.take()).toEqual([]);
  });

  it('lets a delivery start one again when the starting execution never took the inbox in time', async () => {
    const clock = new ManualClock(start);
    const inbox = create(clock);
    await inbox.post('api', seconds(10));
    clock.advance(11);
    expect(await inbox.post('web', seconds(21))).toBe(true);
    expect(await inbox.take()).toEqual(['api', 'web']);
  });

  it('lets the next delivery start one at once when starting failed', async () => {
    const clock = new ManualClock(start);
    const inbox = create(clock);
    await inbox.post('api', seconds(10));
    await inbox.startFailed();
    expect(await inbox.post('web', seconds(10))).toBe(true);
    expect(await inbox.take()).toEqual(['api', 'web']);
  });

  it('takes back what a cycle could not scan, without starting an execution or ending one that is starting', async () => {
    const clock = new ManualClock(start);
    const inbox = create(clock);
    await inbox.putBack(['web', 'docs', 'web']);
    await inbox.putBack([]);
    // Nothing is starting: the next delivery still starts one.
    expect(await inbox.post('api', seconds(10))).toBe(true);
    await inbox.putBack(['mobile']);
    // One is starting: putting back does not end it.
    expect(await inbox.post('auth', seconds(10))).toBe(false);
    expect(await inbox.take()).toEqual(['api', 'auth', 'docs', 'mobile', 'web']);
  });
});

describe('DynamoDB webhook inbox: failures', () => {
  it('reports DynamoDB being unavailable as StateStoreUnavailableError', async () => {
    dynamodb.reset();
    dynamodb.on(UpdateItemCommand).rejects(Object.assign(new Error('down'), { name: 'InternalServerError' }));
    const inbox = createDynamoDbWebhookInbox({
      client: new DynamoDBClient({ region: 'eu-west-1' }),
      tableName: 't',
    });
    await expect(inbox.post('api', new Date())).rejects.toBeInstanceOf(StateStoreUnavailableError);
    await expect(inbox.take()).rejects.toBeInstanceOf(StateStoreUnavailableError);
  });
});
