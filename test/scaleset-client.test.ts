/**
 * The Actions-service client (functions/adapters/scaleset-client.ts) where the service misbehaves, and the
 * message reader (scaleset-messages.ts): what is kept, skipped or refused.
 */
import { describe, expect, it } from 'vitest';
import { readMessage } from '../functions/adapters/scaleset-messages.ts';
import { ScaleSetsUnsupportedError, ScaleSetUnavailableError } from '../functions/errors.ts';
import type { FaultResponse, RecordedRequest } from '../local/github-standin/server.ts';
import { contractWorld } from './scaleset-contract.ts';
import { githubStandins, scaleSetClientFor } from './support/github-fixtures.ts';

const token = 'client-token';
const x64 = ['self-hosted', 'linux', 'x64'];
const { serve } = githubStandins(token, { secondaryLimits: false });

async function client(
  options: {
    world?: ReturnType<typeof contractWorld>;
    faults?: (request: RecordedRequest) => FaultResponse | undefined;
    byteOrderMark?: boolean;
    now?: () => Date;
  } = {},
) {
  const world = options.world ?? contractWorld();
  const standin = await serve(world.github, {
    actions: { service: world.actions, longPollMs: 50, byteOrderMark: options.byteOrderMark ?? false },
    ...(options.faults ? { faults: options.faults } : {}),
  });
  const scaleSets = scaleSetClientFor(standin, token, options.now ?? world.agenda.now);
  const trades = () => standin.requests.filter((request) => request.path === '/actions/runner-registration');
  return { scaleSets, world, standin, trades };
}

/** Fails the first `times` requests whose path ends with `suffix` with `fault`. */
function failing(suffix: string, fault: FaultResponse, times = 1) {
  let left = times;
  return (request: RecordedRequest) => {
    if (left <= 0 || !request.path.endsWith(suffix)) return undefined;
    left -= 1;
    return fault;
  };
}

const htmlPage: FaultResponse = {
  status: 502,
  headers: { 'content-type': 'text/html' },
  body: '<html><body><h1>502 Bad Gateway</h1></body></html>',
};

describe('Actions-service client', () => {
  it('reads answers that start with a byte order mark, as the service sometimes sends', async () => {
    // Prepare
    const { scaleSets, world } = await client({ byteOrderMark: true });
    const { id } = await scaleSets.createScaleSet({ name: 'linux-x64', labels: x64, runnerGroup: 'Default' });
    const session = await scaleSets.createSession(id, 'me');
    world.addRun({ repo: 'app', jobs: [{ labels: x64, durationMs: 1000 }] });

    // Act
    const message = await scaleSets.getMessage(session, 0, 5);

    // Assess
    expect(message?.jobs.map((job) => job.type)).toEqual(['JobAvailable']);
  });

  it('retries a 5xx and an HTML error page, then succeeds', async () => {
    // Prepare
    let calls = 0;
    const { scaleSets } = await client({
      faults: (request) => {
        if (!request.path.endsWith('/runnerscalesets')) return undefined;
        calls += 1;
        return calls === 1 ? { status: 503 } : calls === 2 ? htmlPage : undefined;
      },
    });

    // Act
    const found = await scaleSets.findScaleSet(1, 'linux-x64');

    // Assess
    expect(found).toBeUndefined();
    expect(calls).toBe(3);
  });

  it('gives up on a service that keeps answering HTML, naming neither the token nor the page', async () => {
    // Prepare
    const { scaleSets } = await client({ faults: failing('/runnerscalesets', htmlPage, 100) });

    // Act
    const failure = await scaleSets.findScaleSet(1, 'linux-x64').catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(ScaleSetUnavailableError);
    expect(String((failure as Error).message)).toContain('an HTML page');
    expect(String((failure as Error).message)).not.toContain('Bad Gateway');
    expect(String((failure as Error).message)).not.toMatch(/Bearer|RemoteAuth|eyJ/);
  });

  it('fails a poll whose answer is an HTML page rather than a message, so nothing is acknowledged', async () => {
    // Prepare
    const { scaleSets, standin } = await client({
      faults: failing('/messages', {
        status: 200,
        headers: { 'content-type': 'text/html' },
        body: '<html/>',
      }),
    });
    const { id } = await scaleSets.createScaleSet({ name: 'linux-x64', labels: x64, runnerGroup: 'Default' });
    const session = await scaleSets.createSession(id, 'me');

    // Act
    const failure = await scaleSets.getMessage(session, 0, 5).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(ScaleSetUnavailableError);
    expect(standin.requests.filter((request) => request.method === 'DELETE')).toEqual([]);
  });

  it('says scale sets are unsupported where runner-registration answers 404 (GHES before 3.9)', async () => {
    // Prepare
    const { scaleSets } = await client({ world: contractWorld({ scaleSets: false }) });

    // Act
    const probed = await scaleSets.probe();
    const failure = await scaleSets.findScaleSet(1, 'x').catch((error: unknown) => error);

    // Assess
    expect(probed).toBe(false);
    expect(failure).toBeInstanceOf(ScaleSetsUnsupportedError);
  });

  it('retries runner-registration refused with 401, as a fresh registration token may not be honoured yet', async () => {
    // Prepare
    const { scaleSets, trades } = await client({
      faults: failing('/actions/runner-registration', { status: 401 }),
    });

    // Act
    const probed = await scaleSets.probe();

    // Assess
    expect(probed).toBe(true);
    expect(trades()).toHaveLength(2);
  });

  it('renews the admin token a minute before it expires, and once more when the service refuses it', async () => {
    // Prepare: admin tokens live two minutes
    const world = contractWorld({ adminTokenSeconds: 120 });
    const { scaleSets, standin, trades } = await client({ world });
    await scaleSets.findScaleSet(1, 'a');

    // Act
    world.advanceTo(30_000);
    await scaleSets.findScaleSet(1, 'b'); // 90 s left: the token still serves
    world.advanceTo(65_000);
    await scaleSets.findScaleSet(1, 'c'); // 55 s left: renewed before the call
    world.actions.expireAdminTokens();
    await scaleSets.findScaleSet(1, 'd'); // revoked: refused once, renewed, sent again

    // Assess
    expect(trades()).toHaveLength(3);
    expect(standin.requests.filter((request) => request.status === 401)).toHaveLength(1);
  });
});

describe('Message reader', () => {
  const envelope = (fields: Record<string, unknown>) =>
    JSON.stringify({
      messageId: 7,
      messageType: 'RunnerScaleSetJobMessages',
      statistics: { totalAssignedJobs: 3, totalRunningJobs: 1 },
      ...fields,
    });
  const job = (type: string, extra: Record<string, unknown> = {}) => ({
    messageType: type,
    runnerRequestId: 11,
    jobId: 'j',
    repositoryName: 'app',
    requestLabels: ['linux-x64'],
    ...extra,
  });

  it('reads the job events and the statistics of a message', () => {
    // Act
    const read = readMessage(
      envelope({
        body: JSON.stringify([
          job('JobAvailable'),
          job('JobCompleted', { result: 'succeeded', runnerId: 4 }),
        ]),
      }),
    );

    // Assess
    expect(read).toEqual({
      ok: true,
      message: {
        messageId: 7,
        statistics: expect.objectContaining({ assignedJobs: 3, runningJobs: 1, availableJobs: 0 }),
        jobs: [
          { type: 'JobAvailable', runnerRequestId: 11, jobId: 'j', repository: 'app', labels: ['linux-x64'] },
          {
            type: 'JobCompleted',
            runnerRequestId: 11,
            jobId: 'j',
            repository: 'app',
            labels: ['linux-x64'],
            runnerId: 4,
            result: 'succeeded',
          },
        ],
        problems: [],
      },
    });
  });

  it.each([
    ['an unknown message type', envelope({ messageType: 'RunnerScaleSetSomethingNew', body: '[]' }), 0],
    ['a body that is not JSON', envelope({ body: '{oops' }), 0],
    ['a body that is not an array', envelope({ body: '{"a":1}' }), 0],
    [
      'one unreadable job event among good ones',
      envelope({ body: JSON.stringify([job('JobStarted'), { messageType: 'JobAvailable' }]) }),
      1,
    ],
    ['an unknown job event type', envelope({ body: JSON.stringify([job('JobTeleported')]) }), 0],
    ['statistics of the wrong shape', envelope({ statistics: 'many', body: '[]' }), 0],
  ])('keeps a message with %s, listing what it skipped', (_case, text, jobs) => {
    // Act
    const read = readMessage(text);

    // Assess
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    expect(read.message.messageId).toBe(7);
    expect(read.message.jobs).toHaveLength(jobs);
    expect(read.message.problems.length).toBeGreaterThan(0);
  });

  it.each([
    ['an HTML page', '<html>502</html>'],
    ['JSON without a message id', '{"messageType":"RunnerScaleSetJobMessages"}'],
    ['an empty answer', ''],
  ])('reads no message from %s (it cannot be acknowledged)', (_case, text) => {
    expect(readMessage(text).ok).toBe(false);
  });
});
