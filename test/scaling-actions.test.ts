import { describe, expect, it } from 'vitest';
import { MemoryWriteBudget } from '../functions/adapters/memory-write-budget.ts';
import { noScaleSets } from '../functions/adapters/no-scale-sets.ts';
import { type ScaleSetState, scaleSetStateKey } from '../functions/core/job-source.ts';
import {
  GitHubRateLimitError,
  GitHubRequestError,
  GitHubUnavailableError,
  ScaleSetRunnerBusyError,
} from '../functions/errors.ts';
import { registerRunners } from '../functions/handlers/register-runners.ts';
import { scaleDown } from '../functions/handlers/scale-down.ts';
import { launchToken, scaleUp } from '../functions/handlers/scale-up.ts';
import type { JitRunnerRequest } from '../functions/ports/github.ts';
import type { ScaleSetPort } from '../functions/ports/scale-sets.ts';
import type { MemoryFleet } from '../local/world/fleet.ts';
import { FakeGitHub, testDeps, testPool } from './support/fakes.ts';

function testDepsWithBudget(github: FakeGitHub) {
  const probe = testDeps({ github });
  const writeBudget = new MemoryWriteBudget(1000, probe.clock.now);
  return { ...testDeps({ github, writeBudget }), writeBudget };
}

/** The cycle start a launch request carries (the `stepscale:created-at` tag). */
const launchCreatedAt = '2026-01-05T09:00:00.000Z';

const cycle = {
  id: '2026-01-05T09:00:00Z',
  startedAt: '2026-01-05T09:00:00.512Z',
  mapConcurrency: 4,
};
const noCleanup = { orphansToMark: [], orphansToTerminate: [], ghosts: [], staleRunnerConfigs: [] };

/** ScaleUp's queue as the registration loop's first input. */
const progressOf = (output: { registrations: { pool: string; instanceIds: string[] }[] }) => ({
  queue: output.registrations,
});

describe('ScaleUp', () => {
  it('launches and queues the new instances for registration, registering nothing itself', async () => {
    // Prepare
    const { deps, github, fleet, runnerConfigs } = testDeps();
    // Act
    const output = await scaleUp(deps)({ cycle, launches: [{ pool: 'linux-x64', count: 3 }] });
    // Assess
    const ids = fleet.live().map((instance) => instance.id);
    expect(output).toEqual({
      launched: 3,
      missing: 0,
      started: 0,
      startFailed: 0,
      prepared: 0,
      instanceIds: ids,
      registrations: [{ pool: 'linux-x64', instanceIds: ids }],
      toRegister: 3,
    });
    expect(github.runners).toEqual([]);
    expect(await runnerConfigs.list()).toEqual([]);
  });

  it('queues instances earlier cycles left unregistered before its own, each once', async () => {
    const { deps, fleet } = testDeps();
    const output = await scaleUp(deps)({
      cycle,
      launches: [{ pool: 'linux-x64', count: 1 }],
      registrations: [{ pool: 'linux-x64', instanceIds: ['i-00000000000000a01'] }],
    });
    const launched = fleet.live().map((instance) => instance.id);
    expect(output.registrations).toEqual([
      { pool: 'linux-x64', instanceIds: ['i-00000000000000a01', ...launched] },
    ]);
    expect(output.toRegister).toBe(2);
  });

  it('changes nothing when it starts too late in its cycle: the scaling lease may be ending', async () => {
    const { deps, fleet, clock } = testDeps();
    clock.advance(56);
    const output = await scaleUp(deps)({
      cycle,
      launches: [{ pool: 'linux-x64', count: 2 }],
      registrations: [{ pool: 'linux-x64', instanceIds: ['i-00000000000000a01'] }],
    });
    expect(output).toMatchObject({ launched: 0, missing: 2, toRegister: 1 });
    expect(fleet.live()).toEqual([]);
  });

  it('on a retry gets the same instances back', async () => {
    const { deps, fleet } = testDeps();
    const first = await scaleUp(deps)({ cycle, launches: [{ pool: 'linux-x64', count: 2 }] });
    const retry = await scaleUp(deps)({ cycle, launches: [{ pool: 'linux-x64', count: 2 }] });
    expect(retry).toEqual(first);
    expect(fleet.live()).toHaveLength(2);
  });

  it('derives a launch token from the cycle and pool: stable, distinct and short enough for a suffix', () => {
    expect(launchToken('c1', 'x64')).toBe(launchToken('c1', 'x64'));
    expect(launchToken('c1', 'x64')).not.toBe(launchToken('c2', 'x64'));
    expect(launchToken('c1', 'x64')).not.toBe(launchToken('c1', 'arm64'));
    expect(launchToken('c1', 'x64')).toMatch(/^[0-9a-f]{40}$/);
  });

  it('rejects malformed input with a named error', async () => {
    const { deps } = testDeps();
    await expect(
      scaleUp(deps)({ cycle, launches: [{ pool: 'linux-x64', count: -1 }] }),
    ).rejects.toMatchObject({
      name: 'InvalidTaskInputError',
    });
  });
});

describe('ScaleUp: warm pools', () => {
  /** `count` ready warm instances in the fleet: prepared, powered off by themselves, stopped. */
  async function readyInstances(fleet: MemoryFleet, count: number) {
    const { instanceIds } = await fleet.prepare({
      pool: 'linux-x64',
      count,
      clientToken: 'earlier-cycle',
      createdAt: '2026-01-05T08:00:00.000Z',
    });
    for (const id of instanceIds) {
      fleet.shutDown(id);
      fleet.markStopped(id);
    }
    return instanceIds;
  }

  it('starts ready instances first and queues them with the launches; a capacity refusal is launched fresh', async () => {
    // Prepare
    const { deps, fleet } = testDeps();
    const [a, b] = await readyInstances(fleet, 2);
    fleet.setStartCapacity('linux-x64', 1);

    // Act
    const output = await scaleUp(deps)({
      cycle,
      launches: [{ pool: 'linux-x64', count: 1 }],
      starts: [{ pool: 'linux-x64', instanceIds: [a, b] }],
      prepares: [{ pool: 'linux-x64', count: 2, templateVersion: 7 }],
    });

    // Assess
    expect(output).toMatchObject({ started: 1, startFailed: 1, launched: 2, prepared: 2, missing: 0 });
    // The refused one is terminated: tagged started, it must never count as ready again.
    expect(fleet.get(b as string)?.terminatedAt).toBeDefined();
    const launches = fleet.calls.filter((call) => call.method === 'launch').map((call) => call.detail);
    expect(launches).toEqual([
      expect.objectContaining({ count: 1, clientToken: launchToken(cycle.id, 'linux-x64') }),
      expect.objectContaining({
        count: 1,
        clientToken: launchToken(cycle.id, 'linux-x64\u0000start-fallback'),
      }),
    ]);
    // Started first, then what was launched; the prepared ones register nothing (they power off).
    const queued = output.registrations[0]?.instanceIds ?? [];
    expect(queued[0]).toBe(a);
    expect(queued).toHaveLength(3);
    const prepared = fleet.live().filter((i) => i.warm?.stage === 'preparing' && i.state === 'pending');
    expect(prepared.map((i) => i.warm?.templateVersion)).toEqual([7, 7]);
    expect(queued.some((id) => prepared.some((i) => i.id === id))).toBe(false);
  });

  it('on a retry starts and launches nothing twice', async () => {
    const { deps, fleet } = testDeps();
    const [a] = await readyInstances(fleet, 1);
    const input = {
      cycle,
      launches: [],
      starts: [{ pool: 'linux-x64', instanceIds: [a] }],
      prepares: [{ pool: 'linux-x64', count: 1 }],
    };
    const first = await scaleUp(deps)(input);
    const retry = await scaleUp(deps)(input);
    expect(retry.registrations).toEqual(first.registrations);
    expect(fleet.live()).toHaveLength(2);
  });
});

describe('RegisterRunners', () => {
  it('registers each queued instance as a just-in-time runner and stores its config, a write slot apart', async () => {
    // Prepare
    const { deps, github, fleet, runnerConfigs, clock } = testDeps();
    const launched = await scaleUp(deps)({ cycle, launches: [{ pool: 'linux-x64', count: 3 }] });
    const started = clock.now().getTime();
    // Act
    const output = await registerRunners(deps)({ cycle, progress: progressOf(launched) });
    // Assess
    const ids = fleet.live().map((instance) => instance.id);
    expect(output).toEqual({ queue: [], registered: 3, failed: 0, elsewhere: 0, slices: 1, more: false });
    expect(github.runners.map((runner) => [runner.name, runner.status, runner.labels])).toEqual(
      ids.map((id) => [`stepscale-${id}`, 'offline', ['self-hosted', 'linux', 'x64']]),
    );
    expect((await runnerConfigs.list()).map((config) => config.instanceId)).toEqual(ids);
    expect(runnerConfigs.take(ids[0] as string)).toBe(`jit-secret-for-stepscale-${ids[0]}`);
    // github.writesPerMinute 60: the third write went out two seconds after the first.
    expect(clock.now().getTime() - started).toBe(2000);
  });

  it('keeps the JIT config out of its output', async () => {
    const { deps } = testDeps();
    const launched = await scaleUp(deps)({ cycle, launches: [{ pool: 'linux-x64', count: 2 }] });
    const output = await registerRunners(deps)({ cycle, progress: progressOf(launched) });
    expect(JSON.stringify(output)).not.toContain('jit-secret');
  });

  it('terminates an instance whose runner cannot be registered, and keeps the others', async () => {
    // Prepare: GitHub fails the second registration.
    const github = new FakeGitHub();
    let calls = 0;
    const register = github.createJitRunner.bind(github);
    github.createJitRunner = async (request: JitRunnerRequest) => {
      calls += 1;
      if (calls === 2) throw new GitHubUnavailableError('502');
      return register(request);
    };
    const { deps, fleet } = testDeps({ github });
    const launched = await scaleUp(deps)({ cycle, launches: [{ pool: 'linux-x64', count: 3 }] });
    // Act
    const output = await registerRunners(deps)({ cycle, progress: progressOf(launched) });
    // Assess
    expect(output).toMatchObject({ registered: 2, failed: 1, queue: [] });
    expect(fleet.live()).toHaveLength(2);
    expect(fleet.calls.filter((call) => call.method === 'terminate')).toHaveLength(1);
  });

  it('on a retry counts existing registrations (409) as done', async () => {
    // Prepare: a first attempt went through completely; the port reports a name that exists (GitHub's 409).
    const github = new FakeGitHub();
    const { deps } = testDeps({ github });
    const launched = await scaleUp(deps)({ cycle, launches: [{ pool: 'linux-x64', count: 2 }] });
    await registerRunners(deps)({ cycle, progress: progressOf(launched) });
    const register = github.createJitRunner.bind(github);
    github.createJitRunner = async (request: JitRunnerRequest) => {
      if (github.runners.some((runner) => runner.name === request.name)) {
        return { alreadyRegistered: true } as const;
      }
      return register(request);
    };
    // Act
    const retry = await registerRunners(deps)({ cycle, progress: progressOf(launched) });
    // Assess
    expect(retry).toMatchObject({ registered: 2, failed: 0, queue: [] });
    expect(github.runners).toHaveLength(2);
  });

  it('leaves an instance another cycle has claimed to that cycle', async () => {
    const { deps, github, stateStore } = testDeps();
    const launched = await scaleUp(deps)({ cycle, launches: [{ pool: 'linux-x64', count: 2 }] });
    const [first] = launched.instanceIds;
    await stateStore.acquireLease(`registration:${first}`, 'another-cycle', new Date(Date.now() + 3_600_000));
    const output = await registerRunners(deps)({ cycle, progress: progressOf(launched) });
    expect(output).toMatchObject({ registered: 1, elsewhere: 1, queue: [] });
    expect(github.runners.map((runner) => runner.name)).not.toContain(`stepscale-${first}`);
  });

  it('works through the queue round robin across pools, so every pool gets its share of the writes', async () => {
    const arm = { ...testPool, name: 'linux-arm64', labels: ['self-hosted', 'linux', 'arm64'] };
    const { deps, github } = testDeps({ config: { pools: [testPool, arm] } });
    const x64 = ['i-00000000000000a01', 'i-00000000000000a02', 'i-00000000000000a03'];
    const arm64 = ['i-00000000000000b01'];
    await registerRunners(deps)({
      cycle,
      progress: {
        queue: [
          { pool: 'linux-x64', instanceIds: x64 },
          { pool: 'linux-arm64', instanceIds: arm64 },
        ],
      },
    });
    expect(github.runners.map((runner) => runner.name.replace('stepscale-', ''))).toEqual([
      'i-00000000000000a01',
      'i-00000000000000b01',
      'i-00000000000000a02',
      'i-00000000000000a03',
    ]);
  });

  it('stops at the end of its slice and hands what is left to the next invocation', async () => {
    // writesPerMinute 2: one slot every 30 s, so a 20 s slice holds one write.
    const { deps, fleet } = testDeps({
      config: { github: { url: 'https://github.com', org: 'acme', writesPerMinute: 2 } },
    });
    const launched = await scaleUp(deps)({ cycle, launches: [{ pool: 'linux-x64', count: 4 }] });
    const first = await registerRunners(deps)({ cycle, progress: progressOf(launched) });
    expect(first).toMatchObject({ registered: 1, slices: 1, more: true });
    const second = await registerRunners(deps)({ cycle, progress: first });
    expect(second).toMatchObject({ registered: 2, slices: 2, more: true });
    const third = await registerRunners(deps)({ cycle, progress: second });
    expect(third).toMatchObject({ registered: 3, slices: 3, more: true });
    // The fourth slot would be 90 s after the first, past the cycle's registration deadline (the next cycle
    // is due 60 s after this one started and takes over).
    const fourth = await registerRunners(deps)({ cycle, progress: third });
    expect(fourth).toMatchObject({ registered: 3, slices: 4, more: false, waitingFor: 'write-budget' });
    expect(fourth.queue).toEqual([{ pool: 'linux-x64', instanceIds: [fleet.live()[3]?.id] }]);
  });

  it('pauses every writer when GitHub answers with a rate limit it could not wait out, losing nothing', async () => {
    const github = new FakeGitHub();
    const register = github.createJitRunner.bind(github);
    let limited = false;
    github.createJitRunner = async (request: JitRunnerRequest) => {
      if (!limited) {
        limited = true;
        throw new GitHubRateLimitError('secondary rate limit', 120);
      }
      return register(request);
    };
    const { deps, writeBudget } = testDepsWithBudget(github);
    const launched = await scaleUp(deps)({ cycle, launches: [{ pool: 'linux-x64', count: 2 }] });
    const output = await registerRunners(deps)({ cycle, progress: progressOf(launched) });
    expect(output).toMatchObject({ registered: 0, failed: 0, more: false, waitingFor: 'github-rate-limit' });
    expect(output.queue[0]?.instanceIds).toHaveLength(2);
    // Nobody writes before GitHub's retry-after has passed.
    expect(await writeBudget.reserve(new Date(deps.now().getTime() + 119_000))).toBeUndefined();
  });
});

describe('ScaleDown', () => {
  /**
   * Launches `count` linux-x64 instances, each with an online idle runner (runner id 1, 2, …) carrying
   * `labels`, and the removals Decide would plan for all of them.
   */
  async function launchIdleRunners(
    setup: { fleet: MemoryFleet; github: FakeGitHub },
    count: number,
    labels: string[],
  ) {
    const { instanceIds } = await setup.fleet.launch({
      pool: 'linux-x64',
      count,
      clientToken: 'earlier',
      createdAt: launchCreatedAt,
    });
    setup.github.runners = instanceIds.map((id, i) => ({
      id: i + 1,
      name: `stepscale-${id}`,
      status: 'online' as const,
      busy: false,
      labels,
    }));
    const removals = instanceIds.map((instanceId, i) => ({
      pool: 'linux-x64',
      runnerId: i + 1,
      runnerName: `stepscale-${instanceId}`,
      instanceId,
    }));
    return { instanceIds, removals };
  }

  async function withIdleRunners(count: number) {
    const setup = testDeps();
    return { ...setup, ...(await launchIdleRunners(setup, count, ['self-hosted', 'linux', 'x64'])) };
  }

  it('removes nothing when it starts too late in its cycle, and still gives the lease back', async () => {
    const { deps, github, fleet, removals, clock, stateStore } = await withIdleRunners(2);
    await stateStore.acquireLease('scaling-lease', cycle.id, new Date(deps.now().getTime() + 90_000));
    clock.advance(56);
    const output = await scaleDown(deps)({ cycle, removals, cleanup: noCleanup });
    expect(output).toMatchObject({ terminated: 0, deferred: 2 });
    expect(github.deleted).toEqual([]);
    expect(fleet.live()).toHaveLength(2);
    expect(await stateStore.acquireLease('scaling-lease', 'next-cycle', new Date())).toEqual({
      acquired: true,
    });
  });

  it('deregisters first, then terminates', async () => {
    const { deps, github, fleet, removals } = await withIdleRunners(2);
    const output = await scaleDown(deps)({ cycle, removals, cleanup: noCleanup });
    expect(output).toMatchObject({ terminated: 2, skipped: 0, failed: 0 });
    expect(github.deleted).toEqual([1, 2]);
    expect(fleet.live()).toHaveLength(0);
  });

  it('leaves a runner that turned busy since Decide looked, and its instance', async () => {
    const { deps, github, fleet, removals } = await withIdleRunners(2);
    github.runners[0] = { ...(github.runners[0] as (typeof github.runners)[number]), busy: true };
    const output = await scaleDown(deps)({ cycle, removals, cleanup: noCleanup });
    expect(output).toMatchObject({ terminated: 1, skipped: 1, terminatedByPool: { 'linux-x64': 1 } });
    expect(github.deleted).toEqual([2]);
    expect(fleet.live().map((instance) => instance.id)).toEqual([removals[0]?.instanceId]);
  });

  it('keeps the instance when GitHub refuses the deregistration (the runner took a job)', async () => {
    const { deps, github, fleet, removals } = await withIdleRunners(1);
    github.deleteRunner = async () => {
      throw new GitHubRequestError('Runner is still running a job', 422);
    };
    const output = await scaleDown(deps)({ cycle, removals, cleanup: noCleanup });
    expect(output).toMatchObject({ terminated: 0, failed: 1, terminatedByPool: {} });
    expect(fleet.live()).toHaveLength(1);
  });

  describe('a pool on its runner scale set', () => {
    /** The pool on jobSource scaleset, its scale set (id 7) as the listener stored it, and a recording port. */
    async function onScaleSet(count: number, refuse: (runnerId: number) => boolean = () => false) {
      const removed: number[] = [];
      const scaleSets: ScaleSetPort = {
        ...noScaleSets,
        removeRunner: async (runnerId) => {
          if (refuse(runnerId)) throw new ScaleSetRunnerBusyError('runner 1 is running a job');
          removed.push(runnerId);
        },
      };
      const setup = testDeps({ scaleSets, config: { jobSource: 'scaleset' } });
      const now = setup.deps.now().toISOString();
      const state: ScaleSetState = {
        name: 'linux-x64',
        scaleSetId: 7,
        available: true,
        statistics: {
          assignedJobs: 0,
          runningJobs: 0,
          availableJobs: 0,
          registeredRunners: count,
          busyRunners: 0,
          idleRunners: count,
        },
        statisticsAt: now,
        updatedAt: now,
      };
      await setup.stateStore.putMany(
        [{ key: scaleSetStateKey(setup.deps.config.stack, 'linux-x64'), value: state }],
        3600,
      );
      const { removals } = await launchIdleRunners(setup, count, ['linux-x64']);
      return { ...setup, removals, removed };
    }

    it('removes its runners through the scale set’s runner API, not GitHub’s REST API, then terminates', async () => {
      const { deps, github, fleet, removals, removed } = await onScaleSet(2);
      const output = await scaleDown(deps)({ cycle, removals, cleanup: noCleanup });
      expect(output).toMatchObject({ terminated: 2, skipped: 0, failed: 0 });
      expect(removed).toEqual([1, 2]);
      expect(github.deleted).toEqual([]);
      expect(fleet.live()).toHaveLength(0);
    });

    it('keeps a runner the scale set refuses to remove (it took a job), and its instance', async () => {
      const { deps, github, fleet, removals, removed } = await onScaleSet(2, (id) => id === 1);
      const output = await scaleDown(deps)({ cycle, removals, cleanup: noCleanup });
      expect(output).toMatchObject({ terminated: 1, skipped: 1, failed: 0 });
      expect(removed).toEqual([2]);
      expect(github.deleted).toEqual([]);
      expect(fleet.live().map((instance) => instance.id)).toEqual([removals[0]?.instanceId]);
    });
  });

  it('terminates orphans still unregistered, spares one whose runner came online since it was marked', async () => {
    const { deps, github, fleet, instanceIds } = await withIdleRunners(2);
    github.runners = [github.runners[1] as (typeof github.runners)[number]]; // first instance never registered
    const output = await scaleDown(deps)({
      cycle,
      removals: [],
      cleanup: { ...noCleanup, orphansToTerminate: instanceIds },
    });
    expect(output).toMatchObject({ orphansTerminated: 1 });
    expect(fleet.live().map((instance) => instance.id)).toEqual([instanceIds[1]]);
  });

  it('marks new orphans and deletes ghosts that are still offline', async () => {
    const { deps, github, fleet, instanceIds } = await withIdleRunners(1);
    github.runners.push(
      { id: 10, name: 'stepscale-i-0000000dead', status: 'offline', busy: false, labels: [] },
      { id: 11, name: 'stepscale-i-0000000back', status: 'online', busy: false, labels: [] },
    );
    const markedAt = deps.now().toISOString();
    const output = await scaleDown(deps)({
      cycle,
      removals: [],
      cleanup: {
        ...noCleanup,
        orphansToMark: instanceIds,
        ghosts: [
          { runnerId: 10, runnerName: 'stepscale-i-0000000dead' },
          { runnerId: 11, runnerName: 'stepscale-i-0000000back' },
        ],
      },
    });
    expect(output).toMatchObject({ orphansMarked: 1, ghostsRemoved: 1 });
    expect(github.deleted).toEqual([10]);
    expect(fleet.live()[0]?.orphanedSince).toBe(markedAt);
  });
});
