/**
 * The webhook inbox in the state table: one item with the posted repositories (a string set) and, while an
 * execution is starting, `startingUntil` (epoch ms). Each operation is one atomic UpdateItem: posting adds the
 * repository and, if nothing is starting, claims the start (a condition on `startingUntil`); taking removes
 * both attributes and returns what they were, so a post after the take claims the next start; putting back
 * adds repositories and leaves `startingUntil` alone.
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { WebhookInbox } from '../ports/webhook-inbox.ts';
import { sendToTable } from './dynamodb-state-store.ts';

export interface DynamoDbWebhookInboxOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly now?: () => Date;
  /** The item's key. Default `webhook-inbox`. */
  readonly key?: string;
}

/** A repository waits at most this long in the inbox before the item expires (the poll has seen it by then). */
const itemTtlSeconds = 3600;

export function createDynamoDbWebhookInbox(options: DynamoDbWebhookInboxOptions): WebhookInbox {
  const { client, tableName } = options;
  const now = options.now ?? (() => new Date());
  const Key = { pk: { S: options.key ?? 'webhook-inbox' } };
  const expiresAt = () => ({ N: String(Math.ceil(now().getTime() / 1000) + itemTtlSeconds) });

  async function update(
    input: Omit<ConstructorParameters<typeof UpdateItemCommand>[0], 'TableName' | 'Key'>,
  ) {
    return sendToTable(tableName, () =>
      client.send(new UpdateItemCommand({ TableName: tableName, Key, ...input })),
    );
  }

  return {
    async post(repository, startingUntil) {
      const added = {
        ':repository': { SS: [repository] },
        ':expiresAt': expiresAt(),
      };
      try {
        await update({
          UpdateExpression:
            'ADD #repositories :repository SET #startingUntil = :until, #expiresAt = :expiresAt',
          ConditionExpression: 'attribute_not_exists(#startingUntil) OR #startingUntil < :now',
          ExpressionAttributeNames: {
            '#repositories': 'repositories',
            '#startingUntil': 'startingUntil',
            '#expiresAt': 'expiresAt',
          },
          ExpressionAttributeValues: {
            ...added,
            ':until': { N: String(startingUntil.getTime()) },
            ':now': { N: String(now().getTime()) },
          },
        });
        return true;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
      // An execution is starting and has not taken the inbox yet: it will take this repository too.
      await update({
        UpdateExpression: 'ADD #repositories :repository SET #expiresAt = :expiresAt',
        ExpressionAttributeNames: { '#repositories': 'repositories', '#expiresAt': 'expiresAt' },
        ExpressionAttributeValues: added,
      });
      return false;
    },

    async startFailed() {
      await update({
        UpdateExpression: 'REMOVE #startingUntil',
        ExpressionAttributeNames: { '#startingUntil': 'startingUntil' },
      });
    },

    async putBack(repositories) {
      if (repositories.length === 0) return;
      await update({
        UpdateExpression: 'ADD #repositories :repositories SET #expiresAt = :expiresAt',
        ExpressionAttributeNames: { '#repositories': 'repositories', '#expiresAt': 'expiresAt' },
        ExpressionAttributeValues: {
          ':repositories': { SS: [...new Set(repositories)] },
          ':expiresAt': expiresAt(),
        },
      });
    },

    async take() {
      const output = await update({
        UpdateExpression: 'REMOVE #repositories, #startingUntil SET #expiresAt = :expiresAt',
        ExpressionAttributeNames: {
          '#repositories': 'repositories',
          '#startingUntil': 'startingUntil',
          '#expiresAt': 'expiresAt',
        },
        ExpressionAttributeValues: { ':expiresAt': expiresAt() },
        ReturnValues: 'ALL_OLD',
      });
      return [...(output.Attributes?.repositories?.SS ?? [])].sort();
    },
  };
}
