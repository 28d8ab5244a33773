/**
 * A small key-value store that outlives one cycle (DynamoDB with TTL in Lambda, memory locally): ETags and
 * cached answers of conditional GitHub requests, and the rate-limit governor's memory of which repositories
 * had work recently. Values are JSON; each is kept small (DynamoDB items are limited to 400 KB).
 */
export interface StateStore {
  /** Values for the keys that exist (missing keys are simply absent from the map). */
  getMany<T>(keys: readonly string[]): Promise<Map<string, T>>;
  /** Write these values; each expires `ttlSeconds` after the write. */
  putMany<T>(entries: readonly { key: string; value: T }[], ttlSeconds: number): Promise<void>;
}
