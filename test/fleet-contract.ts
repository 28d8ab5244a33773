/**
 * What every FleetPort must do, as one suite run against each implementation (the in-memory fleet used
 * locally and the EC2 adapter over a fake EC2), so the local runs exercise the behaviour production has.
 */
import { describe, expect, it } from 'vitest';
import { type Instance, runnerNameFor, type WarmTag } from '../functions/core/model.ts';
import type { FleetPort, LaunchRequest, PrepareRequest } from '../functions/ports/fleet.ts';

/** The cycle start a launch request carries (the `stepscale:created-at` tag). */
const launchCreatedAt = '2026-01-05T09:00:00.000Z';

/** A fleet plus the world-side levers the contract needs. */
export interface FleetUnderTest {
  readonly fleet: FleetPort;
  /** World side: the instance finished booting. */
  markRunning(instanceId: string): void;
  /** World side: the instance shuts down from inside (`poweroff`) and has stopped or terminated by now. */
  powerOff(instanceId: string): void;
  /** World side: someone stops the instance through the API, and it has stopped by now. */
  stopByUser(instanceId: string): void;
  /** World side: stopped instances EC2 can still start. */
  setStartCapacity(count: number): void;
  /** World side: another stack's instance now exists next to ours. */
  addForeignInstance?(): void;
}

export interface FleetSetup {
  readonly stack: string;
  /** A pool the fleet may launch into. */
  readonly pool: string;
  readonly now: () => Date;
  /** Instances that can still be launched in `pool` before capacity runs out (default unlimited). */
  readonly capacity?: number;
  /** The latest version of the pool's launch template. */
  readonly templateVersion: number;
}

export interface FleetContractOptions {
  /** Whether the implementation can hold another stack's instances (a shared EC2 can; memory cannot). */
  readonly foreignInstances: boolean;
}

const stack = 'contract';
const pool = 'linux-x64';
const launchedAt = new Date('2026-01-05T09:00:00.000Z');
const templateVersion = 7;

const linuxRequest = (count: number, clientToken = 'cycle-1-linux'): LaunchRequest => ({
  pool,
  count,
  clientToken,
  createdAt: launchCreatedAt,
});

const launchLinux = (fleet: FleetPort, count: number, clientToken?: string) =>
  fleet.launch(linuxRequest(count, clientToken));

const warmRequest = (count: number): PrepareRequest => ({
  pool,
  count,
  clientToken: 'cycle-1-warm',
  createdAt: launchCreatedAt,
  templateVersion,
});

/** The listing holds exactly `instanceIds`, each pending in the pool since the launch, with its warm tag if any. */
function expectJustLaunched(
  instances: readonly Instance[],
  instanceIds: readonly string[],
  warm?: WarmTag,
): void {
  expect(instances.map((instance) => instance.id).sort()).toEqual([...instanceIds].sort());
  for (const instance of instances) {
    expect(instance).toEqual({
      id: instance.id,
      pool,
      state: 'pending',
      launchedAt: launchedAt.toISOString(),
      runnerName: runnerNameFor(stack, instance.id),
      ...(warm ? { warm } : {}),
    });
  }
}

export function fleetContract(
  name: string,
  makeFleet: (setup: FleetSetup) => FleetUnderTest,
  options: FleetContractOptions,
): void {
  let clock = launchedAt;
  const make = (capacity?: number) => {
    clock = launchedAt;
    return makeFleet({
      stack,
      pool,
      now: () => clock,
      templateVersion,
      ...(capacity === undefined ? {} : { capacity }),
    });
  };
  /** Warm instances prepared, booted, warmed up and powered off: ready in the pool. */
  const readyWarm = async (under: FleetUnderTest, count: number) => {
    const { instanceIds } = await under.fleet.prepare(warmRequest(count));
    for (const id of instanceIds) {
      under.markRunning(id);
      under.powerOff(id);
    }
    return instanceIds;
  };

  describe(`FleetPort contract: ${name}`, () => {
    it('lists nothing before anything was launched', async () => {
      // Prepare
      const { fleet } = make();

      // Act
      const instances = await fleet.listInstances();

      // Assess
      expect(instances).toEqual([]);
    });

    it('lists every launched instance with its pool, launch time and runner name', async () => {
      // Prepare
      const { fleet } = make();

      // Act
      const result = await launchLinux(fleet, 3);
      const instances = await fleet.listInstances();

      // Assess
      expect(result).toEqual({ instanceIds: expect.any(Array), missing: 0, errors: [] });
      expect(new Set(result.instanceIds).size).toBe(3);
      expectJustLaunched(instances, result.instanceIds);
    });

    it('lists a booted instance as running', async () => {
      // Prepare
      const { fleet, markRunning } = make();
      const { instanceIds } = await launchLinux(fleet, 2);
      const [booted, booting] = instanceIds as [string, string];

      // Act
      markRunning(booted);
      const instances = await fleet.listInstances();

      // Assess
      expect(instances.find((instance) => instance.id === booted)?.state).toBe('running');
      expect(instances.find((instance) => instance.id === booting)?.state).toBe('pending');
    });

    it('launches nothing more when the same client token is used again', async () => {
      // Prepare
      const { fleet } = make();
      const request = linuxRequest(2);
      const first = await fleet.launch(request);

      // Act
      const retry = await fleet.launch(request);

      // Assess
      expect(retry).toEqual(first);
      expect(await fleet.listInstances()).toHaveLength(2);
    });

    it('launches again for a new client token', async () => {
      // Prepare
      const { fleet } = make();
      await launchLinux(fleet, 2);

      // Act
      await launchLinux(fleet, 1, 'cycle-2-linux');

      // Assess
      expect(await fleet.listInstances()).toHaveLength(3);
    });

    it('reports a capacity shortfall as missing instances, never hides it', async () => {
      // Prepare
      const { fleet } = make(2);

      // Act
      const result = await launchLinux(fleet, 5);

      // Assess
      expect(result.instanceIds).toHaveLength(2);
      expect(result.missing).toBe(3);
      expect(result.errors).toContain('InsufficientInstanceCapacity');
      expect(await fleet.listInstances()).toHaveLength(2);
    });

    it('no longer lists terminated instances and keeps the others', async () => {
      // Prepare
      const { fleet } = make();
      const { instanceIds } = await launchLinux(fleet, 3);
      const [first, second, kept] = instanceIds as [string, string, string];

      // Act
      await fleet.terminate([first, second]);
      await fleet.terminate([]);

      // Assess
      expect((await fleet.listInstances()).map((instance) => instance.id)).toEqual([kept]);
    });

    it('lists the time an instance was marked orphaned, and only on that instance', async () => {
      // Prepare
      const { fleet } = make();
      const { instanceIds } = await launchLinux(fleet, 2);
      const [orphan, healthy] = instanceIds as [string, string];
      const at = new Date('2026-01-05T09:06:00.000Z');

      // Act
      await fleet.markOrphaned([orphan], at);
      const instances = await fleet.listInstances();

      // Assess
      expect(instances.find((instance) => instance.id === orphan)?.orphanedSince).toBe(at.toISOString());
      expect(instances.find((instance) => instance.id === healthy)?.orphanedSince).toBeUndefined();
    });

    it('lists prepared instances as preparing in the warm pool, with their prepare time and template version', async () => {
      // Prepare
      const { fleet } = make();
      const request = warmRequest(2);

      // Act
      const result = await fleet.prepare(request);
      const retry = await fleet.prepare(request);
      const instances = await fleet.listInstances();

      // Assess
      expect(result).toEqual({ instanceIds: expect.any(Array), missing: 0, errors: [] });
      expect(retry).toEqual(result);
      expectJustLaunched(instances, result.instanceIds, {
        stage: 'preparing',
        preparedAt: launchCreatedAt,
        templateVersion,
      });
    });

    it('stops a prepared instance that powers itself off; terminates a fresh one that does', async () => {
      // Prepare
      const under = make();
      const [warm] = await readyWarm(under, 1);
      const { instanceIds } = await launchLinux(under.fleet, 1);
      const fresh = instanceIds[0] as string;
      under.markRunning(fresh);

      // Act
      under.powerOff(fresh);
      const instances = await under.fleet.listInstances();

      // Assess
      expect(instances.map((instance) => instance.id)).toEqual([warm]);
      expect(instances[0]).toMatchObject({
        state: 'stopped',
        stopReason: 'instance',
        warm: { stage: 'preparing' },
      });
    });

    it('says an instance stopped through the API was stopped by someone', async () => {
      const under = make();
      const { instanceIds } = await under.fleet.prepare({
        pool,
        count: 1,
        clientToken: 'cycle-1-warm',
        createdAt: launchCreatedAt,
      });
      const id = instanceIds[0] as string;
      under.markRunning(id);
      under.stopByUser(id);
      expect(await under.fleet.listInstances()).toEqual([
        expect.objectContaining({ id, state: 'stopped', stopReason: 'api' }),
      ]);
    });

    it('starts a stopped warm instance: tagged started, pending, launched (again) now', async () => {
      // Prepare
      const under = make();
      const [id] = await readyWarm(under, 1);
      clock = new Date(launchedAt.getTime() + 3600_000);

      // Act
      const result = await under.fleet.start([id as string]);
      const instances = await under.fleet.listInstances();

      // Assess
      expect(result).toEqual({ started: [id], failed: [] });
      expect(instances).toEqual([
        {
          id,
          pool,
          state: 'pending',
          launchedAt: clock.toISOString(),
          runnerName: runnerNameFor(stack, id as string),
          warm: { stage: 'started', preparedAt: launchCreatedAt, templateVersion },
        },
      ]);
    });

    it('reports a start without capacity per instance, tagged started so it is never used again', async () => {
      // Prepare
      const under = make();
      const ids = await readyWarm(under, 2);
      under.setStartCapacity(1);

      // Act
      const result = await under.fleet.start(ids);
      const instances = await under.fleet.listInstances();

      // Assess
      expect(result.started).toHaveLength(1);
      expect(result.failed).toEqual([
        { instanceId: expect.any(String), code: 'InsufficientInstanceCapacity', capacity: true },
      ]);
      const failed = instances.find((instance) => instance.id === result.failed[0]?.instanceId);
      expect(failed).toMatchObject({ state: 'stopped', warm: { stage: 'started' } });
    });

    it('fails the start of an instance that is gone, and still starts the others', async () => {
      // Prepare
      const under = make();
      const [gone, kept] = await readyWarm(under, 2);
      await under.fleet.terminate([gone as string]);

      // Act
      const result = await under.fleet.start([gone as string, kept as string]);

      // Assess
      expect(result.started).toEqual([kept]);
      expect(result.failed).toEqual([{ instanceId: gone, code: expect.any(String), capacity: false }]);
    });

    it('answers the latest launch template version of a pool, and nothing for a pool it does not know', async () => {
      const { fleet } = make();
      expect(await fleet.templateVersions([pool, 'no-such-pool'])).toEqual({ [pool]: templateVersion });
    });

    it.runIf(options.foreignInstances)('never lists instances of another stack', async () => {
      // Prepare
      const under = make();
      under.addForeignInstance?.();
      const { instanceIds } = await launchLinux(under.fleet, 1);

      // Act
      const instances = await under.fleet.listInstances();

      // Assess
      expect(instances.map((instance) => instance.id)).toEqual(instanceIds);
    });
  });
}
