/**
 * The lowest p95 above boot a scaler that launches a runner per job can reach on a workload, measured rather
 * than argued: ARC's scaler (strategies/arc-listener.ts: one runner per assigned job, launched the moment it
 * decides) run twice on the same world and seed —
 *
 * - `instant`: it hears of each job the moment GitHub queues it (the Actions service answers in 0 s);
 * - `atWebhookDelay`: it hears of each job when the workload's `workflow_job` delivery would reach a receiver
 *   (delay ± jitter, nothing lost), and takes no time of its own after that.
 *
 * What is left above the mean boot is the boot's own spread (uniform within mean ± jitter: its p95 lies
 * 0.9 × jitter above the mean), the runner's pickup and, for the second, the delivery. Only capacity that exists
 * before the job does — idle runners, a warm pool — goes below it. A p95-above-boot target under `instant` is one
 * no per-job scaler can meet on this world; under `atWebhookDelay`, one no webhook-fed scaler can.
 */
import { aboveBoot } from './metrics.ts';
import { simulate } from './simulate.ts';
import { ArcListenerStrategy } from './strategies/arc-listener.ts';
import type { Workload } from './workload.ts';

export interface ReactionFloor {
  /** p95 wait less the mean boot, hearing of each job at once. */
  readonly instantP95AboveBootS: number;
  /** The same, hearing of each job after the workload's webhook delivery delay. */
  readonly atWebhookDelayP95AboveBootS: number;
  /** How the floor was measured (for the JSON's reader). */
  readonly how: string;
}

export async function reactionFloor(
  workload: Workload,
  options: { readonly seed: number; readonly durationSeconds?: number },
): Promise<ReactionFloor> {
  const { delaySeconds, jitterSeconds } = workload.webhooks;
  const run = async (latency: { min: number; max: number }) => {
    const result = await simulate({
      workload,
      strategy: new ArcListenerStrategy(),
      seed: options.seed,
      actionsServiceLatencySeconds: latency,
      ...(options.durationSeconds ? { durationSeconds: options.durationSeconds } : {}),
    });
    return aboveBoot(result.metrics.queueWaitP95S, workload.bootSeconds.mean);
  };
  return {
    instantP95AboveBootS: await run({ min: 0, max: 0 }),
    atWebhookDelayP95AboveBootS: await run({
      min: delaySeconds - jitterSeconds,
      max: delaySeconds + jitterSeconds,
    }),
    how: "arc-listener's scaler (a runner per job, launched at once), told of each job at 0 s and at the webhook delivery delay",
  };
}
