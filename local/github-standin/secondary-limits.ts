/**
 * GitHub's secondary rate limits, as GitHub documents and answers them, for the stand-ins (the HTTP stand-in
 * and the simulated GitHub of the benchmark): one model, so every strategy and every local run is charged
 * the same way.
 *
 * - at most `maxConcurrent` requests in flight per client (100);
 * - at most `pointsPerMinute` points per REST endpoint in any 60 s (900): a GET (or HEAD) costs 1 point,
 *   a POST, PATCH, PUT or DELETE 5;
 * - mutations at least `writeIntervalMs` apart (GitHub asks for a second between them; sending faster is
 *   what gets a client secondary-limited).
 *
 * A request over a limit is refused as GitHub refuses it: 403 (or 429) with `retry-after` in whole seconds,
 * and it costs no points. Time comes from the caller, so the model runs on real or virtual clocks alike.
 */

export interface SecondaryLimitOptions {
  readonly pointsPerMinute?: number;
  readonly writeIntervalMs?: number;
  readonly maxConcurrent?: number;
}

export const githubSecondaryLimits = {
  pointsPerMinute: 900,
  writeIntervalMs: 1000,
  maxConcurrent: 100,
  readPoints: 1,
  writePoints: 5,
} as const;

export type Admission =
  | { readonly admitted: true }
  | {
      readonly admitted: false;
      readonly retryAfterSeconds: number;
      readonly reason: 'concurrency' | 'endpoint-points' | 'write-pacing';
    };

const windowMs = 60_000;

export class SecondaryLimits {
  readonly pointsPerMinute: number;
  readonly writeIntervalMs: number;
  readonly maxConcurrent: number;
  private readonly spent = new Map<string, { atMs: number; points: number }[]>();
  private lastWriteMs = Number.NEGATIVE_INFINITY;
  private inFlight = 0;
  /** Requests refused so far, by reason. */
  readonly refused = { concurrency: 0, 'endpoint-points': 0, 'write-pacing': 0 };

  constructor(options: SecondaryLimitOptions = {}) {
    this.pointsPerMinute = options.pointsPerMinute ?? githubSecondaryLimits.pointsPerMinute;
    this.writeIntervalMs = options.writeIntervalMs ?? githubSecondaryLimits.writeIntervalMs;
    this.maxConcurrent = options.maxConcurrent ?? githubSecondaryLimits.maxConcurrent;
  }

  /**
   * Whether GitHub serves this request now; an admitted request is charged. `endpoint` names the REST
   * endpoint (method and path template, e.g. `GET /repos/{owner}/{repo}/actions/runs`).
   */
  admit(endpoint: string, method: string, nowMs: number): Admission {
    const write = !isRead(method);
    if (this.inFlight >= this.maxConcurrent) return this.refuse('concurrency', 1);
    if (write && nowMs - this.lastWriteMs < this.writeIntervalMs) {
      return this.refuse('write-pacing', (this.lastWriteMs + this.writeIntervalMs - nowMs) / 1000);
    }
    const points = write ? githubSecondaryLimits.writePoints : githubSecondaryLimits.readPoints;
    const entries = this.live(endpoint, nowMs);
    const used = entries.reduce((sum, entry) => sum + entry.points, 0);
    if (used + points > this.pointsPerMinute) {
      // Wait until enough of the window's oldest points have aged out.
      let freed = used + points - this.pointsPerMinute;
      let until = nowMs;
      for (const entry of entries) {
        until = entry.atMs + windowMs;
        freed -= entry.points;
        if (freed <= 0) break;
      }
      return this.refuse('endpoint-points', (until - nowMs) / 1000);
    }
    entries.push({ atMs: nowMs, points });
    if (write) this.lastWriteMs = nowMs;
    return { admitted: true };
  }

  /** A request admitted by {@link admit} is in flight until this is called (the HTTP stand-in only). */
  started(): void {
    this.inFlight += 1;
  }

  finished(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }

  private live(endpoint: string, nowMs: number) {
    const entries = (this.spent.get(endpoint) ?? []).filter((entry) => entry.atMs > nowMs - windowMs);
    this.spent.set(endpoint, entries);
    return entries;
  }

  private refuse(reason: keyof SecondaryLimits['refused'], seconds: number): Admission {
    this.refused[reason] += 1;
    return { admitted: false, reason, retryAfterSeconds: Math.max(1, Math.ceil(seconds)) };
  }
}

function isRead(method: string): boolean {
  const upper = method.toUpperCase();
  return upper === 'GET' || upper === 'HEAD';
}
