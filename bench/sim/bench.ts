/**
 * `npm run bench`: every shipped workload (bench/workloads/*.json) under every strategy — stepscale, the poller
 * it replaces and the peers — same seed, then the cost model fed by the real cycle at 1,000 repositories, and
 * the goals judged per workload (goals.ts). Returns one report; run.ts prints it.
 */

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { table } from '../../functions/cli/table.ts';
import type { WebhookPathCost } from './cost.ts';
import { type CostProbeResult, costProbe, webhookCostProbe } from './cost-probe.ts';
import { evaluateWorkloadGoals, type JudgedOn, type WorkloadGoals } from './goals.ts';
import { aboveBoot, percentile, round } from './metrics.ts';
import { type ReactionFloor, reactionFloor } from './reaction-floor.ts';
import {
  arcStrategy,
  demandCyclesOf,
  formatScaleSetReport,
  idleHour,
  judgeWorkload,
  type ScaleSetReport,
  scaleSetReport,
  scaleSetStrategy,
} from './scaleset-goals.ts';
import { type SimulationResult, type StrategyMetrics, simulate } from './simulate.ts';
import { strategyNames } from './strategies/index.ts';
import type { StepscaleScaleSetStrategy } from './strategies/stepscale-scaleset.ts';
import {
  formatWarmPool,
  minIdleInstead,
  type WarmPoolReport,
  warmPoolReport,
  warmStopped,
  withoutWarm,
} from './warm-report.ts';
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
      /** ∫ live instances dt, in minutes (also in details). */
      readonly instanceMinutes: number;
      /** The total p95 queue wait, boot included (= queueWaitP95S; p95AboveBootS is it less the mean boot). */
      readonly totalP95WaitS: number;
      /** The cost split (also in details): instance-minutes billed running, GB-hours of stopped volumes. */
      readonly runningInstanceMinutes: number;
      readonly stoppedGbHours: number;
      /** Jobs never started by the end (also in details). */
      readonly unstartedJobs: number;
      readonly details: SimulationResult['details'];
    }
  >;
  /** What the workload's waiting is about, for its goals (null: the every-workload goals only). */
  readonly judgedOn: JudgedOn | null;
  readonly description: string;
  /** Workloads with a warm pool: stepscale with, without and with minIdle instead, and the cost of each. */
  readonly warmPool?: WarmPoolReport;
  /** The lowest p95 above boot a scaler launching per job reaches here (reaction-floor.ts). */
  readonly reactionFloor: ReactionFloor;
}

/** The previous judgement: every workload pooled, stepscale against seed-baseline only. */
const pooledView = 'pooled over all workloads (the previous judgement; see perWorkload)' as const;

export interface Goals {
  readonly p95AboveBoot: {
    readonly view: typeof pooledView;
    readonly seedBaselineS: number;
    readonly stepscaleS: number;
    readonly ratio: number;
    readonly required: 3;
    readonly met: boolean;
  };
  readonly idleRunnerMinutes: {
    readonly view: typeof pooledView;
    readonly seedBaseline: number;
    readonly stepscale: number;
    readonly limit: number;
    readonly met: boolean;
  };
  readonly peakWithinMax: {
    readonly met: boolean;
    readonly violations: string[];
    readonly view: typeof pooledView;
  };
  readonly controlPlaneCost: {
    readonly totalUsd: number;
    readonly totalWithLogsAndStateUsd: number;
    readonly limitUsd: 5;
    readonly met: boolean;
  };
  /** The judgement: per workload, the best stepscale strategy shipped against the peers and seed-baseline. */
  readonly perWorkload: Record<string, WorkloadGoals>;
  /** Whether every workload's goals are met, and the workloads where they are not. */
  readonly allWorkloads: { readonly met: boolean; readonly notMet: string[] };
}

export interface BenchReport {
  readonly bootSeconds: number;
  readonly strategies: Record<string, StrategyMetrics>;
  readonly costPerMonthUsd: {
    readonly repos1000: CostProbeResult['express'] & {
      readonly standard: CostProbeResult['standard'];
      readonly observability?: CostProbeResult['observability'];
      readonly webhookPath?: WebhookPathCost;
    };
  };
  readonly goals: Goals;
  readonly seed: number;
  readonly quick: boolean;
  readonly workloads: WorkloadReport[];
  /** The runner scale set source against arc-listener, an idle hour, the listener's cost (scaleset-goals.ts). */
  readonly scaleSets?: ScaleSetReport;
}

export async function shippedWorkloads(dir: string): Promise<Workload[]> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  return Promise.all(files.map((file) => loadWorkload(join(dir, file))));
}

/** How long a workload's arrivals run: its quick duration in a quick bench, where it has one. */
function durationFor(workload: Workload, quick: boolean): { durationSeconds?: number } {
  return quick && workload.quickDurationSeconds ? { durationSeconds: workload.quickDurationSeconds } : {};
}

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const names = options.strategies ?? strategyNames;
  const workloads = await shippedWorkloads(options.workloadsDir);
  const perWorkload: WorkloadReport[] = [];
  const pooled = new Map<string, SimulationResult[]>(names.map((name) => [name, []]));
  const resultsOf = new Map<string, SimulationResult[]>();
  for (const workload of workloads) {
    const results: SimulationResult[] = [];
    resultsOf.set(workload.name, results);
    for (const name of names) {
      const result = await simulate({
        workload,
        strategy: name,
        seed: options.seed,
        ...durationFor(workload, options.quick),
      });
      results.push(result);
      pooled.get(name)?.push(result);
    }
    await options.onResult?.(workload, results);
    const warmPool = warmStopped(workload) > 0 ? await warmVariants(workload, results, options) : undefined;
    const floor = await reactionFloor(workload, {
      seed: options.seed,
      ...durationFor(workload, options.quick),
    });
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
            instanceMinutes: r.details.instanceMinutes,
            totalP95WaitS: r.metrics.queueWaitP95S,
            runningInstanceMinutes: r.details.runningInstanceMinutes,
            stoppedGbHours: r.details.stoppedGbHours,
            unstartedJobs: r.details.unstartedJobs,
            details: r.details,
          },
        ]),
      ),
      judgedOn: workload.judgedOn ?? null,
      description: workload.description,
      ...(warmPool ? { warmPool } : {}),
      reactionFloor: floor,
    });
  }

  const strategies = Object.fromEntries([...pooled].map(([name, results]) => [name, poolMetrics(results)]));
  const bootSeconds = round(
    workloads.reduce((sum, w) => sum + w.bootSeconds.mean, 0) / Math.max(1, workloads.length),
  );
  const cost = await costProbe({ measuredSeconds: options.quick ? 300 : 900, seed: options.seed });
  const webhookPath = await webhookCostProbe({
    measuredSeconds: options.quick ? 300 : 900,
    seed: options.seed,
  });
  const repos1000 = {
    ...cost.express,
    standard: cost.standard,
    webhookPath,
    observability: cost.observability,
  };
  const steady = workloads.find((w) => w.name === 'steady-poisson') ?? (workloads[0] as Workload);
  const scaleSets =
    names.includes(scaleSetStrategy) && names.includes(arcStrategy)
      ? scaleSetReport(
          Object.fromEntries(
            perWorkload.flatMap((w) => {
              const own = w.strategies[scaleSetStrategy];
              const arc = w.strategies[arcStrategy];
              return own && arc ? [[w.workload, judgeWorkload(own, arc)]] : [];
            }),
          ),
          await idleHour(steady, options.seed),
          demandCyclesOf(
            steady,
            // The run above: stepscale-scaleset on that workload, at this seed and duration.
            resultsOf.get(steady.name)?.find((r) => r.strategy === scaleSetStrategy)
              ?.instance as StepscaleScaleSetStrategy,
            durationFor(steady, options.quick).durationSeconds,
          ),
        )
      : undefined;
  return {
    bootSeconds,
    strategies,
    costPerMonthUsd: { repos1000 },
    goals: evaluateGoals(strategies, bootSeconds, [...pooled.values()].flat(), repos1000, perWorkload),
    seed: options.seed,
    quick: options.quick,
    workloads: perWorkload,
    ...(scaleSets ? { scaleSets } : {}),
  };
}

/** The stepscale strategies again on a warm workload: without its warm pool, and with minIdle instead. */
async function warmVariants(
  workload: Workload,
  results: readonly SimulationResult[],
  options: BenchOptions,
): Promise<WarmPoolReport> {
  const variants: Record<string, { without: SimulationResult; minIdle: SimulationResult }> = {};
  const run = (w: Workload, strategy: string) =>
    simulate({
      workload: w,
      strategy,
      seed: options.seed,
      ...durationFor(workload, options.quick),
    });
  for (const result of results) {
    if (!result.strategy.startsWith('stepscale')) continue;
    variants[result.strategy] = {
      without: await run(withoutWarm(workload), result.strategy),
      minIdle: await run(minIdleInstead(workload), result.strategy),
    };
  }
  return warmPoolReport({ workload, results, variants });
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

/** The queue-wait columns of a table of strategies: the median, p95 and longest wait, and the p95 above boot. */
export const waitColumns = ['wait p50', 'p95', 'max', 'p95−boot'];

/** A strategy's cells under waitColumns, in seconds. */
export function waitCells(
  waits: Pick<StrategyMetrics, 'queueWaitP50S' | 'queueWaitP95S' | 'queueWaitMaxS'>,
  p95AboveBootS: number,
): string[] {
  return [waits.queueWaitP50S, waits.queueWaitP95S, waits.queueWaitMaxS, p95AboveBootS].map((s) => `${s} s`);
}

export function evaluateGoals(
  strategies: Record<string, StrategyMetrics>,
  bootSeconds: number,
  results: readonly SimulationResult[],
  cost: { total: number; totalWithLogsAndState: number },
  workloads: readonly WorkloadReport[] = [],
): Goals {
  const perWorkload = Object.fromEntries(
    workloads.map((w) => [
      w.workload,
      evaluateWorkloadGoals(
        w.judgedOn,
        Object.fromEntries(
          Object.entries(w.strategies).map(([name, m]) => [
            name,
            {
              p95AboveBootS: m.p95AboveBootS,
              idleRunnerMinutes: m.idleRunnerMinutes,
              peakRunners: m.peakRunners,
              unstartedJobs: m.unstartedJobs,
              peakRunnersByPool: m.details.peakRunnersByPool,
              maxRunnersByPool: m.details.maxRunnersByPool,
            },
          ]),
        ),
      ),
    ]),
  );
  const notMet = Object.entries(perWorkload)
    .filter(([, goals]) => !goals.met)
    .map(([name]) => name);
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
      view: pooledView,
      seedBaselineS: baselineAbove,
      stepscaleS: stepscaleAbove,
      ratio,
      required: 3,
      met: ratio >= 3,
    },
    idleRunnerMinutes: {
      view: pooledView,
      seedBaseline: baseline?.idleRunnerMinutes ?? 0,
      stepscale: stepscale?.idleRunnerMinutes ?? 0,
      limit: idleLimit,
      met: (stepscale?.idleRunnerMinutes ?? 0) <= idleLimit,
    },
    peakWithinMax: { met: violations.length === 0, violations, view: pooledView },
    controlPlaneCost: {
      totalUsd: cost.total,
      totalWithLogsAndStateUsd: cost.totalWithLogsAndState,
      limitUsd: 5,
      met: cost.total <= 5,
    },
    perWorkload,
    allWorkloads: { met: notMet.length === 0, notMet },
  };
}

/** The report as text: a table per workload, the pooled one, the control plane's cost, the goals. */
export function formatReport(report: BenchReport): string {
  const lines: string[] = [];
  const names = Object.keys(report.strategies);
  const header = [
    'strategy',
    'jobs',
    ...waitColumns,
    'idle min',
    'inst-min',
    'peak/max',
    'unstarted',
    'GitHub req',
    'rate-limited',
    'refused',
    'Actions svc',
  ];
  for (const w of report.workloads) {
    const rows: string[][] = [];
    for (const name of names) {
      const m = w.strategies[name];
      if (!m) continue;
      const max = Object.values(m.details.maxRunnersByPool).reduce((a, b) => a + b, 0);
      rows.push([
        name,
        String(m.details.jobs),
        ...waitCells(m, m.p95AboveBootS),
        String(m.idleRunnerMinutes),
        String(m.instanceMinutes),
        `${m.peakRunners}/${max}`,
        String(m.unstartedJobs),
        String(m.githubRequests),
        String(m.rateLimitedRequests),
        String(m.details.rejectedRequests),
        String(m.details.actionsServiceRequests),
      ]);
    }
    lines.push(`${w.workload}${w.judgedOn ? ` (judged on ${w.judgedOn})` : ''}: ${w.description}`);
    lines.push(table(header, rows, 1));
    const f = w.reactionFloor;
    lines.push(
      `  floor for a scaler launching per job (p95−boot): ${f.instantP95AboveBootS} s hearing of each job at once, ${f.atWebhookDelayP95AboveBootS} s at the webhook's delivery delay`,
    );
    lines.push('');
  }
  for (const w of report.workloads) {
    if (!w.warmPool) continue;
    lines.push(...formatWarmPool(w.workload, w.warmPool));
    lines.push('');
  }
  const pooledRows = names.flatMap((name) => {
    const m = report.strategies[name];
    if (!m) return [];
    return [
      [
        name,
        ...waitCells(m, aboveBoot(m.queueWaitP95S, report.bootSeconds)),
        String(m.idleRunnerMinutes),
        String(m.peakRunners),
        String(m.githubRequests),
        String(m.rateLimitedRequests),
      ],
    ];
  });
  lines.push('All workloads pooled (waits together, idle time and requests summed, the highest peak):');
  lines.push(
    table(['strategy', ...waitColumns, 'idle min', 'peak', 'GitHub req', 'rate-limited'], pooledRows, 1),
  );
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
  const w = c.webhookPath;
  if (w)
    lines.push(
      `Webhook path at ${w.jobsPerDay.toLocaleString('en-US')} jobs a day (${w.perJob.executions} targeted executions, ${w.perJob.deliveries} deliveries a job): $${w.total.toFixed(2)} a month; $${w.floor.total.toFixed(2)} if every execution only invoked its ${w.floor.perExecution.lambdaInvocations} tasks, took the lease and the inbox, wrote the governor's items, and scanned nothing`,
    );
  const o = c.observability;
  if (o)
    lines.push(
      `Metrics, alarms and dashboard (template defaults): ${o.customMetrics} custom metrics $${o.metrics.toFixed(2)}, alarms $${o.alarms.toFixed(2)}, dashboard $${o.dashboard.toFixed(2)} (free for an account's first three), EMF logs $${o.emfLogs.toFixed(2)}: $${o.total.toFixed(2)} a month`,
    );
  lines.push('');
  lines.push(...formatGoals(report.goals));
  if (report.scaleSets) {
    lines.push('');
    lines.push(...formatScaleSetReport(report.scaleSets));
  }
  return lines.join('\n');
}

/** The goals as lines: per workload first (the judgement), then the previous pooled view and the cost. */
export function formatGoals(g: Goals): string[] {
  const mark = (met: boolean) => (met ? 'met' : 'NOT met');
  const lines = [
    `Goals per workload (the best stepscale strategy shipped against the peers; p95 = p95 wait above boot): ${g.allWorkloads.met ? 'all met' : `NOT met on ${g.allWorkloads.notMet.join(', ')}`}`,
  ];
  const seconds = (value: number | null) => (value === null ? 'n/a' : `${value} s`);
  const plain = (value: number | null) => (value === null ? 'n/a' : String(value));
  for (const [workload, goals] of Object.entries(g.perWorkload)) {
    const c = goals.criteria;
    const judged = goals.judgedOn ? `judged on ${goals.judgedOn}` : 'every-workload goals only';
    lines.push(
      `  ${workload} (${judged}), ${goals.stepscaleStrategy ?? 'no stepscale strategy'}: ${mark(goals.met)}`,
    );
    const rows: string[][] = [
      [
        "p95 ≤ every peer's",
        mark(c.p95AboveBootVsPeers.met),
        `${seconds(c.p95AboveBootVsPeers.value)} vs ${seconds(c.p95AboveBootVsPeers.limit)} (${c.p95AboveBootVsPeers.comparedTo})`,
      ],
      [
        "idle runner-min ≤ 1.1 × every peer's",
        mark(c.idleRunnerMinutesVsPeers.met),
        `${c.idleRunnerMinutesVsPeers.value} vs ${plain(c.idleRunnerMinutesVsPeers.limit)} (${c.idleRunnerMinutesVsPeers.comparedTo})`,
      ],
      [
        'peak runners ≤ max',
        mark(c.peakWithinMax.met),
        `${c.peakWithinMax.value} of ${plain(c.peakWithinMax.limit)}${c.peakWithinMax.violations.length ? ` (${c.peakWithinMax.violations.join('; ')})` : ''}`,
      ],
      ['no unstarted jobs', mark(c.unstartedJobs.met), String(c.unstartedJobs.value)],
    ];
    const vsBaseline = c.p95AboveBootVsBaseline;
    if (vsBaseline)
      rows.push([
        vsBaseline.factor === 1 ? "p95 ≤ seed-baseline's" : "p95 ≤ ⅓ of seed-baseline's",
        mark(vsBaseline.met),
        `${seconds(vsBaseline.value)} vs ${seconds(vsBaseline.limit)}`,
      ]);
    const width = Math.max(...rows.map((row) => (row[0] ?? '').length));
    const markWidth = Math.max(...rows.map((row) => (row[1] ?? '').length));
    for (const [what, met, detail] of rows)
      lines.push(`    ${(what ?? '').padEnd(width)}  ${(met ?? '').padEnd(markWidth)}  ${detail}`);
  }
  lines.push('');
  lines.push('Previous pooled view (stepscale against seed-baseline, all workloads together) and cost:');
  lines.push(
    `  p95 wait above boot ≥ 3× smaller: ${mark(g.p95AboveBoot.met)} (seed-baseline ${g.p95AboveBoot.seedBaselineS} s, stepscale ${g.p95AboveBoot.stepscaleS} s, ${g.p95AboveBoot.ratio}×)`,
  );
  lines.push(
    `  idle runner-minutes ≤ baseline +10%: ${mark(g.idleRunnerMinutes.met)} (stepscale ${g.idleRunnerMinutes.stepscale}, limit ${g.idleRunnerMinutes.limit})`,
  );
  lines.push(
    `  peak runners ≤ max (every strategy): ${mark(g.peakWithinMax.met)}${g.peakWithinMax.violations.length ? ` (${g.peakWithinMax.violations.join('; ')})` : ''}`,
  );
  lines.push(
    `  control plane ≤ $5/month at 1,000 repos: ${mark(g.controlPlaneCost.met)} ($${g.controlPlaneCost.totalUsd} Step Functions + Lambda; $${g.controlPlaneCost.totalWithLogsAndStateUsd} with logs and DynamoDB)`,
  );
  return lines;
}
