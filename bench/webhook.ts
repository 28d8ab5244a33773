/**
 * `npm run bench:webhook [-- --json] [-- --deliveries N] [-- --kb K]`: the webhook receiver's warm handler time
 * for a signed `workflow_job` delivery of about K KB (default 50), over N distinct deliveries (default 2,000)
 * after a warm-up, two ways:
 * - `receiver`: the receiver alone (functions/webhook/receiver.ts) on in-memory ports — verification, parsing,
 *   matching, claim, inbox, start;
 * - `lambda`: the Lambda entry point (functions/lambda/webhook.ts) with the AWS SDK clients mocked at the
 *   client (aws-sdk-client-mock): the same plus the SDK's request building and the Function URL event. Network
 *   time to DynamoDB and Step Functions is not in it (in a region a few ms per call: the claim, the inbox
 *   update and StartExecution, one after another).
 * Half the deliveries start an execution, half join one being started (the inbox), as in a burst.
 */

import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import examples from '@octokit/webhooks-examples/api.github.com/index.json' with { type: 'json' };
import { sign } from '@octokit/webhooks-methods';
import { mockClient } from 'aws-sdk-client-mock';
import { MemoryStateStore } from '../functions/adapters/memory-state-store.ts';
import { MemoryWebhookInbox } from '../functions/adapters/memory-webhook-inbox.ts';
import { parseConfig } from '../functions/config/config.ts';
import { createWebhookReceiver, type WebhookRequest } from '../functions/webhook/receiver.ts';
import { round } from './sim/metrics.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    deliveries: { type: 'string', default: '2000' },
    kb: { type: 'string', default: '50' },
  },
});
const deliveries = Number(values.deliveries);
const kb = Number(values.kb);
if (!Number.isInteger(deliveries) || deliveries < 10)
  throw new Error('--deliveries needs a whole number ≥ 10');
if (!(kb > 0)) throw new Error('--kb needs a positive number');

const secret = 'bench-secret-0123456789abcdef';
const pools = [
  {
    name: 'linux-x64',
    labels: ['self-hosted', 'linux', 'x64'],
    maxRunners: 100,
    instanceTypes: ['m7i.large'],
    launchTemplate: 'lt-0123',
    subnets: ['subnet-0a'],
  },
];

/** GitHub's recorded queued delivery, in our organization, padded with job steps to about `kb` KB. */
function paddedDelivery(): Record<string, unknown> & { workflow_job: Record<string, unknown> } {
  const recorded = (examples as { name: string; examples: Record<string, unknown>[] }[])
    .find((event) => event.name === 'workflow_job')
    ?.examples.find((example) => example.action === 'queued');
  if (!recorded) throw new Error('no recorded queued workflow_job delivery');
  const delivery = structuredClone(recorded) as Record<string, unknown> & {
    workflow_job: Record<string, unknown>;
  };
  delivery.workflow_job.labels = ['self-hosted', 'linux', 'x64'];
  delivery.repository = { ...(delivery.repository as object), name: 'repo-0', owner: { login: 'acme' } };
  const step = (number: number) => ({
    name: `Step ${number}: run the build with a descriptive name`,
    status: 'queued',
    conclusion: null,
    number,
    started_at: null,
    completed_at: null,
  });
  const stepBytes = JSON.stringify(step(100)).length + 1;
  const count = Math.max(0, Math.ceil((kb * 1024 - JSON.stringify(delivery).length) / stepBytes));
  const steps = Array.from({ length: count }, (_, number) => step(number));
  delivery.workflow_job.steps = steps;
  // The estimate ignores the recorded steps' replacement and the varying widths: top up to the size.
  while (JSON.stringify(delivery).length < kb * 1024) steps.push(step(steps.length));
  return delivery;
}

const padded = paddedDelivery();

function payload(index: number): string {
  return JSON.stringify({
    ...padded,
    workflow_job: { ...padded.workflow_job, id: index },
    repository: { ...(padded.repository as object), name: `repo-${index % 50}`, owner: { login: 'acme' } },
  });
}

async function requests(): Promise<WebhookRequest[]> {
  return Promise.all(
    Array.from({ length: deliveries }, async (_, index) => {
      const body = payload(index);
      return {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'workflow_job',
          'x-github-delivery': `bench-${index}`,
          'x-hub-signature-256': await sign(secret, body),
        },
        body,
      };
    }),
  );
}

function summary(times: number[]) {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50Ms: round(at(0.5), 2), p99Ms: round(at(0.99), 2), maxMs: round(sorted.at(-1) ?? 0, 2) };
}

async function timed(all: WebhookRequest[], handle: (request: WebhookRequest) => Promise<number>) {
  const warmUp = Math.min(200, Math.floor(all.length / 10));
  for (const request of all.slice(0, warmUp)) await handle(request);
  const times: number[] = [];
  const statuses = new Map<number, number>();
  for (const request of all.slice(warmUp)) {
    const start = performance.now();
    const status = await handle(request);
    times.push(performance.now() - start);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
  return { ...summary(times), measured: times.length, statuses: Object.fromEntries(statuses) };
}

async function receiverOnly(all: WebhookRequest[]) {
  const inbox = new MemoryWebhookInbox();
  let started = 0;
  const receive = createWebhookReceiver({
    config: parseConfig({ github: { url: 'https://github.com', org: 'acme' }, pools }),
    secret: async () => secret,
    deliveries: new MemoryStateStore(),
    inbox,
    cycles: {
      start: async () => {
        // The execution takes the inbox at once every other start: half the deliveries start one.
        if (++started % 2 === 0) await inbox.take();
        return 'started';
      },
    },
    log: { info: () => {}, warn: () => {}, error: () => {} },
    now: () => new Date(),
    newId: () => crypto.randomUUID(),
  });
  return timed(all, async (request) => (await receive(request)).statusCode);
}

async function throughLambda(all: WebhookRequest[]) {
  const secrets = mockClient(SecretsManagerClient);
  const dynamodb = mockClient(DynamoDBClient);
  const sfn = mockClient(SFNClient);
  secrets.onAnyCommand().resolves({ SecretString: secret });
  dynamodb.onAnyCommand().resolves({});
  sfn.onAnyCommand().resolves({ executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:cycle:x' });
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    STEPSCALE_STACK: 'stepscale',
    STEPSCALE_CONFIG: JSON.stringify({ pools }),
    GITHUB_URL: 'https://github.com',
    GITHUB_ORG: 'acme',
    STEPSCALE_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook',
    STEPSCALE_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:cycle',
    STEPSCALE_STATE_TABLE: 'stepscale-state',
  });
  const { handler } = await import('../functions/lambda/webhook.ts');
  try {
    return await timed(all, async (request) => {
      const result = await handler({
        requestContext: { http: { method: request.method } },
        headers: request.headers,
        ...(request.body === undefined ? {} : { body: request.body }),
        isBase64Encoded: false,
      });
      return result.statusCode;
    });
  } finally {
    for (const mock of [secrets, dynamodb, sfn]) mock.restore();
  }
}

const all = await requests();
const bodyBytes = Buffer.byteLength(all[0]?.body ?? '');
const result = {
  deliveries,
  bodyBytes,
  node: process.version,
  receiver: await receiverOnly(all),
  lambda: await throughLambda(all),
};
if (values.json) {
  console.log(JSON.stringify(result, null, 2));
} else {
  console.log(
    `webhook receiver, warm, ${result.receiver.measured} deliveries of ${(bodyBytes / 1024).toFixed(1)} KB (${process.version})`,
  );
  for (const way of ['receiver', 'lambda'] as const) {
    const row = result[way];
    console.log(
      `  ${way.padEnd(9)} p50 ${row.p50Ms} ms  p99 ${row.p99Ms} ms  max ${row.maxMs} ms  answers ${JSON.stringify(row.statuses)}`,
    );
  }
}
