/**
 * The container's one connection to the state table: every port on it (state store, write budget, webhook
 * inbox, the GitHub adapter's remembered answers) shares one DynamoDB client — one credential lookup, one
 * connection pool, one TLS handshake on a cold start — and one state store.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbStateStore } from '../../adapters/dynamodb-state-store.ts';
import type { StateStore } from '../../ports/state-store.ts';

let client: DynamoDBClient | undefined;
const stores = new Map<string, StateStore>();

export function stateTableClient(): DynamoDBClient {
  client ??= new DynamoDBClient({});
  return client;
}

export function stateTableStore(tableName: string): StateStore {
  let store = stores.get(tableName);
  if (!store) {
    store = createDynamoDbStateStore({ client: stateTableClient(), tableName });
    stores.set(tableName, store);
  }
  return store;
}

/** What the state store is without a table: it remembers nothing and grants every lease. */
export const forgetfulStateStore: StateStore = {
  getMany: async () => new Map(),
  putMany: async () => {},
  acquireLease: async () => ({ acquired: true }),
  releaseLease: async () => {},
};
