/**
 * The runner scale set source's own numbers (issue #14), judged on the same run as everything else:
 *
 *   on every workload   stepscale-scaleset's p95 above boot ≤ arc-listener's + 5 s
 *                       stepscale-scaleset's idle runner-minutes ≤ 1.1 × arc-listener's
 *   an idle hour        stepscale-scaleset sends GitHub's REST API ≤ 100 requests (polling spends thousands)
 *   a month             the listener costs ≤ $5 per scale set (listener-cost.ts; one scale set, the worst case)
 *
 * The idle hour is its own simulation: the shipped steady workload's pools and organization, no job at all, an
 * hour measured from the start; arc-listener and polling stepscale run it too, for comparison.
 *
 * What the whole control plane costs with every pool on a scale set (cost.ts's model, EXPRESS, logs and the
 * state table included): the scheduled cycle every minute (it polls nothing: it cleans up and removes), measured
 * in the idle hour, once per stack; the listener (listener-cost.ts), a fixed cost shared by the scale sets; and
 * what a scale set adds with its jobs — the cycles the listener starts and the state write of each message it
 * handles — counted per 1,000 jobs on the steady workload (the listener's own counts, the whole run: jobs
 * assigned, messages, cycles) and priced by the cycles' measured means.
 *
 * The monthly cost per scale set shown is therefore: the listener's share + the jobs' part at the workload's
 * rate (jobs assigned ÷ seconds of arrivals × a month, per pool). The ≤ $5 target is judged on the listener's
 * share for one scale set (what a scale set costs to have); the jobs' part is shown beside it, since any job
 * source pays a cycle for the jobs it serves (polling runs one every minute whatever the demand).
 */
import { cycleMeans, cyclesPerMonth, monthlyCost, prices } from './cost.ts';
import { epsilon, idleAllowance } from './goals.ts';
import { type ListenerCost, listenerMonthlyCost, secondsPerMonth } from './listener-cost.ts';
import { round } from './metrics.ts';
import { simulate } from './simulate.ts';
import { StepscaleScaleSetStrategy } from './strategies/stepscale-scaleset.ts';
import type { Workload } from './workload.ts';

export const scaleSetStrategy = 'stepscale-scaleset';
export const arcStrategy = 'arc-listener';
export const p95AllowanceSeconds = 5;
export const restRequestsPerIdleHourLimit = 100;
export const costPerScaleSetLimitUsd = 5;

/** The template's ListenFunction and the config's default round (functions/config/config.ts). */
export const listenerDefaults = { memoryMb: 128, listenSeconds: 840 } as const;

export interface ScaleSetWorkloadJudgement {
  readonly p95AboveBootS: {
    readonly scaleset: number;
    readonly arcListener: number;
    readonly limit: number;
    readonly met: boolean;
  };
  readonly idleRunnerMinutes: {
    readonly scaleset: number;
    readonly arcListener: number;
    readonly limit: number;
    readonly met: boolean;
  };
}

export interface IdleHour {
  /** GitHub REST requests in the hour, per strategy. */
  readonly restRequests: Record<string, number>;
  /** Requests to the Actions service (long polls, renewals), per strategy. */
  readonly actionsServiceRequests: Record<string, number>;
  readonly limit: number;
  readonly met: boolean;
  /** stepscale-scaleset's scheduled cycle (one a minute) a month, with logs and state. */
  readonly scheduledCyclesPerMonthUsd: number;
}

/** What jobs add: the cycles the listener starts and the messages it stores, per 1,000 jobs (stepscale-scaleset). */
export interface DemandCycles {
  readonly workload: string;
  /** Jobs assigned to the workload's scale sets over the run (the listener's JobAssigned count). */
  readonly jobs: number;
  /** Jobs a month per scale set at the workload's rate (its arrivals' jobs over their seconds, per pool). */
  readonly jobsPerMonthPerScaleSet: number;
  readonly cyclesPer1000Jobs: number;
  readonly messagesPer1000Jobs: number;
  /** One such cycle, with logs and state (cost.ts's model, EXPRESS). */
  readonly usdPerCycle: number;
  /** The cycles and the messages' state writes (one write unit each: the pool's listening state). */
  readonly usdPer1000Jobs: number;
}

/** A month of one scale set among `scaleSets`, busy as the workload's pool: the listener's share + its jobs. */
export interface ScaleSetMonth {
  readonly scaleSets: number;
  readonly listenerUsd: number;
  readonly jobsUsd: number;
  readonly totalUsd: number;
}

export interface ScaleSetReport {
  readonly perWorkload: Record<string, ScaleSetWorkloadJudgement>;
  readonly idleHour: IdleHour;
  /** The listener's monthly cost for 1, 5 and 20 scale sets. */
  readonly costPerMonthUsd: readonly ListenerCost[];
  /** The rest of the control plane with every pool on a scale set: the scheduled cycles and the demand's. */
  readonly controlPlane: {
    /** Once per stack, whatever the number of scale sets. */
    readonly scheduledCyclesPerMonthUsd: number;
    readonly demandCycles: DemandCycles;
  };
  /** The monthly cost per scale set for 1, 5 and 20 scale sets: idle (the listener's share) and with its jobs. */
  readonly perScaleSetMonthUsd: readonly ScaleSetMonth[];
  readonly met: boolean;
  readonly notMet: readonly string[];
}

export interface StrategyOutcome {
  readonly p95AboveBootS: number;
  readonly idleRunnerMinutes: number;
}

export function judgeWorkload(scaleset: StrategyOutcome, arc: StrategyOutcome): ScaleSetWorkloadJudgement {
  const p95Limit = round(arc.p95AboveBootS + p95AllowanceSeconds);
  const idleLimit = round(arc.idleRunnerMinutes * idleAllowance, 2);
  return {
    p95AboveBootS: {
      scaleset: scaleset.p95AboveBootS,
      arcListener: arc.p95AboveBootS,
      limit: p95Limit,
      met: scaleset.p95AboveBootS <= p95Limit,
    },
    idleRunnerMinutes: {
      scaleset: scaleset.idleRunnerMinutes,
      arcListener: arc.idleRunnerMinutes,
      limit: idleLimit,
      // Limits are compared unrounded (1.1 × 10 = 11.000000000000002).
      met: scaleset.idleRunnerMinutes <= arc.idleRunnerMinutes * idleAllowance + epsilon,
    },
  };
}

/** An hour without a job on the given workload's organization and pools. */
export async function idleHour(template: Workload, seed: number): Promise<IdleHour> {
  const workload: Workload = {
    ...template,
    name: `${template.name}-idle`,
    durationSeconds: 3600,
    warmupSeconds: 0,
    arrivals: [],
  };
  const restRequests: Record<string, number> = {};
  const actionsServiceRequests: Record<string, number> = {};
  const own = new StepscaleScaleSetStrategy();
  for (const strategy of [scaleSetStrategy, arcStrategy, 'stepscale']) {
    const result = await simulate({
      workload,
      strategy: strategy === scaleSetStrategy ? own : strategy,
      seed,
      drainSeconds: 0,
    });
    restRequests[strategy] = result.metrics.githubRequests;
    actionsServiceRequests[strategy] = result.details.actionsServiceRequests;
  }
  const used = restRequests[scaleSetStrategy] ?? Number.POSITIVE_INFINITY;
  return {
    restRequests,
    actionsServiceRequests,
    limit: restRequestsPerIdleHourLimit,
    met: used <= restRequestsPerIdleHourLimit,
    scheduledCyclesPerMonthUsd: monthlyCost(cycleMeans(own.cycles)).totalWithLogsAndState,
  };
}

/** The cycles stepscale-scaleset's listener starts and the messages it stores on a workload, per 1,000 jobs. */
export async function demandCycles(
  workload: Workload,
  seed: number,
  durationSeconds?: number,
): Promise<DemandCycles> {
  const strategy = new StepscaleScaleSetStrategy();
  await simulate({
    workload,
    strategy,
    seed,
    ...(durationSeconds ? { durationSeconds } : {}),
  });
  return demandCyclesOf(workload, strategy, durationSeconds);
}

/** {@link demandCycles} of a strategy that has run `workload` already (the bench's own run of it). */
export function demandCyclesOf(
  workload: Workload,
  strategy: StepscaleScaleSetStrategy,
  durationSeconds?: number,
): DemandCycles {
  // Cycles, messages and jobs over the same window: the whole run, warm-up included.
  const started = strategy.listenerCycles;
  const counts = strategy.listenerCounts;
  const jobs = counts.jobsAssigned ?? 0;
  const per1000 = (n: number) => (jobs > 0 ? (n / jobs) * 1000 : 0);
  // monthlyCost prices one such cycle a minute for a month: one cycle is that over cyclesPerMonth.
  const usdPerCycle =
    started.length > 0 ? monthlyCost(cycleMeans(started)).totalWithLogsAndState / cyclesPerMonth : 0;
  const cyclesPer1000Jobs = per1000(started.length);
  const messagesPer1000Jobs = per1000(counts.messages ?? 0);
  const arrivalSeconds = durationSeconds ?? workload.durationSeconds;
  const jobsPerMonthPerScaleSet =
    ((jobs / arrivalSeconds) * secondsPerMonth) / Math.max(1, workload.pools.length);
  return {
    workload: workload.name,
    jobs,
    jobsPerMonthPerScaleSet: Math.round(jobsPerMonthPerScaleSet),
    cyclesPer1000Jobs: round(cyclesPer1000Jobs),
    messagesPer1000Jobs: round(messagesPer1000Jobs),
    usdPerCycle: round(usdPerCycle, 7),
    usdPer1000Jobs: round(
      usdPerCycle * cyclesPer1000Jobs + messagesPer1000Jobs * prices.dynamoPerWriteUnit,
      4,
    ),
  };
}

/** One scale set's month among `listener.scaleSets`, with the jobs of the demand's workload pool. */
export function scaleSetMonth(listener: ListenerCost, demand: DemandCycles): ScaleSetMonth {
  const jobsUsd = (demand.usdPer1000Jobs * demand.jobsPerMonthPerScaleSet) / 1000;
  return {
    scaleSets: listener.scaleSets,
    listenerUsd: listener.perScaleSet,
    jobsUsd: round(jobsUsd, 2),
    totalUsd: round(listener.perScaleSet + jobsUsd, 2),
  };
}

export function scaleSetReport(
  perWorkload: Record<string, ScaleSetWorkloadJudgement>,
  idle: IdleHour,
  demand: DemandCycles,
): ScaleSetReport {
  const costPerMonthUsd = [1, 5, 20].map((scaleSets) =>
    listenerMonthlyCost({ scaleSets, ...listenerDefaults }),
  );
  const notMet = [
    ...Object.entries(perWorkload).flatMap(([workload, judged]) => [
      ...(judged.p95AboveBootS.met ? [] : [`${workload}: p95 above boot`]),
      ...(judged.idleRunnerMinutes.met ? [] : [`${workload}: idle runner-minutes`]),
    ]),
    ...(idle.met ? [] : ['idle hour: REST requests']),
    ...((costPerMonthUsd[0]?.perScaleSet ?? Number.POSITIVE_INFINITY) <= costPerScaleSetLimitUsd
      ? []
      : ['listener cost per scale set']),
  ];
  return {
    perWorkload,
    idleHour: idle,
    costPerMonthUsd,
    controlPlane: { scheduledCyclesPerMonthUsd: idle.scheduledCyclesPerMonthUsd, demandCycles: demand },
    perScaleSetMonthUsd: costPerMonthUsd.map((listener) => scaleSetMonth(listener, demand)),
    met: notMet.length === 0,
    notMet,
  };
}

export function formatScaleSetReport(report: ScaleSetReport): string[] {
  const mark = (met: boolean) => (met ? 'met' : 'NOT met');
  const lines = [
    `Runner scale sets (${scaleSetStrategy} against ${arcStrategy}): ${report.met ? 'all met' : `NOT met: ${report.notMet.join('; ')}`}`,
  ];
  for (const [workload, judged] of Object.entries(report.perWorkload)) {
    const p = judged.p95AboveBootS;
    const i = judged.idleRunnerMinutes;
    lines.push(
      `  ${workload}: p95 above boot ${p.scaleset} s ≤ ${p.arcListener} + ${p95AllowanceSeconds} s: ${mark(p.met)}; idle runner-minutes ${i.scaleset} ≤ 1.1 × ${i.arcListener}: ${mark(i.met)}`,
    );
  }
  const idle = report.idleHour;
  lines.push(
    `  an idle hour: GitHub REST requests ${Object.entries(idle.restRequests)
      .map(([name, n]) => `${name} ${n}`)
      .join(
        ', ',
      )} (limit ${idle.limit} for ${scaleSetStrategy}): ${mark(idle.met)}; Actions-service requests ${Object.entries(
      idle.actionsServiceRequests,
    )
      .map(([name, n]) => `${name} ${n}`)
      .join(', ')}`,
  );
  lines.push(
    `  the listener a month: ${report.costPerMonthUsd
      .map(
        (cost) =>
          `${cost.scaleSets} scale set${cost.scaleSets === 1 ? '' : 's'} $${cost.total.toFixed(2)} ($${cost.perScaleSet.toFixed(2)} each)`,
      )
      .join(', ')} (limit $${costPerScaleSetLimitUsd} per scale set)`,
  );
  const demand = report.controlPlane.demandCycles;
  lines.push(
    `  what a scale set adds with its jobs (${demand.workload}): ${demand.cyclesPer1000Jobs} cycles and ${demand.messagesPer1000Jobs} messages per 1,000 jobs, $${demand.usdPer1000Jobs.toFixed(3)} per 1,000 jobs (logs and state included); the scheduled cycle $${report.controlPlane.scheduledCyclesPerMonthUsd.toFixed(2)} a month per stack (it polls nothing)`,
  );
  lines.push(
    `  a month per scale set, idle / with ${demand.jobsPerMonthPerScaleSet.toLocaleString('en-US')} jobs (${demand.workload}'s rate): ${report.perScaleSetMonthUsd
      .map(
        (month) =>
          `${month.scaleSets} scale set${month.scaleSets === 1 ? '' : 's'} $${month.listenerUsd.toFixed(2)} / $${month.totalUsd.toFixed(2)}`,
      )
      .join(
        ', ',
      )} (target $${costPerScaleSetLimitUsd}, judged idle: ${mark((report.costPerMonthUsd[0]?.perScaleSet ?? Number.POSITIVE_INFINITY) <= costPerScaleSetLimitUsd)})`,
  );
  return lines;
}
