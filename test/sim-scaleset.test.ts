/**
 * `stepscale-scaleset` in the simulator: the real listener and the real cycles on the world's scale sets.
 */

import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { yamlParse } from 'yaml-cfn';
import { listenerMonthlyCost } from '../bench/sim/listener-cost.ts';
import {
  demandCycles,
  judgeWorkload,
  listenerDefaults,
  scaleSetMonth,
  scaleSetReport,
} from '../bench/sim/scaleset-goals.ts';
import { simulate } from '../bench/sim/simulate.ts';
import { StepscaleScaleSetStrategy } from '../bench/sim/strategies/stepscale-scaleset.ts';
import { parseWorkload } from '../bench/sim/workload.ts';
import { parseConfig } from '../functions/config/config.ts';
import { mixedWorkload } from './support/workloads.ts';

const labels = ['self-hosted', 'linux', 'x64'];
const arm = ['self-hosted', 'linux', 'arm64'];
const workload = mixedWorkload({
  pools: [
    { name: 'linux-x64', labels, maxRunners: 14, minIdle: 1 },
    { name: 'linux-arm64', labels: arm, maxRunners: 3 },
  ],
});

describe('Strategy: stepscale-scaleset', () => {
  it('serves every job through the scale sets, within each pool’s maxRunners, deterministically', async () => {
    // Act
    const strategy = new StepscaleScaleSetStrategy();
    const result = await simulate({ workload, strategy, seed: 3, drainSeconds: 600 });
    const again = await simulate({ workload, strategy: 'stepscale-scaleset', seed: 3, drainSeconds: 600 });

    // Assess
    expect(result.details.unstartedJobs).toBe(0);
    expect(result.details.jobsKilled).toBe(0);
    for (const [pool, peak] of Object.entries(result.details.peakRunnersByPool))
      expect(peak).toBeLessThanOrEqual(result.details.maxRunnersByPool[pool] ?? 0);
    // One scale set per pool, and every runner registered through one (no REST registration).
    const sets = result.world.actions.listScaleSets();
    expect(sets.map((set) => set.name).sort()).toEqual(['linux-arm64', 'linux-x64']);
    expect(
      result.details.requestsByEndpoint['POST /orgs/{org}/actions/runners/generate-jitconfig'],
    ).toBeUndefined();
    expect(result.details.strategy).toMatchObject({ failedCycles: 0 });
    expect((result.details.strategy.listener as { acquired: number }).acquired).toBeGreaterThanOrEqual(
      result.details.jobs,
    );
    expect(again.metrics).toEqual(result.metrics);
  });

  it('sends GitHub’s REST API no more than 100 requests in an idle hour', async () => {
    // Prepare: an hour without a job (the warm x64 runner is kept)
    const idle = parseWorkload({
      name: 'idle',
      durationSeconds: 3600,
      warmupSeconds: 0,
      repositories: 100,
      pools: workload.pools,
      arrivals: [{ type: 'poisson', ratePerMinute: 0, labels, durationSeconds: { mean: 60 } }],
    });

    // Act
    const result = await simulate({
      workload: idle,
      strategy: 'stepscale-scaleset',
      seed: 1,
      drainSeconds: 0,
    });
    const polling = await simulate({ workload: idle, strategy: 'stepscale', seed: 1, drainSeconds: 0 });

    // Assess
    expect(result.metrics.githubRequests).toBeLessThanOrEqual(100);
    expect(result.metrics.githubRequests).toBeGreaterThan(0);
    expect(polling.metrics.githubRequests).toBeGreaterThan(1000);
  });
});

describe('Function: listenerMonthlyCost', () => {
  it('costs one 128 MB function waiting all month, STANDARD rounds and an hourly start: ≤ $5 for one scale set', () => {
    // Act
    const one = listenerMonthlyCost({ scaleSets: 1, ...listenerDefaults });
    const twenty = listenerMonthlyCost({ scaleSets: 20, ...listenerDefaults });

    // Assess: 2,592,000 s × 0.125 GB × $0.0000133334 = $4.32; (3,086 rounds × 2 + 720 × 4) × $0.000025 = $0.23
    expect(one.lambda).toBeCloseTo(4.32, 2);
    expect(one.stepFunctions).toBeCloseTo(0.23, 2);
    expect(one.dynamodb).toBeCloseTo(0.03, 2);
    expect(one.total).toBeLessThanOrEqual(5);
    expect(one.perScaleSet).toBe(one.total);
    // The function's time is paid once: more scale sets add only their state writes.
    expect(twenty.lambda).toBe(one.lambda);
    expect(twenty.perScaleSet).toBeLessThan(0.3);
  });

  it('is computed for what the template and the config deploy', async () => {
    // Prepare
    const template = yamlParse(await readFile(new URL('../template.yaml', import.meta.url), 'utf8'));
    const config = parseConfig({
      github: { url: 'https://github.com', org: 'acme' },
      pools: [
        {
          name: 'p',
          labels: ['x'],
          maxRunners: 1,
          instanceTypes: ['m7i.large'],
          launchTemplate: 'lt',
          subnets: ['subnet-0a'],
        },
      ],
    });

    // Assess
    expect(template.Resources.ListenFunction.Properties.MemorySize).toBe(listenerDefaults.memoryMb);
    expect(config.scaleSets.listenSeconds).toBe(listenerDefaults.listenSeconds);
  });
});

describe('Function: demandCycles', () => {
  it('counts the cycles the listener starts and the messages it stores per 1,000 jobs, and prices them', async () => {
    // Act
    const demand = await demandCycles(workload, 3);

    // Assess: the whole run's 42 jobs; a cycle per job at most, or so (a change of the statistics starts one,
    // two seconds apart at most; a burst's jobs share theirs)
    expect(demand.jobs).toBeGreaterThan(0);
    expect(demand.cyclesPer1000Jobs).toBeGreaterThan(100);
    expect(demand.cyclesPer1000Jobs).toBeLessThan(2000);
    // A message carries one or more of a job's four events (available, assigned, started, completed).
    expect(demand.messagesPer1000Jobs).toBeGreaterThan(0);
    expect(demand.messagesPer1000Jobs).toBeLessThanOrEqual(4000);
    // An EXPRESS execution of a few states and Lambda-seconds, its log and state writes: well under a cent.
    expect(demand.usdPerCycle).toBeGreaterThan(0);
    expect(demand.usdPerCycle).toBeLessThan(0.001);
    // The cycles and one write unit ($0.625 a million) per message.
    expect(demand.usdPer1000Jobs).toBeCloseTo(
      demand.usdPerCycle * demand.cyclesPer1000Jobs + demand.messagesPer1000Jobs * 0.625e-6,
      3,
    );
    // 900 s of arrivals over two pools, scaled to a 30-day month.
    expect(demand.jobsPerMonthPerScaleSet).toBe(Math.round(((demand.jobs / 900) * 2_592_000) / 2));
  });

  it('counts jobs, cycles and messages over the same window: a warm-up changes none of them', async () => {
    // Act: the same arrivals, the first five minutes left out of the latency metrics
    const plain = await demandCycles(workload, 3);
    const warm = await demandCycles({ ...workload, warmupSeconds: 300 }, 3);

    // Assess
    expect(warm.jobs).toBe(plain.jobs);
    expect(warm.cyclesPer1000Jobs).toBe(plain.cyclesPer1000Jobs);
    expect(warm.messagesPer1000Jobs).toBe(plain.messagesPer1000Jobs);
  });
});

describe('Function: scaleSetMonth', () => {
  it.each([
    // listener's share, $ per 1,000 jobs, jobs a month; jobs' part, total
    [4.58, 0.04, 100_000, 4, 8.58],
    [0.26, 0.04, 10_000, 0.4, 0.66],
    [4.58, 0.04, 0, 0, 4.58],
  ])(
    '$%s listener share, $%s per 1,000 jobs, %s jobs: $%s + share = $%s',
    (share, per1000, jobs, jobsUsd, total) => {
      // Act
      const month = scaleSetMonth(
        { ...listenerMonthlyCost({ scaleSets: 1, ...listenerDefaults }), perScaleSet: share },
        {
          workload: 'w',
          jobs: 1,
          jobsPerMonthPerScaleSet: jobs,
          cyclesPer1000Jobs: 1000,
          messagesPer1000Jobs: 3000,
          usdPerCycle: 0.00004,
          usdPer1000Jobs: per1000,
        },
      );

      // Assess
      expect(month.listenerUsd).toBe(share);
      expect(month.jobsUsd).toBeCloseTo(jobsUsd, 2);
      expect(month.totalUsd).toBeCloseTo(total, 2);
    },
  );
});

describe('Function: judgeWorkload', () => {
  it.each([
    // scaleset p95, idle; arc p95, idle; p95 met, idle met
    [12, 10, 8, 10, true, true],
    [13.1, 0, 8, 0, false, true],
    [9, 11, 9, 10, true, true],
    [9, 11.5, 9, 10, true, false],
  ])('p95 %s s / idle %s against arc-listener %s s / %s', (p95, idle, arcP95, arcIdle, p95Met, idleMet) => {
    // Act
    const judged = judgeWorkload(
      { p95AboveBootS: p95, idleRunnerMinutes: idle },
      { p95AboveBootS: arcP95, idleRunnerMinutes: arcIdle },
    );
    const report = scaleSetReport(
      { w: judged },
      {
        restRequests: { 'stepscale-scaleset': 61 },
        actionsServiceRequests: {},
        limit: 100,
        met: true,
        scheduledCyclesPerMonthUsd: 1,
      },
      {
        workload: 'w',
        jobs: 10,
        jobsPerMonthPerScaleSet: 1000,
        cyclesPer1000Jobs: 1000,
        messagesPer1000Jobs: 3000,
        usdPerCycle: 0.00001,
        usdPer1000Jobs: 0.012,
      },
    );

    // Assess
    expect(judged.p95AboveBootS.met).toBe(p95Met);
    expect(judged.idleRunnerMinutes.met).toBe(idleMet);
    expect(report.met).toBe(p95Met && idleMet);
  });
});
