/** Simulated time for local runs: deterministic output, and minutes of scaling in a second of wall time. */
export class VirtualClock {
  private ms: number;

  constructor(start: Date) {
    this.ms = start.getTime();
  }

  readonly now = (): Date => new Date(this.ms);

  advance(seconds: number): void {
    this.ms += Math.round(seconds * 1000);
  }
}
