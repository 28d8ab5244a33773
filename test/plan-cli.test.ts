import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../functions/cli/stepscale.ts';
import { startGitHubStandin } from '../local/github-standin/server.ts';
import { GitHubState } from '../local/world/github.ts';

const token = 'ghp_plan_test_token';
/** scaleUp.maxLaunchesPerCycle in the test config: shared fairly by the pools. */
const perCycle = 100;
const x64 = ['self-hosted', 'linux', 'x64'];

/**
 * A large org: 300 repositories (one archived), one repository with 130 queued runs, a matrix run with
 * 150 jobs of which 120 are still queued inside the in-progress run, mixed-case labels, GitHub-hosted jobs,
 * runs awaiting approval and completed runs, and 120 runners.
 */
function largeOrg(): { state: GitHubState; expected: { x64: number; arm: number; unmatched: number } } {
  const state = new GitHubState({ org: 'acme', now: () => new Date('2026-01-05T09:00:00Z') });
  for (let i = 0; i < 300; i += 1)
    state.addRepo({ name: `repo-${String(i).padStart(3, '0')}`, archived: i === 299 });
  let x64Queued = 0;
  let armQueued = 0;
  let unmatched = 0;

  for (let i = 0; i < 130; i += 1) {
    const run = state.addRun('repo-001', 'queued');
    state.addJob(run.id, {
      labels: i % 2 ? ['SELF-HOSTED', 'Linux', 'X64'] : ['self-hosted', 'linux', 'ARM64'],
    });
    if (i % 2) x64Queued += 1;
    else armQueued += 1;
  }
  const matrix = state.addRun('repo-002', 'in_progress');
  for (let i = 0; i < 150; i += 1) {
    const job = state.addJob(matrix.id, { labels: x64, status: i < 30 ? 'in_progress' : 'queued' });
    if (i >= 30) x64Queued += 1;
    void job;
  }
  for (let i = 10; i < 298; i += 7) {
    const hosted = state.addRun(`repo-${String(i).padStart(3, '0')}`, 'queued');
    state.addJob(hosted.id, { labels: ['ubuntu-latest'] });
    unmatched += 1;
    state.addJob(hosted.id, { labels: ['self-hosted', 'Linux'] }); // first pool covers it
    x64Queued += 1;
  }
  const waiting = state.addRun('repo-003', 'waiting');
  state.addJob(waiting.id, { labels: x64, status: 'waiting' });
  const done = state.addRun('repo-004', 'completed');
  state.addJob(done.id, { labels: x64, status: 'completed' });
  // The archived repository is skipped, whatever it holds.
  const archived = state.addRun('repo-299', 'queued');
  state.addJob(archived.id, { labels: x64 });

  for (let i = 0; i < 120; i += 1) {
    state.registerRunner({
      name: `manual-${i}`,
      labels: i < 100 ? x64 : ['self-hosted', 'linux', 'arm64'],
      busy: i % 3 === 0,
    });
  }
  return { state, expected: { x64: x64Queued, arm: armQueued, unmatched } };
}

describe('stepscale plan', () => {
  let standin: Awaited<ReturnType<typeof startGitHubStandin>>;
  let configPath: string;
  let expected: ReturnType<typeof largeOrg>['expected'];
  // 100 x64 runners of a maximum of 150: 50 fit, fewer than the demand and than the cycle's budget.
  const x64Launch = () => Math.min(expected.x64 + 2 - 66, 150 - 100, perCycle);
  const ec2 = mockClient(EC2Client);

  beforeAll(async () => {
    const org = largeOrg();
    expected = org.expected;
    standin = await startGitHubStandin({ state: org.state, pathPrefix: '/api/v3', token });
    const dir = await mkdtemp(join(tmpdir(), 'stepscale-plan-'));
    configPath = join(dir, 'config.json');
    await writeFile(
      configPath,
      JSON.stringify({
        github: { url: standin.url.replace(/\/api\/v3\/?$/, ''), org: 'acme' },
        pools: [
          {
            name: 'linux-x64',
            labels: x64,
            maxRunners: 150,
            minIdle: 2,
            instanceTypes: ['m7i.large'],
            launchTemplate: 'lt-1',
            subnets: ['subnet-0a'],
          },
          {
            name: 'linux-arm64',
            labels: ['self-hosted', 'linux', 'arm64'],
            maxRunners: 50,
            instanceTypes: ['m7g.large'],
            launchTemplate: 'lt-2',
            subnets: ['subnet-0a'],
          },
        ],
        scaleUp: { maxLaunchesPerCycle: perCycle },
      }),
    );
  });
  afterAll(() => standin.close());
  beforeEach(() => ec2.reset());

  async function run(args: string[], env: NodeJS.ProcessEnv = { GITHUB_TOKEN: token }) {
    let stdout = '';
    let stderr = '';
    const code = await main(args, {
      env,
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
    });
    return { code, stdout, stderr };
  }

  it('prints exact per-pool numbers as one JSON object, reading GitHub only', async () => {
    // Act
    const before = standin.requests.length;
    const { code, stdout, stderr } = await run(['plan', '--config', configPath, '--no-ec2', '--json']);
    // Assess
    expect(stderr).toBe('');
    expect(code).toBe(0);
    // 100 x64 runners (34 busy, 66 idle), 20 arm64 runners (6 busy, 14 idle); all foreign, so never removed.
    expect(JSON.parse(stdout)).toEqual({
      pools: [
        {
          name: 'linux-x64',
          queued: expected.x64,
          idle: 66,
          busy: 34,
          booting: 0,
          launch: x64Launch(),
          terminate: 0,
        },
        {
          name: 'linux-arm64',
          queued: expected.arm,
          idle: 14,
          busy: 6,
          booting: 0,
          launch: Math.min(expected.arm - 14, 50 - 20, perCycle - x64Launch()),
          terminate: 0,
        },
      ],
      unmatched: expected.unmatched,
    });
    const requests = standin.requests.slice(before);
    expect(requests.filter((request) => request.method !== 'GET')).toEqual([]);
  });

  it('counts booting instances read from EC2 by the stack tag', async () => {
    // Prepare
    // Two of the stack's arm64 instances, not yet registered as runners: booting.
    const armInstance = (InstanceId: string, state: 'pending' | 'running') => ({
      InstanceId,
      State: { Name: state },
      LaunchTime: new Date(),
      Tags: [
        { Key: 'stepscale:stack', Value: 'stepscale' },
        { Key: 'stepscale:pool', Value: 'linux-arm64' },
      ],
    });
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [armInstance('i-0aaa', 'pending'), armInstance('i-0bbb', 'running')] }],
    });
    // Act
    const { code, stdout } = await run(['plan', '--config', configPath, '--json']);
    // Assess
    expect(code).toBe(0);
    const arm = JSON.parse(stdout).pools[1];
    expect(arm).toMatchObject({
      booting: 2,
      launch: Math.min(expected.arm - 14 - 2, 50 - 22, perCycle - x64Launch()),
    });
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters).toEqual([
      { Name: 'tag:stepscale:stack', Values: ['stepscale'] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ]);
  });

  it('prints a table by default', async () => {
    const { code, stdout } = await run(['plan', '--config', configPath, '--no-ec2']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/299 repositories read/);
    expect(stdout).toMatch(/linux-x64\s+\d+\s+66\s+34\s+0/);
    expect(stdout).toContain('Nothing was changed');
  });

  it.each([
    [['plan'], 2, /--config FILE is required/],
    [['plan', '--config', 'x.json', '--bogus'], 2, /Unknown option '--bogus'/],
    [['scale'], 2, /unknown command "scale"/],
    [['plan', '--config', '/nonexistent/stepscale.json'], 2, /cannot be read \(ENOENT\)/],
  ])('rejects %j with exit %i and a clear message', async (args, exitCode, message) => {
    const { code, stderr } = await run(args);
    expect(code).toBe(exitCode);
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('needs GITHUB_TOKEN', async () => {
    const { code, stderr } = await run(['plan', '--config', configPath, '--no-ec2'], {});
    expect(code).toBe(2);
    expect(stderr).toMatch(/GITHUB_TOKEN: is not set/);
  });

  it('reports a wrong token as a GitHub authentication failure', async () => {
    const { code, stderr } = await run(['plan', '--config', configPath, '--no-ec2'], {
      GITHUB_TOKEN: 'wrong',
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(/GitHubAuthError/);
  });
});

describe('stepscale plan: two pools in one burst', () => {
  // The example: linux-x64 max 20, linux-arm64 max 5, 123 x64 and 130 arm64 jobs queued.
  let standin: Awaited<ReturnType<typeof startGitHubStandin>>;
  let dir: string;

  beforeAll(async () => {
    const state = new GitHubState({ org: 'acme', now: () => new Date('2026-01-05T09:00:00Z') });
    state.addRepo('builds');
    const x64Run = state.addRun('builds', 'queued');
    for (let i = 0; i < 123; i += 1) state.addJob(x64Run.id, { labels: x64 });
    const armRun = state.addRun('builds', 'queued');
    for (let i = 0; i < 130; i += 1) state.addJob(armRun.id, { labels: ['self-hosted', 'linux', 'arm64'] });
    standin = await startGitHubStandin({ state, pathPrefix: '/api/v3', token });
    dir = await mkdtemp(join(tmpdir(), 'stepscale-plan-two-'));
  });
  afterAll(() => standin.close());

  async function planWith(extra: Record<string, unknown>, format: '--json' | '--table' = '--json') {
    const path = join(dir, `config-${Object.keys(extra).length}.json`);
    const pool = (name: string, labels: string[], maxRunners: number) => ({
      name,
      labels,
      maxRunners,
      instanceTypes: ['m7i.large'],
      launchTemplate: 'lt-1',
      subnets: ['subnet-0a'],
    });
    await writeFile(
      path,
      JSON.stringify({
        github: { url: standin.url.replace(/\/api\/v3\/?$/, ''), org: 'acme' },
        pools: [pool('linux-x64', x64, 20), pool('linux-arm64', ['self-hosted', 'linux', 'arm64'], 5)],
        ...extra,
      }),
    );
    let stdout = '';
    const code = await main(
      ['plan', '--config', path, '--no-ec2', ...(format === '--json' ? ['--json'] : [])],
      {
        env: { GITHUB_TOKEN: token },
        stdout: (text) => (stdout += text),
        stderr: () => {},
      },
    );
    expect(code).toBe(0);
    if (format === '--table') return stdout;
    return (JSON.parse(stdout) as { pools: { name: string; launch: number }[] }).pools.map((p) => [
      p.name,
      p.launch,
    ]);
  }

  it('launches for both pools in the same cycle', async () => {
    expect(await planWith({})).toEqual([
      ['linux-x64', 20],
      ['linux-arm64', 5],
    ]);
  });

  it('shares a per-cycle cap fairly, not first pool first', async () => {
    // 20 launches for 20 + 5 wanted: the smaller ask is met, the rest goes to the larger.
    expect(await planWith({ scaleUp: { maxLaunchesPerCycle: 20 } })).toEqual([
      ['linux-x64', 15],
      ['linux-arm64', 5],
    ]);
    expect(await planWith({ scaleUp: { maxLaunchesPerCycle: 20 } }, '--table')).toContain(
      '25 launches wanted, 20 this cycle (per-cycle cap 20, shared fairly by the pools)',
    );
  });
});
