/**
 * `npm start -- --faults`: the local run under the trouble production sees. GitHub answers every third
 * distinct request once with a transient failure (502, 503, 429 or a 403 secondary limit, both with
 * retry-after), and EC2 throttles the first launch attempt of every cycle and pool. Each fault happens once,
 * so the numbers must come out exactly as without faults; the trace shows the retries it took.
 */
import { FleetThrottledError } from '../functions/errors.ts';
import type { FleetPort } from '../functions/ports/fleet.ts';
import type { FaultResponse, RecordedRequest } from './github-standin/server.ts';

const transientFailures: readonly FaultResponse[] = [
  { status: 502 },
  { status: 503 },
  { status: 429, headers: { 'retry-after': '1' } },
  {
    status: 403,
    headers: { 'retry-after': '1' },
    body: JSON.stringify({ message: 'You have exceeded a secondary rate limit.' }),
  },
];

/** A stand-in fault hook: every `every`-th distinct request fails, its first time only, rotating the failures. */
export function transientGitHubFaults(every = 3) {
  const seen = new Set<string>();
  let distinct = 0;
  let injected = 0;
  return {
    hook(request: RecordedRequest): FaultResponse | undefined {
      const key = `${request.method} ${request.path}?${new URLSearchParams(request.query).toString()}`;
      if (seen.has(key)) return undefined;
      seen.add(key);
      distinct += 1;
      if (distinct % every !== 0) return undefined;
      injected += 1;
      return transientFailures[injected % transientFailures.length];
    },
    get injected(): number {
      return injected;
    },
  };
}

/** The fleet, with the first launch of every client token refused as EC2 throttling (RequestLimitExceeded). */
export function throttleFirstLaunch(fleet: FleetPort): FleetPort & { readonly throttled: number } {
  const tried = new Set<string>();
  let throttled = 0;
  return {
    listInstances: () => fleet.listInstances(),
    prepare: (request) => fleet.prepare(request),
    start: (ids) => fleet.start(ids),
    templateVersions: (pools) => fleet.templateVersions(pools),
    terminate: (ids) => fleet.terminate(ids),
    markOrphaned: (ids, at) => fleet.markOrphaned(ids, at),
    async launch(request) {
      if (!tried.has(request.clientToken)) {
        tried.add(request.clientToken);
        throttled += 1;
        throw new FleetThrottledError(
          'Request limit exceeded (injected by --faults)',
          'RequestLimitExceeded',
        );
      }
      return fleet.launch(request);
    },
    get throttled() {
      return throttled;
    },
  };
}
