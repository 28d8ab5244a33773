/**
 * The scaling lease: one cycle at a time may change the fleet. Decide bounds a pool by the instances it
 * lists, and the instances a cycle still in flight is about to launch are invisible to it, so two
 * overlapping cycles (a slow execution and the next scheduled one, or a manual start) would each launch for
 * the same queued jobs. Decide takes the lease before it plans; a cycle that cannot take it changes nothing.
 * ScaleDown, the last task that changes the fleet, gives it back; so does a Decide that fails.
 *
 * A cycle that dies holding the lease does not block scaling for long: the lease ends by itself once no
 * task of that execution can still be running, which the template makes a fixed bound (see
 * {@link scalingLeaseSeconds}). The holder is the cycle id, so a retried Decide, or the same scheduled cycle
 * delivered twice, takes it again; their launches are deduplicated by the client token.
 *
 * Decide takes the lease in its own module and both tasks give it back through this one, so each function is
 * granted just the DynamoDB actions it uses (template.yaml; test/template.test.ts derives them from the calls).
 */
import type { Essentials, Ports } from './deps.ts';

export const scalingLeaseKey = 'scaling-lease';

/**
 * How long a cycle holds the lease from Decide on, unless it gives it back sooner. ScaleUp and ScaleDown change
 * nothing when they start later than 55 s after the cycle's start (cycle-timing.ts), and an invocation that
 * started in time finishes at the latest after its function timeout (ScaleUp 35 s, ScaleDown 25 s in
 * template.yaml): 55 + 35 = 90 s after the start, and Decide runs after the start. A test holds these
 * numbers to the template.
 */
export const scalingLeaseSeconds = 90;

/** Best effort: a lease not given back ends by itself within {@link scalingLeaseSeconds}. */
export async function releaseScalingLease(
  deps: Pick<Essentials, 'log'> & { readonly stateStore: Pick<Ports['stateStore'], 'releaseLease'> },
  cycleId: string,
): Promise<void> {
  try {
    await deps.stateStore.releaseLease(scalingLeaseKey, cycleId);
  } catch (error) {
    deps.log.warn('Scaling lease not released; it ends by itself', {
      cycleId,
      error: error as Error,
      leaseSeconds: scalingLeaseSeconds,
    });
  }
}
