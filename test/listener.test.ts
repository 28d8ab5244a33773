/**
 * The scale set listener (functions/listener/scale-set-listener.ts) against the stand-in's Actions service over
 * HTTP with the production client, in the world's virtual time: every fault the issue names, one case each,
 * and what the listener stores and starts.
 */
import { describe, expect, it } from 'vitest';
import { MemoryCycleStarter } from '../functions/adapters/memory-cycle-starter.ts';
import { MemoryStateStore } from '../functions/adapters/memory-state-store.ts';
import { parseConfig } from '../functions/config/config.ts';
import { type ScaleSetState, scaleSetStateKey } from '../functions/core/job-source.ts';
import { listenerLeaseKey, ScaleSetListener } from '../functions/listener/scale-set-listener.ts';
import type { Log } from '../functions/observability/logger.ts';
import type { FaultResponse, RecordedRequest } from '../local/github-standin/server.ts';
import type { World } from '../local/world/world.ts';
import { contractWorld } from './scaleset-contract.ts';
import { githubStandins, scaleSetClientFor } from './support/github-fixtures.ts';

const token = 'listener-token';
const x64 = ['self-hosted', 'linux', 'x64'];
const { serve } = githubStandins(token, { secondaryLimits: false });

interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: unknown;
}

function recordingLog(lines: LogLine[]): Log {
  const at =
    (level: LogLine['level']) =>
    (message: string, ...rest: unknown[]) => {
      lines.push({ level, message, fields: rest[0] });
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as Log;
}

interface Setup {
  readonly world?: World;
  readonly faults?: (request: RecordedRequest) => FaultResponse | undefined;
  readonly jobSource?: 'scaleset' | 'auto';
  readonly stateStore?: MemoryStateStore;
  readonly holder?: string;
}

async function setup(options: Setup = {}) {
  const world = options.world ?? contractWorld();
  const standin = await serve(world.github, {
    actions: { service: world.actions, longPollMs: 20 },
    ...(options.faults ? { faults: options.faults } : {}),
  });
  const config = parseConfig({
    github: { url: 'https://github.com', org: 'acme' },
    jobSource: options.jobSource ?? 'scaleset',
    pools: [
      {
        name: 'linux-x64',
        labels: x64,
        maxRunners: 10,
        instanceTypes: ['m7i.large'],
        launchTemplate: 'lt-0',
        subnets: ['subnet-0a'],
      },
    ],
  });
  const scaleSets = scaleSetClientFor(standin, token, world.agenda.now);
  const stateStore = options.stateStore ?? new MemoryStateStore(world.agenda.now);
  const cycleStarter = new MemoryCycleStarter();
  const lines: LogLine[] = [];
  const listener = new ScaleSetListener(
    { config, log: recordingLog(lines), now: world.agenda.now, scaleSets, stateStore, cycleStarter },
    { holder: options.holder ?? 'listener-a', deadline: new Date(world.agenda.now().getTime() + 840_000) },
  );
  const state = async () =>
    (await stateStore.getMany<ScaleSetState>([scaleSetStateKey('stepscale', 'linux-x64')])).get(
      scaleSetStateKey('stepscale', 'linux-x64'),
    );
  const deletes = () =>
    standin.requests.filter((request) => request.method === 'DELETE' && /\/messages\//.test(request.path));
  return { world, standin, listener, stateStore, cycleStarter, lines, state, deletes, scaleSets };
}

const queue = (world: World, jobs = 1) =>
  world.addRun({
    repo: 'app',
    jobs: Array.from({ length: jobs }, () => ({ labels: x64, durationMs: 60_000 })),
  });

/** Polls until a message was handled (or `limit` polls). */
async function pollMessages(listener: ScaleSetListener, limit = 10) {
  const outcomes = [];
  for (let i = 0; i < limit; i += 1) {
    const outcome = await listener.poll('linux-x64');
    outcomes.push(outcome);
    if (outcome.kind === 'message') break;
  }
  return outcomes;
}

/** A crafted message the stand-in answers a poll with. */
function messageJson(messageId: number, assigned: number, body: unknown = []): FaultResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      messageId,
      messageType: 'RunnerScaleSetJobMessages',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      statistics: { totalAssignedJobs: assigned, totalRunningJobs: 0 },
    }),
  };
}

describe('Scale set listener', () => {
  it('finds or creates the scale set, stores its id, acquires offered jobs and starts a cycle on the rise', async () => {
    // Prepare
    const { world, listener, state, cycleStarter } = await setup();

    // Act
    const opened = await listener.open();
    queue(world, 2);
    await pollMessages(listener); // JobAvailable ×2: acquired
    await pollMessages(listener); // JobAssigned ×2: assigned 2

    // Assess
    expect(opened).toMatchObject({ listening: ['linux-x64'], held: [], failed: [] });
    const stored = await state();
    expect(stored).toMatchObject({ name: 'linux-x64', available: true, labelsDropped: false });
    expect(stored?.scaleSetId).toBe(world.actions.listScaleSets()[0]?.id);
    expect(stored?.statistics).toMatchObject({ assignedJobs: 2 });
    expect(listener.counts).toMatchObject({ acquired: 2, jobsAvailable: 2, jobsAssigned: 2, messages: 2 });
    expect(cycleStarter.started).toEqual([
      expect.objectContaining({
        input: expect.objectContaining({ targets: { repositories: [], scaleSets: ['linux-x64'] } }),
      }),
    ]);
  });

  it('starts at most one cycle per gap, and the next one covers what rose meanwhile', async () => {
    // Prepare
    const { world, listener, cycleStarter } = await setup();
    await listener.open();

    // Act
    queue(world);
    await pollMessages(listener);
    await pollMessages(listener); // assigned 1: a cycle
    queue(world);
    await pollMessages(listener);
    await pollMessages(listener); // assigned 2 within the gap: pending
    const withinGap = cycleStarter.started.length;
    world.advanceTo(world.nowMs + 2_000);
    const due = await listener.flushCycleStart();

    // Assess: the second start; the scale set still has no runner, so its statistics are looked at again later
    expect(withinGap).toBe(1);
    expect(cycleStarter.started).toHaveLength(2);
    expect(due).toBeGreaterThan(world.agenda.now().getTime());
  });

  it('reads the statistics again while the scale set is short of runners, and starts a cycle until it is not', async () => {
    // Prepare: a job assigned, a cycle started for it, but no runner ever registered (EC2 had no capacity)
    const { world, listener, cycleStarter, standin, scaleSets } = await setup();
    await listener.open();
    queue(world);
    await pollMessages(listener);
    await pollMessages(listener);
    const first = cycleStarter.started.length;

    // Act
    world.advanceTo(world.nowMs + 5_000);
    await listener.flushCycleStart(); // still short: another cycle
    const afterShort = cycleStarter.started.length;
    const scaleSetId = world.actions.listScaleSets()[0]?.id ?? -1;
    await scaleSets.generateJitConfig(scaleSetId, 'stepscale-i-0000000000000000a'); // the runner registers
    world.advanceTo(world.nowMs + 5_000);
    await listener.flushCycleStart(); // no longer short: nothing
    world.advanceTo(world.nowMs + 5_000);
    const due = await listener.flushCycleStart();

    // Assess
    expect(first).toBe(1);
    expect(afterShort).toBe(2);
    expect(cycleStarter.started).toHaveLength(2);
    expect(due).toBeUndefined();
    expect(listener.counts.shortRechecks).toBe(1);
    // Read from the Actions service, not GitHub's REST API.
    expect(standin.requests.filter((request) => /runnerscalesets\/\d+$/.test(request.path))).toHaveLength(2);
  });

  it('waits out a session another listener holds (409), and opens its own once that one is closed', async () => {
    // Prepare: someone else's session on the scale set
    const { world, listener, lines } = await setup();
    const set = world.actions.createScaleSet({ name: 'linux-x64', labels: x64 });
    const theirs = world.actions.createSession(set.id, 'someone-else');

    // Act
    await listener.open();
    const first = await listener.poll('linux-x64');
    world.actions.deleteSession(set.id, theirs.sessionId);
    world.advanceTo(world.nowMs + 31_000);
    const later = await listener.poll('linux-x64');

    // Assess
    expect(first.kind).toBe('backoff');
    expect(lines.some((line) => /Another listener holds/.test(line.message))).toBe(true);
    expect(later.kind).toBe('empty');
    expect(world.actions.sessionOf(set.id)?.ownerName).toBe('stepscale/listener-a');
  });

  it('closes the session a stopped listener of this stack left open (409), and listens', async () => {
    // Prepare: the previous listener died with its session open; its id is in the store
    const world = contractWorld();
    const store = new MemoryStateStore(world.agenda.now);
    const { listener, lines } = await setup({ world, stateStore: store });
    const set = world.actions.createScaleSet({ name: 'linux-x64', labels: x64 });
    const left = world.actions.createSession(set.id, 'stepscale/listener-dead');
    await store.putMany(
      [
        {
          key: scaleSetStateKey('stepscale', 'linux-x64'),
          value: {
            name: 'linux-x64',
            scaleSetId: set.id,
            available: true,
            sessionId: left.sessionId,
            updatedAt: '',
          },
        },
      ],
      60,
    );

    // Act
    await listener.open();

    // Assess
    expect(world.actions.sessionOf(set.id)?.ownerName).toBe('stepscale/listener-a');
    expect(lines.some((line) => /stopped listener left open/.test(line.message))).toBe(true);
  });

  it('opens a new session when the service evicts one mid-poll, and goes on receiving', async () => {
    // Prepare
    const { world, listener, lines } = await setup();
    await listener.open();
    const scaleSetId = world.actions.listScaleSets()[0]?.id ?? -1;

    // Act
    world.actions.evictSession(scaleSetId);
    const gone = await listener.poll('linux-x64');
    queue(world);
    const after = await pollMessages(listener);

    // Assess
    expect(gone.kind).toBe('empty');
    expect(lines.some((line) => /session gone/.test(line.message))).toBe(true);
    expect(after.at(-1)?.kind).toBe('message');
    expect(listener.counts.sessionsOpened).toBe(2);
  });

  it('renews the message-queue token before it expires, and once more when it expired anyway', async () => {
    // Prepare: queue tokens live two minutes
    const world = contractWorld({ messageTokenSeconds: 120 });
    const { listener, standin } = await setup({ world });
    await listener.open();
    const scaleSetId = world.actions.listScaleSets()[0]?.id ?? -1;

    // Act
    world.advanceTo(world.nowMs + 70_000); // 50 s left: renewed before the poll
    await listener.poll('linux-x64');
    const refusedBefore = standin.requests.filter((request) => request.status === 401).length;
    world.actions.expireSessionToken(scaleSetId); // expired behind its back: refused once, renewed, polled again
    queue(world);
    const after = await pollMessages(listener);

    // Assess
    const renewals = standin.requests.filter(
      (request) => request.method === 'PATCH' && /\/sessions\//.test(request.path),
    );
    expect(renewals).toHaveLength(2);
    expect(refusedBefore).toBe(0);
    expect(after.at(-1)?.kind).toBe('message');
  });

  it('creates a scale set deleted on GitHub again, and keeps its new id', async () => {
    // Prepare
    const { world, listener, state, lines } = await setup();
    await listener.open();
    const first = (await state())?.scaleSetId;

    // Act
    world.actions.deleteScaleSet(first ?? -1);
    await listener.poll('linux-x64'); // the session is gone with it
    await listener.poll('linux-x64'); // a new session: the scale set is missing, created again
    queue(world);
    const after = await pollMessages(listener);

    // Assess
    const second = (await state())?.scaleSetId;
    expect(second).not.toBe(first);
    expect(world.actions.getScaleSet(second ?? -1)?.name).toBe('linux-x64');
    expect(listener.counts.scaleSetsCreated).toBe(2);
    expect(lines.some((line) => /deleted on GitHub/.test(line.message))).toBe(true);
    expect(after.at(-1)?.kind).toBe('message');
  });

  it('acknowledges and counts each message once, whatever order or repeats it comes in', async () => {
    // Prepare: the queue answers 5 (new), 3 (older, never seen), 5 (repeated)
    const answers = [
      messageJson(5, 4, [{ messageType: 'JobStarted', runnerRequestId: 1, jobId: 'a' }]),
      messageJson(3, 2, [
        { messageType: 'JobCompleted', runnerRequestId: 2, jobId: 'b', result: 'succeeded' },
      ]),
      messageJson(5, 4, [{ messageType: 'JobStarted', runnerRequestId: 1, jobId: 'a' }]),
    ];
    const { listener, deletes, state } = await setup({
      faults: (request) =>
        request.method === 'GET' && request.path.endsWith('/messages') ? answers.shift() : undefined,
    });
    await listener.open();

    // Act
    const outcomes = [];
    for (let i = 0; i < 3; i += 1) outcomes.push(await listener.poll('linux-x64'));

    // Assess
    expect(
      outcomes.map((outcome) =>
        outcome.kind === 'message' ? [outcome.messageId, outcome.repeated] : outcome.kind,
      ),
    ).toEqual([
      [5, false],
      [3, false],
      [5, true],
    ]);
    expect(listener.counts).toMatchObject({ messages: 2, repeated: 1, jobsStarted: 1, jobsCompleted: 1 });
    expect(deletes().map((request) => request.path.split('/').at(-1))).toEqual(['5', '3']);
    // The older message's statistics do not replace the newer ones.
    expect((await state())?.statistics?.assignedJobs).toBe(4);
    expect((await state())?.lastMessageId).toBe(5);
  });

  it('backs off when the Actions service answers 5xx or an HTML page, acknowledging nothing, then goes on', async () => {
    // Prepare: the poll fails four times (the client's own retries do not cover the long poll)
    let failures = 0;
    const html = { status: 502, headers: { 'content-type': 'text/html' }, body: '<html>Bad gateway</html>' };
    const { world, listener, deletes } = await setup({
      faults: (request) => {
        if (request.method !== 'GET' || !request.path.endsWith('/messages') || failures >= 4)
          return undefined;
        failures += 1;
        return failures % 2 === 0 ? html : { status: 503 };
      },
    });
    await listener.open();
    queue(world);

    // Act
    const waits: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const outcome = await listener.poll('linux-x64');
      if (outcome.kind === 'backoff') {
        waits.push(Math.round((outcome.untilMs - world.agenda.now().getTime()) / 1000));
        world.advanceTo(world.agenda.msOf(new Date(outcome.untilMs).toISOString()));
      }
    }
    const after = await pollMessages(listener);

    // Assess
    expect(waits).toEqual([1, 2, 4, 8]);
    expect(after.at(-1)?.kind).toBe('message');
    expect(deletes()).toHaveLength(1);
  });

  it('skips what in a message can never parse, logs it, and acknowledges the message', async () => {
    // Prepare
    const answers = [
      messageJson(7, 1, '{not json'),
      messageJson(8, 1, [
        { messageType: 'JobTeleported', runnerRequestId: 1 },
        { messageType: 'JobStarted', runnerRequestId: 2, jobId: 'x' },
      ]),
    ];
    const { listener, deletes, lines } = await setup({
      faults: (request) =>
        request.method === 'GET' && request.path.endsWith('/messages') ? answers.shift() : undefined,
    });
    await listener.open();

    // Act
    await listener.poll('linux-x64');
    await listener.poll('linux-x64');

    // Assess
    expect(deletes().map((request) => request.path.split('/').at(-1))).toEqual(['7', '8']);
    expect(listener.counts).toMatchObject({ messages: 2, skippedParts: 2, jobsStarted: 1 });
    const warnings = lines.filter((line) => line.level === 'warn' && /never be read/.test(line.message));
    expect(warnings).toHaveLength(2);
  });

  it('acknowledges nothing when the answer is not a message at all (no id to acknowledge)', async () => {
    // Prepare
    let served = false;
    const { listener, deletes } = await setup({
      faults: (request) => {
        if (served || request.method !== 'GET' || !request.path.endsWith('/messages')) return undefined;
        served = true;
        return { status: 200, headers: { 'content-type': 'application/json' }, body: '{"truncated": ' };
      },
    });
    await listener.open();

    // Act
    const outcome = await listener.poll('linux-x64');

    // Assess
    expect(outcome.kind).toBe('backoff');
    expect(deletes()).toEqual([]);
  });

  it('leaves a pool another listener holds alone, and hands over the leases when it stops for good', async () => {
    // Prepare
    const world = contractWorld();
    const store = new MemoryStateStore(world.agenda.now);
    const first = await setup({ world, stateStore: store, holder: 'listener-a' });
    await first.listener.open();
    const second = await setup({ world: first.world, stateStore: store, holder: 'listener-b' });

    // Act
    const whileHeld = await second.listener.open();
    await first.listener.close(true);
    const lease = await store.acquireLease(
      listenerLeaseKey('stepscale', 'linux-x64'),
      'listener-c',
      new Date(world.agenda.now().getTime() + 1000),
    );

    // Assess
    expect(whileHeld.listening).toEqual([]);
    expect(whileHeld.held).toEqual([expect.objectContaining({ pool: 'linux-x64', holder: 'listener-a' })]);
    expect(lease.acquired).toBe(true);
    expect(first.world.actions.sessionOf(first.world.actions.listScaleSets()[0]?.id ?? -1)).toBeUndefined();
  });

  it('records that this GitHub has no scale sets, in one clear line, and listens to nothing (auto)', async () => {
    // Prepare
    const { listener, state, lines } = await setup({
      world: contractWorld({ scaleSets: false }),
      jobSource: 'auto',
    });

    // Act
    const opened = await listener.open();

    // Assess
    expect(opened.unavailable).toMatch(/404/);
    expect((await state())?.available).toBe(false);
    const said = lines.filter((line) => /no runner scale sets/.test(line.message));
    expect(said).toHaveLength(1);
    expect(said[0]?.message).toContain('polling for linux-x64');
  });

  it('notices labels the service dropped: auto polls that pool, scaleset listens and says how to reach it', async () => {
    // Prepare
    const auto = await setup({ world: contractWorld({ multipleLabels: false }), jobSource: 'auto' });
    const scaleset = await setup({ world: contractWorld({ multipleLabels: false }), jobSource: 'scaleset' });

    // Act
    const autoOpened = await auto.listener.open();
    const scalesetOpened = await scaleset.listener.open();

    // Assess
    expect(autoOpened.listening).toEqual([]);
    expect((await auto.state())?.labelsDropped).toBe(true);
    expect(scalesetOpened.listening).toEqual(['linux-x64']);
    expect(scaleset.lines.some((line) => line.message.includes('runs-on: linux-x64'))).toBe(true);
  });
});
