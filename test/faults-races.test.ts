/**
 * Overlapping cycles through the real state machine, over the EC2 fleet adapter and a fake EC2 that
 * dedupes client tokens as EC2 does. A barrier holds every cycle at ScaleUp until all have decided, so
 * each Decide has run before any instance was launched: the worst interleaving, made deterministic.
 * What keeps them from launching twice: the same cycle shares a client token, different cycles a lease.
 */
import { describe, expect, it } from 'vitest';
import { type CycleRunOptions, runCycle } from '../functions/executor/cycle-runner.ts';
import type { DecideOutput } from '../functions/handlers/decide.ts';
import type { HandlerDeps } from '../functions/handlers/deps.ts';
import { launchCreatedAt } from '../functions/handlers/scale-up.ts';
import { scalingLeaseKey } from '../functions/handlers/scaling-lease.ts';
import { FakeEc2 } from './support/fake-ec2.ts';
import { FakeGitHub, queuedJobs, testDeps, testPool } from './support/fakes.ts';

function setup(queued: number, maxRunners: number, now?: () => Date) {
  const ec2 = new FakeEc2();
  const github = new FakeGitHub();
  github.jobsByRepo.set('api', queuedJobs(queued));
  const base = testDeps({
    github,
    config: { pools: [{ ...testPool, maxRunners }] },
    ...(now ? { now } : {}),
  });
  const deps: HandlerDeps = {
    ...base.deps,
    fleet: ec2.fleetFor(base.deps.config),
  };
  return { ec2, github, deps };
}

const planOf = (result: { output: { plan?: unknown } }) => result.output.plan as DecideOutput;

/** Runs the cycles concurrently; none enters ScaleUp before all have got there (i.e. all have decided). */
async function overlapping(deps: HandlerDeps, cycleIds: readonly string[]) {
  let arrived = 0;
  let release: () => void = () => {};
  const allDecided = new Promise<void>((resolve) => {
    release = resolve;
  });
  const wrapTask: CycleRunOptions['wrapTask'] = (task, handler) => async (input) => {
    if (task === 'ScaleUp') {
      arrived += 1;
      if (arrived === cycleIds.length) release();
      await allDecided;
    }
    return handler(input);
  };
  return Promise.all(cycleIds.map((cycleId) => runCycle({ deps, cycleId, wrapTask })));
}

describe('overlapping cycles', () => {
  it('the same cycle delivered twice (duplicate scheduler delivery) launches one set of instances', async () => {
    const { ec2, github, deps } = setup(5, 10);
    const [first, second] = await overlapping(deps, ['2026-01-05T09:00:00Z', '2026-01-05T09:00:00Z']);
    expect([first?.status, second?.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    // Same cycle id, same pool: same client token, so EC2 answered the second CreateFleet with the first fleet.
    expect(ec2.fleetsLaunched).toHaveLength(1);
    expect(ec2.live()).toHaveLength(5);
    // Two executions start at different times; the created-at tag comes from the scheduled time (the cycle
    // id), so both CreateFleet calls carry identical parameters and EC2 does not refuse the reused token.
    expect(JSON.stringify([first?.output, second?.output])).not.toContain('IdempotentParameterMismatch');
    // Both report the same instances; each runner was registered once (the second got 409 and counted it).
    expect(first?.output.scaleUp).toEqual(second?.output.scaleUp);
    expect(first?.output.scaleUp).toMatchObject({ launched: 5 });
    for (const result of [first, second])
      expect(result?.output.registration).toMatchObject({ failed: 0, queue: [] });
    expect(new Set(github.runners.map((runner) => runner.name)).size).toBe(5);
    expect(github.runners).toHaveLength(5);
  });

  it('two different cycles that overlap: one launches, the other finds the lease taken and changes nothing', async () => {
    // Prepare: 5 queued, maxRunners 6. Without the lease each Decide would list 0 instances and launch 5.
    const { ec2, deps } = setup(5, 6);
    const ids = ['2026-01-05T09:00:00Z', '2026-01-05T09:01:00Z'];
    // Act
    const results = await overlapping(deps, ids);
    // Assess
    expect(results.map((result) => result.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const plans = results.map(planOf);
    const winner = plans.findIndex((plan) => plan.leaseHeldBy === undefined);
    const loser = 1 - winner;
    expect(winner).toBeGreaterThanOrEqual(0);
    expect(plans[winner]).toMatchObject({ launches: [{ pool: 'linux-x64', count: 5 }] });
    expect(plans[loser]).toMatchObject({
      leaseHeldBy: ids[winner],
      launches: [],
      removals: [],
      scaleDownHeld: true,
      pools: [expect.objectContaining({ queued: 5, launch: 0, terminate: 0 })],
    });
    expect(ec2.fleetsLaunched).toHaveLength(1);
    expect(ec2.live()).toHaveLength(5);
    // The holder gave the lease back in ScaleDown: the next cycle takes it, sees the 5 booting, launches nothing.
    const next = await runCycle({ deps, cycleId: '2026-01-05T09:02:00Z' });
    expect(next.output.plan).toMatchObject({ launches: [] });
    expect(planOf(next).leaseHeldBy).toBeUndefined();
    expect(ec2.live()).toHaveLength(5);
  });

  it('three overlapping cycles launch once between them', async () => {
    const { ec2, deps } = setup(4, 6);
    const results = await overlapping(deps, ['2026-01-05T09:00:00Z', 'manual-1', 'manual-2']);
    expect(results.filter((result) => planOf(result).leaseHeldBy === undefined)).toHaveLength(1);
    expect(ec2.fleetsLaunched).toHaveLength(1);
    expect(ec2.live()).toHaveLength(4);
  });

  it('a lease its holder never gave back blocks scaling only until it ends', async () => {
    // Prepare: a cycle died after Decide (its execution timed out): its lease is still in the store.
    let now = new Date('2026-01-05T09:00:00Z');
    const { ec2, deps } = setup(3, 6, () => now);
    const lease = await deps.stateStore.acquireLease(
      scalingLeaseKey,
      'died-2026-01-05T08:59:50Z',
      new Date(now.getTime() + 80_000),
    );
    expect(lease).toEqual({ acquired: true });
    // Act 1: a cycle within the lease stands down; its ScaleDown does not release another cycle's lease.
    const during = await runCycle({
      deps,
      cycleId: '2026-01-05T09:00:00Z',
    });
    // Act 2: once the lease has ended, the next cycle scales.
    now = new Date('2026-01-05T09:01:30Z');
    const after = await runCycle({
      deps,
      cycleId: '2026-01-05T09:01:00Z',
    });
    // Assess
    expect(during.output.plan).toMatchObject({ leaseHeldBy: 'died-2026-01-05T08:59:50Z', launches: [] });
    expect(after.output.plan).toMatchObject({ launches: [{ pool: 'linux-x64', count: 3 }] });
    expect(planOf(after).leaseHeldBy).toBeUndefined();
    expect(ec2.live()).toHaveLength(3);
  });

  it('cycles that do not overlap keep the pool within maxRunners', async () => {
    const { ec2, deps } = setup(5, 6);
    await runCycle({ deps, cycleId: '2026-01-05T09:00:00Z' });
    await runCycle({ deps, cycleId: '2026-01-05T09:01:00Z' });
    expect(ec2.fleetsLaunched).toHaveLength(1);
    expect(ec2.live()).toHaveLength(5);
  });

  it('cycles one after another each take the lease: the one before gave it back', async () => {
    // Within the lease's 90 s (the clock stands still), so only the release lets the second cycle scale.
    const { ec2, github, deps } = setup(2, 10);
    const first = await runCycle({ deps, cycleId: '2026-01-05T09:00:00Z' });
    github.jobsByRepo.set('api', queuedJobs(5));
    const second = await runCycle({ deps, cycleId: '2026-01-05T09:01:00Z' });
    expect(first.output.plan).toMatchObject({ launches: [{ pool: 'linux-x64', count: 2 }] });
    expect(second.output.plan).toMatchObject({ launches: [{ pool: 'linux-x64', count: 3 }] });
    expect(ec2.live()).toHaveLength(5);
    expect((await deps.stateStore.getMany([scalingLeaseKey])).size).toBe(0);
  });

  it('tags launches with the scheduled time when the cycle id is one, else with the execution start', () => {
    const startedAt = '2026-01-05T09:00:01.234Z';
    expect(launchCreatedAt({ id: '2026-01-05T09:00:00Z', startedAt })).toBe('2026-01-05T09:00:00.000Z');
    expect(launchCreatedAt({ id: 'manual-run-7', startedAt })).toBe(startedAt);
    expect(launchCreatedAt({ id: '2026-13-45T99:00:00Z', startedAt })).toBe(startedAt);
  });
});
