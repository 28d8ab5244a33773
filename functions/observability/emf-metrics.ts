/**
 * The Lambda functions' metrics: Powertools Metrics writes them to the function's log in CloudWatch's embedded
 * metric format, which CloudWatch turns into metrics without an API call. An invocation's samples are kept
 * here and published once at its end (`publish`): counts summed per name, seconds kept as samples so the
 * dashboard's percentiles see each job. One log line per dimension set (the stack's, then one per pool).
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  type JobWaitSource,
  type MetricName,
  type MetricsRecorder,
  metricDefinitions,
  metricNamespace,
} from './metrics.ts';

export interface EmfMetricsOptions {
  readonly stack: string;
  /** Which source's job waits are published; the other's are dropped so no job is counted twice. */
  readonly jobWaitSource: JobWaitSource;
}

export interface EmfMetrics extends MetricsRecorder {
  /** Publishes what this invocation recorded, and starts afresh. */
  publish(): void;
}

type Samples = Map<MetricName, number[]>;

export function emfMetrics(options: EmfMetricsOptions): EmfMetrics {
  const stackSamples: Samples = new Map();
  const poolSamples = new Map<string, Samples>();
  const add = (samples: Samples, name: MetricName, value: number) => {
    if (!Number.isFinite(value)) return;
    const list = samples.get(name) ?? [];
    // Counts are summed; seconds and percentages are samples.
    if (metricDefinitions[name].unit === 'Count' && list.length > 0) list[0] = (list[0] ?? 0) + value;
    else list.push(value);
    samples.set(name, list);
  };
  const poolOf = (pool: string) => {
    const samples = poolSamples.get(pool) ?? new Map();
    poolSamples.set(pool, samples);
    return samples;
  };
  const flush = (samples: Samples, dimensions: Record<string, string>) => {
    if (samples.size === 0) return;
    const metrics = new Metrics({ namespace: metricNamespace, serviceName: 'stepscale' });
    // Alarms match dimension sets exactly: the service dimension Powertools adds by default is not one of ours.
    metrics.setDefaultDimensions(dimensions);
    for (const [name, values] of samples) {
      for (const value of values) metrics.addMetric(name, metricDefinitions[name].unit, value);
    }
    metrics.publishStoredMetrics();
    samples.clear();
  };
  return {
    stack: (name, value) => add(stackSamples, name, value),
    pool: (name, pool, value) => add(poolOf(pool), name, value),
    jobWait: (pool, seconds, source) => {
      if (source === options.jobWaitSource) add(poolOf(pool), 'JobQueuedToStarted', Math.max(0, seconds));
    },
    publish: () => {
      flush(stackSamples, { Stack: options.stack });
      for (const [pool, samples] of poolSamples) flush(samples, { Stack: options.stack, Pool: pool });
      poolSamples.clear();
    },
  };
}
