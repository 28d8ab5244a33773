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
 */
import { type ListenerCost, listenerMonthlyCost } from './listener-cost.ts';
import { round } from './metrics.ts';
import { simulate } from './simulate.ts';
import type { Workload } from './workload.ts';

export const scaleSetStrategy = 'stepscale-scaleset';
export const arcStrategy = 'arc-listener';
export const p95AllowanceSeconds = 5;
export const idleAllowanceFactor = 1.1;
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
}

export interface ScaleSetReport {
  readonly perWorkload: Record<string, ScaleSetWorkloadJudgement>;
  readonly idleHour: IdleHour;
  /** The listener's monthly cost for 1, 5 and 20 scale sets. */
  readonly costPerMonthUsd: readonly ListenerCost[];
  readonly met: boolean;
  readonly notMet: readonly string[];
}

export interface StrategyOutcome {
  readonly p95AboveBootS: number;
  readonly idleRunnerMinutes: number;
}

export function judgeWorkload(scaleset: StrategyOutcome, arc: StrategyOutcome): ScaleSetWorkloadJudgement {
  const p95Limit = round(arc.p95AboveBootS + p95AllowanceSeconds);
  const idleLimit = round(arc.idleRunnerMinutes * idleAllowanceFactor, 2);
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
      met: scaleset.idleRunnerMinutes <= arc.idleRunnerMinutes * idleAllowanceFactor + 1e-9,
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
  for (const strategy of [scaleSetStrategy, arcStrategy, 'stepscale']) {
    const result = await simulate({ workload, strategy, seed, drainSeconds: 0 });
    restRequests[strategy] = result.metrics.githubRequests;
    actionsServiceRequests[strategy] = result.details.actionsServiceRequests;
  }
  const used = restRequests[scaleSetStrategy] ?? Number.POSITIVE_INFINITY;
  return {
    restRequests,
    actionsServiceRequests,
    limit: restRequestsPerIdleHourLimit,
    met: used <= restRequestsPerIdleHourLimit,
  };
}

export function scaleSetReport(
  perWorkload: Record<string, ScaleSetWorkloadJudgement>,
  idle: IdleHour,
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
  return { perWorkload, idleHour: idle, costPerMonthUsd, met: notMet.length === 0, notMet };
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
  return lines;
}
