/**
 * Lambda entry point of the webhook receiver (template.yaml: WebhookFunction), behind a Function URL with
 * AuthType NONE: the signature is the authentication. Payload format 2.0. Built once per container: the
 * config, the secret (cached, re-read at most every {@link secretMaxAgeSeconds} so a rotation takes effect),
 * the state table's delivery claims and inbox when a table is configured, and the Step Functions client.
 * It needs no GitHub token.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { SFNClient } from '@aws-sdk/client-sfn';
import { createDynamoDbWebhookInbox } from '../adapters/dynamodb-webhook-inbox.ts';
import { createSfnCycleStarter } from '../adapters/sfn-cycle-starter.ts';
import { secretValue } from '../config/secret-value.ts';
import { readHeldPools } from '../handlers/held-pools.ts';
import { type EmfMetrics, emfMetrics } from '../observability/emf-metrics.ts';
import { createLogger } from '../observability/logger.ts';
import { onceUntilFailure } from '../once-until-failure.ts';
import { createWebhookReceiver, type WebhookRequest } from '../webhook/receiver.ts';
import { loadConfigFromEnvironment } from './wiring/config-source.ts';
import { readEnvironment, webhookEnvironment } from './wiring/environment.ts';
import { forgetfulStateStore, stateTableClient, stateTableStore } from './wiring/state-table.ts';

/** A rotated webhook secret is used within this long. */
export const secretMaxAgeSeconds = 300;

type LambdaContext = Parameters<Logger['addContext']>[0];

/** The parts of a Function URL (payload format 2.0) event the receiver reads. */
export interface FunctionUrlEvent {
  readonly requestContext?: { readonly http?: { readonly method?: string } };
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
}

export interface FunctionUrlResult {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const logger = createLogger();
/** The receiver, built on the first delivery; a failed build is tried again on the next one. */
const receiver = onceUntilFailure(async () => {
  const env = readEnvironment(webhookEnvironment, process.env);
  const config = await loadConfigFromEnvironment(env);
  const table = env.STEPSCALE_STATE_TABLE;
  const store = table ? stateTableStore(table) : undefined;
  const secretArn = env.STEPSCALE_WEBHOOK_SECRET_ARN;
  // The receiver measures jobs' waits from their in_progress deliveries (the collect tasks then do not).
  const metrics = emfMetrics({ stack: config.stack, jobWaitSource: 'webhook' });
  const receive = createWebhookReceiver({
    config,
    metrics,
    secret: async () =>
      secretValue(
        await getSecret(secretArn, { maxAge: secretMaxAgeSeconds }),
        'STEPSCALE_WEBHOOK_SECRET_ARN',
        'secret',
      ),
    deliveries: store ?? forgetfulStateStore,
    ...(table && store
      ? {
          inbox: createDynamoDbWebhookInbox({ client: stateTableClient(), tableName: table }),
          heldPools: () => readHeldPools(store, new Date(), config.collection.cycleIntervalSeconds),
        }
      : {}),
    cycles: createSfnCycleStarter({
      client: new SFNClient({}),
      stateMachineArn: env.STEPSCALE_STATE_MACHINE_ARN,
    }),
    log: logger,
    now: () => new Date(),
    newId: randomUUID,
  });
  return { receive, metrics };
});

export async function handler(event: FunctionUrlEvent, context?: LambdaContext): Promise<FunctionUrlResult> {
  if (context) logger.addContext(context);
  let built: Awaited<ReturnType<typeof receiver>>;
  try {
    built = await receiver();
  } catch (error) {
    logger.error('Webhook receiver cannot start', error as Error);
    return json(500, { outcome: 'misconfigured', message: 'the receiver cannot start; see its log' });
  }
  const request: WebhookRequest = {
    method: event.requestContext?.http?.method ?? 'POST',
    headers: lowerCased(event.headers ?? {}),
    body: event.body,
    isBase64Encoded: event.isBase64Encoded === true,
  };
  let response: Awaited<ReturnType<typeof built.receive>>;
  try {
    response = await built.receive(request);
  } catch (error) {
    logger.error('Webhook delivery failed', error as Error);
    return json(500, { outcome: 'failed', message: 'the delivery could not be handled; see the log' });
  } finally {
    built.metrics.publish();
  }
  return { statusCode: response.statusCode, headers: jsonHeaders, body: response.body };
}

const jsonHeaders = { 'content-type': 'application/json' };

function json(statusCode: number, body: unknown): FunctionUrlResult {
  return { statusCode, headers: jsonHeaders, body: JSON.stringify(body) };
}

/** Function URLs lower-case header names already; other front doors (tests, proxies) may not. */
function lowerCased(headers: Readonly<Record<string, string | undefined>>) {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}
