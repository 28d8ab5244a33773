/** A clock tests move by hand; waiting on it (sleepUntil) moves it, so paced work takes no wall time. */
export class ManualClock {
  private ms: number;

  constructor(start: Date | string) {
    this.ms = new Date(start).getTime();
  }

  readonly now = (): Date => new Date(this.ms);

  readonly sleepUntil = async (at: Date): Promise<void> => {
    this.ms = Math.max(this.ms, at.getTime());
  };

  advance(seconds: number): void {
    this.ms += Math.round(seconds * 1000);
  }

  set(at: Date | string): void {
    this.ms = new Date(at).getTime();
  }
}
