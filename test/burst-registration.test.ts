/**
 * Bursts through the real state machine: launching is not registering. A cycle launches the whole burst at
 * once and registers the runners a paced write at a time, into the next cycle when the burst is larger than a
 * cycle's writes; no instance is registered twice (a retried ScaleUp, a duplicated cycle), a secondary rate
 * limit delays registrations without losing one, and an instance whose config never comes is cleaned up as an
 * orphan. Runs on the EC2 fleet adapter over a stateful fake EC2 and a clock that waiting for write slots moves.
 */
import { describe, expect, it } from 'vitest';
import { GitHubRateLimitError } from '../functions/errors.ts';
import { runCycle } from '../functions/executor/cycle-runner.ts';
import type { DecideOutput } from '../functions/handlers/decide.ts';
import type { HandlerDeps } from '../functions/handlers/deps.ts';
import type { RegisterRunnersOutput } from '../functions/handlers/register-runners.ts';
import type { JitRegistration, JitRunnerRequest } from '../functions/ports/github.ts';
import { FakeEc2 } from './support/fake-ec2.ts';
import { FakeGitHub, namedError, queuedJobs, testDeps, testPool } from './support/fakes.ts';
import { ManualClock } from './support/manual-clock.ts';

const start = '2026-01-05T09:00:00.000Z';

function setup(options: { queued: number; writesPerMinute?: number; github?: FakeGitHub }) {
  const clock = new ManualClock(start);
  const ec2 = new FakeEc2({ now: clock.now });
  const github = options.github ?? new FakeGitHub();
  github.jobsByRepo.set('api', queuedJobs(options.queued));
  const base = testDeps({
    github,
    clock,
    config: {
      github: { url: 'https://github.com', org: 'acme', writesPerMinute: options.writesPerMinute ?? 60 },
      pools: [{ ...testPool, maxRunners: 100 }],
    },
  });
  const deps: HandlerDeps = { ...base.deps, fleet: ec2.fleetFor(base.deps.config) };
  /** The cycle scheduled `minutes` after the start, started on time. */
  const cycle = (minutes: number, extra: Partial<Parameters<typeof runCycle>[0]> = {}) => {
    clock.set(new Date(Date.parse(start) + minutes * 60_000));
    return runCycle({ deps, cycleId: clock.now().toISOString(), ...extra });
  };
  return { clock, ec2, github, deps, cycle, stateStore: base.stateStore };
}

const planOf = (result: Awaited<ReturnType<typeof runCycle>>) => result.output.plan as DecideOutput;
const registrationOf = (result: Awaited<ReturnType<typeof runCycle>>) =>
  result.output.registration as RegisterRunnersOutput;

describe('bursts: launching is not registering', () => {
  it('launches 60 at once and registers all 60 across the pacing, none twice, through a ScaleUp retry and a duplicated cycle', async () => {
    // Prepare: 30 writes a minute, so the first cycle registers half and hands the rest to the next.
    const { ec2, github, cycle } = setup({ queued: 60, writesPerMinute: 30 });
    let scaleUps = 0;
    const retryOnce = {
      wrapTask: (task: string, handler: (input: unknown) => Promise<unknown>) => async (input: unknown) => {
        if (task !== 'ScaleUp') return handler(input);
        scaleUps += 1;
        const output = await handler(input);
        // The first attempt launched, then its answer was lost (as in a Lambda timeout).
        if (scaleUps === 1) throw namedError('Lambda.ServiceException');
        return output;
      },
    };
    // Act: the first cycle is delivered twice (two executions of one scheduled cycle).
    const [first, duplicate] = await Promise.all([cycle(0, retryOnce), cycle(0)]);
    // Assess: one launch of 60, by the cycle that first saw the jobs.
    expect([first.status, duplicate.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(first.events.filter((e) => e.type === 'StateRetried' && e.state.name === 'ScaleUp')).toHaveLength(
      1,
    );
    expect(ec2.fleetsLaunched).toHaveLength(1);
    expect(ec2.live()).toHaveLength(60);
    // Slots two seconds apart from 0 s to the deadline at 60 s: 31, shared by the two executions, each
    // instance claimed by one of them.
    const registeredFirst = registrationOf(first).registered + registrationOf(duplicate).registered;
    expect(registeredFirst).toBe(31);
    expect(registrationOf(first).elsewhere + registrationOf(duplicate).elsewhere).toBeGreaterThan(0);

    // The next cycle finds the other 30 unregistered, queues them first and registers them.
    const second = await cycle(1);
    expect(planOf(second).pools[0]).toMatchObject({ queued: 60, booting: 60, launch: 0, unregistered: 29 });
    expect(registrationOf(second)).toMatchObject({ registered: 29, queue: [] });

    // Every one of the 60 registered, each with exactly one request to GitHub: no 409 needed.
    expect(new Set(github.runners.map((runner) => runner.name)).size).toBe(60);
    expect(github.registrationAttempts).toHaveLength(60);
    expect(new Set(github.registrationAttempts).size).toBe(60);
    expect(github.runners.map((runner) => runner.name).sort()).toEqual(ec2.liveRunnerNames('stepscale'));
  });

  it('a secondary rate limit with retry-after pauses every registration, and the next cycle registers the rest', async () => {
    // Prepare: GitHub refuses the fourth registration with retry-after 90 s (past this cycle's deadline).
    class LimitedOnce extends FakeGitHub {
      override async createJitRunner(request: JitRunnerRequest): Promise<JitRegistration> {
        if (this.registrationAttempts.length === 3 && !this.limited) {
          this.limited = true;
          this.registrationAttempts.push(request.name);
          throw new GitHubRateLimitError('secondary rate limit (retry-after 90 s)', 90);
        }
        return super.createJitRunner(request);
      }
      limited = false;
    }
    const github = new LimitedOnce();
    const { ec2, cycle } = setup({ queued: 10, github });
    // Act
    const first = await cycle(0);
    const second = await cycle(1);
    // Assess: nothing lost, nothing terminated; the pause showed in the plan and the trace's output.
    expect(registrationOf(first)).toMatchObject({
      registered: 3,
      failed: 0,
      waitingFor: 'github-rate-limit',
    });
    expect(registrationOf(first).queue[0]?.instanceIds).toHaveLength(7);
    // Refused at 3 s, paused until 93 s: the second cycle (60 s to its deadline at 120 s) had slots from 93 s.
    expect(planOf(second).budgets.writes).toMatchObject({ slots: 28, registrations: 7, deferred: 0 });
    expect(registrationOf(second)).toMatchObject({ registered: 7, failed: 0, queue: [] });
    expect(ec2.live()).toHaveLength(10);
    expect(new Set(github.runners.map((runner) => runner.name)).size).toBe(10);
  });

  it('an instance whose config never comes is marked and terminated as an orphan; the job is launched for again', async () => {
    // Prepare: every registration is refused for an hour.
    class NeverRegisters extends FakeGitHub {
      override async createJitRunner(request: JitRunnerRequest): Promise<JitRegistration> {
        this.registrationAttempts.push(request.name);
        throw new GitHubRateLimitError('secondary rate limit (retry-after 3600 s)', 3600);
      }
    }
    const { ec2, github, cycle } = setup({ queued: 2, github: new NeverRegisters() });
    // Act: a cycle a minute for seven minutes (boot timeout 300 s).
    const results = [];
    for (let minute = 0; minute <= 6; minute += 1) results.push(await cycle(minute));
    // Assess
    const [firstLaunch] = ec2.fleetsLaunched;
    const originals = ec2.live().length > 0 ? [...ec2.instances.keys()].slice(0, 2) : [];
    expect(firstLaunch).toBeDefined();
    // One attempt for the first instance, then the pause held every writer off.
    expect(github.registrationAttempts).toHaveLength(1);
    // Waiting, not orphaned, while younger than the boot timeout: queued for registration again each cycle.
    expect(planOf(results[4] as (typeof results)[number]).pools[0]).toMatchObject({
      booting: 2,
      unregistered: 2,
    });
    // At 300 s they are orphans: marked by the cycle at 5 min, terminated by the one at 6 min.
    expect(planOf(results[5] as (typeof results)[number]).cleanup.orphansToMark.sort()).toEqual(
      originals.sort(),
    );
    expect(planOf(results[6] as (typeof results)[number]).cleanup.orphansToTerminate.sort()).toEqual(
      originals.sort(),
    );
    for (const id of originals) expect(ec2.instances.get(id)?.state).toBe('terminated');
    // The two jobs still wait: the cycle that saw the orphans launched for them again.
    expect(planOf(results[5] as (typeof results)[number]).launches).toEqual([
      { pool: 'linux-x64', count: 2 },
    ]);
  });
});
