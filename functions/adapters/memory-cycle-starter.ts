/**
 * A cycle starter in memory: it keeps what it was asked to start, for a local driver (`npm start`, the
 * simulator, tests) to run in-process with functions/executor/cycle-runner.ts, and a process with nothing to start.
 */
import type { CycleStarter, CycleStartRequest } from '../ports/cycle-starter.ts';

export class MemoryCycleStarter implements CycleStarter {
  /** Every start asked for, in order. */
  readonly started: CycleStartRequest[] = [];
  private readonly names = new Set<string>();

  constructor(private readonly onStart?: (request: CycleStartRequest) => void) {}

  async start(request: CycleStartRequest): Promise<'started' | 'exists'> {
    if (this.names.has(request.name)) return 'exists';
    this.names.add(request.name);
    this.started.push(request);
    this.onStart?.(request);
    return 'started';
  }

  /** The starts asked for since the last call. */
  take(): CycleStartRequest[] {
    return this.started.splice(0);
  }
}
