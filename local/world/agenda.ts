/**
 * The world's virtual time and its agenda: a binary min-heap of events keyed by (time, sequence). Events at
 * the same virtual time run in the order they were scheduled, so a run never depends on heap internals.
 */
export interface ScheduledEvent {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

export class EventQueue {
  private readonly heap: ScheduledEvent[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: number, run: () => void): void {
    const event = { at, seq: this.seq++, run };
    this.heap.push(event);
    let i = this.heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(event, this.heap[parent] as ScheduledEvent)) break;
      this.heap[i] = this.heap[parent] as ScheduledEvent;
      i = parent;
    }
    this.heap[i] = event;
  }

  peek(): ScheduledEvent | undefined {
    return this.heap[0];
  }

  pop(): ScheduledEvent | undefined {
    const top = this.heap[0];
    const last = this.heap.pop();
    if (!top || !last || this.heap.length === 0) return top;
    let i = 0;
    const n = this.heap.length;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = last;
      let at = -1;
      if (left < n && before(this.heap[left] as ScheduledEvent, smallest)) {
        smallest = this.heap[left] as ScheduledEvent;
        at = left;
      }
      if (right < n && before(this.heap[right] as ScheduledEvent, smallest)) {
        smallest = this.heap[right] as ScheduledEvent;
        at = right;
      }
      if (at < 0) break;
      this.heap[i] = smallest;
      i = at;
    }
    this.heap[i] = last;
    return top;
  }
}

function before(a: ScheduledEvent, b: ScheduledEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/**
 * Virtual time in milliseconds since the start of the world, and the agenda of what happens when.
 * `advanceTo` runs every event due up to the target (events may schedule more), then sets the time — or,
 * when `stopAfter` says so after an event, stops at that event's time (something needs attention first).
 */
export class Agenda {
  private ms = 0;
  readonly queue = new EventQueue();

  constructor(private readonly epochMs: number) {}

  /** Milliseconds since the world started. */
  get elapsedMs(): number {
    return this.ms;
  }

  /** Wall-clock Date for the current virtual time (what the handlers' `now()` returns). */
  readonly now = (): Date => new Date(this.epochMs + this.ms);

  /** ISO time of a virtual instant. */
  isoAt(ms: number): string {
    return new Date(this.epochMs + ms).toISOString();
  }

  /** Parse an ISO time back into virtual milliseconds. */
  msOf(iso: string): number {
    return Date.parse(iso) - this.epochMs;
  }

  schedule(at: number, run: () => void): void {
    this.queue.push(Math.max(at, this.ms), run);
  }

  after(delayMs: number, run: () => void): void {
    this.schedule(this.ms + delayMs, run);
  }

  advanceTo(target: number, beforeEach?: (at: number) => void, stopAfter?: () => boolean): void {
    for (;;) {
      const next = this.queue.peek();
      if (!next || next.at > target) break;
      this.queue.pop();
      beforeEach?.(next.at);
      this.ms = Math.max(this.ms, next.at);
      next.run();
      if (stopAfter?.()) return;
    }
    if (target > this.ms) {
      beforeEach?.(target);
      this.ms = target;
    }
  }
}
