/**
 * The warm pool's part of the benchmark (bench/sim/warm-report.ts): the cost split from what the world measured,
 * the variants a warm workload is run in, and the two goals, on hand-made results.
 */
import { describe, expect, it } from 'vitest';
import type { SimulationResult } from '../bench/sim/simulate.ts';
import {
  costSplit,
  hoursPerMonth,
  instancePrices,
  minIdleInstead,
  warmPoolReport,
  warmStopped,
  withoutWarm,
} from '../bench/sim/warm-report.ts';
import { parseWorkload } from '../bench/sim/workload.ts';

const labels = ['self-hosted', 'linux'];
const workload = parseWorkload({
  name: 'w',
  durationSeconds: 3600,
  repositories: 1,
  pools: [
    { name: 'a', labels, maxRunners: 20, minIdle: 1, warm: { stopped: 5 } },
    { name: 'b', labels: ['self-hosted', 'arm'], maxRunners: 5 },
  ],
  arrivals: [{ type: 'burst', at: [10], jobs: 1, labels, durationSeconds: { mean: 60 } }],
});

/** A result measured over one hour (simulated 4,200 s from 600 s). */
function result(
  strategy: string,
  p95: number,
  split: { running: number; preparing?: number; stoppedGbHours: number },
): SimulationResult {
  return {
    strategy,
    simulatedSeconds: 4200,
    measuredFromSeconds: 600,
    metrics: { queueWaitP50S: p95 / 2, queueWaitP95S: p95 },
    details: {
      runningInstanceMinutes: split.running,
      preparingInstanceMinutes: split.preparing ?? 0,
      stoppedGbHours: split.stoppedGbHours,
      unstartedJobs: 0,
      warmStarts: 0,
    },
  } as unknown as SimulationResult;
}

describe('Warm pool report', () => {
  it('runs variants without the warm pool, and with its count as minIdle instead', () => {
    expect(warmStopped(workload)).toBe(5);
    expect(withoutWarm(workload).pools.map((pool) => [pool.warm, pool.minIdle])).toEqual([
      [undefined, 1],
      [undefined, 0],
    ]);
    expect(minIdleInstead(workload).pools.map((pool) => [pool.warm, pool.minIdle])).toEqual([
      [undefined, 6],
      [undefined, 0],
    ]);
    expect(warmStopped(withoutWarm(workload))).toBe(0);
  });

  it('prices running instance-minutes at on-demand and stopped GB-hours at gp3, a month from the window', () => {
    const split = costSplit(result('stepscale', 10, { running: 600, stoppedGbHours: 150 }));
    const running = 10 * instancePrices.onDemandPerHour;
    const ebs = (150 / hoursPerMonth) * instancePrices.gp3PerGbMonth;
    expect(split.runningUsd).toBeCloseTo(running, 4);
    expect(split.stoppedEbsUsd).toBeCloseTo(ebs, 4);
    // One measured hour: a month is 730 of them.
    expect(split.monthlyUsd).toBeCloseTo((running + ebs) * hoursPerMonth, 1);
  });

  it('judges total p95 against half its own without the pool and against arc-listener, and costs each variant', () => {
    const results = [
      result('stepscale', 70, { running: 420, stoppedGbHours: 240 }),
      result('stepscale-webhook', 22, { running: 415, stoppedGbHours: 230 }),
      result('arc-listener', 56, { running: 390, stoppedGbHours: 0 }),
    ];
    const report = warmPoolReport({
      workload,
      results,
      variants: {
        stepscale: {
          without: result('stepscale', 108, { running: 395, stoppedGbHours: 0 }),
          minIdle: result('stepscale', 40, { running: 455, stoppedGbHours: 0 }),
        },
        'stepscale-webhook': {
          without: result('stepscale-webhook', 57, { running: 389, stoppedGbHours: 0 }),
          minIdle: result('stepscale-webhook', 6, { running: 480, stoppedGbHours: 0 }),
        },
      },
    });
    const polling = report.strategies.stepscale;
    expect(polling?.goals.halfOfOwnWithoutWarm).toEqual({ value: 70, limit: 54, met: false });
    expect(polling?.goals.atMostArcListener).toEqual({ value: 70, limit: 56, met: false });
    const webhook = report.strategies['stepscale-webhook'];
    expect(webhook?.goals.halfOfOwnWithoutWarm.met).toBe(true);
    expect(webhook?.goals.atMostArcListener.met).toBe(true);
    expect(report.best).toBe('stepscale-webhook');
    expect(report.met).toBe(true);
    // What the pool adds a month: 26 instance-minutes an hour more, and 230 GB-hours of stopped volumes.
    const adds =
      (26 / 60) * instancePrices.onDemandPerHour + (230 / hoursPerMonth) * instancePrices.gp3PerGbMonth;
    expect(webhook?.warmPoolMonthlyUsd).toBeCloseTo(adds * hoursPerMonth, 0);
    expect(webhook?.minIdleMonthlyUsd).toBeCloseTo(
      (91 / 60) * instancePrices.onDemandPerHour * hoursPerMonth,
      0,
    );
  });

  it('is not met when arc-listener did not run', () => {
    const report = warmPoolReport({
      workload,
      results: [result('stepscale', 10, { running: 1, stoppedGbHours: 1 })],
      variants: {
        stepscale: {
          without: result('stepscale', 100, { running: 1, stoppedGbHours: 0 }),
          minIdle: result('stepscale', 5, { running: 2, stoppedGbHours: 0 }),
        },
      },
    });
    expect(report.arcListenerP95S).toBeNull();
    expect(report.met).toBe(false);
  });
});
