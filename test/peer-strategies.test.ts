/**
 * The peers in the simulated world (bench/sim/strategies/tf-runner.ts, arc-listener.ts) do what their models
 * say, on tiny scenarios, each next to a control that shows the measurement would see the difference.
 */

import { describe, expect, it } from 'vitest';
import { simulate } from '../bench/sim/simulate.ts';
import { ArcListenerStrategy, ArcScaler } from '../bench/sim/strategies/arc-listener.ts';
import { TfRunnerStrategy } from '../bench/sim/strategies/tf-runner.ts';
import type { Strategy } from '../bench/sim/strategies/types.ts';
import type { World } from '../local/world/world.ts';
import { launchTimes } from './support/sim-launches.ts';
import { tinyWorkload } from './support/workloads.ts';

const labels = ['self-hosted', 'linux', 'x64'];
/** One pool of 3, boot exactly 45 s, deliveries exactly 1 s after the change; one job at 100 s by default. */
const tiny = tinyWorkload;

/** The strategy, with something done to the world as it starts (a cancellation on the agenda). */
function withWorld(strategy: Strategy, prepare: (world: World) => void): Strategy {
  return {
    name: strategy.name,
    firstTickMs: strategy.firstTickMs,
    conditionalRequests: strategy.conditionalRequests,
    start: async (context) => {
      prepare(context.world);
      await strategy.start?.(context);
    },
    tick: (context) => strategy.tick(context),
    report: () => strategy.report?.() ?? {},
  };
}

describe('Strategy: tf-runner', () => {
  it('launches for a job only after the webhook delay (delivery 1 s + SQS delay 30 s)', async () => {
    // Act
    const result = await simulate({ workload: tiny(), strategy: new TfRunnerStrategy(), seed: 1 });
    const control = await simulate({
      workload: tiny(),
      strategy: new TfRunnerStrategy({ delayWebhookEventSeconds: 0 }),
      seed: 1,
    });
    // Assess: queued at 100 s, delivered at 101 s, visible to the scale-up Lambda at 131 s.
    const [launchedAt] = launchTimes(result.world);
    expect(launchTimes(result.world)).toHaveLength(1);
    expect(launchedAt).toBeGreaterThanOrEqual(131_000);
    expect(launchedAt).toBeLessThan(131_500);
    // Boot 45 s, the config is there at boot, the runner starts the job 2 s after it gets it.
    expect(result.waitsS[0]).toBeGreaterThan(31 + 45 + 2);
    expect(result.waitsS[0]).toBeLessThan(31 + 45 + 2 + 1);
    expect(result.details.githubWrites).toBe(1);
    // Control: without the SQS delay the same launch comes 30 s earlier.
    const [controlLaunchedAt] = launchTimes(control.world);
    expect(controlLaunchedAt).toBeGreaterThanOrEqual(101_000);
    expect(controlLaunchedAt).toBeLessThan(101_500);
  });

  it('over-provisions when the job is cancelled before its runner arrives: the runner idles until scale-down', async () => {
    // Prepare: the run is cancelled at 140 s, after the launch (131 s) and before the boot (176 s).
    const cancelAt140 = (world: World) => world.agenda.schedule(140_000, () => world.cancelRun(1));
    // Act
    const result = await simulate({
      workload: tiny(),
      strategy: withWorld(new TfRunnerStrategy(), cancelAt140),
      seed: 1,
    });
    const control = await simulate({ workload: tiny(), strategy: new TfRunnerStrategy(), seed: 1 });
    // Assess: one runner launched for nothing, online idle from ~176 s; it may go once launched 5 minutes ago
    // (431 s), and the scale-down that runs every 5 minutes removes it at 600 s.
    expect(result.details.launched).toBe(1);
    expect(result.world.github.getJob(1)?.conclusion).toBe('cancelled');
    const instance = result.world.fleet.get('i-00000000000000001');
    const terminatedAt = result.world.agenda.msOf(instance?.terminatedAt ?? '');
    expect(terminatedAt).toBeGreaterThanOrEqual(600_000);
    expect(terminatedAt).toBeLessThan(601_000);
    // Online ~176 s to ~600.5 s: 7.07 idle minutes (reported to one decimal).
    expect(result.metrics.idleRunnerMinutes).toBeGreaterThanOrEqual(7);
    expect(result.metrics.idleRunnerMinutes).toBeLessThanOrEqual(7.1);
    expect(result.details.strategy).toMatchObject({ removedIdle: 1 });
    // Control: the same job not cancelled takes its runner; nothing idles.
    expect(control.metrics.idleRunnerMinutes).toBe(0);
    expect(control.details.strategy).toMatchObject({ removedIdle: 0 });
  });

  it('leaves a job whose queued delivery was lost waiting to the end', async () => {
    // Act
    const lost = await simulate({
      workload: tiny({ webhooks: { delaySeconds: 1, jitterSeconds: 0, lossRate: 0.999 } }),
      strategy: new TfRunnerStrategy(),
      seed: 1,
    });
    const delivered = await simulate({ workload: tiny(), strategy: new TfRunnerStrategy(), seed: 1 });
    // Assess: nothing launched, the job still queued after 1,400 s (it counts with its wait so far).
    expect(lost.details.launched).toBe(0);
    expect(lost.details.strategy).toMatchObject({ deliveries: 0, enqueued: 0 });
    expect(lost.details.unstartedJobs).toBe(1);
    expect(lost.world.github.getJob(1)?.status).toBe('queued');
    expect(lost.metrics.queueWaitMaxS).toBe(1400);
    // Control: delivered, it is served.
    expect(delivered.details.unstartedJobs).toBe(0);
    expect(delivered.details.strategy).toMatchObject({ deliveries: 3, enqueued: 1 });
  });

  it('sends messages back at the maximum and serves them when runners free up (no job lost at the cap)', async () => {
    const result = await simulate({
      workload: tiny({
        arrivals: [{ type: 'burst', at: [100], jobs: 5, labels, durationSeconds: { mean: 60 } }],
      }),
      strategy: new TfRunnerStrategy(),
      seed: 1,
    });
    expect(result.details.peakRunnersByPool.linux).toBe(3);
    expect(result.details.unstartedJobs).toBe(0);
    expect(result.details.strategy).toMatchObject({ launched: 5 });
    expect((result.details.strategy as { returnedAtMax: number }).returnedAtMax).toBeGreaterThanOrEqual(2);
  });
});

describe('Class: ArcScaler', () => {
  it('follows min(minRunners + assigned, maxRunners) and forces the count only when nothing happened', () => {
    const scaler = new ArcScaler(1, 5);
    const steps = [
      { assigned: 3, event: false, replicas: 4, forced: false },
      { assigned: 10, event: false, replicas: 5, forced: false },
      { assigned: 0, event: false, replicas: 1, forced: false },
      { assigned: 0, event: false, replicas: 1, forced: true },
      { assigned: 0, event: true, replicas: 1, forced: false },
      { assigned: 2, event: false, replicas: 3, forced: false },
    ];
    for (const step of steps) {
      if (step.event) scaler.jobsStartedOrCompleted();
      const { replicas, patchId } = scaler.desired(step.assigned);
      expect({ replicas, forced: patchId === 0 }).toEqual({ replicas: step.replicas, forced: step.forced });
    }
  });
});

describe('Strategy: arc-listener', () => {
  it('sets desired = min(minRunners + assigned jobs, maxRunners) on every message as jobs are assigned and complete', async () => {
    // Prepare: 2 jobs at 100 s, 3 more at 200 s, a pool of 3, minRunners 0.
    const strategy = new ArcListenerStrategy();
    const workload = tiny({
      arrivals: [
        { type: 'burst', at: [100], jobs: 2, labels, durationSeconds: { mean: 60 } },
        { type: 'burst', at: [200], jobs: 3, labels, durationSeconds: { mean: 60 } },
      ],
    });
    // Act
    const result = await simulate({ workload, strategy, seed: 1 });
    // Assess: the formula on every decision…
    expect(strategy.decisions.length).toBeGreaterThan(5);
    for (const decision of strategy.decisions)
      expect(decision.replicas).toBe(Math.min(0 + decision.assigned, 3));
    // …and the assigned count is the world's: every job queued ≥ 1 s before and not completed counts, none
    // queued < 0.2 s before does (the listener sees a job 0.2–1 s after it is queued).
    const jobs = [...result.world.github.allJobs()];
    const open = (atMs: number, queuedBeforeMs: number) =>
      jobs.filter((job) => {
        const queued = result.world.agenda.msOf(job.createdAt);
        const completed = job.completedAt
          ? result.world.agenda.msOf(job.completedAt)
          : Number.POSITIVE_INFINITY;
        return queued <= atMs - queuedBeforeMs && completed > atMs;
      }).length;
    const fromMessages = strategy.decisions.filter((decision) => decision.from === 'message');
    for (const { atMs, assigned } of fromMessages) {
      expect(assigned).toBeGreaterThanOrEqual(open(atMs, 1000));
      expect(assigned).toBeLessThanOrEqual(open(atMs, 200));
    }
    // It rose to 2, to 5 (capped at 3 runners), fell back to 0 as the jobs completed.
    const assignedSeen = fromMessages.map((decision) => decision.assigned);
    expect(assignedSeen).toContain(2);
    expect(fromMessages.some((d) => d.assigned === 5 && d.replicas === 3)).toBe(true);
    expect(assignedSeen.at(-1)).toBe(0);
    const firstAt = fromMessages.find((decision) => decision.assigned > 0)?.atMs ?? 0;
    expect(firstAt).toBeGreaterThanOrEqual(100_200);
    expect(firstAt).toBeLessThanOrEqual(101_000);
    // The runners followed: launched at once, never above the pool's max, every job served.
    expect(launchTimes(result.world)[0]).toBe(firstAt);
    expect(result.details.peakRunnersByPool.linux).toBe(3);
    expect(result.details.unstartedJobs).toBe(0);
    expect(result.details.launched).toBe(5);
    // JIT configs come from the scale set: no REST request at all.
    expect(result.metrics.githubRequests).toBe(0);
    expect(result.details.actionsServiceRequests).toBeGreaterThan(0);
  });

  it('deletes an idle runner left by a cancelled job once a long poll comes back empty', async () => {
    const cancelAt110 = (world: World) => world.agenda.schedule(110_000, () => world.cancelRun(1));
    const strategy = new ArcListenerStrategy();
    const result = await simulate({ workload: tiny(), strategy: withWorld(strategy, cancelAt110), seed: 1 });
    expect(result.details.launched).toBe(1);
    expect(result.details.strategy).toMatchObject({ deletedIdle: 1 });
    const forced = strategy.decisions.find((decision) => decision.patchId === 0 && decision.atMs > 110_000);
    expect(forced?.from).toBe('empty-poll');
    expect(result.world.fleet.liveCount()).toBe(0);
  });
});
