/**
 * The webhook receiver (functions/webhook/receiver.ts) on GitHub's recorded deliveries
 * (@octokit/webhooks-examples), signed as GitHub signs them: what it starts, what it refuses, and that
 * nothing is lost when starting fails.
 */

import { createHmac } from 'node:crypto';
import examples from '@octokit/webhooks-examples/api.github.com/index.json' with { type: 'json' };
import { sign } from '@octokit/webhooks-methods';
import { describe, expect, it } from 'vitest';
import { MemoryStateStore } from '../functions/adapters/memory-state-store.ts';
import { MemoryWebhookInbox } from '../functions/adapters/memory-webhook-inbox.ts';
import { parseConfig } from '../functions/config/config.ts';
import { secretValue } from '../functions/config/secret-value.ts';
import { ConfigError } from '../functions/errors.ts';
import { MemoryMetrics } from '../functions/observability/metrics.ts';
import type { CycleStarter, CycleStartRequest } from '../functions/ports/cycle-starter.ts';
import {
  createWebhookReceiver,
  type WebhookReceiverDeps,
  type WebhookRequest,
} from '../functions/webhook/receiver.ts';
import { testPool } from './support/fakes.ts';
import { ManualClock } from './support/manual-clock.ts';

const secret = 'It’s a Secret to Everybody';

type Example = { action: string; workflow_job: { labels: string[] }; repository: unknown };
const workflowJobExamples = (examples as { name: string; examples: Example[] }[]).find(
  (event) => event.name === 'workflow_job',
)?.examples as Example[];
const pingExample = (examples as { name: string; examples: unknown[] }[]).find(
  (event) => event.name === 'ping',
)?.examples[0];

/** GitHub's recorded `queued` delivery for a self-hosted job, moved into our organization and repository. */
function queuedPayload(
  options: { repository?: string; labels?: string[]; action?: string; org?: string } = {},
): Record<string, unknown> {
  const recorded = workflowJobExamples.find(
    (example) => example.action === 'queued' && example.workflow_job.labels.includes('self-hosted'),
  );
  if (!recorded) throw new Error('no recorded queued self-hosted delivery');
  const copy = structuredClone(recorded) as unknown as {
    action: string;
    workflow_job: { labels: string[] };
    repository: { name: string; full_name: string; owner: { login: string } };
  };
  copy.action = options.action ?? 'queued';
  copy.workflow_job.labels = options.labels ?? ['self-hosted', 'Linux', 'X64'];
  const org = options.org ?? 'acme';
  const name = options.repository ?? 'api';
  copy.repository = {
    ...copy.repository,
    name,
    full_name: `${org}/${name}`,
    owner: { ...copy.repository.owner, login: org },
  };
  return copy;
}

async function signed(
  payload: unknown,
  options: { event?: string; delivery?: string; contentType?: string; body?: string; key?: string } = {},
): Promise<WebhookRequest> {
  const body = options.body ?? JSON.stringify(payload);
  return {
    method: 'POST',
    headers: {
      'content-type': options.contentType ?? 'application/json',
      'x-github-event': options.event ?? 'workflow_job',
      'x-github-delivery': options.delivery ?? '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      'x-hub-signature-256': await sign(options.key ?? secret, body),
    },
    body,
  };
}

class RecordingStarter implements CycleStarter {
  readonly started: CycleStartRequest[] = [];
  failWith: Error | undefined;
  async start(request: CycleStartRequest) {
    await Promise.resolve();
    if (this.failWith) throw this.failWith;
    if (this.started.some((earlier) => earlier.name === request.name)) return 'exists' as const;
    this.started.push(request);
    return 'started' as const;
  }
}

function setup(
  overrides: Omit<Partial<WebhookReceiverDeps>, 'config'> & { config?: object; withInbox?: boolean } = {},
) {
  // The config override is parsed with the defaults below; the other overrides replace the receiver's deps.
  const { config: _config, withInbox: _withInbox, ...deps } = overrides;
  const clock = new ManualClock('2026-03-01T12:00:00Z');
  const logged: { level: string; message: string; data: unknown }[] = [];
  const record =
    (level: string) =>
    (message: unknown, ...data: unknown[]): void => {
      logged.push({ level, message: String(message), data });
    };
  const log = {
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  } as WebhookReceiverDeps['log'];
  const cycles = new RecordingStarter();
  const deliveries = new MemoryStateStore(clock.now);
  const inbox = new MemoryWebhookInbox(clock.now);
  let ids = 0;
  const config = parseConfig({
    github: { url: 'https://github.com', org: 'Acme', repositories: { exclude: ['sandbox-*'] } },
    pools: [testPool],
    ...overrides.config,
  });
  const receive = createWebhookReceiver({
    config,
    secret: async () => secret,
    deliveries,
    ...(overrides.withInbox === false ? {} : { inbox }),
    cycles,
    log,
    now: clock.now,
    newId: () => `claim-${++ids}`,
    ...deps,
  });
  return { receive, cycles, deliveries, inbox, logged, clock };
}

describe('the webhook receiver: what a delivery starts', () => {
  it('answers ping with 200 and starts nothing', async () => {
    const { receive, cycles } = setup();
    const response = await receive(await signed(pingExample, { event: 'ping' }));
    expect(response).toMatchObject({ statusCode: 200, outcome: 'pong' });
    expect(cycles.started).toEqual([]);
  });

  it('starts a cycle targeting the repository of a queued job a pool serves (labels in any case)', async () => {
    const { receive, cycles, inbox } = setup();
    const response = await receive(await signed(queuedPayload(), { delivery: 'd-1' }));
    expect(response).toMatchObject({ statusCode: 202, outcome: 'started' });
    expect(JSON.parse(response.body)).toEqual({ outcome: 'started', message: 'cycle started' });
    expect(cycles.started).toEqual([
      { name: 'webhook-d-1', input: { cycleId: 'webhook-d-1', targets: { repositories: ['api'] } } },
    ]);
    // The execution takes the inbox when it lists: this repository is there too.
    expect(await inbox.take()).toEqual(['api']);
  });

  it.each([
    // the stack's jobSource, the pool's own; what the delivery does
    ['scaleset', undefined, 'ignored-scale-set'],
    ['poll', 'scaleset', 'ignored-scale-set'],
    ['scaleset', 'poll', 'started'],
    // auto: the pool may be polled (no scale sets on this host), so the delivery is acted on
    ['auto', undefined, 'started'],
    ['poll', undefined, 'started'],
  ] as const)('jobSource %s, the pool’s %s: a queued job’s delivery is %s', async (stack, own, outcome) => {
    const pool = { ...testPool, ...(own ? { jobSource: own } : {}) };
    const { receive, cycles, logged } = setup({ config: { jobSource: stack, pools: [pool] } });
    const response = await receive(await signed(queuedPayload(), { delivery: 'd-s' }));
    expect(response.outcome).toBe(outcome);
    expect(cycles.started).toHaveLength(outcome === 'started' ? 1 : 0);
    if (outcome === 'ignored-scale-set') {
      expect(response.statusCode).toBe(200);
      expect(logged.some((line) => JSON.stringify(line.data).includes('"pool":"linux-x64"'))).toBe(true);
    }
  });

  it('lets deliveries close together share the execution the first one started, leaving no repository out', async () => {
    const { receive, cycles, inbox } = setup();
    const outcomes = [];
    for (const [index, repository] of ['api', 'web', 'docs', 'web'].entries()) {
      outcomes.push(
        (await receive(await signed(queuedPayload({ repository }), { delivery: `d-${index}` }))).outcome,
      );
    }
    expect(outcomes).toEqual(['started', 'coalesced', 'coalesced', 'coalesced']);
    expect(cycles.started).toHaveLength(1);
    expect(await inbox.take()).toEqual(['api', 'docs', 'web']);
    // Once the execution took the inbox, the next delivery starts the next one.
    expect(
      (await receive(await signed(queuedPayload({ repository: 'ops' }), { delivery: 'd-9' }))).outcome,
    ).toBe('started');
    expect(cycles.started.map((start) => start.input.targets.repositories)).toEqual([['api'], ['ops']]);
  });

  it('starts one execution per delivery without a state table (no inbox to share)', async () => {
    const { receive, cycles } = setup({ withInbox: false });
    for (const [index, repository] of ['api', 'web'].entries()) {
      expect(
        (await receive(await signed(queuedPayload({ repository }), { delivery: `d-${index}` }))).outcome,
      ).toBe('started');
    }
    expect(cycles.started.map((start) => start.input.targets.repositories)).toEqual([['api'], ['web']]);
  });

  it('acts on the same delivery 100 times at once exactly once', async () => {
    const { receive, cycles } = setup();
    const request = await signed(queuedPayload(), { delivery: 'the-same' });
    const responses = await Promise.all(Array.from({ length: 100 }, () => receive(request)));
    const counts = responses.reduce<Record<string, number>>((tally, { outcome, statusCode }) => {
      const key = `${statusCode} ${outcome}`;
      tally[key] = (tally[key] ?? 0) + 1;
      return tally;
    }, {});
    expect(counts).toEqual({ '202 started': 1, '200 duplicate': 99 });
    expect(cycles.started).toHaveLength(1);
  });

  it('ignores a redelivery of a delivery it already acted on, for the whole redelivery window', async () => {
    const { receive, cycles, clock, inbox } = setup();
    const request = await signed(queuedPayload(), { delivery: 'again' });
    expect((await receive(request)).outcome).toBe('started');
    await inbox.take();
    clock.advance(6 * 24 * 3600);
    expect(await receive(request)).toMatchObject({ statusCode: 200, outcome: 'duplicate' });
    expect(cycles.started).toHaveLength(1);
  });

  it.each([
    {
      case: 'a job for GitHub-hosted labels',
      payload: () => queuedPayload({ labels: ['ubuntu-latest'] }),
      outcome: 'ignored-labels',
    },
    {
      case: 'a job with 100 labels',
      payload: () => queuedPayload({ labels: Array.from({ length: 100 }, (_, i) => `label-${i}`) }),
      outcome: 'ignored-labels',
    },
    {
      case: 'a repository the config excludes',
      payload: () => queuedPayload({ repository: 'sandbox-1' }),
      outcome: 'ignored-repository',
    },
    {
      case: 'another organization',
      payload: () => queuedPayload({ org: 'someone-else' }),
      outcome: 'ignored-organization',
    },
    {
      case: 'an in_progress job',
      payload: () => queuedPayload({ action: 'in_progress' }),
      outcome: 'ignored-action',
    },
    { case: 'a waiting job', payload: () => queuedPayload({ action: 'waiting' }), outcome: 'ignored-action' },
    {
      case: 'a completed job',
      payload: () => queuedPayload({ action: 'completed' }),
      outcome: 'ignored-action',
    },
    {
      case: 'an action GitHub may add one day',
      payload: () => queuedPayload({ action: 'teleported' }),
      outcome: 'ignored-action',
    },
  ])('answers 200 and starts nothing for $case', async ({ payload, outcome }) => {
    const { receive, cycles } = setup();
    const response = await receive(await signed(payload()));
    expect(response).toMatchObject({ statusCode: 200, outcome });
    expect(cycles.started).toEqual([]);
  });

  it("measures a job's wait from its in_progress delivery: created_at to started_at, in the pool that serves it", async () => {
    const timed = (example: Example) =>
      (example as unknown as { workflow_job: { created_at?: string; started_at?: string } }).workflow_job;
    const recorded = workflowJobExamples.find(
      (example) =>
        example.action === 'in_progress' &&
        Boolean(timed(example).created_at) &&
        Boolean(timed(example).started_at) &&
        timed(example).created_at !== timed(example).started_at,
    );
    if (!recorded) throw new Error('no recorded in_progress delivery with created_at');
    const { created_at, started_at } = (recorded as unknown as { workflow_job: Record<string, string> })
      .workflow_job;
    const payload = { ...queuedPayload({ action: 'in_progress' }) };
    payload.workflow_job = { ...(payload.workflow_job as object), created_at, started_at };
    const metrics = new MemoryMetrics();
    const { receive, cycles } = setup({ metrics });
    expect(await receive(await signed(payload))).toMatchObject({
      statusCode: 200,
      outcome: 'ignored-action',
    });
    expect(metrics.points).toEqual([
      {
        name: 'JobQueuedToStarted',
        unit: 'Seconds',
        pool: 'linux-x64',
        source: 'webhook',
        value: (Date.parse(started_at ?? '') - Date.parse(created_at ?? '')) / 1000,
      },
    ]);
    expect(metrics.points[0]?.value).toBeGreaterThan(0);
    expect(cycles.started).toEqual([]);

    // A job no pool serves, or without its times, is not ours to measure.
    await receive(await signed(queuedPayload({ action: 'in_progress', labels: ['ubuntu-latest'] })));
    const timeless = queuedPayload({ action: 'in_progress' });
    timeless.workflow_job = { ...(timeless.workflow_job as object), created_at: null, started_at: null };
    await receive(await signed(timeless, { delivery: 'no-times' }));
    expect(metrics.points).toHaveLength(1);
  });

  it('answers 200 to events it does not use', async () => {
    const { receive, cycles } = setup();
    const response = await receive(await signed({ zen: 'Design for failure.' }, { event: 'push' }));
    expect(response).toMatchObject({ statusCode: 200, outcome: 'ignored-event' });
    expect(cycles.started).toEqual([]);
  });

  it('reads a base64-encoded body, and the form-encoded content type GitHub also offers', async () => {
    const { receive, cycles } = setup({ withInbox: false });
    const json = await signed(queuedPayload({ repository: 'api' }), { delivery: 'b64' });
    const base64 = { ...json, body: Buffer.from(json.body ?? '').toString('base64'), isBase64Encoded: true };
    expect((await receive(base64)).outcome).toBe('started');
    const form = `payload=${encodeURIComponent(JSON.stringify(queuedPayload({ repository: 'web' })))}`;
    const formRequest = await signed(undefined, {
      body: form,
      delivery: 'form',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect((await receive(formRequest)).outcome).toBe('started');
    expect(cycles.started.map((start) => start.input.targets.repositories)).toEqual([['api'], ['web']]);
  });
});

describe('the webhook receiver: a completion in a pool held at its maximum', () => {
  it('starts a cycle, as a queued job does: the freed place goes to a waiting job at once', async () => {
    const held = new Set(['linux-x64']);
    const { receive, cycles } = setup({ heldPools: async () => held });
    const response = await receive(
      await signed(queuedPayload({ action: 'completed' }), { delivery: 'done-1' }),
    );
    expect(response).toMatchObject({ statusCode: 202, outcome: 'started' });
    expect(cycles.started).toHaveLength(1);
    held.clear();
    const later = await receive(await signed(queuedPayload({ action: 'completed' }), { delivery: 'done-2' }));
    expect(later).toMatchObject({ statusCode: 200, outcome: 'ignored-action' });
  });

  it('starts nothing for a completion when the record cannot be read', async () => {
    const { receive, cycles } = setup({
      heldPools: async () => {
        throw new Error('DynamoDB down');
      },
    });
    const response = await receive(await signed(queuedPayload({ action: 'completed' })));
    expect(response).toMatchObject({ statusCode: 200, outcome: 'ignored-action' });
    expect(cycles.started).toEqual([]);
  });
});

describe('the webhook receiver: bad input', () => {
  async function refused(request: WebhookRequest, statusCode: number, outcome: string) {
    const { receive, cycles, deliveries, inbox } = setup();
    const response = await receive(request);
    expect(response).toMatchObject({ statusCode, outcome });
    // Small JSON, nothing internal.
    expect(Object.keys(JSON.parse(response.body))).toEqual(['outcome', 'message']);
    expect(response.body).not.toMatch(/at .*\.ts|Error:/);
    expect(cycles.started).toEqual([]);
    expect(await inbox.take()).toEqual([]);
    // Nothing claimed: the same delivery id still acts once it arrives intact.
    expect(
      (await deliveries.acquireLease('webhook-delivery:x', 'probe', new Date('2027-01-01'))).acquired,
    ).toBe(true);
    return response;
  }

  /** A signed queued delivery with one header set to `value`, or left out when it is undefined. */
  async function withHeader(name: string, value: string | undefined): Promise<WebhookRequest> {
    const request = await signed(queuedPayload());
    return { ...request, headers: { ...request.headers, [name]: value } };
  }

  it('401 without a signature', async () => {
    await refused(await withHeader('x-hub-signature-256', undefined), 401, 'unsigned');
  });

  it.each([
    ['not hex', 'sha256=zzzz'],
    ['the SHA-1 header format', 'sha1=0123456789abcdef0123456789abcdef01234567'],
    ['no algorithm prefix', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['an empty value after the prefix', 'sha256='],
  ])('401 for a malformed signature (%s)', async (_case, signature) => {
    await refused(await withHeader('x-hub-signature-256', signature), 401, 'bad-signature');
  });

  it('401 for a signature made with another secret', async () => {
    await refused(await signed(queuedPayload(), { key: 'not the secret' }), 401, 'bad-signature');
  });

  it('401 for a valid signature over a different body', async () => {
    const original = await signed(queuedPayload({ repository: 'api' }));
    const other = JSON.stringify(queuedPayload({ repository: 'web' }));
    await refused({ ...original, body: other }, 401, 'bad-signature');
  });

  it('401 for an empty body, even signed', async () => {
    const emptySigned = `sha256=${createHmac('sha256', secret).update('').digest('hex')}`;
    await refused(
      { ...(await withHeader('x-hub-signature-256', emptySigned)), body: '' },
      401,
      'bad-signature',
    );
  });

  it('400 for truncated JSON with a valid signature', async () => {
    const body = JSON.stringify(queuedPayload()).slice(0, 500);
    await refused(await signed(undefined, { body }), 400, 'malformed');
  });

  it('400 for JSON that is not a workflow_job payload', async () => {
    const response = await refused(
      await signed({ action: 'queued', workflow_job: { id: 'seven' } }),
      400,
      'malformed',
    );
    expect(JSON.parse(response.body).message).toMatch(/workflow_job/);
  });

  it('400 without a delivery id', async () => {
    await refused(await withHeader('x-github-delivery', undefined), 400, 'malformed');
  });

  it('415 for a content type GitHub does not send, saying which to pick', async () => {
    const response = await refused(
      await signed(queuedPayload(), { contentType: 'text/plain' }),
      415,
      'unsupported-media-type',
    );
    expect(JSON.parse(response.body).message).toMatch(/application\/json/);
  });

  it('405 for anything but POST', async () => {
    const request = await signed(queuedPayload());
    await refused({ ...request, method: 'GET' }, 405, 'method-not-allowed');
  });

  it('500 when the secret cannot be read, logged without the secret', async () => {
    const stored = '{"secret": "hunter2-very-secret"'; // truncated JSON in Secrets Manager
    const { receive, cycles, logged } = setup({
      secret: async () => secretValue(stored, 'STEPSCALE_WEBHOOK_SECRET_ARN', 'secret'),
    });
    const response = await receive(await signed(queuedPayload()));
    expect(response).toMatchObject({ statusCode: 500, outcome: 'secret-unavailable' });
    expect(cycles.started).toEqual([]);
    expect(logged.some((entry) => entry.level === 'error')).toBe(true);
    expect(JSON.stringify(logged)).not.toContain('hunter2');
    expect(response.body).not.toContain('hunter2');
    // secretValue's own message names the shape, not the content.
    expect(() => secretValue(stored, 'X', 'secret')).toThrow(ConfigError);
  });
});

describe('the webhook receiver: nothing lost when starting fails', () => {
  it('answers 500, gives the delivery back for a redelivery, and lets the next delivery start', async () => {
    const { receive, cycles, inbox } = setup();
    cycles.failWith = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const request = await signed(queuedPayload({ repository: 'api' }), { delivery: 'fails-once' });
    const failed = await receive(request);
    expect(failed).toMatchObject({ statusCode: 500, outcome: 'start-failed' });
    expect(failed.body).not.toContain('Rate exceeded');
    cycles.failWith = undefined;
    // GitHub's redelivery carries the same delivery id: it acts now.
    expect(await receive(request)).toMatchObject({ statusCode: 202, outcome: 'started' });
    expect(cycles.started).toHaveLength(1);
    expect(await inbox.take()).toEqual(['api']);
  });

  it('answers 500 when the state table is unavailable, and starts nothing', async () => {
    const { receive, cycles } = setup({
      deliveries: {
        acquireLease: async () => {
          throw Object.assign(new Error('DynamoDB down'), { name: 'StateStoreUnavailableError' });
        },
        releaseLease: async () => {},
      },
    });
    expect(await receive(await signed(queuedPayload()))).toMatchObject({
      statusCode: 500,
      outcome: 'start-failed',
    });
    expect(cycles.started).toEqual([]);
  });
});
