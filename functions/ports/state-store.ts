/**
 * A small key-value store that outlives one cycle (DynamoDB with TTL in Lambda, memory locally): ETags and
 * cached answers of conditional GitHub requests, the rate-limit governor's memory of which repositories
 * had work recently, and the scaling lease that keeps two overlapping cycles from both launching.
 * Values are JSON; each is kept small (DynamoDB items are limited to 400 KB).
 */
export interface StateStore {
  /** Values for the keys that exist (missing keys are simply absent from the map). */
  getMany<T>(keys: readonly string[]): Promise<Map<string, T>>;
  /** Write these values; each expires `ttlSeconds` after the write. */
  putMany<T>(entries: readonly { key: string; value: T }[], ttlSeconds: number): Promise<void>;
  /**
   * Take the lease `key` for `holder` until `until`, atomically across processes: granted when nobody holds
   * it, when its holder's time is up, or when `holder` already holds it (then it is renewed to `until`).
   */
  acquireLease(key: string, holder: string, until: Date): Promise<LeaseOutcome>;
  /** Give the lease back if `holder` still holds it; otherwise do nothing. */
  releaseLease(key: string, holder: string): Promise<void>;
}

export interface Lease {
  readonly holder: string;
  /** ISO time after which the lease is free again even if never released. */
  readonly until: string;
}

export type LeaseOutcome = { readonly acquired: true } | { readonly acquired: false; readonly heldBy: Lease };
