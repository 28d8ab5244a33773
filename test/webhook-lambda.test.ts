/**
 * The webhook receiver's Lambda entry point (functions/lambda/webhook.ts) on a Function URL event (payload
 * format 2.0), with Secrets Manager, Step Functions and DynamoDB mocked at the SDK: the requests it sends,
 * and its answers when it cannot start.
 */
import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { sign } from '@octokit/webhooks-methods';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { testPool } from './support/fakes.ts';

const secrets = mockClient(SecretsManagerClient);
const sfn = mockClient(SFNClient);
const dynamodb = mockClient(DynamoDBClient);

const stateMachineArn = 'arn:aws:states:eu-west-1:123456789012:stateMachine:stepscale-cycle';
const config = { pools: [testPool] };
const environment = {
  AWS_REGION: 'eu-west-1',
  STEPSCALE_STACK: 'stepscale',
  STEPSCALE_CONFIG: JSON.stringify(config),
  GITHUB_URL: 'https://github.com',
  GITHUB_ORG: 'acme',
  STEPSCALE_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:stepscale/webhook',
  STEPSCALE_STATE_MACHINE_ARN: stateMachineArn,
};

const payload = {
  action: 'queued',
  workflow_job: { id: 11, run_id: 7, labels: ['self-hosted', 'linux', 'x64'], status: 'queued' },
  repository: { name: 'api', full_name: 'acme/api', owner: { login: 'acme' } },
};

async function functionUrlEvent(options: { key?: string; base64?: boolean } = {}) {
  const body = JSON.stringify(payload);
  return {
    version: '2.0',
    rawPath: '/',
    requestContext: { http: { method: 'POST', path: '/' } },
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'workflow_job',
      'x-github-delivery': 'a5a1c8e0-0000-4000-8000-000000000001',
      'x-hub-signature-256': await sign(options.key ?? 'webhook-secret', body),
    },
    body: options.base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: options.base64 === true,
  };
}

async function freshHandler() {
  vi.resetModules(); // each test builds its own container (config, cached secret)
  return (await import('../functions/lambda/webhook.ts')).handler;
}

describe('the webhook Lambda entry point', () => {
  beforeEach(() => {
    secrets.reset();
    sfn.reset();
    dynamodb.reset();
    for (const [name, value] of Object.entries(environment)) vi.stubEnv(name, value);
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '{"secret":"webhook-secret"}' });
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${stateMachineArn}:x`, startDate: new Date() });
  });
  afterEach(() => vi.unstubAllEnvs());

  it('starts a targeted execution of the state machine named after the delivery', async () => {
    const handler = await freshHandler();
    const result = await handler(await functionUrlEvent({ base64: true }));
    expect(result).toMatchObject({ statusCode: 202, headers: { 'content-type': 'application/json' } });
    const calls = sfn.commandCalls(StartExecutionCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input).toMatchObject({ stateMachineArn, name: 'webhook-a5a1c8e0-0000-4000-8000-000000000001' });
    expect(JSON.parse(input?.input ?? '')).toEqual({
      cycleId: 'webhook-a5a1c8e0-0000-4000-8000-000000000001',
      targets: { repositories: ['api'] },
    });
    expect(secrets.commandCalls(GetSecretValueCommand)[0]?.args[0].input.SecretId).toBe(
      environment.STEPSCALE_WEBHOOK_SECRET_ARN,
    );
    // No state table configured: no DynamoDB request at all.
    expect(dynamodb.calls()).toHaveLength(0);
  });

  it('treats an execution of the same name as this delivery already acted on', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    const handler = await freshHandler();
    expect(await handler(await functionUrlEvent())).toMatchObject({ statusCode: 202 });
  });

  it('claims the delivery and posts to the inbox in the state table when one is configured', async () => {
    vi.stubEnv('STEPSCALE_STATE_TABLE', 'stepscale-state');
    dynamodb.on(PutItemCommand).resolves({});
    dynamodb.on(UpdateItemCommand).resolves({});
    const handler = await freshHandler();
    expect(await handler(await functionUrlEvent())).toMatchObject({ statusCode: 202 });
    const claim = dynamodb.commandCalls(PutItemCommand)[0]?.args[0].input;
    expect(claim?.Item?.pk?.S).toBe('webhook-delivery:a5a1c8e0-0000-4000-8000-000000000001');
    expect(claim?.ConditionExpression).toMatch(/attribute_not_exists/);
    // Remembered for a week (GHES's redelivery window).
    expect(Number(claim?.Item?.expiresAt?.N)).toBeGreaterThanOrEqual(
      Math.floor(Date.now() / 1000) + 7 * 24 * 3600 - 5,
    );
    expect(dynamodb.commandCalls(UpdateItemCommand)[0]?.args[0].input.Key?.pk?.S).toBe('webhook-inbox');
  });

  it('answers 401 to a wrong signature without calling Step Functions', async () => {
    const handler = await freshHandler();
    expect(await handler(await functionUrlEvent({ key: 'guess' }))).toMatchObject({ statusCode: 401 });
    expect(sfn.calls()).toHaveLength(0);
  });

  it('answers 500 while the secret cannot be read, and recovers once it can', async () => {
    // A secret of its own: Powertools caches secrets per process, across these tests' module resets.
    vi.stubEnv('STEPSCALE_WEBHOOK_SECRET_ARN', `${environment.STEPSCALE_WEBHOOK_SECRET_ARN}-unreadable`);
    const denied = Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
    secrets.on(GetSecretValueCommand).rejects(denied);
    const handler = await freshHandler();
    const failed = await handler(await functionUrlEvent());
    expect(failed.statusCode).toBe(500);
    expect(failed.body).not.toMatch(/denied|Exception|at /);
    expect(sfn.calls()).toHaveLength(0);
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'webhook-secret' });
    expect(await handler(await functionUrlEvent())).toMatchObject({ statusCode: 202 });
  });

  it('answers 500 with no internals when its environment is incomplete, and builds again on the next delivery', async () => {
    vi.stubEnv('STEPSCALE_STATE_MACHINE_ARN', '');
    const handler = await freshHandler();
    const failed = await handler(await functionUrlEvent());
    expect(failed).toMatchObject({ statusCode: 500 });
    expect(JSON.parse(failed.body)).toEqual({
      outcome: 'misconfigured',
      message: 'the receiver cannot start; see its log',
    });
    vi.stubEnv('STEPSCALE_STATE_MACHINE_ARN', stateMachineArn);
    expect(await handler(await functionUrlEvent())).toMatchObject({ statusCode: 202 });
  });
});
