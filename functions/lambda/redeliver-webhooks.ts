/**
 * Lambda entry point of the webhook redelivery task (template.yaml: RedeliverWebhooksFunction), run by its own
 * schedule. It asks GitHub, as the App (the private key in GITHUB_TOKEN_SECRET_ARN), to deliver again the
 * `workflow_job` events whose delivery failed; its progress lives in the state table. With a token instead of
 * an App it does nothing but say so: GitHub offers no redelivery to a token, and the poll reconciles.
 *
 * Like the Tasks' entry points it reads the config and `github.caBundleFile` once per container (a failed read
 * is tried again on the next run); the App's key comes through the same cache as the other functions', and the
 * client is built again only when the key changed.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { githubAuthFor } from '../adapters/github-auth.ts';
import { createGitHubHookDeliveries } from '../adapters/github-hook-deliveries.ts';
import { configuredCaBundle } from '../adapters/github-tls.ts';
import { defaultRedeliverySettings } from '../core/redelivery.ts';
import { createLogger } from '../observability/logger.ts';
import { onceUntilFailure } from '../once-until-failure.ts';
import type { HookDeliveries } from '../ports/hook-deliveries.ts';
import type { StateStore } from '../ports/state-store.ts';
import { type RedeliveryRun, redeliverFailed } from '../webhook/redelivery.ts';
import { loadConfigFromEnvironment } from './wiring/config-source.ts';
import { readEnvironment, redeliveryEnvironment } from './wiring/environment.ts';
import { readCredential, rebuiltOnChange } from './wiring/github.ts';
import { stateTableStore } from './wiring/state-table.ts';

/** Pages of 100 deliveries one run reads at most (a busy organization's half hour). */
export const maxPagesPerRun = 10;

type LambdaContext = Parameters<Logger['addContext']>[0];
const logger = createLogger();

type Wired =
  | { readonly skipped: string }
  | { readonly hookDeliveries: () => Promise<HookDeliveries>; readonly stateStore: StateStore };

const wired = onceUntilFailure(async (): Promise<Wired> => {
  const env = readEnvironment(redeliveryEnvironment, process.env);
  const config = await loadConfigFromEnvironment(env);
  if (config.github.auth.type !== 'app') return { skipped: 'github.auth is a token' };
  const caBundle = await configuredCaBundle(config.github);
  const hookDeliveries = rebuiltOnChange(
    () => readCredential({ env, config }),
    (privateKey) =>
      createGitHubHookDeliveries({
        apiUrl: config.github.apiUrl,
        org: config.github.org,
        auth: githubAuthFor(config.github.auth, privateKey),
        ...(caBundle ? { caBundle } : {}),
        logger,
      }),
  );
  return { hookDeliveries, stateStore: stateTableStore(env.STEPSCALE_STATE_TABLE) };
});

export async function handler(
  _event?: unknown,
  context?: LambdaContext,
): Promise<RedeliveryRun | { readonly skipped: string }> {
  if (context) logger.addContext(context);
  try {
    const ready = await wired();
    if ('skipped' in ready) {
      logger.info('Webhook redelivery needs GitHub App auth: with a token the poll is the only reconciler');
      return { skipped: ready.skipped };
    }
    return await redeliverFailed({
      hookDeliveries: await ready.hookDeliveries(),
      stateStore: ready.stateStore,
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
