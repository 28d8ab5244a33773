/**
 * `stepscale plan` under GitHub faults (unknown flags and a missing token are in plan-cli.test.ts): an
 * unreachable GitHub is one clear line and exit 1; transient failures of a third of the requests, each
 * failing once, change nothing in the numbers printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transientGitHubFaults } from '../local/faults.ts';
import { type GitHubStandin, startGitHubStandin } from '../local/github-standin/server.ts';
import { GitHubState } from '../local/world/github.ts';
import { linuxX64Pool, runStepscale, writeConfigFile } from './support/cli-fixtures.ts';
import { closedPort } from './support/closed-port.ts';

const token = 'ghp_cli_faults_token';
const x64 = ['self-hosted', 'linux', 'x64'];

function configFile(url: string): Promise<string> {
  return writeConfigFile('stepscale-cli-faults-', {
    github: { url, org: 'acme' },
    pools: [linuxX64Pool({ maxRunners: 100, minIdle: 1 })],
  });
}

function plan(config: string) {
  return runStepscale(['plan', '--config', config, '--no-ec2', '--json'], token);
}

describe('stepscale plan: GitHub unreachable', () => {
  it('exits 1 with one clear line naming the failure, no stack trace', async () => {
    const config = await configFile(`http://127.0.0.1:${await closedPort()}`);
    const { code, stdout, stderr } = await plan(config);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(
      /^stepscale: GitHubUnavailableError: listing repositories failed \(HTTP 500\): connect ECONNREFUSED 127\.0\.0\.1:\d+\n$/,
    );
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});

describe('stepscale plan: a third of the requests fail once, transiently', () => {
  let standin: GitHubStandin;
  let config: string;
  let faulty = false;
  // The same injector as `npm start -- --faults`: every third distinct request fails once, rotating through
  // 502, 503, 429 and a 403 secondary limit (both with retry-after).
  const injector = transientGitHubFaults();

  beforeAll(async () => {
    // 40 repositories; every third has a queued run of 2 x64 jobs, every fifth an in-progress run with one
    // queued x64 job and a GitHub-hosted one; 4 idle runners of someone else's.
    const state = new GitHubState({ org: 'acme' });
    for (let i = 0; i < 40; i += 1) {
      const name = `repo-${i}`;
      state.addRepo(name);
      if (i % 3 === 0) {
        const run = state.addRun(name, 'queued');
        state.addJob(run.id, { labels: x64 });
        state.addJob(run.id, { labels: x64 });
      }
      if (i % 5 === 0) {
        const run = state.addRun(name, 'in_progress');
        state.addJob(run.id, { labels: x64, status: 'in_progress' });
        state.addJob(run.id, { labels: x64 });
        state.addJob(run.id, { labels: ['ubuntu-latest'] });
      }
    }
    for (let i = 0; i < 4; i += 1) state.registerRunner({ name: `manual-${i}`, labels: x64 });
    standin = await startGitHubStandin({
      state,
      token,
      pathPrefix: '/api/v3',
      faults: (request) => (faulty ? injector.hook(request) : undefined),
    });
    config = await configFile(standin.url.replace(/\/api\/v3$/, ''));
  });
  afterAll(() => standin.close());

  it('prints the same exact numbers as without faults, at exactly one extra request per fault', async () => {
    // Prepare: the numbers without faults.
    const clean = await plan(config);
    expect(clean.code).toBe(0);
    const cleanRequests = standin.requests.length;
    // Act
    faulty = true;
    const faulted = await plan(config);
    faulty = false;
    // Assess
    expect(faulted.stderr).toBe('');
    expect(faulted.code).toBe(0);
    expect(JSON.parse(faulted.stdout)).toEqual(JSON.parse(clean.stdout));
    // 14 repositories with 2 queued, 8 in progress with 1: 36; plus minIdle 1 less 4 idle is 33, all launched this
    // cycle (within scaleUp.maxLaunchesPerCycle, default 100).
    expect(JSON.parse(clean.stdout)).toEqual({
      pools: [{ name: 'linux-x64', queued: 36, idle: 4, busy: 0, booting: 0, launch: 33, terminate: 0 }],
      unmatched: 8,
    });
    const faultedRequests = standin.requests.slice(cleanRequests);
    expect(faultedRequests).toHaveLength(cleanRequests + injector.injected);
    expect(injector.injected / cleanRequests).toBeGreaterThanOrEqual(0.25);
    expect(new Set(faultedRequests.map((request) => request.status))).toEqual(
      new Set([200, 502, 503, 429, 403]),
    );
  });
});
