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
  // Samples per dimension set: the stack's under '', each pool's under its name.
  const samplesBySet = new Map<string, Samples>();
  // One Powertools instance per dimension set, for the container's life: its dimensions never change.
  const publishers = new Map<string, Metrics>();
  const add = (pool: string, name: MetricName, value: number) => {
    if (!Number.isFinite(value)) return;
    const samples = samplesBySet.get(pool) ?? new Map<MetricName, number[]>();
    samplesBySet.set(pool, samples);
    const list = samples.get(name) ?? [];
    // Counts are summed; seconds and percentages are samples.
    if (metricDefinitions[name].unit === 'Count' && list.length > 0) list[0] = (list[0] ?? 0) + value;
    else list.push(value);
    samples.set(name, list);
  };
  const publisherOf = (pool: string) => {
    let metrics = publishers.get(pool);
    if (!metrics) {
      metrics = new Metrics({ namespace: metricNamespace, serviceName: 'stepscale' });
      // With Powertools' own `service` dimension: the template's alarms name all three.
      metrics.setDefaultDimensions(pool ? { Stack: options.stack, Pool: pool } : { Stack: options.stack });
      publishers.set(pool, metrics);
    }
    return metrics;
  };
  return {
    stack: (name, value) => add('', name, value),
    pool: (name, pool, value) => add(pool, name, value),
    jobWait: (pool, seconds, source) => {
      if (source === options.jobWaitSource) add(pool, 'JobQueuedToStarted', Math.max(0, seconds));
    },
    publish: () => {
      for (const [pool, samples] of samplesBySet) {
        const metrics = publisherOf(pool);
        for (const [name, values] of samples) {
          for (const value of values) metrics.addMetric(name, metricDefinitions[name].unit, value);
        }
        metrics.publishStoredMetrics();
      }
      samplesBySet.clear();
    },
  };
}
