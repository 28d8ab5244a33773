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

export function monthlyCost(
  means: CycleMeans,
  stateMachineType: 'EXPRESS' | 'STANDARD' = 'EXPRESS',
): CostBreakdown {
  const c = cyclesPerMonth;
  const express =
    c * (prices.expressPerExecution + means.durationSeconds * expressMemoryGb * prices.expressPerGbSecond);
  const standard = c * means.transitions * prices.standardPerTransition;
  const lambda =
    c *
    (means.lambdaInvocations * prices.lambdaPerRequest +
      means.lambdaSeconds * lambdaMemoryGb * prices.lambdaPerGbSecond);
  const logs = (c * means.logBytes * prices.logsPerGbIngested) / 1e9;
  const logsLean = (c * means.logBytesWithoutExecutionData * prices.logsPerGbIngested) / 1e9;
  // Reads: one item per scanned repository + the org-level listings and the governor's two items, eventually
  // consistent (0.5 RRU up to 4 KB), and the write budget read consistently by Decide (1 RRU). Writes: the
  // repositories whose answer changed + the governor's, ≤ 2 KB, the scaling lease taken and given back, a
  // write-budget slot per GitHub write and a claim per registration (1 WRU each, a refused conditional write
  // costs the same).
  const dynamodb =
    c *
    (((means.repositoryScans + 3) * 0.5 + 1) * prices.dynamoPerReadUnit +
      ((means.changedScans + 2) * 2 + 2 + means.githubWrites + means.registrations) *
        prices.dynamoPerWriteUnit);
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
