/**
 * `npm run bench`: every shipped workload (bench/workloads/*.json) under every strategy, same seed, then the
 * cost model fed by the real cycle at 1,000 repositories. Returns one report; run.ts prints it.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type CostProbeResult, costProbe } from './cost-probe.ts';
import { percentile, round } from './metrics.ts';
import { type SimulationResult, type StrategyMetrics, simulate } from './simulate.ts';
import { strategyNames } from './strategies/index.ts';
import { loadWorkload, type Workload } from './workload.ts';

export interface BenchOptions {
  readonly workloadsDir: string;
  readonly quick: boolean;
  readonly seed: number;
  readonly strategies?: readonly string[];
  /** Called after each simulation (progress, charts). */
  readonly onResult?: (workload: Workload, results: readonly SimulationResult[]) => void | Promise<void>;
}

export interface WorkloadReport {
  readonly workload: string;
  readonly simulatedSeconds: number;
  readonly measuredFromSeconds: number;
  readonly bootSeconds: number;
  readonly strategies: Record<
    string,
    StrategyMetrics & {
      /** p95 queue wait less the mean boot: what a scaler can influence. */
      readonly p95AboveBootS: number;
      readonly details: SimulationResult['details'];
    }
  >;
}

export interface Goals {
  readonly p95AboveBoot: {
    readonly seedBaselineS: number;
    readonly stepscaleS: number;
    readonly ratio: number;
    readonly required: 3;
    readonly met: boolean;
  };
  readonly idleRunnerMinutes: {
    readonly seedBaseline: number;
    readonly stepscale: number;
    readonly limit: number;
    readonly met: boolean;
  };
  readonly peakWithinMax: { readonly met: boolean; readonly violations: string[] };
  readonly controlPlaneCost: {
    readonly totalUsd: number;
    readonly totalWithLogsAndStateUsd: number;
    readonly limitUsd: 5;
    readonly met: boolean;
  };
}

export interface BenchReport {
  readonly bootSeconds: number;
  readonly strategies: Record<string, StrategyMetrics>;
  readonly costPerMonthUsd: {
    readonly repos1000: CostProbeResult['express'] & { readonly standard: CostProbeResult['standard'] };
  };
  readonly goals: Goals;
  readonly seed: number;
  readonly quick: boolean;
  readonly workloads: WorkloadReport[];
}

export async function shippedWorkloads(dir: string): Promise<Workload[]> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  return Promise.all(files.map((file) => loadWorkload(join(dir, file))));
}

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const names = options.strategies ?? strategyNames;
  const workloads = await shippedWorkloads(options.workloadsDir);
  const perWorkload: WorkloadReport[] = [];
  const pooled = new Map<string, SimulationResult[]>(names.map((name) => [name, []]));
  for (const workload of workloads) {
    const results: SimulationResult[] = [];
    for (const name of names) {
      const result = await simulate({
        workload,
        strategy: name,
        seed: options.seed,
        ...(options.quick && workload.quickDurationSeconds
          ? { durationSeconds: workload.quickDurationSeconds }
          : {}),
      });
      results.push(result);
      pooled.get(name)?.push(result);
    }
    await options.onResult?.(workload, results);
    perWorkload.push({
      workload: workload.name,
      simulatedSeconds: results[0]?.simulatedSeconds ?? 0,
      measuredFromSeconds: results[0]?.measuredFromSeconds ?? 0,
      bootSeconds: workload.bootSeconds.mean,
      strategies: Object.fromEntries(
        results.map((r) => [
          r.strategy,
          {
            ...r.metrics,
            p95AboveBootS: aboveBoot(r.metrics.queueWaitP95S, workload.bootSeconds.mean),
            details: r.details,
          },
        ]),
      ),
    });
  }

  const strategies = Object.fromEntries([...pooled].map(([name, results]) => [name, poolMetrics(results)]));
  const bootSeconds = round(
    workloads.reduce((sum, w) => sum + w.bootSeconds.mean, 0) / Math.max(1, workloads.length),
  );
  const cost = await costProbe({ measuredSeconds: options.quick ? 300 : 900, seed: options.seed });
  const repos1000 = { ...cost.express, standard: cost.standard };
  return {
    bootSeconds,
    strategies,
    costPerMonthUsd: { repos1000 },
    goals: evaluateGoals(strategies, bootSeconds, [...pooled.values()].flat(), repos1000),
    seed: options.seed,
    quick: options.quick,
    workloads: perWorkload,
  };
}

/** All workloads of one strategy together: waits pooled, idle time and requests summed, the highest peak. */
export function poolMetrics(results: readonly SimulationResult[]): StrategyMetrics {
  const waits = results.flatMap((r) => r.waitsS);
  const sum = (pick: (m: StrategyMetrics) => number) => results.reduce((s, r) => s + pick(r.metrics), 0);
  return {
    queueWaitP50S: round(percentile(waits, 50)),
    queueWaitP95S: round(percentile(waits, 95)),
    queueWaitMaxS: round(Math.max(0, ...waits)),
    idleRunnerMinutes: round(sum((m) => m.idleRunnerMinutes)),
    peakRunners: Math.max(0, ...results.map((r) => r.metrics.peakRunners)),
    githubRequests: sum((m) => m.githubRequests),
    rateLimitedRequests: sum((m) => m.rateLimitedRequests),
  };
}

/** "p95 queue wait above boot time": how much longer than the boot itself the slowest 5 % waited. */
export function aboveBoot(p95: number, bootSeconds: number): number {
  return round(Math.max(0, p95 - bootSeconds));
}

export function evaluateGoals(
  strategies: Record<string, StrategyMetrics>,
  bootSeconds: number,
  results: readonly SimulationResult[],
  cost: { total: number; totalWithLogsAndState: number },
): Goals {
  const baseline = strategies['seed-baseline'];
  const stepscale = strategies.stepscale;
  const baselineAbove = aboveBoot(baseline?.queueWaitP95S ?? 0, bootSeconds);
  const stepscaleAbove = aboveBoot(stepscale?.queueWaitP95S ?? 0, bootSeconds);
  const ratio = stepscaleAbove === 0 ? Number.POSITIVE_INFINITY : round(baselineAbove / stepscaleAbove, 2);
  const idleLimit = round((baseline?.idleRunnerMinutes ?? 0) * 1.1);
  const violations = results.flatMap((r) =>
    Object.entries(r.details.peakRunnersByPool)
      .filter(([pool, peak]) => peak > (r.details.maxRunnersByPool[pool] ?? Number.POSITIVE_INFINITY))
      .map(
        ([pool, peak]) =>
          `${r.workload}/${r.strategy}/${pool}: ${peak} > ${r.details.maxRunnersByPool[pool]}`,
      ),
  );
  return {
    p95AboveBoot: {
      seedBaselineS: baselineAbove,
      stepscaleS: stepscaleAbove,
      ratio,
      required: 3,
      met: ratio >= 3,
    },
    idleRunnerMinutes: {
      seedBaseline: baseline?.idleRunnerMinutes ?? 0,
      stepscale: stepscale?.idleRunnerMinutes ?? 0,
      limit: idleLimit,
      met: (stepscale?.idleRunnerMinutes ?? 0) <= idleLimit,
    },
    peakWithinMax: { met: violations.length === 0, violations },
    controlPlaneCost: {
      totalUsd: cost.total,
      totalWithLogsAndStateUsd: cost.totalWithLogsAndState,
      limitUsd: 5,
      met: cost.total <= 5,
    },
  };
}

/** The report as text tables. */
export function formatReport(report: BenchReport): string {
  const lines: string[] = [];
  const names = Object.keys(report.strategies);
  const header = [
    'workload',
    'strategy',
    'jobs',
    'wait p50',
    'p95',
    'max',
    'p95−boot',
    'idle min',
    'peak/max',
    'GitHub req',
    'rate-limited',
    'refused',
  ];
  const rows: string[][] = [];
  for (const w of report.workloads) {
    for (const name of names) {
      const m = w.strategies[name];
      if (!m) continue;
      const max = Object.values(m.details.maxRunnersByPool).reduce((a, b) => a + b, 0);
      rows.push([
        w.workload,
        name,
        String(m.details.jobs),
        `${m.queueWaitP50S} s`,
        `${m.queueWaitP95S} s`,
        `${m.queueWaitMaxS} s`,
        `${aboveBoot(m.queueWaitP95S, w.bootSeconds)} s`,
        String(m.idleRunnerMinutes),
        `${m.peakRunners}/${max}`,
        String(m.githubRequests),
        String(m.rateLimitedRequests),
        String(m.details.rejectedRequests),
      ]);
    }
  }
  for (const name of names) {
    const m = report.strategies[name];
    if (!m) continue;
    rows.push([
      'all (pooled)',
      name,
      '',
      `${m.queueWaitP50S} s`,
      `${m.queueWaitP95S} s`,
      `${m.queueWaitMaxS} s`,
      `${aboveBoot(m.queueWaitP95S, report.bootSeconds)} s`,
      String(m.idleRunnerMinutes),
      String(m.peakRunners),
      String(m.githubRequests),
      String(m.rateLimitedRequests),
      '',
    ]);
  }
  lines.push(table(header, rows));
  const c = report.costPerMonthUsd.repos1000;
  lines.push('');
  lines.push(
    `Control plane at 1,000 repositories, one cycle a minute (per cycle: ${c.perCycle.transitions} transitions, ${c.perCycle.durationSeconds} s, ${c.perCycle.lambdaInvocations} Lambda invocations = ${c.perCycle.lambdaSeconds} s, ${c.perCycle.repositoryScans} repositories scanned):`,
  );
  lines.push(
    table(
      [
        '$/month',
        'Step Functions',
        'Lambda',
        'total',
        'logs (data / no data)',
        'DynamoDB',
        'with logs+state',
      ],
      [
        [
          'EXPRESS (default)',
          c.stepFunctions.toFixed(2),
          c.lambda.toFixed(2),
          c.total.toFixed(2),
          `${c.logs.toFixed(2)} / ${c.logsWithoutExecutionData.toFixed(2)}`,
          c.dynamodb.toFixed(2),
          c.totalWithLogsAndState.toFixed(2),
        ],
        [
          'STANDARD',
          c.standard.stepFunctions.toFixed(2),
          c.standard.lambda.toFixed(2),
          c.standard.total.toFixed(2),
          `${c.standard.logs.toFixed(2)} / ${c.standard.logsWithoutExecutionData.toFixed(2)}`,
          c.standard.dynamodb.toFixed(2),
          c.standard.totalWithLogsAndState.toFixed(2),
        ],
      ],
    ),
  );
  const g = report.goals;
  const mark = (met: boolean) => (met ? 'met' : 'NOT met');
  lines.push('');
  lines.push('Goals:');
  lines.push(
    `  p95 wait above boot ≥ 3× smaller: ${mark(g.p95AboveBoot.met)} (seed-baseline ${g.p95AboveBoot.seedBaselineS} s, stepscale ${g.p95AboveBoot.stepscaleS} s, ${g.p95AboveBoot.ratio}×)`,
  );
  lines.push(
    `  idle runner-minutes ≤ baseline +10%: ${mark(g.idleRunnerMinutes.met)} (stepscale ${g.idleRunnerMinutes.stepscale}, limit ${g.idleRunnerMinutes.limit})`,
  );
  lines.push(
    `  peak runners ≤ max: ${mark(g.peakWithinMax.met)}${g.peakWithinMax.violations.length ? ` (${g.peakWithinMax.violations.join('; ')})` : ''}`,
  );
  lines.push(
    `  control plane ≤ $5/month at 1,000 repos: ${mark(g.controlPlaneCost.met)} ($${g.controlPlaneCost.totalUsd} Step Functions + Lambda; $${g.controlPlaneCost.totalWithLogsAndStateUsd} with logs and DynamoDB)`,
  );
  return lines.join('\n');
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i < 2 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
