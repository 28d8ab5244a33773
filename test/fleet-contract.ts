/**
 * What every FleetPort must do, as one suite run against each implementation (the in-memory fleet used
 * locally and the EC2 adapter over a fake EC2), so the local runs exercise the behaviour production has.
 */
import { describe, expect, it } from 'vitest';
import { runnerNameFor } from '../functions/core/model.ts';
import type { FleetPort } from '../functions/ports/fleet.ts';

/** The cycle start a launch request carries (the `stepscale:created-at` tag). */
const launchCreatedAt = '2026-01-05T09:00:00.000Z';

/** A fleet plus the world-side levers the contract needs. */
export interface FleetUnderTest {
  readonly fleet: FleetPort;
  /** World side: the instance finished booting. */
  markRunning(instanceId: string): void;
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
}

export interface FleetContractOptions {
  /** Whether the implementation can hold another stack's instances (a shared EC2 can; memory cannot). */
  readonly foreignInstances: boolean;
}

const stack = 'contract';
const pool = 'linux-x64';
const launchedAt = new Date('2026-01-05T09:00:00.000Z');

export function fleetContract(
  name: string,
  makeFleet: (setup: FleetSetup) => FleetUnderTest,
  options: FleetContractOptions,
): void {
  const make = (capacity?: number) =>
    makeFleet({ stack, pool, now: () => launchedAt, ...(capacity === undefined ? {} : { capacity }) });

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
      const result = await fleet.launch({
        pool,
        count: 3,
        clientToken: 'cycle-1-linux',
        createdAt: launchCreatedAt,
      });
      const instances = await fleet.listInstances();

      // Assess
      expect(result).toEqual({ instanceIds: expect.any(Array), missing: 0, errors: [] });
      expect(new Set(result.instanceIds).size).toBe(3);
      expect(instances.map((instance) => instance.id).sort()).toEqual([...result.instanceIds].sort());
      for (const instance of instances) {
        expect(instance).toEqual({
          id: instance.id,
          pool,
          state: 'pending',
          launchedAt: launchedAt.toISOString(),
          runnerName: runnerNameFor(stack, instance.id),
        });
      }
    });

    it('lists a booted instance as running', async () => {
      // Prepare
      const { fleet, markRunning } = make();
      const { instanceIds } = await fleet.launch({
        pool,
        count: 2,
        clientToken: 'cycle-1-linux',
        createdAt: launchCreatedAt,
      });
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
      const request = { pool, count: 2, clientToken: 'cycle-1-linux', createdAt: launchCreatedAt };
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
      await fleet.launch({ pool, count: 2, clientToken: 'cycle-1-linux', createdAt: launchCreatedAt });

      // Act
      await fleet.launch({ pool, count: 1, clientToken: 'cycle-2-linux', createdAt: launchCreatedAt });

      // Assess
      expect(await fleet.listInstances()).toHaveLength(3);
    });

    it('reports a capacity shortfall as missing instances, never hides it', async () => {
      // Prepare
      const { fleet } = make(2);

      // Act
      const result = await fleet.launch({
        pool,
        count: 5,
        clientToken: 'cycle-1-linux',
        createdAt: launchCreatedAt,
      });

      // Assess
      expect(result.instanceIds).toHaveLength(2);
      expect(result.missing).toBe(3);
      expect(result.errors).toContain('InsufficientInstanceCapacity');
      expect(await fleet.listInstances()).toHaveLength(2);
    });

    it('no longer lists terminated instances and keeps the others', async () => {
      // Prepare
      const { fleet } = make();
      const { instanceIds } = await fleet.launch({
        pool,
        count: 3,
        clientToken: 'cycle-1-linux',
        createdAt: launchCreatedAt,
      });
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
      const { instanceIds } = await fleet.launch({
        pool,
        count: 2,
        clientToken: 'cycle-1-linux',
        createdAt: launchCreatedAt,
      });
      const [orphan, healthy] = instanceIds as [string, string];
      const at = new Date('2026-01-05T09:06:00.000Z');

      // Act
      await fleet.markOrphaned([orphan], at);
      const instances = await fleet.listInstances();

      // Assess
      expect(instances.find((instance) => instance.id === orphan)?.orphanedSince).toBe(at.toISOString());
      expect(instances.find((instance) => instance.id === healthy)?.orphanedSince).toBeUndefined();
    });

    it.runIf(options.foreignInstances)('never lists instances of another stack', async () => {
      // Prepare
      const under = make();
      under.addForeignInstance?.();
      const { instanceIds } = await under.fleet.launch({
        pool,
        count: 1,
        clientToken: 'cycle-1-linux',
        createdAt: launchCreatedAt,
      });

      // Act
      const instances = await under.fleet.listInstances();

      // Assess
      expect(instances.map((instance) => instance.id)).toEqual(instanceIds);
    });
  });
}
