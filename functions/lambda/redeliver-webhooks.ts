/**
 * Lambda entry point of the webhook redelivery task (template.yaml: RedeliverWebhooksFunction), run by its own
 * schedule. It asks GitHub, as the App (the private key in GITHUB_TOKEN_SECRET_ARN), to deliver again the
 * `workflow_job` events whose delivery failed; its progress lives in the state table. With a token instead of
 * an App it does nothing but say so: GitHub offers no redelivery to a token, and the poll reconciles.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { githubAuthFor, privateKeyFromSecret } from '../adapters/github-auth.ts';
import { createGitHubHookDeliveries } from '../adapters/github-hook-deliveries.ts';
import { defaultRedeliverySettings } from '../core/redelivery.ts';
import { createLogger } from '../observability/logger.ts';
import { type RedeliveryRun, redeliverFailed } from '../webhook/redelivery.ts';
import { loadConfigFromEnvironment } from './wiring/config-source.ts';
import { readEnvironment, redeliveryEnvironment } from './wiring/environment.ts';
import { stateTableStore } from './wiring/state-table.ts';

/** Pages of 100 deliveries one run reads at most (a busy organization's half hour). */
export const maxPagesPerRun = 10;

type LambdaContext = Parameters<Logger['addContext']>[0];
const logger = createLogger();

export async function handler(
  _event?: unknown,
  context?: LambdaContext,
): Promise<RedeliveryRun | { readonly skipped: string }> {
  if (context) logger.addContext(context);
  try {
    const env = readEnvironment(redeliveryEnvironment, process.env);
    const config = await loadConfigFromEnvironment(env);
    if (config.github.auth.type !== 'app') {
      logger.info('Webhook redelivery needs GitHub App auth: with a token the poll is the only reconciler');
      return { skipped: 'github.auth is a token' };
    }
    const privateKey = privateKeyFromSecret(
      await getSecret(env.GITHUB_TOKEN_SECRET_ARN),
      'GITHUB_TOKEN_SECRET_ARN',
    );
    const hookDeliveries = createGitHubHookDeliveries({
      apiUrl: config.github.apiUrl,
      org: config.github.org,
      auth: githubAuthFor(config.github.auth, privateKey),
      logger,
    });
    return await redeliverFailed({
      hookDeliveries,
      stateStore: stateTableStore(env.STEPSCALE_STATE_TABLE),
      settings: defaultRedeliverySettings,
      maxPages: maxPagesPerRun,
      log: logger,
      now: () => new Date(),
    });
  } catch (error) {
    logger.error('Webhook redelivery failed', error as Error);
    throw error;
  }
}
