/**
 * The cost model's input: the real cycle run against an organization of N repositories (1,000 by default)
 * with steady traffic, the per-cycle counts taken after the warm-up (the governor has learned what a scan
 * costs by then, as a deployment that has run for a while has).
 */
import {
  type CostBreakdown,
  cycleMeans,
  monthlyCost,
  type ObservabilityCost,
  observabilityCost,
  type WebhookPathCost,
  webhookPathCost,
} from './cost.ts';
import { simulate } from './simulate.ts';
import { StepscaleStrategy } from './strategies/stepscale.ts';
import { StepscaleWebhookStrategy } from './strategies/stepscale-webhook.ts';
import { parseWorkload, type Workload } from './workload.ts';

export function costProbeWorkload(
  repositories: number,
  measuredSeconds: number,
  config: Record<string, unknown> = {},
): Workload {
  return parseWorkload({
    config,
    name: `org-${repositories}`,
    description: `${repositories} repositories, steady traffic (1 run a minute per 200 repositories)`,
    durationSeconds: 600 + measuredSeconds,
    warmupSeconds: 600,
    repositories,
    pools: [
      { name: 'linux-x64', labels: ['self-hosted', 'linux', 'x64'], maxRunners: 200 },
      { name: 'linux-arm64', labels: ['self-hosted', 'linux', 'arm64'], maxRunners: 50 },
    ],
    arrivals: [
      {
        type: 'poisson',
        ratePerMinute: repositories / 200,
        jobsPerRun: { min: 1, max: 2 },
        labels: ['self-hosted', 'linux', 'x64'],
        durationSeconds: { mean: 300, jitter: 180 },
      },
      {
        type: 'poisson',
        ratePerMinute: repositories / 1000,
        labels: ['self-hosted', 'linux', 'arm64'],
        durationSeconds: { mean: 240, jitter: 120 },
      },
    ],
  });
}

export interface CostProbeResult {
  readonly repositories: number;
  readonly express: CostBreakdown;
  readonly standard: CostBreakdown;
  /** The metrics the handlers published over the measured cycles, the alarms and the dashboard, a month. */
  readonly observability: ObservabilityCost;
}

export async function costProbe(
  options: {
    repositories?: number;
    measuredSeconds?: number;
    seed?: number;
    /** stepscale config sections to try (e.g. { collection: { concurrency: 16 } }). */
    config?: Record<string, unknown>;
  } = {},
): Promise<CostProbeResult> {
  const repositories = options.repositories ?? 1000;
  const workload = costProbeWorkload(repositories, options.measuredSeconds ?? 600, options.config);
  const strategy = new StepscaleStrategy();
  await simulate({ workload, strategy, seed: options.seed ?? 1, drainSeconds: 0 });
  const measured = strategy.cycles.filter((cycle) => cycle.startMs >= workload.warmupSeconds * 1000);
  const means = cycleMeans(measured);
  return {
    repositories,
    express: monthlyCost(means, 'EXPRESS'),
    standard: monthlyCost(means, 'STANDARD'),
    // Samples per cycle over every cycle of the run (warm-up ones record the same series).
    observability: observabilityCost(strategy.metrics.points, strategy.cycles.length, means),
  };
}

/**
 * What the webhook path adds at 1,000 repositories and `jobsPerDay` jobs a day: the same organization and
 * traffic as {@link costProbe} (≈ 12,000 jobs a day), played with stepscale-webhook, its counts per job scaled.
 */
export async function webhookCostProbe(
  options: { measuredSeconds?: number; seed?: number; jobsPerDay?: number } = {},
): Promise<WebhookPathCost> {
  const workload = costProbeWorkload(1000, options.measuredSeconds ?? 600);
  const strategy = new StepscaleWebhookStrategy({ redelivery: true });
  const result = await simulate({ workload, strategy, seed: options.seed ?? 1, drainSeconds: 0 });
  const fromMs = workload.warmupSeconds * 1000;
  const executions = strategy.webhookCycles.filter((cycle) => cycle.startMs >= fromMs);
  const counts = strategy.deliveryCounts(fromMs);
  return webhookPathCost(executions, { jobs: result.details.jobs, ...counts }, options.jobsPerDay ?? 10_000);
}
