import { describe, expect, it } from 'vitest';
import { poolMetrics } from '../bench/sim/bench.ts';
import {
  cycleMeans,
  cyclesPerMonth,
  monthlyCost,
  observabilityCost,
  observabilityPrices,
  prices,
  templateAlarmMetrics,
} from '../bench/sim/cost.ts';
import { simulate } from '../bench/sim/simulate.ts';
import { StepscaleStrategy } from '../bench/sim/strategies/stepscale.ts';
import { decide, type Plan } from '../functions/core/decide.ts';
import type { DecideOutput } from '../functions/handlers/decide.ts';
import { mixedWorkload } from './support/workloads.ts';

const workload = mixedWorkload();

describe('Function: simulate', () => {
  it('is deterministic for a seed (both strategies), and another seed gives another run', async () => {
    for (const strategy of ['seed-baseline', 'stepscale']) {
      const a = await simulate({ workload, strategy, seed: 7, drainSeconds: 300 });
      const b = await simulate({ workload, strategy, seed: 7, drainSeconds: 300 });
      expect(b.metrics).toEqual(a.metrics);
      expect(b.waitsS).toEqual(a.waitsS);
      expect(b.timeline).toEqual(a.timeline);
      expect(b.details).toEqual(a.details);
    }
    const other = await simulate({ workload, strategy: 'seed-baseline', seed: 8, drainSeconds: 300 });
    const first = await simulate({ workload, strategy: 'seed-baseline', seed: 7, drainSeconds: 300 });
    expect(other.waitsS).not.toEqual(first.waitsS);
  });

  it('serves every job, never above a pool’s maxRunners, with either strategy', async () => {
    for (const strategy of ['seed-baseline', 'stepscale']) {
      const result = await simulate({ workload, strategy, seed: 3, drainSeconds: 600 });
      expect(result.details.unstartedJobs).toBe(0);
      expect(result.details.jobsKilled).toBe(0);
      for (const [pool, peak] of Object.entries(result.details.peakRunnersByPool)) {
        expect(peak).toBeLessThanOrEqual(result.details.maxRunnersByPool[pool] ?? 0);
      }
    }
  });
});

describe('Strategy: stepscale', () => {
  it('runs the production decision: every cycle’s Decide task returns what decide() computes on the same snapshot', async () => {
    // Prepare: observe each Decide task; right after it (virtual time does not move inside a task) read the same
    // snapshot through the same ports and call the core directly.
    const checks: Promise<{ fromCycle: DecideOutput; direct: Plan }>[] = [];
    const strategy = new StepscaleStrategy({
      onTask: (task, input, output, deps) => {
        if (task !== 'Decide') return;
        const { demand } = input as { demand: { queuedByPool: Record<string, number>; complete: boolean } };
        checks.push(
          (async () => {
            const [runners, instances, storedRunnerConfigs] = await Promise.all([
              deps.github.listRunners(),
              deps.fleet.listInstances(),
              deps.runnerConfigs.list(),
            ]);
            const direct = decide(
              {
                queuedByPool: demand.queuedByPool,
                runners,
                instances,
                storedRunnerConfigs,
                collectionComplete: demand.complete,
              },
              deps.policy,
              deps.now(),
            );
            return { fromCycle: output as DecideOutput, direct };
          })(),
        );
      },
    });
    // Act
    await simulate({ workload, strategy, seed: 5, durationSeconds: 600, drainSeconds: 0 });
    const compared = await Promise.all(checks);
    // Assess: one Decide per cycle, each plan identical to the core's, and some of them launched.
    expect(compared).toHaveLength(strategy.cycles.length);
    expect(strategy.cycles.length).toBe(10);
    for (const { fromCycle, direct } of compared) {
      expect(
        fromCycle.pools.map(({ pool, launch, terminate, queued, idle, busy, booting }) => ({
          pool,
          launch,
          terminate,
          queued,
          idle,
          busy,
          booting,
        })),
      ).toEqual(
        direct.pools.map(({ pool, launch, terminate, queued, idle, busy, booting }) => ({
          pool,
          launch,
          terminate: terminate.length,
          queued,
          idle,
          busy,
          booting,
        })),
      );
    }
    expect(compared.some(({ direct }) => direct.pools.some((pool) => pool.launch > 0))).toBe(true);
    // The real ASL ran: every cycle entered its states and invoked the real handlers.
    for (const cycle of strategy.cycles) {
      expect(cycle.status).toBe('SUCCEEDED');
      expect(cycle.transitions).toBeGreaterThanOrEqual(10);
      expect(cycle.invocations.map((i) => i.task)).toContain('Decide');
    }
  });
});

describe('Function: monthlyCost', () => {
  it('applies the published prices to the per-cycle counts', () => {
    const means = {
      cycles: 1,
      transitions: 20,
      durationSeconds: 10,
      lambdaInvocations: 8,
      lambdaSeconds: 4,
      logBytes: 100_000,
      logBytesWithoutExecutionData: 10_000,
      repositoryScans: 100,
      changedScans: 10,
      githubWrites: 4,
      registrations: 3,
    };
    const express = monthlyCost(means, 'EXPRESS');
    const standard = monthlyCost(means, 'STANDARD');
    const c = cyclesPerMonth;
    expect(c).toBe(43_200);
    expect(express.stepFunctions).toBeCloseTo(c * (1e-6 + 10 * (64 / 1024) * prices.expressPerGbSecond), 2);
    expect(standard.stepFunctions).toBeCloseTo(c * 20 * 0.000025, 2);
    expect(express.lambda).toBeCloseTo(c * (8 * 2e-7 + 4 * 0.25 * prices.lambdaPerGbSecond), 2);
    expect(express.total).toBeCloseTo(express.stepFunctions + express.lambda, 1);
    expect(express.logs).toBeCloseTo((c * 100_000 * 0.5) / 1e9, 2);
    // Reads: 103 items at half a unit and the write budget at one; writes: 12 × 2 + 2 + 4 slots + 3 claims.
    expect(express.dynamodb).toBeCloseTo(
      c * (52.5 * prices.dynamoPerReadUnit + 33 * prices.dynamoPerWriteUnit),
      2,
    );
  });

  it('takes its counts from real cycles', async () => {
    const strategy = new StepscaleStrategy();
    await simulate({ workload, strategy, seed: 2, durationSeconds: 300, drainSeconds: 0 });
    const means = cycleMeans(strategy.cycles);
    expect(means.cycles).toBe(5);
    expect(means.transitions).toBeGreaterThan(10);
    expect(means.lambdaInvocations).toBeGreaterThanOrEqual(6);
    expect(means.durationSeconds).toBeGreaterThan(0);
  });
});

describe('Function: observabilityCost', () => {
  it('bills each name and pool the handlers recorded as one custom metric, plus the alarms, the dashboard and the EMF lines', () => {
    const points = [
      { name: 'GitHubRequests' },
      { name: 'GitHubRequests' },
      { name: 'QueuedJobs', pool: 'x64' },
      { name: 'QueuedJobs', pool: 'arm64' },
      { name: 'QueuedJobs', pool: 'x64' },
    ];
    const cost = observabilityCost(points, 2, { lambdaInvocations: 4 });
    expect(cost.customMetrics).toBe(3);
    expect(cost.metrics).toBeCloseTo(3 * observabilityPrices.perCustomMetricMonth, 5);
    expect(cost.alarms).toBeCloseTo(templateAlarmMetrics * observabilityPrices.perAlarmMetricMonth, 5);
    expect(cost.dashboard).toBe(observabilityPrices.perDashboardMonth);
    // More invocations a cycle write more lines.
    expect(observabilityCost(points, 2, { lambdaInvocations: 40 }).emfLogs).toBeGreaterThan(cost.emfLogs);
    expect(cost.total).toBeCloseTo(cost.metrics + cost.alarms + cost.dashboard + cost.emfLogs, 1);
  });
});

describe('Function: poolMetrics', () => {
  it('pools waits across workloads and takes the highest peak', async () => {
    const a = await simulate({
      workload,
      strategy: 'seed-baseline',
      seed: 1,
      durationSeconds: 300,
      drainSeconds: 300,
    });
    const pooled = poolMetrics([a, a]);
    expect(pooled.githubRequests).toBe(2 * a.metrics.githubRequests);
    expect(pooled.peakRunners).toBe(a.metrics.peakRunners);
    expect(pooled.queueWaitP95S).toBe(a.metrics.queueWaitP95S);
  });
});
