/**
 * What every ScaleSetPort must do, as one suite run against each implementation: the production HTTP client
 * over the stand-in's Actions service, and the simulated port the benchmark's `stepscale-scaleset` strategy
 * scales with. Both answer from the world's Actions service (local/world/actions-service.ts); each case
 * arranges the world, so a difference between them is a difference of the ports.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ScaleSetNotFoundError,
  ScaleSetRunnerBusyError,
  ScaleSetRunnerExistsError,
  ScaleSetSessionConflictError,
  ScaleSetSessionGoneError,
} from '../functions/errors.ts';
import type { ScaleSetMessage, ScaleSetPort, ScaleSetSession } from '../functions/ports/scale-sets.ts';
import { World, type WorldOptions } from '../local/world/world.ts';

export interface ScaleSetsUnderTest {
  readonly scaleSets: ScaleSetPort;
  readonly world: World;
  close?(): Promise<void>;
}

export type MakeScaleSets = (world: World) => Promise<ScaleSetsUnderTest>;

const x64 = ['self-hosted', 'linux', 'x64'];
const spec = { name: 'linux-x64', labels: x64, runnerGroup: 'Default' };

export function contractWorld(
  actions: WorldOptions['actions'] = {},
  start = '2026-01-05T09:00:00.000Z',
): World {
  return new World({
    org: 'acme',
    stack: 'stepscale',
    start,
    seed: 1,
    repositories: ['app'],
    bootSeconds: () => ({ mean: 45, jitter: 0 }),
    actions,
  });
}

/** Queues a run in `app` of `count` jobs for the scale set's labels. */
function queueJobs(world: World, count = 1, durationMs = 60_000): void {
  world.addRun({ repo: 'app', jobs: Array.from({ length: count }, () => ({ labels: x64, durationMs })) });
}

/** Polls until a message comes (the simulated poll answers at once, the stand-in's within its long poll). */
async function nextMessage(
  port: ScaleSetPort,
  session: ScaleSetSession,
  lastMessageId: number,
  maxCapacity = 10,
): Promise<ScaleSetMessage> {
  for (let poll = 0; poll < 20; poll += 1) {
    const message = await port.getMessage(session, lastMessageId, maxCapacity);
    if (message) return message;
  }
  throw new Error('no message came');
}

export function scaleSetContract(name: string, make: MakeScaleSets): void {
  describe(`ScaleSetPort contract: ${name}`, () => {
    const opened: ScaleSetsUnderTest[] = [];
    const open = async (world = contractWorld()) => {
      const under = await make(world);
      opened.push(under);
      return under;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((under) => under.close?.()));
    });
    /** A session of listener `me` on a new scale set. */
    const openSession = async () => {
      const under = await open();
      const { id } = await under.scaleSets.createScaleSet(spec);
      const session = await under.scaleSets.createSession(id, 'me');
      return { ...under, id, session };
    };

    it('tells whether GitHub serves scale sets', async () => {
      // Prepare
      const served = await open();
      const unserved = await open(contractWorld({ scaleSets: false }));

      // Act
      const answers = [await served.scaleSets.probe(), await unserved.scaleSets.probe()];

      // Assess
      expect(answers).toEqual([true, false]);
    });

    it('finds runner groups by name, Default being id 1, and refuses an unknown one', async () => {
      // Prepare
      const { scaleSets, world } = await open();
      const group = world.github.addRunnerGroup('Builders');

      // Act
      const ids = [await scaleSets.runnerGroupId('Default'), await scaleSets.runnerGroupId('builders')];

      // Assess
      expect(ids).toEqual([1, group.id]);
      await expect(scaleSets.runnerGroupId('nope')).rejects.toBeInstanceOf(ScaleSetNotFoundError);
    });

    it('creates a scale set with its name and labels, then finds it by name and by id', async () => {
      // Prepare
      const { scaleSets } = await open();

      // Act
      const created = await scaleSets.createScaleSet(spec);
      const byName = await scaleSets.findScaleSet(1, 'linux-x64');
      const byId = await scaleSets.getScaleSet(created.id);

      // Assess
      expect(created).toEqual({
        id: created.id,
        name: 'linux-x64',
        runnerGroupId: 1,
        labels: ['linux-x64', ...x64],
        statistics: expect.objectContaining({ assignedJobs: 0, registeredRunners: 0 }),
      });
      expect(byName).toEqual(created);
      expect(byId).toEqual(created);
      expect(await scaleSets.findScaleSet(1, 'other')).toBeUndefined();
    });

    it('keeps only the name as label where several labels per scale set are not supported', async () => {
      // Prepare
      const { scaleSets } = await open(contractWorld({ multipleLabels: false }));

      // Act
      const created = await scaleSets.createScaleSet(spec);

      // Assess
      expect(created.labels).toEqual(['linux-x64']);
    });

    it('reads nothing for a deleted scale set, and deleting one that is gone succeeds', async () => {
      // Prepare
      const { scaleSets, world } = await open();
      const created = await scaleSets.createScaleSet(spec);
      world.actions.deleteScaleSet(created.id);

      // Act
      const read = await scaleSets.getScaleSet(created.id);

      // Assess
      expect(read).toBeUndefined();
      await expect(scaleSets.deleteScaleSet(created.id)).resolves.toBeUndefined();
      await expect(scaleSets.createSession(created.id, 'me')).rejects.toBeInstanceOf(ScaleSetNotFoundError);
    });

    it('opens one session per scale set: a second is a conflict until the first is closed', async () => {
      // Prepare
      const { scaleSets } = await open();
      const { id } = await scaleSets.createScaleSet(spec);

      // Act
      const first = await scaleSets.createSession(id, 'listener-a');
      const second = scaleSets.createSession(id, 'listener-b');

      // Assess
      expect(first.scaleSetId).toBe(id);
      expect(first.statistics).toEqual({
        availableJobs: 0,
        acquiredJobs: 0,
        assignedJobs: 0,
        runningJobs: 0,
        registeredRunners: 0,
        busyRunners: 0,
        idleRunners: 0,
      });
      expect(first.tokenExpiresAt).toMatch(/^\d{4}-/);
      await expect(second).rejects.toBeInstanceOf(ScaleSetSessionConflictError);
      await scaleSets.deleteSession(first);
      await expect(scaleSets.createSession(id, 'listener-b')).resolves.toMatchObject({ scaleSetId: id });
    });

    it('offers a matching job, assigns it once acquired, and reports both in the statistics', async () => {
      // Prepare
      const { scaleSets, world, session } = await openSession();
      queueJobs(world);

      // Act
      const offer = await nextMessage(scaleSets, session, 0);
      const acquired = await scaleSets.acquireJobs(
        session,
        offer.jobs.map((job) => job.runnerRequestId),
      );
      await scaleSets.deleteMessage(session, offer.messageId);
      const assigned = await nextMessage(scaleSets, session, offer.messageId);

      // Assess
      expect(offer.jobs).toEqual([
        expect.objectContaining({ type: 'JobAvailable', repository: 'app', labels: x64 }),
      ]);
      expect(offer.statistics).toMatchObject({ availableJobs: 1, assignedJobs: 0 });
      expect(offer.problems).toEqual([]);
      expect(acquired).toEqual([offer.jobs[0]?.runnerRequestId]);
      expect(assigned.messageId).toBeGreaterThan(offer.messageId);
      expect(assigned.jobs).toEqual([expect.objectContaining({ type: 'JobAssigned' })]);
      expect(assigned.statistics).toMatchObject({ availableJobs: 0, acquiredJobs: 1, assignedJobs: 1 });
    });

    it('delivers a message again until it is acknowledged, and nothing after it once it is', async () => {
      // Prepare
      const { scaleSets, world, session } = await openSession();
      queueJobs(world);
      const first = await nextMessage(scaleSets, session, 0);

      // Act
      const again = await nextMessage(scaleSets, session, 0);
      await scaleSets.deleteMessage(session, first.messageId);
      const after = await scaleSets.getMessage(session, first.messageId, 10);

      // Assess
      expect(again.messageId).toBe(first.messageId);
      expect(after).toBeUndefined();
    });

    it('acquires no more than the capacity sent with the poll', async () => {
      // Prepare
      const { scaleSets, world, session } = await openSession();
      queueJobs(world, 3, 1000);

      // Act
      const offer = await nextMessage(scaleSets, session, 0, 2);
      const acquired = await scaleSets.acquireJobs(
        session,
        offer.jobs.map((job) => job.runnerRequestId),
      );

      // Assess
      expect(offer.jobs).toHaveLength(3);
      expect(acquired).toHaveLength(2);
    });

    it('renews an expired message-queue token by itself', async () => {
      // Prepare
      const { scaleSets, world, id, session } = await openSession();
      queueJobs(world);
      world.actions.expireSessionToken(id);

      // Act
      const message = await nextMessage(scaleSets, session, 0);

      // Assess
      expect(message.jobs).toHaveLength(1);
    });

    it('says a session is gone once the service evicted it, and lets a new one open', async () => {
      // Prepare
      const { scaleSets, world, id, session } = await openSession();
      world.actions.evictSession(id);

      // Act
      const polled = scaleSets.getMessage(session, 0, 10);

      // Assess
      await expect(polled).rejects.toBeInstanceOf(ScaleSetSessionGoneError);
      await expect(scaleSets.refreshSession(session)).rejects.toBeInstanceOf(ScaleSetSessionGoneError);
      await expect(scaleSets.createSession(id, 'me')).resolves.toMatchObject({ scaleSetId: id });
    });

    it('registers a just-in-time runner of the scale set once, reads it, and removes it unless busy', async () => {
      // Prepare
      const { scaleSets, world } = await open();
      const { id } = await scaleSets.createScaleSet(spec);

      // Act
      const jit = await scaleSets.generateJitConfig(id, 'stepscale-i-0123456789abcdef0');
      const again = await scaleSets
        .generateJitConfig(id, 'stepscale-i-0123456789abcdef0')
        .catch((error) => error);
      const read = await scaleSets.getRunner(jit.runner.id);

      // Assess
      expect(jit.runner).toEqual({
        id: jit.runner.id,
        name: 'stepscale-i-0123456789abcdef0',
        scaleSetId: id,
      });
      expect(jit.encodedJitConfig.length).toBeGreaterThan(0);
      expect(again).toBeInstanceOf(ScaleSetRunnerExistsError);
      expect(read).toEqual(jit.runner);
      const registered = world.github.runnerByName('stepscale-i-0123456789abcdef0');
      expect(registered).toMatchObject({ status: 'offline', ephemeral: true, scaleSetId: id });
      expect(registered?.labels.map((label) => label.name)).toEqual(['linux-x64', ...x64]);

      world.github.setRunnerBusy(jit.runner.id, true);
      await expect(scaleSets.removeRunner(jit.runner.id)).rejects.toBeInstanceOf(ScaleSetRunnerBusyError);
      world.github.setRunnerBusy(jit.runner.id, false);
      await scaleSets.removeRunner(jit.runner.id);
      expect(await scaleSets.getRunner(jit.runner.id)).toBeUndefined();
      await expect(scaleSets.removeRunner(jit.runner.id)).resolves.toBeUndefined();
    });
  });
}
