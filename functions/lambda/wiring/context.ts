/** What a port's factory is given inside Lambda: the environment, the parsed config and the logger. */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Config } from '../../config/config.ts';
import type { LambdaEnv } from './environment.ts';

export interface WiringContext {
  readonly env: LambdaEnv;
  readonly config: Config;
  readonly logger: Logger;
}

/** Builds one port; each lives in its own module, so a function's bundle holds only the ports it wires. */
export type PortFactory<T> = (context: WiringContext) => T | Promise<T>;
