/** What a port's factory is given inside Lambda: the environment, the parsed config, the logger and metrics. */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Config } from '../../config/config.ts';
import type { MetricsRecorder } from '../../observability/metrics.ts';
import type { LambdaEnv } from './environment.ts';

export interface WiringContext {
  readonly env: LambdaEnv;
  readonly config: Config;
  readonly logger: Logger;
  /** The invocation's metrics (published when it ends). */
  readonly metrics: MetricsRecorder;
}

/** Builds one port; each lives in its own module, so a function's bundle holds only the ports it wires. */
export type PortFactory<T> = (context: WiringContext) => T | Promise<T>;
