/**
 * The one shape of every Lambda entry point: the Task's handler, built once per container from the config
 * and exactly the ports it declared it needs (each wired by its own module, so a function's bundle holds
 * only those adapters and SDK clients), the Lambda context on every log line. Errors leave unchanged: their
 * `name` is what the state machine's Retry and Catch match.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { scalingPolicyOf } from '../config/config.ts';
import { ConfigError } from '../errors.ts';
import type { PortNeeds, Ports, TaskDeps } from '../handlers/deps.ts';
import type { ListenerTaskName, TaskName } from '../handlers/index.ts';
import { type EmfMetrics, emfMetrics } from '../observability/emf-metrics.ts';
import { createLogger } from '../observability/logger.ts';
import type { JobWaitSource } from '../observability/metrics.ts';
import { onceUntilFailure } from '../once-until-failure.ts';
import { loadConfigFromEnvironment } from './wiring/config-source.ts';
import type { PortFactory } from './wiring/context.ts';
import { lambdaEnvironment, readEnvironment } from './wiring/environment.ts';

type LambdaContext = Parameters<Logger['addContext']>[0];
type Handler = (event: unknown) => Promise<unknown>;

/** One factory for each port the handler needs. */
export type Wiring<N extends PortNeeds> = {
  readonly [P in keyof N & keyof Ports]-?: PortFactory<
    Pick<Ports[P], Extract<NonNullable<N[P]>[number], keyof Ports[P]>>
  >;
};

/** The container's one logger; entry points add the Lambda context to it. */
export const logger: Logger = createLogger();

export function lambdaHandler<N extends PortNeeds>(
  task: TaskName | ListenerTaskName,
  handler: { readonly needs: N; readonly create: (deps: TaskDeps<N>) => Handler },
  wiring: Wiring<N>,
) {
  // A failed build (e.g. an unreadable config) is tried again on the next invocation.
  const handle = onceUntilFailure(() => build(handler.create, wiring));

  return async (event: unknown, context?: LambdaContext): Promise<unknown> => {
    if (context) logger.addContext(context);
    logger.appendKeys({ task });
    let metrics: EmfMetrics | undefined;
    try {
      const ready = await handle();
      metrics = ready.metrics;
      return await ready.handler(event);
    } catch (error) {
      logger.error(`${task} failed`, error as Error);
      throw error;
    } finally {
      // A failed invocation's requests and rate limits count too.
      metrics?.publish();
    }
  };
}

interface Built {
  readonly handler: Handler;
  readonly metrics: EmfMetrics;
}

async function build<N extends PortNeeds>(
  create: (deps: TaskDeps<N>) => Handler,
  wiring: Wiring<N>,
): Promise<Built> {
  const env = readEnvironment(lambdaEnvironment, process.env);
  const config = await loadConfigFromEnvironment(env);
  const metrics = emfMetrics({ stack: config.stack, jobWaitSource: jobWaitSourceOf(env) });
  const context = { env, config, logger, metrics };
  const ports = Object.fromEntries(
    await Promise.all(
      Object.entries(wiring).map(async ([name, factory]) => [
        name,
        await (factory as PortFactory<unknown>)(context),
      ]),
    ),
  );
  logger.info('Dependencies ready', {
    stack: config.stack,
    githubApiUrl: config.github.apiUrl,
    org: config.github.org,
    pools: config.pools.map((pool) => pool.name),
    ports: Object.keys(ports),
  });
  const deps = {
    config,
    policy: scalingPolicyOf(config),
    log: logger,
    now: () => new Date(),
    sleepUntil: (at: Date) =>
      new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, at.getTime() - Date.now()))),
    metrics,
    ...ports,
  } as TaskDeps<N>;
  return { handler: create(deps), metrics };
}

/** Where job waits are measured (STEPSCALE_JOB_WAITS_FROM): the receiver's, when it is deployed. */
export function jobWaitSourceOf(env: {
  readonly STEPSCALE_JOB_WAITS_FROM?: string | undefined;
}): JobWaitSource {
  const source = env.STEPSCALE_JOB_WAITS_FROM ?? 'poll';
  if (source !== 'poll' && source !== 'webhook') {
    throw new ConfigError([`STEPSCALE_JOB_WAITS_FROM: '${source}' is neither 'poll' nor 'webhook'`]);
  }
  return source;
}
