/**
 * What the control plane costs a month, from counts taken while the real cycle ran in the simulator.
 *
 * Per cycle (means over the measured cycles of a run): state transitions T (StateEntered events, Map
 * iterations included), execution duration D (modelled, timing.ts), Lambda invocations I and their modelled
 * billed durations d_i, log bytes L (execution log at level ALL with data + the functions' INFO lines),
 * repository scans S and scans whose answer changed W (the conditional-request cache's reads and writes).
 * With C = 43,200 cycles a month (one a minute, 30 days) and Lambda at 256 MB:
 *
 *   Step Functions  EXPRESS   = C × ($1.00/1e6 + D × 64 MB/1024 × $0.00001667)
 *                   STANDARD  = C × T × $0.025/1e3
 *   Lambda (arm64)            = C × (I × $0.20/1e6 + Σ d_i × 0.25 GB × $0.0000133334)
 *   CloudWatch Logs           = C × L / 1e9 × $0.50                (ingestion; the per-cycle trace)
 *     L counts ~2.5 AWS history events per event aws-local-stepfunctions emits, each 300 bytes of metadata plus
 *     its input/output (template: Level ALL, IncludeExecutionData true), and ~260 bytes per function log line.
 *   DynamoDB (on-demand)      = C × ((S + 3) × 0.5 RRU + 1 RRU) × $0.125/1e6
 *                             + C × ((W + 2) × 2 + 2 + G + R) WRU × $0.625/1e6
 *     G GitHub writes (each takes a slot of the stack's write budget: one UpdateItem), R registrations (each
 *     claims its instance first: one conditional PutItem); Decide reads the write budget (1 consistent read).
 *   total                     = Step Functions (the chosen type) + Lambda          (the issue's definition)
 *   totalWithLogsAndState     = total + CloudWatch Logs + DynamoDB                   (what the bill shows)
 *
 * Express bills its duration in 64 MB steps of memory: a cycle's state is a few KB, so the first step.
 * Prices: us-east-1, published list prices, no free tier.
 */
import { round } from './metrics.ts';
import type { CycleRecord } from './strategies/stepscale.ts';
import { assumedLatency } from './timing.ts';

export const prices = {
  standardPerTransition: 0.025 / 1000,
  expressPerExecution: 1 / 1e6,
  expressPerGbSecond: 0.00001667,
  lambdaPerRequest: 0.2 / 1e6,
  lambdaPerGbSecond: 0.0000133334,
  logsPerGbIngested: 0.5,
  dynamoPerReadUnit: 0.125 / 1e6,
  dynamoPerWriteUnit: 0.625 / 1e6,
} as const;

export const cyclesPerMonth = 30 * 24 * 60;
export const lambdaMemoryGb = 256 / 1024;
export const expressMemoryGb = 64 / 1024;

export interface CycleMeans {
  readonly cycles: number;
  readonly transitions: number;
  readonly durationSeconds: number;
  readonly lambdaInvocations: number;
  readonly lambdaSeconds: number;
  readonly logBytes: number;
  readonly logBytesWithoutExecutionData: number;
  readonly repositoryScans: number;
  readonly changedScans: number;
  /** GitHub writes (registrations and deletions), each one slot of the write budget. */
  readonly githubWrites: number;
  readonly registrations: number;
}

export interface CostBreakdown {
  readonly stepFunctions: number;
  readonly lambda: number;
  readonly total: number;
  readonly stateMachineType: 'EXPRESS' | 'STANDARD';
  readonly stepFunctionsExpress: number;
  readonly stepFunctionsStandard: number;
  readonly logs: number;
  /** CloudWatch Logs if the state machine logged without execution data (the trace keeps states and times). */
  readonly logsWithoutExecutionData: number;
  readonly dynamodb: number;
  readonly totalWithLogsAndState: number;
  readonly perCycle: CycleMeans;
}

export function cycleMeans(cycles: readonly CycleRecord[]): CycleMeans {
  const n = Math.max(1, cycles.length);
  const mean = (pick: (cycle: CycleRecord) => number) => cycles.reduce((sum, c) => sum + pick(c), 0) / n;
  return {
    cycles: cycles.length,
    transitions: mean((c) => c.transitions),
    durationSeconds: mean((c) => c.durationMs / 1000),
    lambdaInvocations: mean((c) => c.invocations.length),
    // Lambda bills each invocation in whole milliseconds.
    lambdaSeconds: mean((c) => c.invocations.reduce((sum, i) => sum + Math.ceil(i.modeledMs), 0) / 1000),
    logBytes: mean((c) => c.executionLogBytes + c.functionLogBytes),
    logBytesWithoutExecutionData: mean((c) => c.executionLogBytesWithoutData + c.functionLogBytes),
    repositoryScans: mean((c) => c.repositoryScans),
    changedScans: mean((c) => c.changedScans),
    githubWrites: mean((c) => c.invocations.reduce((sum, i) => sum + i.requests.writes, 0)),
    registrations: mean((c) => c.registered),
  };
}

/** The scaling lease, taken and given back: the fixed writes of every cycle besides the scans'. */
const scalingLeaseWrites = 2;

/**
 * What one execution with these means costs, by service. DynamoDB reads: one item per scanned repository + the
 * org-level listings and the governor's two items, eventually consistent (0.5 RRU up to 4 KB), and the write
 * budget read consistently by Decide (1 RRU). Writes: the repositories whose answer changed + the governor's,
 * ≤ 2 KB, `fixedWrites` (the scaling lease; a targeted cycle also takes the inbox), a write-budget slot per
 * GitHub write and a claim per registration (1 WRU each, a refused conditional write costs the same).
 */
function perExecutionUsd(means: CycleMeans, fixedWrites: number) {
  return {
    express: prices.expressPerExecution + means.durationSeconds * expressMemoryGb * prices.expressPerGbSecond,
    standard: means.transitions * prices.standardPerTransition,
    lambda:
      means.lambdaInvocations * prices.lambdaPerRequest +
      means.lambdaSeconds * lambdaMemoryGb * prices.lambdaPerGbSecond,
    dynamodb:
      ((means.repositoryScans + 3) * 0.5 + 1) * prices.dynamoPerReadUnit +
      ((means.changedScans + 2) * 2 + fixedWrites + means.githubWrites + means.registrations) *
        prices.dynamoPerWriteUnit,
  };
}

export function monthlyCost(
  means: CycleMeans,
  stateMachineType: 'EXPRESS' | 'STANDARD' = 'EXPRESS',
): CostBreakdown {
  const c = cyclesPerMonth;
  const one = perExecutionUsd(means, scalingLeaseWrites);
  const express = c * one.express;
  const standard = c * one.standard;
  const lambda = c * one.lambda;
  const logs = (c * means.logBytes * prices.logsPerGbIngested) / 1e9;
  const logsLean = (c * means.logBytesWithoutExecutionData * prices.logsPerGbIngested) / 1e9;
  const dynamodb = c * one.dynamodb;
  const stepFunctions = stateMachineType === 'EXPRESS' ? express : standard;
  const total = stepFunctions + lambda;
  return {
    stepFunctions: round(stepFunctions, 2),
    lambda: round(lambda, 2),
    total: round(total, 2),
    stateMachineType,
    stepFunctionsExpress: round(express, 2),
    stepFunctionsStandard: round(standard, 2),
    logs: round(logs, 2),
    logsWithoutExecutionData: round(logsLean, 2),
    dynamodb: round(dynamodb, 2),
    totalWithLogsAndState: round(total + logs + dynamodb, 2),
    perCycle: {
      cycles: means.cycles,
      transitions: round(means.transitions, 1),
      durationSeconds: round(means.durationSeconds, 2),
      lambdaInvocations: round(means.lambdaInvocations, 1),
      lambdaSeconds: round(means.lambdaSeconds, 2),
      logBytes: Math.round(means.logBytes),
      logBytesWithoutExecutionData: Math.round(means.logBytesWithoutExecutionData),
      repositoryScans: round(means.repositoryScans, 1),
      changedScans: round(means.changedScans, 1),
      githubWrites: round(means.githubWrites, 1),
      registrations: round(means.registrations, 1),
    },
  };
}

/**
 * What the webhook path adds a month, per `jobsPerDay`, from what the real receiver and the targeted cycles did
 * in the simulator (per job: E targeted executions, D deliveries of which A acted on — claimed, posted):
 *
 *   targeted executions  = J × E × (Express request + duration × 64 MB, or transitions for Standard
 *                          + Lambda invocations and seconds + DynamoDB as in monthlyCost
 *                          + 1 WRU to take the inbox + their function log lines)
 *                          — their execution log keeps failures only (level ERROR): nothing for a succeeded one;
 *   receiver             = J × D × (Lambda request + billed ms × 256 MB), an acted-on delivery billed its three
 *                          AWS calls (claim, inbox, StartExecution: 3 × 60 ms), an ignored one 1 ms
 *                          + J × A × 2 WRU (claim, inbox) + J × (D − A) × 0 (a completion's read of held pools,
 *                          only for pools at max, is left out);
 *   redelivery task      = 21,600 runs a month (every 2 min) × (Lambda request + 300 ms) + 2 DynamoDB reads.
 * with J = jobsPerDay × 30.
 *
 * `floor` is the least the same traffic could cost with the same executions and deliveries per job: each
 * targeted execution reduced to what every one of them does whatever it finds — its fewest task invocations
 * (of those measured), each billed only Step Functions' invoke overhead (timing.ts), one after another; the
 * scaling lease, the inbox and the two governor items — with no GitHub request, no repository scanned or
 * remembered, no launch, registration or log line; the receiver and the redelivery task as above. When it is
 * above a target, no tuning of what a targeted cycle does reaches the target at one execution per job.
 */
export interface WebhookPathCost {
  readonly jobsPerDay: number;
  readonly perJob: {
    readonly executions: number;
    readonly deliveries: number;
    readonly actedOn: number;
  };
  readonly targetedExecutions: {
    readonly stepFunctions: number;
    readonly lambda: number;
    readonly dynamodb: number;
    readonly logs: number;
  };
  readonly receiver: { readonly lambda: number; readonly dynamodb: number };
  readonly redelivery: number;
  readonly total: number;
  /** The same with the targeted cycles' execution log at level ALL with data (what one state machine would log). */
  readonly totalIfLoggedLikeScheduled: number;
  readonly perExecution: CostBreakdown['perCycle'];
  readonly floor: WebhookPathFloor;
}

export interface WebhookPathFloor {
  readonly perExecution: {
    readonly lambdaInvocations: number;
    readonly lambdaSeconds: number;
    readonly durationSeconds: number;
  };
  readonly targetedExecutions: {
    readonly stepFunctions: number;
    readonly lambda: number;
    readonly dynamodb: number;
  };
  readonly receiver: number;
  readonly redelivery: number;
  readonly total: number;
}

export function webhookPathCost(
  executions: readonly CycleRecord[],
  counts: { readonly jobs: number; readonly deliveries: number; readonly actedOn: number },
  jobsPerDay: number,
  stateMachineType: 'EXPRESS' | 'STANDARD' = 'EXPRESS',
): WebhookPathCost {
  const jobsPerMonth = jobsPerDay * 30;
  const jobs = Math.max(1, counts.jobs);
  const perJob = {
    executions: executions.length / jobs,
    deliveries: counts.deliveries / jobs,
    actedOn: counts.actedOn / jobs,
  };
  const means = cycleMeans(executions);
  const n = jobsPerMonth * perJob.executions;
  // A targeted execution also takes the webhook inbox: one more write than a scheduled cycle's.
  const one = perExecutionUsd(means, scalingLeaseWrites + 1);
  const stepFunctions = n * (stateMachineType === 'EXPRESS' ? one.express : one.standard);
  const lambda = n * one.lambda;
  const dynamodb = n * one.dynamodb;
  const functionLogBytes =
    executions.reduce((sum, c) => sum + c.functionLogBytes, 0) / Math.max(1, executions.length);
  const failedLogBytes =
    executions.filter((c) => c.status === 'FAILED').reduce((sum, c) => sum + c.executionLogBytes, 0) /
    Math.max(1, executions.length);
  const logs = (n * (functionLogBytes + failedLogBytes) * prices.logsPerGbIngested) / 1e9;
  // means.logBytes holds the execution log and the functions' lines already.
  const logsAll = (n * means.logBytes * prices.logsPerGbIngested) / 1e9;
  const { lambda: receiverLambda, dynamodb: receiverDynamodb } = receiverUsd(jobsPerMonth, perJob);
  const redelivery = redeliveryUsd();
  const total = stepFunctions + lambda + dynamodb + logs + receiverLambda + receiverDynamodb + redelivery;
  return {
    jobsPerDay,
    perJob: {
      executions: round(perJob.executions, 2),
      deliveries: round(perJob.deliveries, 2),
      actedOn: round(perJob.actedOn, 2),
    },
    targetedExecutions: {
      stepFunctions: round(stepFunctions, 2),
      lambda: round(lambda, 2),
      dynamodb: round(dynamodb, 2),
      logs: round(logs, 2),
    },
    receiver: { lambda: round(receiverLambda, 2), dynamodb: round(receiverDynamodb, 2) },
    redelivery: round(redelivery, 2),
    total: round(total, 2),
    totalIfLoggedLikeScheduled: round(total - logs + logsAll, 2),
    perExecution: monthlyCost(means, stateMachineType).perCycle,
    floor: webhookPathFloor(executions, n, receiverLambda + receiverDynamodb, redelivery, stateMachineType),
  };
}

/** The receiver a month: every delivery a Lambda request; an acted-on one its three AWS calls and two writes. */
function receiverUsd(
  jobsPerMonth: number,
  perJob: { readonly deliveries: number; readonly actedOn: number },
): { readonly lambda: number; readonly dynamodb: number } {
  const deliveries = jobsPerMonth * perJob.deliveries;
  const actedOn = jobsPerMonth * perJob.actedOn;
  return {
    lambda:
      deliveries * prices.lambdaPerRequest +
      (actedOn * 0.181 + (deliveries - actedOn) * 0.001) * lambdaMemoryGb * prices.lambdaPerGbSecond,
    dynamodb: actedOn * 2 * prices.dynamoPerWriteUnit,
  };
}

/** The redelivery task a month: a run every two minutes, 300 ms, two reads. */
function redeliveryUsd(): number {
  const runs = 30 * 24 * 30;
  return (
    runs *
    (prices.lambdaPerRequest + 0.3 * lambdaMemoryGb * prices.lambdaPerGbSecond + 2 * prices.dynamoPerReadUnit)
  );
}

/** See `floor` in the comment above webhookPathCost: `executionsPerMonth` bare executions, nothing else. */
export function webhookPathFloor(
  executions: readonly CycleRecord[],
  executionsPerMonth: number,
  receiver: number,
  redelivery: number,
  stateMachineType: 'EXPRESS' | 'STANDARD' = 'EXPRESS',
): WebhookPathFloor {
  const invocations = executions.length > 0 ? Math.min(...executions.map((c) => c.invocations.length)) : 0;
  const seconds = (invocations * assumedLatency.invokeOverheadMs) / 1000;
  const fewestTransitions = executions.length > 0 ? Math.min(...executions.map((c) => c.transitions)) : 0;
  const bare: CycleMeans = {
    cycles: executions.length,
    transitions: fewestTransitions,
    durationSeconds: seconds,
    lambdaInvocations: invocations,
    lambdaSeconds: seconds,
    logBytes: 0,
    logBytesWithoutExecutionData: 0,
    repositoryScans: 0,
    changedScans: 0,
    githubWrites: 0,
    registrations: 0,
  };
  const one = perExecutionUsd(bare, scalingLeaseWrites + 1);
  const stepFunctions = executionsPerMonth * (stateMachineType === 'EXPRESS' ? one.express : one.standard);
  const lambda = executionsPerMonth * one.lambda;
  const dynamodb = executionsPerMonth * one.dynamodb;
  return {
    perExecution: {
      lambdaInvocations: invocations,
      lambdaSeconds: round(seconds, 2),
      durationSeconds: round(seconds, 2),
    },
    targetedExecutions: {
      stepFunctions: round(stepFunctions, 2),
      lambda: round(lambda, 2),
      dynamodb: round(dynamodb, 2),
    },
    receiver: round(receiver, 2),
    redelivery: round(redelivery, 2),
    total: round(stepFunctions + lambda + dynamodb + receiver + redelivery, 2),
  };
}

/** CloudWatch's prices (us-east-1): custom metrics (first 10,000), standard alarm metrics, a dashboard. */
export const observabilityPrices = {
  perCustomMetricMonth: 0.3,
  perAlarmMetricMonth: 0.1,
  perDashboardMonth: 3,
} as const;
/** The template's alarms count their metrics: failed cycles watches four (two per state machine), the rest one. */
export const templateAlarmMetrics = 4 + 4;
/** An EMF line's envelope (namespace, dimensions, timestamp) and each metric's share of it, in bytes. */
const emfLineBytes = 260;
const emfBytesPerSample = 45;

export interface ObservabilityCost {
  /** Distinct name and dimension sets the functions published: each is a custom metric. */
  readonly customMetrics: number;
  readonly metrics: number;
  readonly alarms: number;
  /** Beyond an account's three free dashboards. */
  readonly dashboard: number;
  /** The EMF lines in the functions' log group. */
  readonly emfLogs: number;
  readonly total: number;
}

/**
 * What the template's Metrics, Alarms and Dashboard add a month, from what the production handlers recorded
 * over `cycles` cycles (MemoryMetrics): one EMF line per dimension set an invocation recorded in (about one per
 * Lambda invocation, and one more per pool for the per-pool tasks), each sample a few dozen bytes more.
 */
export function observabilityCost(
  points: readonly { readonly name: string; readonly pool?: string }[],
  cycles: number,
  means: Pick<CycleMeans, 'lambdaInvocations'>,
): ObservabilityCost {
  const series = new Set(points.map((point) => `${point.name}\u0000${point.pool ?? ''}`));
  const pools = new Set(points.flatMap((point) => (point.pool ? [point.pool] : [])));
  const perCycle = cycles > 0 ? points.length / cycles : 0;
  // ListRepositories, Decide, ScaleUp, ScaleDown and RegisterRunners write per-pool lines as well.
  const linesPerCycle = means.lambdaInvocations + 3 * pools.size;
  const emfBytes = cyclesPerMonth * (linesPerCycle * emfLineBytes + perCycle * emfBytesPerSample);
  const metrics = series.size * observabilityPrices.perCustomMetricMonth;
  const alarms = templateAlarmMetrics * observabilityPrices.perAlarmMetricMonth;
  const dashboard = observabilityPrices.perDashboardMonth;
  const emfLogs = (emfBytes * prices.logsPerGbIngested) / 1e9;
  return {
    customMetrics: series.size,
    metrics: round(metrics, 2),
    alarms: round(alarms, 2),
    dashboard: round(dashboard, 2),
    emfLogs: round(emfLogs, 2),
    total: round(metrics + alarms + dashboard + emfLogs, 2),
  };
}
