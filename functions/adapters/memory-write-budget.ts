/**
 * The write pacing in one process (local runs, tests, the simulator, and a Lambda without a state table,
 * where it paces only the writes of its own container).
 */
import type { WriteBudget } from '../ports/write-budget.ts';

export class MemoryWriteBudget implements WriteBudget {
  /** When the next slot starts (epoch ms). */
  private nextAt = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => Date = () => new Date(),
  ) {
    if (!(intervalMs > 0)) throw new RangeError('the write interval must be positive');
  }

  async available(until: Date): Promise<number> {
    return slotsBetween(Math.max(this.now().getTime(), this.nextAt), until.getTime(), this.intervalMs);
  }

  async reserve(notAfter: Date): Promise<Date | undefined> {
    const start = Math.max(this.now().getTime(), this.nextAt);
    if (start > notAfter.getTime()) return undefined;
    this.nextAt = start + this.intervalMs;
    return new Date(start);
  }

  async pause(until: Date): Promise<void> {
    this.nextAt = Math.max(this.nextAt, until.getTime());
  }
}

/** Slots of `intervalMs` starting at `from`, `from + interval`, … that start no later than `until`. */
export function slotsBetween(fromMs: number, untilMs: number, intervalMs: number): number {
  return untilMs < fromMs ? 0 : Math.floor((untilMs - fromMs) / intervalMs) + 1;
}
