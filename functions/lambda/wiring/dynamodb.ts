/**
 * The state table inside Lambda (`STEPSCALE_STATE_TABLE`): the state store and the stack's GitHub write
 * budget. Without a table nothing is remembered between cycles (and no request is conditional), the scaling
 * lease and the registration claims are always granted — nothing but the schedule then keeps cycles apart
 * (docs/design.md, "Failure modes") — and each container paces only its own GitHub writes.
 */
import { createDynamoDbWebhookInbox } from '../../adapters/dynamodb-webhook-inbox.ts';
import { createDynamoDbWriteBudget } from '../../adapters/dynamodb-write-budget.ts';
import { MemoryWebhookInbox } from '../../adapters/memory-webhook-inbox.ts';
import { MemoryWriteBudget } from '../../adapters/memory-write-budget.ts';
import { writeIntervalMs } from '../../config/config.ts';
import type { StateStore } from '../../ports/state-store.ts';
import type { WebhookInbox } from '../../ports/webhook-inbox.ts';
import type { WriteBudget } from '../../ports/write-budget.ts';
import type { WiringContext } from './context.ts';
import { forgetfulStateStore, stateTableClient, stateTableStore } from './state-table.ts';

export function lambdaStateStore({ env }: WiringContext): StateStore {
  if (!env.STEPSCALE_STATE_TABLE) return forgetfulStateStore;
  return stateTableStore(env.STEPSCALE_STATE_TABLE);
}

export function lambdaWriteBudget({ env, config }: WiringContext): WriteBudget {
  const intervalMs = writeIntervalMs(config);
  if (!env.STEPSCALE_STATE_TABLE) return new MemoryWriteBudget(intervalMs);
  return createDynamoDbWriteBudget({
    client: stateTableClient(),
    tableName: env.STEPSCALE_STATE_TABLE,
    intervalMs,
  });
}

/** Without a table each container has its own inbox: the receiver then names its repository in each input. */
export function lambdaWebhookInbox({ env }: WiringContext): WebhookInbox {
  if (!env.STEPSCALE_STATE_TABLE) return new MemoryWebhookInbox();
  return createDynamoDbWebhookInbox({ client: stateTableClient(), tableName: env.STEPSCALE_STATE_TABLE });
}
