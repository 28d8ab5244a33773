/**
 * The command line with runner scale sets: `plan` tells each pool's source and why (read-only), `scaleset list`
 * shows the scale sets, `scaleset delete POOL` is the one thing that deletes one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isActionsServicePath } from '../local/github-standin/actions-service.ts';
import { type GitHubStandin, startGitHubStandin } from '../local/github-standin/server.ts';
import type { World } from '../local/world/world.ts';
import { contractWorld as worldAt } from './scaleset-contract.ts';
import { linuxX64Pool, runStepscale, writeConfigFile } from './support/cli-fixtures.ts';

/** The CLI judges token expiries on the wall clock: the world's clock starts at the real time here. */
const contractWorld = (actions: Parameters<typeof worldAt>[0] = {}) =>
  worldAt(actions, new Date().toISOString());

const token = 'ghp_scaleset_cli';
const x64 = ['self-hosted', 'linux', 'x64'];
const started: GitHubStandin[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((standin) => standin.close()));
});

async function setup(world: World, jobSource: 'poll' | 'scaleset' | 'auto') {
  const standin = await startGitHubStandin({
    state: world.github,
    token,
    pathPrefix: '/api/v3',
    secondaryLimits: false,
    actions: { service: world.actions, longPollMs: 0 },
  });
  started.push(standin);
  const configPath = await writeConfigFile('stepscale-scaleset-cli-', {
    github: { url: standin.url.replace(/\/api\/v3$/, ''), org: 'acme' },
    jobSource,
    pools: [linuxX64Pool({ maxRunners: 10 })],
  });
  const run = (args: string[]) => runStepscale(args, token);
  return { standin, configPath, run };
}

/** A scale set for the pool with two jobs assigned (acquired through a session, closed again). */
function withAssignedJobs(world: World): number {
  const set = world.actions.createScaleSet({ name: 'linux-x64', labels: x64 });
  const session = world.actions.createSession(set.id, 'test');
  world.addRun({ repo: 'app', jobs: [1, 2].map(() => ({ labels: x64, durationMs: 60_000 })) });
  const offer = world.actions.nextMessage(session, 0);
  world.actions.acquireJobs(
    session,
    (offer?.message.jobs ?? []).map((job) => job.runnerRequestId),
  );
  world.actions.deleteSession(set.id, session.sessionId);
  return set.id;
}

describe('stepscale plan with scale sets', () => {
  it('uses the scale set’s statistics (auto, scale sets served), says why, and changes nothing', async () => {
    // Prepare
    const world = contractWorld();
    const id = withAssignedJobs(world);
    const { run, configPath, standin } = await setup(world, 'auto');

    // Act
    const { code, stdout, stderr } = await run(['plan', '--config', configPath, '--no-ec2', '--json']);

    // Assess
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.pools).toEqual([
      expect.objectContaining({ name: 'linux-x64', source: 'scaleset', queued: 2, launch: 2 }),
    ]);
    expect(report.sources['linux-x64']).toEqual({ source: 'scaleset', reason: 'scale set linux-x64' });
    // Read-only: a registration token and its trade are all it sent besides reads; no session, no scale set.
    const changes = standin.requests.filter((request) => request.method !== 'GET');
    expect(changes.map((request) => request.path)).toEqual([
      '/orgs/acme/actions/runners/registration-token',
      '/actions/runner-registration',
    ]);
    expect(world.actions.listScaleSets().map((set) => set.id)).toEqual([id]);
    // No REST repository scan either: the only pool's demand came from its scale set.
    expect(standin.requests.some((request) => request.path.includes('/actions/runs'))).toBe(false);
  });

  it('polls with auto where GitHub has no scale sets (GHES before 3.9), and tells why', async () => {
    // Prepare
    const { run, configPath } = await setup(contractWorld({ scaleSets: false }), 'auto');

    // Act
    const { code, stdout } = await run(['plan', '--config', configPath, '--no-ec2']);

    // Assess
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /linux-x64: poll — auto: scale sets unavailable \(runner-registration answered 404/,
    );
  });

  it('plans nothing for a scaleset pool whose scale set does not exist yet, and says the listener creates it', async () => {
    // Prepare
    const { run, configPath, standin } = await setup(contractWorld(), 'scaleset');

    // Act
    const { code, stdout } = await run(['plan', '--config', configPath, '--no-ec2']);

    // Assess
    expect(code).toBe(0);
    expect(stdout).toContain(
      'linux-x64: none — scale set linux-x64 does not exist yet: the listener creates it',
    );
    expect(
      standin.requests.filter((request) => isActionsServicePath(request.path) && request.method === 'POST'),
    ).toHaveLength(1);
  });
});

describe('stepscale scaleset', () => {
  it('lists each pool’s scale set with its labels and statistics', async () => {
    // Prepare
    const world = contractWorld();
    const id = withAssignedJobs(world);
    const { run, configPath } = await setup(world, 'scaleset');

    // Act
    const { code, stdout } = await run(['scaleset', 'list', '--config', configPath, '--json']);

    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(stdout).scaleSets).toEqual([
      expect.objectContaining({
        pool: 'linux-x64',
        jobSource: 'scaleset',
        id,
        labels: ['linux-x64', ...x64],
        labelsDropped: false,
        statistics: expect.objectContaining({ assignedJobs: 2 }),
      }),
    ]);
  });

  it('deletes a pool’s scale set only when asked, and refuses while the listener would create it again', async () => {
    // Prepare
    const world = contractWorld();
    withAssignedJobs(world);
    const { run, configPath } = await setup(world, 'scaleset');

    // Act
    const refused = await run(['scaleset', 'delete', 'linux-x64', '--config', configPath]);
    const kept = world.actions.listScaleSets().length;
    const forced = await run(['scaleset', 'delete', 'linux-x64', '--config', configPath, '--force']);
    const again = await run(['scaleset', 'delete', 'linux-x64', '--config', configPath, '--force']);

    // Assess
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      'jobSource scaleset: the listener would create scale set "linux-x64" again',
    );
    expect(kept).toBe(1);
    expect(forced).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('Deleted scale set "linux-x64"'),
    });
    expect(world.actions.listScaleSets()).toEqual([]);
    expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining('nothing to delete') });
  });

  it('refuses bad usage with exit 2, and says plainly when GitHub has no scale sets', async () => {
    // Prepare
    const { run, configPath } = await setup(contractWorld({ scaleSets: false }), 'poll');

    // Act
    const usage = await run(['scaleset', 'delete', '--config', configPath]);
    const unknown = await run(['scaleset', 'delete', 'nope', '--config', configPath]);
    const unserved = await run(['scaleset', 'list', '--config', configPath]);

    // Assess
    expect(usage).toMatchObject({ code: 2, stderr: expect.stringContaining('scaleset delete needs a POOL') });
    expect(unknown.code).toBe(1);
    expect(unserved).toMatchObject({ code: 1, stderr: expect.stringContaining('has no runner scale sets') });
  });
});
