/**
 * The stack's GitHub write pacing, shared by every process of the stack: every JIT registration and runner
 * deletion of every cycle (scheduled or not, overlapping or not) takes one slot, and slots are at least
 * `github.writesPerMinute` apart. GitHub asks integrators to send mutations a second apart (the default) and
 * holds each REST endpoint to 900 points a minute, a write costing 5 (180 writes a minute at most). A 403 or
 * 429 with `retry-after` pauses every writer, not just the one that got it.
 */
export interface WriteBudget {
  /** How many slots are free from now until `until` (for planning; another writer may take some first). */
  available(until: Date): Promise<number>;
  /** Take the next free slot if it starts no later than `notAfter`: its start, when the write may be sent. */
  reserve(notAfter: Date): Promise<Date | undefined>;
  /** GitHub asked every writer to wait: no slot starts before `until`. */
  pause(until: Date): Promise<void>;
}
