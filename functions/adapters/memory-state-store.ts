/**
 * In-memory StateStore: local runs, tests, benchmarks, `stepscale plan`, and a Lambda deployed without a state
 * table (memory then lasts as long as the container). Honours TTLs against an injected clock.
 */
import type { Lease, LeaseOutcome, StateStore } from '../ports/state-store.ts';

export class MemoryStateStore implements StateStore {
  private readonly entries = new Map<string, { json: string; expiresAt: number }>();
  /** Reads and writes, for tests and benchmarks that count store traffic. */
  readonly stats = { reads: 0, writes: 0 };

  constructor(private readonly now: () => Date = () => new Date()) {}

  async getMany<T>(keys: readonly string[]): Promise<Map<string, T>> {
    this.stats.reads += keys.length;
    const found = new Map<string, T>();
    for (const key of keys) {
      const value = this.live<T>(key);
      if (value !== undefined) found.set(key, value);
    }
    return found;
  }

  async putMany<T>(entries: readonly { key: string; value: T }[], ttlSeconds: number): Promise<void> {
    this.stats.writes += entries.length;
    const expiresAt = this.now().getTime() + ttlSeconds * 1000;
    for (const { key, value } of entries) this.entries.set(key, { json: JSON.stringify(value), expiresAt });
  }

  /** One process, one thread: the check and the write cannot interleave with another caller's. */
  async acquireLease(key: string, holder: string, until: Date): Promise<LeaseOutcome> {
    const current = this.live<Lease>(key);
    if (current && current.holder !== holder) return { acquired: false, heldBy: current };
    const lease: Lease = { holder, until: until.toISOString() };
    this.entries.set(key, { json: JSON.stringify(lease), expiresAt: until.getTime() });
    return { acquired: true };
  }

  async releaseLease(key: string, holder: string): Promise<void> {
    const current = this.live<Lease>(key);
    if (current?.holder === holder) this.entries.delete(key);
  }

  /** The value of a key that has not expired, as a copy (a real store returns one too); expired ones go. */
  private live<T>(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now().getTime()) {
      this.entries.delete(key);
      return undefined;
    }
    return JSON.parse(entry.json) as T;
  }

  get size(): number {
    return this.entries.size;
  }
}
