/**
 * stepscale-webhook in the simulated world (bench/sim/strategies/stepscale-webhook.ts): a delivery starts a
 * targeted execution of the real cycle that launches within seconds; a lost one costs a poll; a delivery and a
 * scheduled cycle at once launch once. Each next to the polling `stepscale` as the control.
 */

import { describe, expect, it } from 'vitest';
import { simulate } from '../bench/sim/simulate.ts';
import { StepscaleStrategy } from '../bench/sim/strategies/stepscale.ts';
import { StepscaleWebhookStrategy } from '../bench/sim/strategies/stepscale-webhook.ts';
import { launchTimes } from './support/sim-launches.ts';
import { tinyWorkload } from './support/workloads.ts';

const labels = ['self-hosted', 'linux', 'x64'];

function tiny(overrides: Record<string, unknown> = {}) {
  return tinyWorkload({ durationSeconds: 600, repositories: 3, ...overrides });
}

describe('Strategy: stepscale-webhook', () => {
  it('launches within two seconds of the job being queued; the poll alone waits for the next minute', async () => {
    const fast = await simulate({ workload: tiny(), strategy: new StepscaleWebhookStrategy(), seed: 1 });
    const poll = await simulate({ workload: tiny(), strategy: new StepscaleStrategy(), seed: 1 });
    const [launchedAt] = launchTimes(fast.world);
    expect(launchTimes(fast.world)).toHaveLength(1);
    // Queued at 100 s, delivered at 101 s, the execution starts 0.1 s later and launches after its collection.
    expect(launchedAt).toBeGreaterThanOrEqual(101_000);
    expect(launchedAt).toBeLessThan(102_000);
    expect(launchTimes(poll.world)).toEqual([120_000]);
    expect(fast.waitsS[0]).toBeLessThan((poll.waitsS[0] ?? 0) - 15);
    expect(fast.details.unstartedJobs).toBe(0);
  });

  it('still serves a job whose delivery was lost: the next poll finds it, and the App asks GitHub again', async () => {
    const lossy = tiny({ webhooks: { delaySeconds: 1, jitterSeconds: 0, lossRate: 0.999 } });
    const strategy = new StepscaleWebhookStrategy();
    const result = await simulate({ workload: lossy, strategy, seed: 1 });
    expect(launchTimes(result.world)).toEqual([120_000]);
    expect(result.details.unstartedJobs).toBe(0);
    const report = strategy.report() as { webhook: { deliveries: number; redelivered: number } };
    expect(report.webhook.deliveries).toBe(0);
    // Every redelivery is lost too (loss rate 0.999): asked for three times, then left to the poll.
    expect(report.webhook.redelivered).toBe(3);
  });

  it('launches once when a delivery and the scheduled cycle come at the same moment', async () => {
    const together = tiny({
      arrivals: [{ type: 'burst', at: [119], jobs: 1, labels, durationSeconds: { mean: 60 } }],
    });
    const result = await simulate({ workload: together, strategy: new StepscaleWebhookStrategy(), seed: 1 });
    expect(launchTimes(result.world)).toHaveLength(1);
    expect(result.details.unstartedJobs).toBe(0);
  });

  it('starts no cycle for a completed job in a pool with room', async () => {
    const strategy = new StepscaleWebhookStrategy();
    await simulate({ workload: tiny(), strategy, seed: 1 });
    const report = strategy.report() as { webhook: { outcomes: Record<string, number> } };
    // queued → started; in_progress and completed → ignored.
    expect(report.webhook.outcomes).toEqual({ started: 1, 'ignored-action': 2 });
  });
});
