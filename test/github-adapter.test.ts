import { describe, expect, it } from 'vitest';
import {
  GitHubAuthError,
  GitHubRateLimitError,
  GitHubRequestError,
  GitHubUnavailableError,
  GitHubWriteRefusedError,
} from '../functions/errors.ts';
import type { FaultResponse, GitHubStandin, RecordedRequest } from '../local/github-standin/server.ts';
import { GitHubState } from '../local/world/github.ts';
import { fastRetry, githubStandins } from './support/github-fixtures.ts';

const token = 'adapter-token';
const { serve, adapterFor } = githubStandins(token);

function newOrg(): GitHubState {
  return new GitHubState({ org: 'acme' });
}

const jobListings = (standin: GitHubStandin) =>
  standin.requests.filter((request) => request.path.endsWith('/jobs'));
const writes = (standin: GitHubStandin) => standin.requests.filter((request) => request.method !== 'GET');

/** Fails the first `count` matching requests with `fault`, then lets them through. */
function failFirst(
  count: number,
  fault: FaultResponse,
  matches: (request: RecordedRequest) => boolean = () => true,
) {
  let remaining = count;
  return (request: RecordedRequest) => (matches(request) && remaining-- > 0 ? fault : undefined);
}

const secondaryLimit: FaultResponse = {
  status: 403,
  headers: { 'retry-after': '1' },
  body: JSON.stringify({
    message: 'You have exceeded a secondary rate limit.',
    documentation_url: 'https://docs.github.com',
  }),
};

describe('GitHub adapter: listing repositories', () => {
  it('reads every page and skips archived and disabled repositories', async () => {
    const state = newOrg();
    for (let i = 1; i <= 250; i += 1) {
      state.addRepo({ name: `repo-${i}`, archived: i === 7, disabled: i === 200 });
    }
    const standin = await serve(state);

    const names = await adapterFor(standin).listRepositories();
    expect(names).toHaveLength(248);
    expect(names).not.toContain('repo-7');
    expect(names).not.toContain('repo-200');
    // Newest first (explicitly), so an added repository always changes the first page's ETag.
    const order = { sort: 'created', direction: 'desc' };
    const [first, ...rest] = standin.requests.map((request) => request.query);
    expect(first).toEqual({ ...order, per_page: '100' });
    // The first page's Link header names the last one: the others are asked for at once, in any order.
    expect(rest.sort((a, b) => Number(a.page) - Number(b.page))).toEqual([
      { ...order, per_page: '100', page: '2' },
      { ...order, per_page: '100', page: '3' },
    ]);
  });
});

describe('GitHub adapter: queued jobs', () => {
  it('counts only queued jobs of queued and in-progress runs, labels as given', async () => {
    const state = newOrg();
    state.addRepo('app');
    const matrix = state.addRun('app', 'in_progress');
    state.addJob(matrix.id, { labels: ['self-hosted', 'linux'], status: 'in_progress' });
    state.addJob(matrix.id, { labels: ['self-hosted', 'linux'], status: 'completed' });
    const hidden = state.addJob(matrix.id, { labels: ['Self-Hosted', 'Linux', 'X64'] });
    state.addJob(matrix.id, { labels: ['self-hosted'], status: 'waiting' });
    // Given to a runner that has not started it: still `queued`, but its runner already counts as busy.
    const handedOver = state.addJob(matrix.id, { labels: ['self-hosted', 'linux'] });
    state.handOver(handedOver.id, state.registerRunner({ name: 'r1', labels: ['self-hosted', 'linux'] }).id);
    const fresh = state.addRun('app', 'queued');
    const waiting = state.addJob(fresh.id, { labels: ['self-hosted', 'GPU'] });
    const approval = state.addRun('app', 'waiting');
    state.addJob(approval.id, { labels: ['self-hosted'], status: 'waiting' });
    const done = state.addRun('app', 'completed');
    state.addJob(done.id, { labels: ['self-hosted'], status: 'completed' });
    const standin = await serve(state);

    const seen: number[] = [];
    const jobs = await adapterFor(standin).listQueuedJobs('app', ({ activeRuns }) => seen.push(activeRuns));
    expect(jobs).toEqual([
      { id: waiting.id, runId: fresh.id, labels: ['self-hosted', 'GPU'] },
      { id: hidden.id, runId: matrix.id, labels: ['Self-Hosted', 'Linux', 'X64'] },
    ]);
    // It tells how many runs' jobs it lists: the governor holds the jobs endpoint to the secondary limit.
    expect(seen).toEqual([2]);
    // Waiting and completed runs are never listed, so their jobs are never fetched.
    expect(jobListings(standin).map((request) => request.path)).toEqual([
      `/repos/acme/app/actions/runs/${fresh.id}/jobs`,
      `/repos/acme/app/actions/runs/${matrix.id}/jobs`,
    ]);
    expect(jobListings(standin).every((request) => request.query.filter === 'latest')).toBe(true);
  });

  it('reads every page of runs and of jobs', async () => {
    const state = newOrg();
    state.addRepo('big');
    for (let i = 0; i < 105; i += 1)
      state.addJob(state.addRun('big', 'queued').id, { labels: ['self-hosted'] });
    for (let i = 0; i < 3; i += 1) {
      const run = state.addRun('big', 'in_progress');
      state.addJob(run.id, { labels: ['self-hosted'], status: 'in_progress' });
      state.addJob(run.id, { labels: ['self-hosted'] });
    }
    const huge = state.addRun('big', 'in_progress');
    for (let i = 0; i < 250; i += 1) {
      state.addJob(huge.id, { labels: ['self-hosted'], status: i % 5 === 0 ? 'in_progress' : 'queued' });
    }
    const standin = await serve(state);

    const jobs = await adapterFor(standin).listQueuedJobs('big');
    expect(jobs).toHaveLength(105 + 3 + 200);
    expect(new Set(jobs.map((job) => job.id)).size).toBe(jobs.length);
    const runPages = standin.requests.filter((request) => request.path.endsWith('/runs'));
    expect(runPages.map((request) => `${request.query.status}:${request.query.page ?? '1'}`).sort()).toEqual([
      'in_progress:1',
      'queued:1',
      'queued:2',
    ]);
    expect(jobListings(standin).filter((request) => request.path.includes(`/runs/${huge.id}/`))).toHaveLength(
      3,
    );
  });

  it('fetches the jobs of a run listed as both queued and in progress once', async () => {
    const state = newOrg();
    state.addRepo('app');
    const moving = state.addRun('app', 'queued');
    state.addJob(moving.id, { labels: ['self-hosted'] });
    const standin = await serve(state, {
      // The run starts between the two listings: the in_progress listing shows it too.
      faults: (request) =>
        request.path === '/repos/acme/app/actions/runs' && request.query.status === 'in_progress'
          ? {
              status: 200,
              body: JSON.stringify({
                total_count: 1,
                workflow_runs: [{ id: moving.id, status: 'in_progress' }],
              }),
            }
          : undefined,
    });

    expect(await adapterFor(standin).listQueuedJobs('app')).toHaveLength(1);
    expect(jobListings(standin)).toHaveLength(1);
  });

  it('fetches the jobs of several runs concurrently, at most eight at a time', async () => {
    const state = newOrg();
    state.addRepo('app');
    for (let i = 0; i < 12; i += 1) state.addJob(state.addRun('app').id, { labels: ['self-hosted'] });
    // Slow enough that all eight are surely in flight together.
    const standin = await serve(state, { latencyMs: 60 });
    let inFlight = 0;
    let peak = 0;
    const countingFetch: typeof fetch = async (input, init) => {
      const counted = String(input).endsWith('/jobs?filter=latest&per_page=100');
      if (counted) peak = Math.max(peak, ++inFlight);
      try {
        return await fetch(input, init);
      } finally {
        if (counted) inFlight -= 1;
      }
    };

    expect(
      await adapterFor(standin, { request: { fetch: countingFetch } }).listQueuedJobs('app'),
    ).toHaveLength(12);
    expect(peak).toBe(8);
  });
});

describe('GitHub adapter: runners', () => {
  it('lists every page of runners with their label names', async () => {
    const state = newOrg();
    for (let i = 1; i <= 230; i += 1) {
      state.registerRunner({
        name: `runner-${i}`,
        labels: ['self-hosted', 'Linux', 'GPU'],
        busy: i % 2 === 0,
      });
    }
    state.setRunnerStatus(3, 'offline');
    const standin = await serve(state);

    const runners = await adapterFor(standin).listRunners();
    expect(runners).toHaveLength(230);
    expect(runners.slice(0, 3)).toEqual([
      { id: 1, name: 'runner-1', status: 'online', busy: false, labels: ['self-hosted', 'Linux', 'GPU'] },
      { id: 2, name: 'runner-2', status: 'online', busy: true, labels: ['self-hosted', 'Linux', 'GPU'] },
      { id: 3, name: 'runner-3', status: 'offline', busy: false, labels: ['self-hosted', 'Linux', 'GPU'] },
    ]);
    expect(standin.requests).toHaveLength(3);
  });

  it('re-reads one runner, and reports a missing one as undefined', async () => {
    const state = newOrg();
    const runner = state.registerRunner({ name: 'r1', labels: ['self-hosted'] });
    const standin = await serve(state);
    const github = adapterFor(standin);

    state.setRunnerBusy(runner.id, true);
    expect(await github.getRunner(runner.id)).toMatchObject({ id: runner.id, busy: true });
    expect(await github.getRunner(999)).toBeUndefined();
  });

  it('deletes a runner, treats an already deleted one as deleted, and reports a refusal', async () => {
    const state = newOrg();
    const idle = state.registerRunner({ name: 'idle', labels: ['self-hosted'] });
    const busy = state.registerRunner({ name: 'busy', labels: ['self-hosted'], busy: true });
    const standin = await serve(state);
    const github = adapterFor(standin);

    await github.deleteRunner(idle.id);
    expect(state.getRunner(idle.id)).toBeUndefined();
    await expect(github.deleteRunner(idle.id)).resolves.toBeUndefined();
    // GitHub refuses while the runner runs a job. (Writes are paced a second apart by default: keep them few.)
    const refusal = github.deleteRunner(busy.id);
    await expect(refusal).rejects.toBeInstanceOf(GitHubRequestError);
    await expect(refusal).rejects.toMatchObject({ name: 'GitHubRequestError', status: 422 });
  });
});

describe('GitHub adapter: just-in-time runners', () => {
  it('registers a runner in the named group and returns its secret config', async () => {
    const state = newOrg();
    const standin = await serve(state);

    const registration = await adapterFor(standin, { minWriteIntervalMs: 0 }).createJitRunner({
      name: 'stepscale-i-1',
      labels: ['self-hosted', 'linux'],
      runnerGroup: 'default', // group names match case-insensitively
    });

    expect(registration).toEqual({
      runnerId: expect.any(Number),
      encodedJitConfig: expect.any(String),
    });
    expect(state.runnerByName('stepscale-i-1')).toMatchObject({ status: 'offline', ephemeral: true });
  });

  it('resolves a name already registered (GitHub’s 409) as alreadyRegistered, with one request', async () => {
    // Prepare: an earlier attempt registered the runner.
    const state = newOrg();
    state.registerRunner({ name: 'stepscale-i-1', labels: ['self-hosted'] });
    const standin = await serve(state);

    // Act
    const registration = await adapterFor(standin, { minWriteIntervalMs: 0 }).createJitRunner({
      name: 'stepscale-i-1',
      labels: ['self-hosted'],
      runnerGroup: 'Default',
    });

    // Assess: no config (GitHub hands one out only once), nothing retried.
    expect(registration).toEqual({ alreadyRegistered: true });
    expect(writes(standin).map((request) => request.status)).toEqual([409]);
  });
});

describe('GitHub adapter: layouts and headers', () => {
  async function observe(pathPrefix?: string) {
    const state = newOrg();
    state.addRepo('app');
    state.addRepo({ name: 'gone', archived: true });
    const run = state.addRun('app', 'in_progress');
    state.addJob(run.id, { labels: ['self-hosted', 'Linux'] });
    state.registerRunner({ name: 'r1', labels: ['self-hosted', 'Linux'] });
    const standin = await serve(state, pathPrefix === undefined ? {} : { pathPrefix });
    const github = adapterFor(standin);
    const result = {
      repositories: await github.listRepositories(),
      jobs: await github.listQueuedJobs('app'),
      runners: await github.listRunners(),
    };
    return { standin, result };
  }

  it('works identically against the api.github.com layout and the GHES /api/v3 layout', async () => {
    const cloud = await observe();
    const ghes = await observe('/api/v3');
    expect(ghes.standin.url).toMatch(/\/api\/v3$/);
    expect(ghes.result).toEqual(cloud.result);
    expect(ghes.result.jobs).toHaveLength(1);
    expect(ghes.standin.requests).toEqual(cloud.standin.requests);
  });

  it('sends GitHub’s media type, API version and the token', async () => {
    const state = newOrg();
    const standin = await serve(state);
    const seen: Headers[] = [];
    const recordingFetch: typeof fetch = (input, init) => {
      seen.push(new Headers(init?.headers));
      return fetch(input, init);
    };

    await adapterFor(standin, { request: { fetch: recordingFetch } }).listRunners();
    expect(seen[0]?.get('accept')).toBe('application/vnd.github+json');
    expect(seen[0]?.get('x-github-api-version')).toBe('2022-11-28');
    expect(seen[0]?.get('authorization')).toBe(`token ${token}`);
    expect(seen[0]?.get('user-agent')).toMatch(/^stepscale /);
  });
});

describe('GitHub adapter: read-only mode', () => {
  it('refuses to delete a runner without sending anything, and still reads', async () => {
    const state = newOrg();
    const runner = state.registerRunner({ name: 'r1', labels: ['self-hosted'] });
    const standin = await serve(state);
    const github = adapterFor(standin, { readOnly: true });

    await expect(github.deleteRunner(runner.id)).rejects.toBeInstanceOf(GitHubWriteRefusedError);
    await expect(github.deleteRunner(runner.id)).rejects.toMatchObject({ name: 'GitHubWriteRefusedError' });
    expect(await github.listRunners()).toHaveLength(1);
    expect(writes(standin)).toEqual([]);
    expect(state.getRunner(runner.id)).toBeDefined();
  });
});

describe('GitHub adapter: failures', () => {
  it('retries a 502 and returns the exact result', async () => {
    const state = newOrg();
    for (let i = 1; i <= 150; i += 1) state.addRepo(`repo-${i}`);
    const standin = await serve(state, {
      faults: failFirst(1, { status: 502 }, (request) => request.query.page === '2'),
    });

    const names = await adapterFor(standin).listRepositories();
    expect(names).toEqual(
      state
        .listRepos()
        .map((repo) => repo.name)
        .sort(),
    );
    expect(standin.requests.map((request) => request.query.page ?? '1')).toEqual(['1', '2', '2']);
  });

  it('gives up on a persistent 5xx after its retries with GitHubUnavailableError', async () => {
    const standin = await serve(newOrg(), { faults: () => ({ status: 503 }) });
    const failure = adapterFor(standin, { retry: { ...fastRetry, serverErrorRetries: 2 } }).listRunners();
    await expect(failure).rejects.toBeInstanceOf(GitHubUnavailableError);
    await expect(failure).rejects.toMatchObject({
      name: 'GitHubUnavailableError',
      message: /listing runners.*503/,
    });
    expect(standin.requests).toHaveLength(3);
  });

  it('times out a hung attempt and reports GitHub as unavailable', async () => {
    const standin = await serve(newOrg(), { latencyMs: 300 });
    const github = adapterFor(standin, {
      attemptTimeoutMs: 30,
      retry: { ...fastRetry, serverErrorRetries: 1 },
    });
    await expect(github.listRunners()).rejects.toBeInstanceOf(GitHubUnavailableError);
    expect(standin.requests).toHaveLength(2);
  });

  it('reports bad credentials as GitHubAuthError without retrying', async () => {
    const standin = await serve(newOrg());
    const github = adapterFor(standin, { token: 'wrong' });
    await expect(github.listRepositories()).rejects.toBeInstanceOf(GitHubAuthError);
    expect(standin.requests).toHaveLength(1);
  });

  it('waits out a secondary rate limit, logging it', async () => {
    const state = newOrg();
    state.addRepo('app');
    const warnings: unknown[] = [];
    const standin = await serve(state, { faults: failFirst(1, secondaryLimit) });
    const logger = { debug: () => {}, warn: (...args: unknown[]) => warnings.push(args) };

    expect(await adapterFor(standin, { logger }).listRepositories()).toEqual(['app']);
    expect(standin.requests).toHaveLength(2);
    expect(warnings).toEqual([
      [
        'GitHub secondary rate limit hit',
        expect.objectContaining({ retryAfterSeconds: 1, retryCount: 0, willRetry: true }),
      ],
    ]);
  });

  it('stops waiting after its bounded retries with GitHubRateLimitError', async () => {
    const standin = await serve(newOrg(), { faults: () => secondaryLimit });
    const github = adapterFor(standin, { retry: { ...fastRetry, rateLimitRetries: 2 } });
    await expect(github.listRunners()).rejects.toBeInstanceOf(GitHubRateLimitError);
    expect(standin.requests).toHaveLength(3);
  });

  it('does not wait for a primary rate limit that resets too late', async () => {
    const resetInAnHour = String(Math.floor(Date.now() / 1000) + 3600);
    const standin = await serve(newOrg(), {
      faults: () => ({
        status: 403,
        headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': resetInAnHour },
        body: JSON.stringify({ message: 'API rate limit exceeded for user ID 1.' }),
      }),
    });
    await expect(adapterFor(standin).listRunners()).rejects.toBeInstanceOf(GitHubRateLimitError);
    expect(standin.requests).toHaveLength(1);
  });
});
