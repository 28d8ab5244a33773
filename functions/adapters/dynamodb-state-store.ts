/**
 * The production StateStore: one DynamoDB table (template.yaml, `StateTable`) with a string key `pk`, the
 * JSON value in `value`, and `expiresAt` (epoch seconds) as the table's TTL attribute. Reads and writes go in
 * batches (BatchGetItem takes at most 100 keys, BatchWriteItem at most 25 puts); what DynamoDB leaves
 * unprocessed under throttling is retried with a short exponential backoff. DynamoDB deletes expired items
 * lazily (typically within days), so reads ignore an item whose `expiresAt` has passed.
 *
 * Leases are items too, with the holder in its own attribute: taking one is a single conditional PutItem
 * (free, expired, or already ours), so two cycles racing for it cannot both win.
 *
 * Throttling, 5xx and network failures, and work still unprocessed after every attempt, leave as
 * StateStoreUnavailableError, which the state machine retries; refusals (e.g. AccessDeniedException) leave
 * under the SDK's name.
 */

import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { chunks } from '../core/chunks.ts';
import { StateStoreUnavailableError } from '../errors.ts';
import type { Lease, LeaseOutcome, StateStore } from '../ports/state-store.ts';
import { toRetryableAwsError } from './aws-errors.ts';

export interface DynamoDbStateStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Attempts per batch while DynamoDB leaves keys or items unprocessed. Default 6. */
  readonly maxAttempts?: number;
  /** First wait before retrying unprocessed work, doubled each time. Default 50 ms. */
  readonly retryDelayMs?: number;
  /** Expiry is judged against this clock. */
  readonly now?: () => Date;
}

/** DynamoDB's limits per call. */
export const maxKeysPerBatchGet = 100;
export const maxPutsPerBatchWrite = 25;
/** DynamoDB's item limit is 400 KB, attribute names included; values are meant to stay far below it. */
export const maxValueBytes = 390_000;

type Item = Record<string, AttributeValue>;

export function createDynamoDbStateStore(options: DynamoDbStateStoreOptions): StateStore {
  const { client, tableName } = options;
  const maxAttempts = options.maxAttempts ?? 6;
  const retryDelayMs = options.retryDelayMs ?? 50;
  const now = options.now ?? (() => new Date());

  const backoff = (attempt: number) =>
    new Promise((resolve) => setTimeout(resolve, retryDelayMs * 2 ** (attempt - 1)));

  async function getChunk(keys: readonly string[]): Promise<Item[]> {
    const items: Item[] = [];
    let pending: Item[] = keys.map((key) => ({ pk: { S: key } }));
    for (let attempt = 1; ; attempt += 1) {
      const output = await sendToTable(tableName, () =>
        client.send(
          new BatchGetItemCommand({
            RequestItems: {
              [tableName]: {
                Keys: pending,
                ProjectionExpression: '#pk, #value, #expiresAt',
                ExpressionAttributeNames: { '#pk': 'pk', '#value': 'value', '#expiresAt': 'expiresAt' },
              },
            },
          }),
        ),
      );
      items.push(...(output.Responses?.[tableName] ?? []));
      pending = output.UnprocessedKeys?.[tableName]?.Keys ?? [];
      if (pending.length === 0) return items;
      if (attempt >= maxAttempts) {
        throw new StateStoreUnavailableError(
          `DynamoDB left ${pending.length} keys of ${tableName} unprocessed after ${attempt} attempts`,
        );
      }
      await backoff(attempt);
    }
  }

  async function writeChunk(requests: WriteRequest[]): Promise<void> {
    let pending = requests;
    for (let attempt = 1; ; attempt += 1) {
      const output = await sendToTable(tableName, () =>
        client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } })),
      );
      pending = output.UnprocessedItems?.[tableName] ?? [];
      if (pending.length === 0) return;
      if (attempt >= maxAttempts) {
        throw new StateStoreUnavailableError(
          `DynamoDB left ${pending.length} items of ${tableName} unprocessed after ${attempt} attempts`,
        );
      }
      await backoff(attempt);
    }
  }

  return {
    async getMany<T>(keys: readonly string[]): Promise<Map<string, T>> {
      // BatchGetItem refuses duplicate keys in one request.
      const unique = [...new Set(keys)];
      const items = (await Promise.all(chunks(unique, maxKeysPerBatchGet).map(getChunk))).flat();
      const nowSeconds = now().getTime() / 1000;
      const found = new Map<string, T>();
      for (const item of items) {
        const key = item.pk?.S;
        const text = item.value?.S;
        const expiresAt = Number(item.expiresAt?.N);
        // Expired but not yet deleted by TTL: gone, as far as readers are concerned.
        if (key === undefined || text === undefined || !(expiresAt > nowSeconds)) continue;
        try {
          found.set(key, JSON.parse(text) as T);
        } catch {
          // Not ours (or damaged): as good as missing; the next write replaces it.
        }
      }
      return found;
    },

    async putMany<T>(entries: readonly { key: string; value: T }[], ttlSeconds: number): Promise<void> {
      const expiresAt = String(Math.floor(now().getTime() / 1000) + Math.max(1, Math.ceil(ttlSeconds)));
      // BatchWriteItem refuses two requests for one key; the last value wins, as sequential puts would.
      const latest = new Map<string, string>();
      for (const { key, value } of entries) {
        const text = JSON.stringify(value);
        if (Buffer.byteLength(text) > maxValueBytes) {
          throw new RangeError(
            `State value for ${key} exceeds ${maxValueBytes} bytes; keep stored values small`,
          );
        }
        latest.delete(key);
        latest.set(key, text);
      }
      const requests: WriteRequest[] = [...latest].map(([key, text]) => ({
        PutRequest: { Item: { pk: { S: key }, value: { S: text }, expiresAt: { N: expiresAt } } },
      }));
      await Promise.all(chunks(requests, maxPutsPerBatchWrite).map(writeChunk));
    },

    async acquireLease(key: string, holder: string, until: Date): Promise<LeaseOutcome> {
      const lease: Lease = { holder, until: until.toISOString() };
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: {
              pk: { S: key },
              holder: { S: holder },
              value: { S: JSON.stringify(lease) },
              // Rounded up: a lease never ends before its holder was promised.
              expiresAt: { N: String(Math.ceil(until.getTime() / 1000)) },
            },
            ConditionExpression: 'attribute_not_exists(#pk) OR #expiresAt <= :now OR #holder = :holder',
            ExpressionAttributeNames: { '#pk': 'pk', '#expiresAt': 'expiresAt', '#holder': 'holder' },
            ExpressionAttributeValues: {
              ':now': { N: String(Math.floor(now().getTime() / 1000)) },
              ':holder': { S: holder },
            },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return { acquired: true };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw storeFailure(tableName, error);
        return { acquired: false, heldBy: leaseOf(error.Item) };
      }
    },

    async releaseLease(key: string, holder: string): Promise<void> {
      try {
        await client.send(
          new DeleteItemCommand({
            TableName: tableName,
            Key: { pk: { S: key } },
            ConditionExpression: '#holder = :holder',
            ExpressionAttributeNames: { '#holder': 'holder' },
            ExpressionAttributeValues: { ':holder': { S: holder } },
          }),
        );
      } catch (error) {
        // Taken over by another cycle after ours ran out, or already gone: not ours to delete.
        if (error instanceof ConditionalCheckFailedException) return;
        throw storeFailure(tableName, error);
      }
    },
  };
}

/** The holder of a lease the condition refused, from the item DynamoDB returned with the refusal. */
function leaseOf(item: Item | undefined): Lease {
  const holder = item?.holder?.S ?? 'unknown';
  const seconds = Number(item?.expiresAt?.N);
  return {
    holder,
    until: Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : 'unknown',
  };
}

/** A failed DynamoDB call on `tableName` as the store's error (see the module header). */
export function storeFailure(tableName: string, error: unknown): unknown {
  return toRetryableAwsError(
    error,
    (message, options) => new StateStoreUnavailableError(message, options),
    `DynamoDB table ${tableName}`,
  );
}

/**
 * A call on the table, its failure as the store's error; an answer that refuses the request (a condition not
 * met) comes back as itself, for the caller to act on. Every adapter on the state table sends through it.
 */
export async function sendToTable<T>(tableName: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw storeFailure(tableName, error);
  }
}
