/**
 * Redelivering failed webhook deliveries: the task over many runs (each with nothing but the state store to
 * remember by), the GitHub adapter on GitHub's recorded response shapes (cursor pages, the App's JWT), and the
 * Lambda entry point with a token and with an App.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { BatchGetItemCommand, BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { yamlParse } from 'yaml-cfn';
import { createGitHubHookDeliveries } from '../functions/adapters/github-hook-deliveries.ts';
import { MemoryStateStore } from '../functions/adapters/memory-state-store.ts';
import { defaultRedeliverySettings, type FailedDelivery } from '../functions/core/redelivery.ts';
import { ConfigError } from '../functions/errors.ts';
import type { HookDeliveries } from '../functions/ports/hook-deliveries.ts';
import { redeliverFailed } from '../functions/webhook/redelivery.ts';
import { testPool } from './support/fakes.ts';
import { ManualClock } from './support/manual-clock.ts';

const silent = { info: () => {}, warn: () => {} };

/** GitHub's side: every attempt, and whether the receiver answers a redelivery (scripted per event). */
class GitHubHook implements HookDeliveries {
  readonly attempts: (FailedDelivery & { ok: boolean })[] = [];
  readonly asked: number[] = [];
  private nextId = 100;
  constructor(
    private readonly clock: ManualClock,
    private readonly receiverUp: (guid: string, attempt: number) => boolean,
  ) {}

  fail(guid: string, action = 'queued'): void {
    this.attempts.push({
      id: this.nextId++,
      guid,
      deliveredAt: this.clock.now().toISOString(),
      event: 'workflow_job',
      action,
      ok: false,
    });
  }

  async listFailed(since: Date): Promise<FailedDelivery[]> {
    return this.attempts
      .filter((attempt) => !attempt.ok && Date.parse(attempt.deliveredAt) >= since.getTime())
      .sort((a, b) => b.id - a.id)
      .map(({ ok: _ok, ...delivery }) => delivery);
  }

  async redeliver(deliveryId: number): Promise<void> {
    this.asked.push(deliveryId);
    const original = this.attempts.find((attempt) => attempt.id === deliveryId);
    if (!original) throw new Error('404');
    const tries = this.attempts.filter((attempt) => attempt.guid === original.guid).length;
    this.attempts.push({
      ...original,
      id: this.nextId++,
      deliveredAt: new Date(this.clock.now().getTime() + 1000).toISOString(),
      ok: this.receiverUp(original.guid, tries),
    });
  }
}

async function runs(hook: GitHubHook, clock: ManualClock, store: MemoryStateStore, count: number) {
  const results = [];
  for (let run = 0; run < count; run += 1) {
    // A fresh run each time (a new Lambda container may serve it): only the store remembers.
    results.push(
      await redeliverFailed({
        hookDeliveries: hook,
        stateStore: store,
        settings: defaultRedeliverySettings,
        maxPages: 10,
        log: silent,
        now: clock.now,
      }),
    );
    clock.advance(120);
  }
  return results;
}

describe('the redelivery task over many runs', () => {
  it('asks once for an event whose redelivery succeeds, and never again', async () => {
    const clock = new ManualClock('2026-03-01T12:00:00Z');
    const hook = new GitHubHook(clock, () => true);
    const store = new MemoryStateStore(clock.now);
    hook.fail('a');
    const [first, ...later] = await runs(hook, clock, store, 5);
    expect(first).toMatchObject({ failedEvents: 1, redelivered: 1 });
    expect(later.every((run) => run.redelivered === 0)).toBe(true);
    expect(hook.asked).toHaveLength(1);
  });

  it('asks at most three times for an event whose receiver stays down, a run apart', async () => {
    const clock = new ManualClock('2026-03-01T12:00:00Z');
    const hook = new GitHubHook(clock, () => false);
    const store = new MemoryStateStore(clock.now);
    hook.fail('b');
    const results = await runs(hook, clock, store, 8);
    expect(hook.asked).toHaveLength(3);
    expect(results.at(-1)).toMatchObject({ exhausted: 1, redelivered: 0 });
  });

  it('leaves completed and other actions alone, and events older than the window', async () => {
    const clock = new ManualClock('2026-03-01T12:00:00Z');
    const hook = new GitHubHook(clock, () => true);
    const store = new MemoryStateStore(clock.now);
    hook.fail('old');
    clock.advance(defaultRedeliverySettings.windowSeconds + 60);
    hook.fail('done', 'completed');
    hook.fail('fresh');
    await runs(hook, clock, store, 1);
    expect(hook.asked.map((id) => hook.attempts.find((attempt) => attempt.id === id)?.guid)).toEqual([
      'fresh',
    ]);
  });

  it('does not ask again for a delivery GitHub refused (too old, gone)', async () => {
    const clock = new ManualClock('2026-03-01T12:00:00Z');
    const hook = new GitHubHook(clock, () => true);
    hook.redeliver = async (id) => {
      hook.asked.push(id);
      throw Object.assign(new Error('Validation Failed'), { status: 422 });
    };
    const store = new MemoryStateStore(clock.now);
    hook.fail('c');
    const [first] = await runs(hook, clock, store, 4);
    expect(first).toMatchObject({ refused: 1 });
    expect(hook.asked).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------------------

const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

/** GitHub's `hook-delivery-item` shape (@octokit/openapi), two pages linked by a cursor. */
function deliveriesApi() {
  const seen: { method: string; url: string; authorization: string }[] = [];
  const item = (id: number, statusCode: number, deliveredAt: string, action = 'queued') => ({
    id,
    guid: `guid-${id}`,
    delivered_at: deliveredAt,
    redelivery: false,
    duration: 0.27,
    status: statusCode === 200 ? 'OK' : 'Invalid HTTP Response: 503',
    status_code: statusCode,
    event: 'workflow_job',
    action,
    installation_id: 123,
    repository_id: 456,
    throttled_at: null,
  });
  const fetch = async (url: string | URL, init?: RequestInit) => {
    const target = new URL(String(url));
    const headers = new Headers(init?.headers);
    seen.push({
      method: init?.method ?? 'GET',
      url: target.pathname + target.search,
      authorization: headers.get('authorization') ?? '',
    });
    const json = (status: number, body: unknown, extra: Record<string, string> = {}) =>
      new Response(body === undefined ? null : JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json; charset=utf-8', ...extra },
      });
    if (target.pathname === '/app/hook/deliveries' && !target.searchParams.get('cursor')) {
      return json(
        200,
        [
          item(9, 503, '2026-03-01T11:59:00Z'),
          item(8, 200, '2026-03-01T11:58:00Z'),
          item(7, 0, '2026-03-01T11:57:00Z'),
        ],
        {
          link: '<https://api.github.com/app/hook/deliveries?per_page=100&cursor=v1_7>; rel="next"',
        },
      );
    }
    if (target.pathname === '/app/hook/deliveries') {
      return json(200, [item(6, 502, '2026-03-01T11:56:00Z'), item(5, 500, '2026-03-01T10:00:00Z')]);
    }
    if (/^\/app\/hook\/deliveries\/\d+\/attempts$/.test(target.pathname) && init?.method === 'POST') {
      return json(202, {});
    }
    return json(404, { message: 'Not Found' });
  };
  return { fetch, seen };
}

describe('the GitHub adapter for hook deliveries', () => {
  /** The adapter as the App, asking `api`. */
  const appHookDeliveries = (api: ReturnType<typeof deliveriesApi>) =>
    createGitHubHookDeliveries({
      apiUrl: 'https://api.github.com',
      org: 'acme',
      auth: { type: 'app', appId: 1, privateKey, installationId: 2 },
      request: { fetch: api.fetch as typeof fetch },
    });

  it('lists the failed attempts (an error answer or none) back to `since`, following the cursor, as the App', async () => {
    const api = deliveriesApi();
    const hook = appHookDeliveries(api);
    const failed = await hook.listFailed(new Date('2026-03-01T11:30:00Z'), 10);
    expect(failed.map((delivery) => delivery.id)).toEqual([9, 7, 6]);
    expect(failed[0]).toEqual({
      id: 9,
      guid: 'guid-9',
      deliveredAt: '2026-03-01T11:59:00Z',
      event: 'workflow_job',
      action: 'queued',
    });
    expect(api.seen.map((request) => request.url)).toEqual([
      '/app/hook/deliveries?per_page=100',
      '/app/hook/deliveries?per_page=100&cursor=v1_7',
    ]);
    // The App's JWT, never an installation token (none was asked for).
    expect(api.seen.every((request) => /^bearer ey/i.test(request.authorization))).toBe(true);
    await hook.redeliver(9);
    expect(api.seen.at(-1)).toMatchObject({ method: 'POST', url: '/app/hook/deliveries/9/attempts' });
  });

  it('reads no more than maxPages pages', async () => {
    const api = deliveriesApi();
    const hook = appHookDeliveries(api);
    await hook.listFailed(new Date('2026-03-01T00:00:00Z'), 1);
    expect(api.seen).toHaveLength(1);
  });

  it('refuses a token: GitHub lists and redelivers only for an App', () => {
    expect(() =>
      createGitHubHookDeliveries({
        apiUrl: 'https://api.github.com',
        org: 'acme',
        auth: { type: 'token', token: 't' },
      }),
    ).toThrow(ConfigError);
  });
});

describe('the redelivery Lambda entry point', () => {
  const ssm = mockClient(SSMClient);
  const secrets = mockClient(SecretsManagerClient);
  const dynamodb = mockClient(DynamoDBClient);
  const pools = [{ ...testPool, name: 'x64', labels: ['self-hosted', 'x64'], maxRunners: 5 }];
  beforeEach(() => {
    // The entry point wires itself once per container (module): each test is a fresh container.
    vi.resetModules();
    for (const mock of [ssm, secrets, dynamodb]) mock.reset();
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    vi.stubEnv('STEPSCALE_STACK', 'stepscale');
    vi.stubEnv('STEPSCALE_CONFIG_PARAMETER', '/stepscale/config');
    vi.stubEnv('GITHUB_URL', 'https://github.com');
    vi.stubEnv('GITHUB_ORG', 'acme');
    vi.stubEnv('STEPSCALE_STATE_TABLE', 'stepscale-state');
    dynamodb.on(BatchGetItemCommand).resolves({ Responses: { 'stepscale-state': [] } });
    dynamodb.on(BatchWriteItemCommand).resolves({});
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.unstubAllGlobals();
  });

  /**
   * The stack as an App: its key in the secret `key`, its config in the parameter `parameter` with `github`
   * added — each test its own, as Powertools caches parameters and secrets per process, across these tests —
   * and GitHub's deliveries API behind fetch.
   */
  function asApp(key: string, parameter: string, github: Record<string, unknown> = {}) {
    vi.stubEnv('GITHUB_TOKEN_SECRET_ARN', `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${key}`);
    vi.stubEnv('STEPSCALE_CONFIG_PARAMETER', parameter);
    ssm.on(GetParameterCommand).resolves({
      Parameter: {
        Value: JSON.stringify({
          pools,
          github: { auth: { type: 'app', appId: 1, installationId: 2 }, ...github },
        }),
      },
    });
    secrets.on(GetSecretValueCommand).resolves({ SecretString: privateKey });
    const api = deliveriesApi();
    vi.stubGlobal('fetch', api.fetch);
    return api;
  }

  it('with a token, does nothing and says the poll reconciles', async () => {
    vi.stubEnv('GITHUB_TOKEN_SECRET_ARN', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:token-a');
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify({ pools }) } });
    const { handler } = await import('../functions/lambda/redeliver-webhooks.ts');
    expect(await handler()).toEqual({ skipped: 'github.auth is a token' });
    expect(secrets.calls()).toHaveLength(0);
  });

  it('with an App, lists, redelivers and remembers in the state table', async () => {
    asApp('app-key-b', '/stepscale/config-app');
    vi.useFakeTimers({ now: new Date('2026-03-01T12:00:00Z'), toFake: ['Date'] });
    try {
      const { handler } = await import('../functions/lambda/redeliver-webhooks.ts');
      const run = await handler();
      expect(run).toMatchObject({ failedEvents: 3, redelivered: 3 });
    } finally {
      vi.useRealTimers();
    }
    const written =
      dynamodb.commandCalls(BatchWriteItemCommand)[0]?.args[0].input.RequestItems?.['stepscale-state'];
    // The template grants exactly the AWS calls it made.
    const sent = [
      ...ssm.calls().map(() => 'ssm:GetParameter'),
      ...secrets.calls().map(() => 'secretsmanager:GetSecretValue'),
      ...dynamodb
        .calls()
        .map((call) => `dynamodb:${(call.args[0] as object).constructor.name.replace(/Command$/, '')}`),
    ];
    const template = yamlParse(await readFile('template.yaml', 'utf8'));
    const granted = template.Resources.RedeliverWebhooksFunction.Properties.Policies.flatMap(
      (policy: { Statement: { Action: string | string[] }[] }) =>
        policy.Statement.flatMap((statement) => statement.Action),
    );
    expect([...new Set(granted)].sort()).toEqual([...new Set(sent)].sort());
    expect(written?.map((request) => request.PutRequest?.Item?.pk?.S).sort()).toEqual([
      'webhook-redelivery:guid-6',
      'webhook-redelivery:guid-7',
      'webhook-redelivery:guid-9',
    ]);
  });

  it('reads the config and the App’s key once per container, not on every two-minute run', async () => {
    asApp('app-key-c', '/stepscale/config-app-runs');
    const start = Date.parse('2026-03-01T12:00:00Z');
    vi.useFakeTimers({ now: new Date(start), toFake: ['Date'] });
    try {
      const { handler } = await import('../functions/lambda/redeliver-webhooks.ts');
      for (let run = 0; run < 3; run += 1) {
        vi.setSystemTime(start + run * 120_000);
        expect(await handler()).toMatchObject({ failedEvents: 3 });
      }
    } finally {
      vi.useRealTimers();
    }
    // Powertools would cache either for 5 s only: three runs two minutes apart read each once.
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('reads github.caBundleFile, as every GitHub client of the stack does, and says when it cannot', async () => {
    vi.stubEnv('GITHUB_URL', 'https://ghes.example.com');
    const api = asApp('app-key-d', '/stepscale/config-app-ca', {
      caBundleFile: '/nonexistent/stepscale-ca.pem',
    });
    const { handler } = await import('../functions/lambda/redeliver-webhooks.ts');
    await expect(handler()).rejects.toThrow(/github\.caBundleFile: \/nonexistent\/stepscale-ca\.pem/);
    // A failed wiring is tried again on the next run, and fails the same way (its class is another module's copy).
    await expect(handler()).rejects.toMatchObject({ name: 'ConfigError' });
    expect(api.seen).toEqual([]);
  });
});
