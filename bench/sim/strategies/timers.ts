/**
 * Virtual-time timers for strategies whose work is driven by events and spans time (a Lambda that registers
 * runners a second apart, a listener's long poll). Work is written as ordinary async code that awaits
 * {@link Timers.sleepUntil}; the strategy's tick runs whatever is due ({@link Timers.runDue}) and returns
 * {@link Timers.nextAt} as its next tick. The simulated ports answer synchronously behind their promises, so
 * a resumed piece of work runs on to its next sleep before the next due item is taken: everything happens
 * in virtual-time order, deterministically.
 */
import { EventQueue } from '../../../local/world/agenda.ts';

export class Timers {
  private readonly queue = new EventQueue();

  /** Resolves once a tick runs at or after `atMs`. */
  sleepUntil(atMs: number): Promise<void> {
    return new Promise((resolve) => this.queue.push(atMs, resolve));
  }

  /** Run `work` at `atMs` (in a tick at or after it). */
  at(atMs: number, work: () => void): void {
    this.queue.push(atMs, work);
  }

  /** When the next item is due; infinity when none is. */
  nextAt(): number {
    return this.queue.peek()?.at ?? Number.POSITIVE_INFINITY;
  }

  /** Run every item due at or before `nowMs()` in time order, each resumed piece of work up to its next sleep. */
  async runDue(nowMs: () => number): Promise<void> {
    for (;;) {
      const next = this.queue.peek();
      if (!next || next.at > nowMs()) return;
      this.queue.pop();
      next.run();
      await settle();
    }
  }
}

/** Lets every piece of work resumed so far run until it waits again (all pending promise callbacks). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
