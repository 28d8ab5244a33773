/**
 * Overlapping cycles through the real state machine, over the EC2 fleet adapter and a fake EC2 that
 * dedupes client tokens as EC2 does. A barrier holds every cycle at ScaleUp until all have decided, so
 * each Decide has run before any instance was launched: the worst interleaving, made deterministic.
 */
import { describe, expect, it } from 'vitest';
import { createEc2Fleet } from '../functions/adapters/ec2-fleet.ts';
import { GitHubRequestError } from '../functions/adapters/github-errors.ts';
import type { HandlerDeps } from '../functions/handlers/deps.ts';
import { launchCreatedAt } from '../functions/handlers/scale-up.ts';
import type { JitRunner, JitRunnerRequest } from '../functions/ports/github.ts';
import { type CycleRunOptions, runCycle } from '../local/cycle-runner.ts';
import { FakeEc2 } from './support/fake-ec2.ts';
import { FakeGitHub, queuedJobs, testDeps, testPool } from './support/fakes.ts';

/** Like GitHub: registering a second runner with a name already taken is refused with 409. */
class UniqueNameGitHub extends FakeGitHub {
  override async createJitRunner(request: JitRunnerRequest): Promise<JitRunner> {
    if (this.runners.some((runner) => runner.name === request.name))
      throw new GitHubRequestError('Already exists - A runner with the same name', 409);
    return super.createJitRunner(request);
  }
}

function setup(queued: number, maxRunners: number) {
  const ec2 = new FakeEc2();
  const github = new UniqueNameGitHub();
  github.jobsByRepo.set('api', queuedJobs(queued));
  const base = testDeps({ github, config: { pools: [{ ...testPool, maxRunners }] } });
  const deps: HandlerDeps = {
    ...base.deps,
    fleet: createEc2Fleet({
      client: ec2.client,
      stack: base.deps.config.stack,
      pools: base.deps.config.pools,
    }),
  };
  return { ec2, github, deps };
}

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
  return Promise.all(
    cycleIds.map((cycleId) => runCycle({ deps, cycleId, wrapTask, registrationWaitSeconds: 0 })),
  );
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
    expect(first?.output.scaleUp).toMatchObject({ launched: 5, registrationFailed: 0 });
    expect(new Set(github.runners.map((runner) => runner.name)).size).toBe(5);
    expect(github.runners).toHaveLength(5);
  });

  it('KNOWN LIMIT: two different cycles that both decide before either launches can exceed maxRunners', async () => {
    // Prepare: 5 queued, maxRunners 6. Each Decide lists 0 instances and launches 5.
    const { ec2, deps } = setup(5, 6);
    // Act
    const results = await overlapping(deps, ['2026-01-05T09:00:00Z', '2026-01-05T09:01:00Z']);
    // Assess: different cycle ids make different client tokens, so nothing dedupes the two launches.
    // Decide bounds a pool by the instances it *lists*; instances launched by a cycle still in flight are
    // invisible to it. The bound rests on cycles never overlapping (55 s execution timeout, 1-minute or
    // longer schedule), not on a lock. This records what happens when that assumption is broken.
    expect(results.map((result) => result.output.plan)).toEqual([
      expect.objectContaining({ launches: [{ pool: 'linux-x64', count: 5 }] }),
      expect.objectContaining({ launches: [{ pool: 'linux-x64', count: 5 }] }),
    ]);
    expect(ec2.fleetsLaunched).toHaveLength(2);
    expect(ec2.live()).toHaveLength(10); // > maxRunners 6
    // The next, non-overlapping cycle sees all 10 and launches nothing more.
    const next = await runCycle({ deps, cycleId: '2026-01-05T09:02:00Z', registrationWaitSeconds: 0 });
    expect(next.output.plan).toMatchObject({ launches: [] });
    expect(ec2.live()).toHaveLength(10);
  });

  it('cycles that do not overlap keep the pool within maxRunners', async () => {
    const { ec2, deps } = setup(5, 6);
    await runCycle({ deps, cycleId: '2026-01-05T09:00:00Z', registrationWaitSeconds: 0 });
    await runCycle({ deps, cycleId: '2026-01-05T09:01:00Z', registrationWaitSeconds: 0 });
    expect(ec2.fleetsLaunched).toHaveLength(1);
    expect(ec2.live()).toHaveLength(5);
  });

  it('tags launches with the scheduled time when the cycle id is one, else with the execution start', () => {
    const startedAt = '2026-01-05T09:00:01.234Z';
    expect(launchCreatedAt({ id: '2026-01-05T09:00:00Z', startedAt })).toBe('2026-01-05T09:00:00.000Z');
    expect(launchCreatedAt({ id: 'manual-run-7', startedAt })).toBe(startedAt);
    expect(launchCreatedAt({ id: '2026-13-45T99:00:00Z', startedAt })).toBe(startedAt);
  });
});
