/**
 * How long a task takes in AWS, modelled from what it did: the GitHub requests and AWS calls counted while
 * it ran. In-process the simulated ports answer in microseconds, so measured wall time says nothing about
 * Lambda; these latencies are stated assumptions (us-east-1 → api.github.com), used both to let virtual time
 * pass during a cycle and to bill Lambda GB-seconds in the cost model.
 */
import type { RequestCounts } from './requests.ts';

export const assumedLatency = {
  /** One GitHub GET answered 200 (a page of up to 100 items). */
  githubGetMs: 200,
  /** One GitHub GET answered 304: GitHub still computes the representation to compare ETags. */
  githubNotModifiedMs: 150,
  /** One AWS API call (EC2, SSM) from Lambda. */
  awsCallMs: 60,
  /** One call to the Actions service behind runner scale sets (a JIT config, a runner removal). */
  actionsServiceMs: 150,
  /** Step Functions → Lambda invoke, handler start, config already cached (warm). */
  invokeOverheadMs: 40,
} as const;

/**
 * Reads and AWS calls overlap up to `concurrency` at a time (p-limit in the handlers). GitHub writes cost
 * nothing here: each waits for its slot of the stack's write budget (a second apart by default), and that
 * wait passes in the world itself while the task runs (the strategy adds it); a write fits in its slot.
 */
export function modeledTaskMs(counts: RequestCounts, concurrency: number): number {
  const reads =
    (counts.rateLimited - counts.writes) * assumedLatency.githubGetMs +
    counts.notModified * assumedLatency.githubNotModifiedMs +
    counts.actionsService * assumedLatency.actionsServiceMs;
  return Math.round(
    assumedLatency.invokeOverheadMs +
      (reads + counts.aws * assumedLatency.awsCallMs) / Math.max(1, concurrency),
  );
}
