/**
 * The bench's floors (bench/sim/reaction-floor.ts, webhookPathFloor in bench/sim/cost.ts): what no scaler
 * launching per job, and no webhook path starting an execution per job, can go below — each pinned on a world
 * where the answer is known to the second or to the cent.
 */
import { describe, expect, it } from 'vitest';
import { prices, webhookPathCost, webhookPathFloor } from '../bench/sim/cost.ts';
import { reactionFloor } from '../bench/sim/reaction-floor.ts';
import { simulate } from '../bench/sim/simulate.ts';
import type { CycleRecord } from '../bench/sim/strategies/cycle-engine.ts';
import { StepscaleWebhookStrategy } from '../bench/sim/strategies/stepscale-webhook.ts';
import { mixedWorkload, tinyWorkload } from './support/workloads.ts';

describe('Function: reactionFloor', () => {
  it('is the runner’s pickup at once, and the delivery delay more at the webhook’s pace, when boots do not vary', async () => {
    // Boot exactly 45 s, deliveries exactly 1 s late, one job: launched when heard of, picked up 2 s after boot.
    const floor = await reactionFloor(tinyWorkload(), { seed: 1 });
    expect(floor.instantP95AboveBootS).toBe(2);
    expect(floor.atWebhookDelayP95AboveBootS).toBe(3);
  });

  it('keeps the boot’s own spread: with boots within 45 ± 10 s even an instant scaler’s p95 is above 9 s', async () => {
    const spread = mixedWorkload({ bootSeconds: { mean: 45, jitter: 10 }, spotFailureRate: 0 });
    const floor = await reactionFloor(spread, { seed: 1 });
    expect(floor.instantP95AboveBootS).toBeGreaterThan(9);
    expect(floor.atWebhookDelayP95AboveBootS).toBeGreaterThan(floor.instantP95AboveBootS);
  });
});

function execution(invocations: number, transitions = 12): CycleRecord {
  return {
    kind: 'webhook',
    startMs: 0,
    status: 'SUCCEEDED',
    transitions,
    invocations: Array.from({ length: invocations }, () => ({
      task: 'Decide',
      modeledMs: 500,
      requests: {
        total: 3,
        rateLimited: 3,
        notModified: 0,
        rejected: 0,
        writes: 1,
        secondaryLimited: 0,
        aws: 2,
        actionsService: 0,
      },
    })),
    durationMs: 4000,
    executionLogBytes: 50_000,
    executionLogByState: {},
    executionLogBytesWithoutData: 10_000,
    functionLogBytes: 20_000,
    launched: 1,
    registered: 1,
    repositoryScans: 14,
    changedScans: 8,
  };
}

describe('Function: webhookPathFloor', () => {
  it('bills each execution its fewest invocations at the invoke overhead, the lease, inbox and governor writes, nothing else', () => {
    const n = 300_000;
    const floor = webhookPathFloor([execution(7), execution(6, 10), execution(9)], n, 0.5, 0.25);
    // 6 invocations × 40 ms, one after another.
    expect(floor.perExecution).toEqual({ lambdaInvocations: 6, lambdaSeconds: 0.24, durationSeconds: 0.24 });
    expect(floor.targetedExecutions.stepFunctions).toBeCloseTo(
      n * (prices.expressPerExecution + 0.24 * (64 / 1024) * prices.expressPerGbSecond),
      2,
    );
    expect(floor.targetedExecutions.lambda).toBeCloseTo(
      n * (6 * prices.lambdaPerRequest + 0.24 * 0.25 * prices.lambdaPerGbSecond),
      2,
    );
    // Reads: the org-level and governor items (3 × ½) and the write budget (1); writes: two governor items of
    // 2 units, the lease taken and given back, the inbox taken.
    expect(floor.targetedExecutions.dynamodb).toBeCloseTo(
      n * (2.5 * prices.dynamoPerReadUnit + 7 * prices.dynamoPerWriteUnit),
      2,
    );
    expect(floor.receiver).toBe(0.5);
    expect(floor.redelivery).toBe(0.25);
    const parts = floor.targetedExecutions;
    expect(floor.total).toBeCloseTo(parts.stepFunctions + parts.lambda + parts.dynamodb + 0.75, 1);
    expect(
      webhookPathFloor([execution(6, 10)], n, 0, 0, 'STANDARD').targetedExecutions.stepFunctions,
    ).toBeCloseTo(n * 10 * prices.standardPerTransition, 2);
  });

  it('is never above what the real targeted cycles cost, part by part', async () => {
    const strategy = new StepscaleWebhookStrategy();
    const result = await simulate({ workload: mixedWorkload(), strategy, seed: 4, drainSeconds: 0 });
    const executions = strategy.webhookCycles;
    expect(executions.length).toBeGreaterThan(3);
    const cost = webhookPathCost(
      executions,
      { jobs: result.details.jobs, ...strategy.deliveryCounts(0) },
      10_000,
    );
    const { floor } = cost;
    expect(floor.perExecution.lambdaInvocations).toBeGreaterThanOrEqual(6);
    expect(floor.targetedExecutions.stepFunctions).toBeLessThanOrEqual(cost.targetedExecutions.stepFunctions);
    expect(floor.targetedExecutions.lambda).toBeLessThan(cost.targetedExecutions.lambda);
    expect(floor.targetedExecutions.dynamodb).toBeLessThan(cost.targetedExecutions.dynamodb);
    expect(floor.receiver).toBeCloseTo(cost.receiver.lambda + cost.receiver.dynamodb, 1);
    expect(floor.total).toBeLessThan(cost.total);
  });
});
