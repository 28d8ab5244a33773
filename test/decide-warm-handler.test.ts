/**
 * Task Decide with warm pools (functions/handlers/decide.ts): it reads launch template versions for warm pools
 * only, hands ScaleUp the starts and the refill with the version read, hands ScaleDown the retirements, and a
 * cycle without the scaling lease plans none of them.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../functions/handlers/decide.ts';
import { scalingLeaseKey } from '../functions/handlers/scaling-lease.ts';
import { testDeps, testPool } from './support/fakes.ts';

const t0 = new Date('2026-01-05T09:00:00Z');
const cycle = { id: 'c1', startedAt: t0.toISOString(), mapConcurrency: 4 };
const demand = (queued: number) => ({ queuedByPool: { 'linux-x64': queued }, unmatched: 0, complete: true });
const warmConfig = { pools: [{ ...testPool, warm: { stopped: 2 } }] };

/** `count` ready instances: prepared from `version`, powered off by themselves, stopped. */
async function ready(fleet: ReturnType<typeof testDeps>['fleet'], count: number, version: number) {
  const { instanceIds } = await fleet.prepare({
    pool: 'linux-x64',
    count,
    clientToken: `earlier-${version}`,
    // Launched in the cycle whose time it carries (a later launch time would mean a start since).
    createdAt: t0.toISOString(),
    templateVersion: version,
  });
  for (const id of instanceIds) {
    fleet.shutDown(id);
    fleet.markStopped(id);
  }
  return instanceIds;
}

describe('Decide: warm pools', () => {
  it('reads no launch template version when no pool is warm', async () => {
    const { deps, fleet } = testDeps({ now: () => t0 });
    const output = await decide(deps)({ cycle, demand: demand(1) });
    expect(fleet.calls.map((call) => call.method)).not.toContain('templateVersions');
    expect(output).toMatchObject({ starts: [], prepares: [], cleanup: { retire: [] } });
  });

  it('refills from the template version it read, and starts ready instances for queued jobs', async () => {
    const { deps, fleet } = testDeps({ now: () => t0, config: warmConfig });
    fleet.setTemplateVersion('linux-x64', 3);
    const [oldest] = await ready(fleet, 2, 3);
    const output = await decide(deps)({ cycle, demand: demand(1) });
    expect(fleet.calls.filter((call) => call.method === 'templateVersions')).toEqual([
      { method: 'templateVersions', detail: ['linux-x64'] },
    ]);
    expect(output.starts).toEqual([{ pool: 'linux-x64', instanceIds: [oldest] }]);
    expect(output.launches).toEqual([]);
    // replaceAheadSeconds (default 120): the one started now is replaced ahead, so two ready remain in steady use.
    expect(output.prepares).toEqual([{ pool: 'linux-x64', count: 2, templateVersion: 3 }]);
  });

  it('retires ready instances of an older template version through ScaleDown', async () => {
    const { deps, fleet } = testDeps({ now: () => t0, config: warmConfig });
    fleet.setTemplateVersion('linux-x64', 4);
    const old = await ready(fleet, 2, 3);
    const output = await decide(deps)({ cycle, demand: demand(0) });
    expect(output.cleanup.retire).toEqual(
      old.map((instanceId) => ({ instanceId, pool: 'linux-x64', reason: 'old-template' })),
    );
    expect(output.starts).toEqual([]);
    expect(output.prepares).toEqual([{ pool: 'linux-x64', count: 2, templateVersion: 4 }]);
  });

  it('plans no start, refill or retirement without the scaling lease', async () => {
    const { deps, fleet, stateStore } = testDeps({ now: () => t0, config: warmConfig });
    fleet.setTemplateVersion('linux-x64', 4);
    await ready(fleet, 2, 3);
    await stateStore.acquireLease(scalingLeaseKey, 'c0', new Date(t0.getTime() + 60_000));
    const output = await decide(deps)({ cycle, demand: demand(1) });
    expect(output).toMatchObject({ leaseHeldBy: 'c0', starts: [], prepares: [], cleanup: { retire: [] } });
    expect(output.pools[0]).toMatchObject({ start: [], prepare: 0, launch: 0 });
  });
});
