import { describe, expect, it } from 'vitest';
import { GitHubRequestError, GitHubUnavailableError } from '../functions/adapters/github-errors.ts';
import { scaleDown } from '../functions/handlers/scale-down.ts';
import { launchToken, scaleUp } from '../functions/handlers/scale-up.ts';
import type { JitRunnerRequest } from '../functions/ports/github.ts';
import { FakeGitHub, testDeps } from './support/fakes.ts';

/** The cycle start a launch request carries (the `stepscale:created-at` tag). */
const launchCreatedAt = '2026-01-05T09:00:00.000Z';

const cycle = {
  id: '2026-01-05T09:00:00Z',
  startedAt: '2026-01-05T09:00:00.512Z',
  mapConcurrency: 4,
  registrationWaitSeconds: 0,
};
const noCleanup = { orphansToMark: [], orphansToTerminate: [], ghosts: [], staleRunnerConfigs: [] };

describe('ScaleUp', () => {
  it('registers every launched instance as a just-in-time runner and stores its config', async () => {
    // Prepare
    const { deps, github, fleet, runnerConfigs } = testDeps();
    // Act
    const output = await scaleUp(deps)({ cycle, launches: [{ pool: 'linux-x64', count: 3 }] });
    // Assess
    const ids = fleet.live().map((instance) => instance.id);
    expect(output).toEqual({ launched: 3, missing: 0, registrationFailed: 0, instanceIds: ids });
    expect(github.runners.map((runner) => [runner.name, runner.status, runner.labels])).toEqual(
      ids.map((id) => [`stepscale-${id}`, 'offline', ['self-hosted', 'linux', 'x64']]),
    );
    expect((await runnerConfigs.list()).map((config) => config.instanceId)).toEqual(ids);
    expect(runnerConfigs.take(ids[0] as string)).toBe(`jit-secret-for-stepscale-${ids[0]}`);
  });

  it('keeps the JIT config out of its output', async () => {
    const { deps } = testDeps();
    const output = await scaleUp(deps)({ cycle, launches: [{ pool: 'linux-x64', count: 2 }] });
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
    // Act
    const output = await scaleUp(deps)({ cycle, launches: [{ pool: 'linux-x64', count: 3 }] });
    // Assess
    expect(output).toMatchObject({ launched: 2, registrationFailed: 1 });
    expect(fleet.live()).toHaveLength(2);
    expect(fleet.calls.filter((call) => call.method === 'terminate')).toHaveLength(1);
  });

  it('on a retry gets the same instances back and counts existing registrations (409) as done', async () => {
    // Prepare: a first attempt went through completely.
    const github = new FakeGitHub();
    const { deps, fleet } = testDeps({ github });
    const first = await scaleUp(deps)({ cycle, launches: [{ pool: 'linux-x64', count: 2 }] });
    const register = github.createJitRunner.bind(github);
    github.createJitRunner = async (request: JitRunnerRequest) => {
      if (github.runners.some((runner) => runner.name === request.name)) {
        throw new GitHubRequestError('Already exists - A runner with the same name', 409);
      }
      return register(request);
    };
    // Act
    const retry = await scaleUp(deps)({ cycle, launches: [{ pool: 'linux-x64', count: 2 }] });
    // Assess
    expect(retry).toEqual(first);
    expect(fleet.live()).toHaveLength(2);
    expect(github.runners).toHaveLength(2);
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

describe('ScaleDown', () => {
  async function withIdleRunners(count: number) {
    const setup = testDeps();
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
      labels: ['self-hosted', 'linux', 'x64'],
    }));
    const removals = instanceIds.map((instanceId, i) => ({
      pool: 'linux-x64',
      runnerId: i + 1,
      runnerName: `stepscale-${instanceId}`,
      instanceId,
    }));
    return { ...setup, instanceIds, removals };
  }

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
    expect(output).toMatchObject({ terminated: 1, skipped: 1 });
    expect(github.deleted).toEqual([2]);
    expect(fleet.live().map((instance) => instance.id)).toEqual([removals[0]?.instanceId]);
  });

  it('keeps the instance when GitHub refuses the deregistration (the runner took a job)', async () => {
    const { deps, github, fleet, removals } = await withIdleRunners(1);
    github.deleteRunner = async () => {
      throw new GitHubRequestError('Runner is still running a job', 422);
    };
    const output = await scaleDown(deps)({ cycle, removals, cleanup: noCleanup });
    expect(output).toMatchObject({ terminated: 0, failed: 1 });
    expect(fleet.live()).toHaveLength(1);
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
    expect(fleet.live()[0]?.orphanedSince).toBe(deps.now().toISOString());
  });
});
