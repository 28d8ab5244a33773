/**
 * The warm pool in the benchmark. On a workload whose pools keep stopped instances (`pools[].warm`), every
 * stepscale strategy runs three times on the same seed: as shipped, without the warm pool, and with minIdle
 * raised by the warm pool's count instead (the running alternative). Each run's cost is split as the bill does:
 * instance time billed by the second (pending or running, at the simulated type's on-demand price) and the EBS
 * volumes of stopped instances (GB-hours at the gp3 price). The warm pool's monthly cost is what it adds to the
 * run without it, extrapolated from the measured window; minIdle's the same way.
 *
 * Judged (the numbers): the stepscale strategy's total p95 queue wait with the warm pool
 *   ≤ 0.5 × its own without it, and ≤ arc-listener's total p95.
 */
import { round } from './metrics.ts';
import type { SimulationResult } from './simulate.ts';
import type { Workload } from './workload.ts';

/** us-east-1 list prices: m7i.large on-demand (the type the simulated config names), gp3 storage. */
export const instancePrices = {
  onDemandPerHour: 0.1008,
  gp3PerGbMonth: 0.08,
} as const;

export const hoursPerMonth = 730;

export interface CostSplit {
  /** Instance-minutes billed by the second: pending or running (warm instances preparing included). */
  readonly runningInstanceMinutes: number;
  /** Of those, warm instances preparing (launch, warm-up, power-off). */
  readonly preparingInstanceMinutes: number;
  /** GB-hours of stopped (and stopping) instances' volumes. */
  readonly stoppedGbHours: number;
  /** The two at list prices, over the measured window. */
  readonly runningUsd: number;
  readonly stoppedEbsUsd: number;
  /** Both, extrapolated to a month of the same traffic. */
  readonly monthlyUsd: number;
}

export interface WarmVariant extends CostSplit {
  readonly queueWaitP50S: number;
  /** The total p95 queue wait (boot included). */
  readonly queueWaitP95S: number;
  readonly unstartedJobs: number;
  readonly warmStarts: number;
}

export interface WarmStrategyReport {
  readonly withWarm: WarmVariant;
  readonly withoutWarm: WarmVariant;
  /** minIdle raised by the warm pool's count, no warm pool. */
  readonly minIdleInstead: WarmVariant;
  /** What the warm pool adds a month (with − without), and what minIdle instead adds. */
  readonly warmPoolMonthlyUsd: number;
  readonly minIdleMonthlyUsd: number;
  readonly goals: {
    readonly halfOfOwnWithoutWarm: { value: number; limit: number; met: boolean };
    readonly atMostArcListener: { value: number; limit: number | null; met: boolean };
  };
}

export interface WarmPoolReport {
  /** Stopped instances the workload's pools keep (their `warm.stopped`, summed). */
  readonly stopped: number;
  readonly volumeGb: number;
  readonly prices: typeof instancePrices;
  /** arc-listener's total p95 on the workload (null when it did not run). */
  readonly arcListenerP95S: number | null;
  readonly strategies: Record<string, WarmStrategyReport>;
  /** The stepscale strategy that meets the most goals (then the lower p95), and whether it meets them all. */
  readonly best: string | null;
  readonly met: boolean;
}

/** The stopped instances a workload's pools keep outside any window (0: no warm pool). */
export function warmStopped(workload: Workload): number {
  return workload.pools.reduce((sum, pool) => {
    const stopped = pool.warm?.stopped;
    return sum + (typeof stopped === 'number' ? stopped : 0);
  }, 0);
}

export function withoutWarm(workload: Workload): Workload {
  return { ...workload, pools: workload.pools.map(({ warm: _, ...pool }) => pool) };
}

/** Each pool's warm count as minIdle instead. */
export function minIdleInstead(workload: Workload): Workload {
  return {
    ...workload,
    pools: workload.pools.map(({ warm, ...pool }) => ({
      ...pool,
      minIdle: pool.minIdle + (typeof warm?.stopped === 'number' ? warm.stopped : 0),
    })),
  };
}

export function costSplit(result: SimulationResult): CostSplit {
  const { runningInstanceMinutes, preparingInstanceMinutes, stoppedGbHours } = result.details;
  const runningUsd = (runningInstanceMinutes / 60) * instancePrices.onDemandPerHour;
  const stoppedEbsUsd = (stoppedGbHours / hoursPerMonth) * instancePrices.gp3PerGbMonth;
  // Running instances' volumes are billed too, but alike in every variant of the same traffic.
  const measuredHours = Math.max(1e-9, (result.simulatedSeconds - result.measuredFromSeconds) / 3600);
  return {
    runningInstanceMinutes,
    preparingInstanceMinutes,
    stoppedGbHours,
    runningUsd: round(runningUsd, 4),
    stoppedEbsUsd: round(stoppedEbsUsd, 4),
    monthlyUsd: round(((runningUsd + stoppedEbsUsd) * hoursPerMonth) / measuredHours, 2),
  };
}

function variant(result: SimulationResult): WarmVariant {
  return {
    queueWaitP50S: result.metrics.queueWaitP50S,
    queueWaitP95S: result.metrics.queueWaitP95S,
    unstartedJobs: result.details.unstartedJobs,
    warmStarts: result.details.warmStarts,
    ...costSplit(result),
  };
}

export function warmPoolReport(args: {
  readonly workload: Workload;
  /** Every strategy's run as shipped. */
  readonly results: readonly SimulationResult[];
  /** Per stepscale strategy: the run without the warm pool and the one with minIdle instead. */
  readonly variants: Readonly<Record<string, { without: SimulationResult; minIdle: SimulationResult }>>;
}): WarmPoolReport {
  const { workload, results, variants } = args;
  const arc = results.find((result) => result.strategy === 'arc-listener');
  const arcP95 = arc ? arc.metrics.queueWaitP95S : null;
  const strategies: Record<string, WarmStrategyReport> = {};
  for (const [name, { without, minIdle }] of Object.entries(variants)) {
    const shipped = results.find((result) => result.strategy === name);
    if (!shipped) continue;
    const withWarm = variant(shipped);
    const cold = variant(without);
    const idle = variant(minIdle);
    const half = round(cold.queueWaitP95S * 0.5);
    strategies[name] = {
      withWarm,
      withoutWarm: cold,
      minIdleInstead: idle,
      warmPoolMonthlyUsd: round(withWarm.monthlyUsd - cold.monthlyUsd, 2),
      minIdleMonthlyUsd: round(idle.monthlyUsd - cold.monthlyUsd, 2),
      goals: {
        halfOfOwnWithoutWarm: {
          value: withWarm.queueWaitP95S,
          limit: half,
          met: withWarm.queueWaitP95S <= cold.queueWaitP95S * 0.5,
        },
        atMostArcListener: {
          value: withWarm.queueWaitP95S,
          limit: arcP95,
          met: arcP95 !== null && withWarm.queueWaitP95S <= arcP95,
        },
      },
    };
  }
  const ranked = Object.entries(strategies).sort(([an, a], [bn, b]) => {
    const met = (r: WarmStrategyReport) =>
      Number(r.goals.halfOfOwnWithoutWarm.met) + Number(r.goals.atMostArcListener.met);
    return met(b) - met(a) || a.withWarm.queueWaitP95S - b.withWarm.queueWaitP95S || (an < bn ? -1 : 1);
  });
  const best = ranked[0];
  return {
    stopped: warmStopped(workload),
    volumeGb: workload.volumeGb,
    prices: instancePrices,
    arcListenerP95S: arcP95,
    strategies,
    best: best ? best[0] : null,
    met: best ? best[1].goals.halfOfOwnWithoutWarm.met && best[1].goals.atMostArcListener.met : false,
  };
}

/** The warm pool's lines in the text report. */
export function formatWarmPool(workload: string, report: WarmPoolReport): string[] {
  const lines = [
    `${workload}: warm pool of ${report.stopped} stopped (${report.volumeGb} GB gp3 each; m7i.large $${report.prices.onDemandPerHour}/h, gp3 $${report.prices.gp3PerGbMonth}/GB-month); arc-listener total p95 ${report.arcListenerP95S ?? 'n/a'} s`,
  ];
  for (const [name, r] of Object.entries(report.strategies)) {
    const v = (label: string, x: WarmVariant) =>
      `    ${label.padEnd(16)} total p95 ${String(x.queueWaitP95S).padStart(6)} s  running ${String(x.runningInstanceMinutes).padStart(7)} inst-min  stopped ${String(x.stoppedGbHours).padStart(7)} GB-h  ≈ $${x.monthlyUsd}/month`;
    lines.push(`  ${name}:`);
    lines.push(v('with warm pool', r.withWarm));
    lines.push(v('without', r.withoutWarm));
    lines.push(v(`minIdle +${report.stopped}`, r.minIdleInstead));
    const g = r.goals;
    lines.push(
      `    warm pool adds $${r.warmPoolMonthlyUsd}/month, minIdle +${report.stopped} adds $${r.minIdleMonthlyUsd}/month; p95 ≤ 0.5 × without (${g.halfOfOwnWithoutWarm.limit} s): ${g.halfOfOwnWithoutWarm.met ? 'met' : 'NOT met'}; p95 ≤ arc-listener's (${g.atMostArcListener.limit ?? 'n/a'} s): ${g.atMostArcListener.met ? 'met' : 'NOT met'}`,
    );
  }
  lines.push(`  best: ${report.best ?? 'none'} — ${report.met ? 'met' : 'NOT met'}`);
  return lines;
}
