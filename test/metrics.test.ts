/**
 * The metrics (functions/observability/metrics.ts): what the handlers record over a real cycle, how a job's
 * wait is learnt from the poll without counting it twice, and the embedded-metric-format lines Lambda writes.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { simulate } from '../bench/sim/simulate.ts';
import { StepscaleStrategy } from '../bench/sim/strategies/stepscale.ts';
import { ConfigError } from '../functions/errors.ts';
import { jobWaitSourceOf } from '../functions/lambda/lambda-handler.ts';
import { emfMetrics } from '../functions/observability/emf-metrics.ts';
import { metricDefinitions } from '../functions/observability/metrics.ts';
import { tinyWorkload } from './support/workloads.ts';

const labels = ['self-hosted', 'linux', 'x64'];

describe('EMF metrics (Lambda)', () => {
  afterEach(() => vi.restoreAllMocks());

  function captured(): string[] {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    });
    return lines;
  }

  it('publishes one line per dimension set: counts summed, seconds as samples, the other source dropped', () => {
    const lines = captured();
    const metrics = emfMetrics({ stack: 'ci', jobWaitSource: 'webhook' });
    metrics.stack('GitHubRequests', 1);
    metrics.stack('GitHubRequests', 1);
    metrics.stack('GitHubRateLimited', 1);
    metrics.pool('RunnersLaunched', 'linux-x64', 3);
    metrics.pool('RunnersLaunched', 'linux-x64', 2);
    metrics.jobWait('linux-x64', 12.5, 'webhook');
    metrics.jobWait('linux-x64', 40, 'webhook');
    metrics.jobWait('linux-x64', 99, 'poll');
    metrics.pool('QueuedJobs', 'linux-arm64', 0);
    metrics.publish();
    vi.restoreAllMocks();

    const emitted = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(emitted).toHaveLength(3);
    const [stack, x64, arm] = emitted;
    expect(stack).toMatchObject({ Stack: 'ci', GitHubRequests: 2, GitHubRateLimited: 1 });
    expect(x64).toMatchObject({
      Stack: 'ci',
      Pool: 'linux-x64',
      RunnersLaunched: 5,
      JobQueuedToStarted: [12.5, 40],
    });
    expect(arm).toMatchObject({ Pool: 'linux-arm64', QueuedJobs: 0 });
    const declared = (line: Record<string, unknown>) =>
      (
        line._aws as {
          CloudWatchMetrics: {
            Namespace: string;
            Dimensions: string[][];
            Metrics: { Name: string; Unit: string }[];
          }[];
        }
      ).CloudWatchMetrics[0];
    expect(declared(stack as Record<string, unknown>)).toMatchObject({
      Namespace: 'stepscale',
      Dimensions: [['service', 'Stack']],
    });
    expect(declared(x64 as Record<string, unknown>)?.Dimensions).toEqual([['service', 'Stack', 'Pool']]);
    for (const line of emitted)
      for (const metric of declared(line)?.Metrics ?? [])
        expect(metric.Unit).toBe(metricDefinitions[metric.Name as keyof typeof metricDefinitions].unit);
  });

  it('writes nothing when nothing was recorded, and starts afresh after publishing', () => {
    const lines = captured();
    const metrics = emfMetrics({ stack: 'ci', jobWaitSource: 'poll' });
    metrics.publish();
    metrics.stack('CycleDuration', 31);
    metrics.publish();
    metrics.publish();
    vi.restoreAllMocks();
    expect(lines.map((line) => JSON.parse(line).CycleDuration)).toEqual([31]);
  });

  it('reads the job-wait source from STEPSCALE_JOB_WAITS_FROM, and refuses anything else by name', () => {
    expect(jobWaitSourceOf({})).toBe('poll');
    expect(jobWaitSourceOf({ STEPSCALE_JOB_WAITS_FROM: 'webhook' })).toBe('webhook');
    expect(() => jobWaitSourceOf({ STEPSCALE_JOB_WAITS_FROM: 'both' })).toThrow(ConfigError);
  });
});

describe('a job’s queued-to-started seconds, from the poll', () => {
  it('is each started job’s true wait, measured once, by the scheduled cycle after it started', async () => {
    const workload = tinyWorkload({
      repositories: 3,
      pools: [{ name: 'linux', labels, maxRunners: 6 }],
      bootSeconds: { mean: 45, jitter: 10 },
      // Long jobs in runs of several: their runs are still active when the next cycle lists them.
      arrivals: [{ type: 'burst', at: [100, 330, 610], jobs: 3, labels, durationSeconds: { mean: 240 } }],
    });
    const strategy = new StepscaleStrategy();
    const result = await simulate({ workload, strategy, seed: 7 });
    const truth = [...result.world.github.allJobs()]
      .filter((job) => job.startedAt)
      .map((job) => (Date.parse(job.startedAt ?? '') - Date.parse(job.createdAt)) / 1000);
    const polled = strategy.metrics.valuesOf('JobQueuedToStarted', 'linux');
    expect(polled.length).toBeGreaterThan(0);
    expect(polled.length).toBeLessThanOrEqual(truth.length);
    // Every sample is one job's real wait, and no job is counted twice.
    const remaining = [...truth];
    for (const wait of polled) {
      const index = remaining.indexOf(wait);
      expect(index, `sample ${wait}s among ${truth.join(', ')}`).toBeGreaterThanOrEqual(0);
      remaining.splice(index, 1);
    }
    expect(
      strategy.metrics.points
        .filter((point) => point.name === 'JobQueuedToStarted')
        .every((point) => point.source === 'poll'),
    ).toBe(true);
  });
});

describe('a pool at max', () => {
  it('is counted in each scheduled cycle that finds it at maxRunners with jobs still waiting, and only then', async () => {
    const workload = tinyWorkload({
      repositories: 2,
      pools: [{ name: 'linux', labels, maxRunners: 2 }],
      arrivals: [{ type: 'burst', at: [60], jobs: 8, labels, durationSeconds: { mean: 150 } }],
    });
    const strategy = new StepscaleStrategy();
    await simulate({ workload, strategy, seed: 3 });
    const atMax = strategy.metrics.valuesOf('PoolAtMax', 'linux');
    const queued = strategy.metrics.valuesOf('QueuedJobs', 'linux');
    expect(strategy.metrics.valuesOf('PoolsAtMax')).toEqual(atMax);
    expect(atMax.filter((value) => value === 1).length).toBeGreaterThanOrEqual(3);
    // Held only while jobs wait; once the burst is served the pool is no longer at max.
    atMax.forEach((value, index) => {
      if (value === 1) expect(queued[index]).toBeGreaterThan(0);
    });
    expect(atMax.at(-1)).toBe(0);
  });
});
