/**
 * The stack's GitHub write pacing in the state table: one item whose `nextAt` (epoch ms) is when the next
 * write slot starts. Taking a slot is one atomic UpdateItem whichever way it goes, so writers in different
 * Lambda containers and different cycles never get the same slot:
 *
 * - nothing reserved ahead (`nextAt` ≤ now, or no item): the slot is now, and `nextAt` becomes now + interval;
 * - otherwise: the slot is `nextAt`, which moves on by one interval (`SET nextAt = nextAt + :interval`), as
 *   long as it is due no later than the caller's limit.
 *
 * A race between the two (the item changed in between) fails a condition and is tried again. Failures leave as
 * the state store's do (dynamodb-state-store.ts): StateStoreUnavailableError when DynamoDB throttled or failed.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { StateStoreUnavailableError } from '../errors.ts';
import type { WriteBudget } from '../ports/write-budget.ts';
import { sendToTable } from './dynamodb-state-store.ts';
import { slotsBetween } from './memory-write-budget.ts';

export interface DynamoDbWriteBudgetOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly intervalMs: number;
  readonly now?: () => Date;
  /** The item's key. Default `github-writes`. */
  readonly key?: string;
}

/** Each attempt is one request; a contested slot is rarely contested twice. */
const maxAttempts = 5;
/** The item outlives any pause GitHub asks for; it is recreated whenever it is gone. */
const itemTtlSeconds = 3600;

export function createDynamoDbWriteBudget(options: DynamoDbWriteBudgetOptions): WriteBudget {
  const { client, tableName, intervalMs } = options;
  const now = options.now ?? (() => new Date());
  const key = { pk: { S: options.key ?? 'github-writes' } };
  const names = { '#pk': 'pk', '#nextAt': 'nextAt', '#expiresAt': 'expiresAt' };
  const number = (value: number): AttributeValue => ({ N: String(Math.round(value)) });
  const expiresAt = (atMs: number) => number(Math.ceil(atMs / 1000) + itemTtlSeconds);

  const send = <T>(work: () => Promise<T>) => sendToTable(tableName, work);

  /** One update of the item; a refused condition comes back as ConditionalCheckFailedException. */
  function update(input: Omit<UpdateItemCommandInput, 'TableName' | 'Key'>) {
    return send(() => client.send(new UpdateItemCommand({ TableName: tableName, Key: key, ...input })));
  }

  return {
    async available(until: Date): Promise<number> {
      const output = await send(() =>
        client.send(new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: true })),
      );
      const nextAt = Number(output.Item?.nextAt?.N ?? 0);
      return slotsBetween(Math.max(now().getTime(), nextAt), until.getTime(), intervalMs);
    },

    async reserve(notAfter: Date): Promise<Date | undefined> {
      for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
        const nowMs = now().getTime();
        if (nowMs > notAfter.getTime()) return undefined;
        try {
          await update({
            UpdateExpression: 'SET #nextAt = :next, #expiresAt = :expiresAt',
            ConditionExpression: 'attribute_not_exists(#pk) OR #nextAt <= :now',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: {
              ':next': number(nowMs + intervalMs),
              ':now': number(nowMs),
              ':expiresAt': expiresAt(nowMs + intervalMs),
            },
          });
          return new Date(nowMs);
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
        try {
          const output = await update({
            UpdateExpression: 'SET #nextAt = #nextAt + :interval, #expiresAt = :expiresAt',
            ConditionExpression: '#nextAt > :now AND #nextAt <= :notAfter',
            ExpressionAttributeNames: { '#nextAt': 'nextAt', '#expiresAt': 'expiresAt' },
            ExpressionAttributeValues: {
              ':interval': number(intervalMs),
              ':now': number(nowMs),
              ':notAfter': number(notAfter.getTime()),
              ':expiresAt': expiresAt(notAfter.getTime() + intervalMs),
            },
            ReturnValues: 'UPDATED_OLD',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          });
          return new Date(Number(output.Attributes?.nextAt?.N));
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
          // Booked beyond the caller's limit: no slot for it. Otherwise the item changed under us: again.
          if (Number(error.Item?.nextAt?.N ?? 0) > notAfter.getTime()) return undefined;
        }
      }
      throw new StateStoreUnavailableError(
        `DynamoDB table ${tableName}: no write slot after ${maxAttempts} contested attempts`,
      );
    },

    async pause(until: Date): Promise<void> {
      try {
        await update({
          UpdateExpression: 'SET #nextAt = :until, #expiresAt = :expiresAt',
          ConditionExpression: 'attribute_not_exists(#pk) OR #nextAt < :until',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: {
            ':until': number(until.getTime()),
            ':expiresAt': expiresAt(until.getTime()),
          },
        });
      } catch (error) {
        // Already paused at least that long.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },
  };
}
