/**
 * The one shape of every Lambda entry point: the container's dependencies (built once), the Task's handler
 * (built once), the Lambda context on every log line. Errors leave unchanged: their `name` is what the
 * state machine's Retry and Catch match.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type TaskName, taskHandlers } from '../handlers/index.ts';
import { logger, productionDeps } from './production-deps.ts';

type LambdaContext = Parameters<Logger['addContext']>[0];

export function lambdaHandler(task: TaskName) {
  let handle: Promise<(event: unknown) => Promise<unknown>> | undefined;
  const handler = () => {
    if (!handle) {
      handle = productionDeps().then(
        (deps) => taskHandlers[task](deps) as (event: unknown) => Promise<unknown>,
      );
      handle.catch(() => {
        handle = undefined;
      });
    }
    return handle;
  };

  return async (event: unknown, context?: LambdaContext): Promise<unknown> => {
    if (context) logger.addContext(context);
    logger.appendKeys({ task });
    try {
      return await (await handler())(event);
    } catch (error) {
      logger.error(`${task} failed`, error as Error);
      throw error;
    }
  };
}
