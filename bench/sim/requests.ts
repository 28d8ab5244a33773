/**
 * How many GitHub REST requests a port call costs, and which of them count against the primary rate limit.
 * The model (deliberately simple; see docs/simulator.md):
 *
 * - `listRepositories`: one GET per 100 repositories.
 * - `listQueuedJobs(repo)`: two run listings (`status=queued`, `status=in_progress`, one GET per 100 runs each,
 *   at least one) plus, per active run, one job listing GET per 100 jobs — what the production adapter sends.
 * - `listRunners`: one GET per 100 registered runners. `getRunner`: one GET. `rateLimit`: free.
 * - `createJitRunner`: one POST. `deleteRunner`: one DELETE.
 *
 * Conditional requests (stepscale sends `If-None-Match`): a listing answers 304 — not counted against the
 * primary limit — when nothing in it changed since the previous call by the same strategy. A run listing
 * changes when a run of the repository arrives or any of its jobs changes status; a job listing changes when
 * one of its jobs changes status, and always while one of its jobs is running (its steps progress). The
 * runner list changes whenever a runner registers, leaves, connects or takes or finishes a job. A strategy
 * without conditional requests pays every GET.
 *
 * The primary limit is enforced per clock hour of simulated time: once `rateLimitPerHour` requests counted,
 * every further GET or write is refused (403, counted as `rejected`) until the hour ends; 304s still pass.
 * GitHub's secondary limits (local/github-standin/secondary-limits.ts: 900 points a minute per endpoint,
 * writes a second apart) refuse a request with 403 and `retry-after` (counted as `secondaryLimited`); the
 * client waits as the production client does and sends it again.
 *
 * Requests to the Actions service (the runner scale-set protocol ARC's listener speaks: message long polls,
 * acknowledgements, JIT configs from the scale set) are not REST requests and count against neither limit;
 * they are counted apart (`actionsService`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestCounts {
  /** Every request sent to GitHub. */
  total: number;
  /** Requests that count against the primary rate limit (all but 304s and /rate_limit). */
  rateLimited: number;
  /** GETs answered 304 Not Modified. */
  notModified: number;
  /** Refused with 403 because the primary rate limit was used up (sent, but not counted against it). */
  rejected: number;
  /** POST/DELETE (spaced a second apart by the production client). */
  writes: number;
  /** Refused by a secondary limit (403 with retry-after), sent again after the wait. */
  secondaryLimited: number;
  /** AWS API calls (EC2, SSM): not GitHub, but they take time in a task. */
  aws: number;
  /** Requests to the Actions service (runner scale sets): not REST, outside both rate limits. */
  actionsService: number;
}

export function emptyCounts(): RequestCounts {
  return {
    total: 0,
    rateLimited: 0,
    notModified: 0,
    rejected: 0,
    writes: 0,
    secondaryLimited: 0,
    aws: 0,
    actionsService: 0,
  };
}

export type RequestKind =
  | 'get'
  | 'not-modified'
  | 'write'
  | 'rejected'
  | 'secondary-limited'
  | 'aws'
  | 'actions-service';

export class RequestMeter {
  readonly totals = emptyCounts();
  readonly byEndpoint: Record<string, number> = {};
  private readonly scope = new AsyncLocalStorage<RequestCounts>();
  /** Repository scans (listQueuedJobs calls), and those in which some listing had changed (a cache write). */
  readonly scans = { total: 0, changed: 0 };
  /** Rate-limited requests per clock hour (index = hour since start). */
  readonly rateLimitedByHour: number[] = [];

  constructor(private readonly nowMs: () => number) {}

  record(endpoint: string, kind: RequestKind, count = 1): void {
    if (count <= 0) return;
    const targets = [this.totals];
    const scoped = this.scope.getStore();
    if (scoped) targets.push(scoped);
    for (const counts of targets) add(counts, kind, count);
    if (kind !== 'aws') this.byEndpoint[endpoint] = (this.byEndpoint[endpoint] ?? 0) + count;
    if (kind === 'get' || kind === 'write') {
      const hour = Math.floor(this.nowMs() / 3_600_000);
      this.rateLimitedByHour[hour] = (this.rateLimitedByHour[hour] ?? 0) + count;
    }
  }

  /** Rate-limited requests in the clock hour containing `ms`. */
  usedInHourOf(ms: number): number {
    return this.rateLimitedByHour[Math.floor(ms / 3_600_000)] ?? 0;
  }

  /** A copy of the totals (to subtract a warm-up period). */
  snapshot(): RequestCounts {
    return { ...this.totals };
  }

  /** Runs `work` with its requests also counted into `counts` (one task invocation's share). */
  within<T>(counts: RequestCounts, work: () => Promise<T>): Promise<T> {
    return this.scope.run(counts, work);
  }
}

function add(counts: RequestCounts, kind: RequestKind, n: number): void {
  if (kind === 'aws') {
    counts.aws += n;
    return;
  }
  if (kind === 'actions-service') {
    counts.actionsService += n;
    return;
  }
  counts.total += n;
  if (kind === 'not-modified') counts.notModified += n;
  else if (kind === 'rejected') counts.rejected += n;
  else if (kind === 'secondary-limited') counts.secondaryLimited += n;
  else counts.rateLimited += n;
  if (kind === 'write') counts.writes += n;
}

export function pages(items: number, perPage = 100): number {
  return Math.max(1, Math.ceil(items / perPage));
}
