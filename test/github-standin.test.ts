import { describe, expect, it } from 'vitest';
import { GitHubState, GitHubStateError } from '../local/world/github.ts';
import { githubStandins } from './support/github-fixtures.ts';

const token = 'standin-token';
// The routes' own behaviour, without GitHub's secondary limits (tested on their own below).
const { serve } = githubStandins(token, { secondaryLimits: false });

function get(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { headers: { authorization: `token ${token}`, ...headers } });
}

function send(url: string, method: string, body?: unknown): Promise<Response> {
  return fetch(url, {
    method,
    headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function orgWithRepos(count: number): GitHubState {
  const state = new GitHubState({ org: 'acme' });
  for (let i = 1; i <= count; i += 1) state.addRepo(`repo-${i}`);
  return state;
}

describe('GitHubState', () => {
  it('hands out sequential ids per kind', () => {
    const state = orgWithRepos(2);
    const first = state.addRun('repo-1');
    const second = state.addRun('repo-2');
    const jobs = [state.addJob(first.id, { labels: ['a'] }), state.addJob(second.id, { labels: ['b'] })];
    expect([first.id, second.id]).toEqual([1, 2]);
    expect(jobs.map((job) => job.id)).toEqual([1, 2]);
    expect(state.registerRunner({ name: 'r', labels: [] }).id).toBe(1);
  });

  it('derives the run status from its jobs as they start and finish', () => {
    const state = orgWithRepos(1);
    const run = state.addRun('repo-1');
    const [a, b] = [state.addJob(run.id, { labels: ['x'] }), state.addJob(run.id, { labels: ['x'] })];
    const runner = state.registerRunner({ name: 'r1', labels: ['x'] });

    state.assignJob(a.id, runner.id);
    expect(state.getRun(run.id)?.status).toBe('in_progress');
    expect(state.getJob(a.id)).toMatchObject({
      status: 'in_progress',
      runnerId: runner.id,
      runnerName: 'r1',
    });
    expect(state.getRunner(runner.id)?.busy).toBe(true);

    state.completeJob(a.id);
    expect(state.getRun(run.id)?.status).toBe('in_progress');
    expect(state.getRunner(runner.id)?.busy).toBe(false);

    state.completeJob(b.id, 'failure');
    expect(state.getRun(run.id)).toMatchObject({ status: 'completed', conclusion: 'failure' });
  });

  it('unregisters an ephemeral runner once its job completes', () => {
    const state = orgWithRepos(1);
    const job = state.addJob(state.addRun('repo-1').id, { labels: ['x'] });
    const runner = state.registerRunner({ name: 'once', labels: ['x'], ephemeral: true });
    state.assignJob(job.id, runner.id);
    state.completeJob(job.id);
    expect(state.getRunner(runner.id)).toBeUndefined();
  });

  it('cancels every unfinished job of a run and frees their runners', () => {
    const state = orgWithRepos(1);
    const run = state.addRun('repo-1');
    const running = state.addJob(run.id, { labels: ['x'] });
    const waiting = state.addJob(run.id, { labels: ['x'], status: 'waiting' });
    const runner = state.registerRunner({ name: 'r1', labels: ['x'] });
    state.assignJob(running.id, runner.id);

    state.cancelRun(run.id);
    expect(state.getRun(run.id)).toMatchObject({ status: 'completed', conclusion: 'cancelled' });
    expect([state.getJob(running.id)?.conclusion, state.getJob(waiting.id)?.conclusion]).toEqual([
      'cancelled',
      'cancelled',
    ]);
    expect(state.getRunner(runner.id)?.busy).toBe(false);
  });

  it('refuses impossible transitions', () => {
    const state = orgWithRepos(1);
    const job = state.addJob(state.addRun('repo-1').id, { labels: ['x'], status: 'waiting' });
    const runner = state.registerRunner({ name: 'r1', labels: ['x'] });
    expect(() => state.assignJob(job.id, runner.id)).toThrow(GitHubStateError);
    expect(() => state.addRun('missing')).toThrow(GitHubStateError);
    expect(() => state.registerRunner({ name: 'r1', labels: [] })).toThrow(GitHubStateError);
  });

  it('gives each label name one id, whatever its case, and marks GitHub default labels read-only', () => {
    const state = orgWithRepos(0);
    const a = state.registerRunner({ name: 'a', labels: ['self-hosted', 'GPU'] });
    const b = state.registerRunner({ name: 'b', labels: ['gpu', 'Linux'] });
    expect(a.labels).toEqual([
      { id: 1, name: 'self-hosted', type: 'read-only' },
      { id: 2, name: 'GPU', type: 'custom' },
    ]);
    expect(b.labels).toEqual([
      { id: 2, name: 'gpu', type: 'custom' },
      { id: 3, name: 'Linux', type: 'read-only' },
    ]);
  });
});

describe('GitHub stand-in server', () => {
  it('serves the API both at the root and under the GHES prefix, recording paths without the prefix', async () => {
    const standin = await serve(orgWithRepos(1), { pathPrefix: '/api/v3' });
    expect(standin.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v3$/);
    const root = standin.url.replace(/\/api\/v3$/, '');

    const viaPrefix = await get(`${standin.url}/orgs/acme/repos`);
    const viaRoot = await get(`${root}/orgs/acme/repos`);
    expect(await viaPrefix.json()).toEqual(await viaRoot.json());
    expect(standin.requests).toEqual([
      { method: 'GET', path: '/orgs/acme/repos', query: {}, headers: { accept: '*/*' } },
      { method: 'GET', path: '/orgs/acme/repos', query: {}, headers: { accept: '*/*' } },
    ]);
  });

  it('pages 30 by default and links every page from the request’s own prefix', async () => {
    const standin = await serve(orgWithRepos(95), { pathPrefix: '/api/v3' });
    const first = await get(`${standin.url}/orgs/acme/repos`);
    expect((await first.json()) as unknown[]).toHaveLength(30);
    expect(first.headers.get('link')).toBe(
      `<${standin.url}/orgs/acme/repos?page=2>; rel="next", <${standin.url}/orgs/acme/repos?page=4>; rel="last"`,
    );

    const middle = await get(`${standin.url}/orgs/acme/repos?per_page=30&page=2`);
    const base = `${standin.url}/orgs/acme/repos?per_page=30`;
    expect(middle.headers.get('link')).toBe(
      `<${base}&page=1>; rel="prev", <${base}&page=3>; rel="next", <${base}&page=4>; rel="last", <${base}&page=1>; rel="first"`,
    );

    const last = await get(`${standin.url}/orgs/acme/repos?page=4`);
    // GitHub's default order for this listing is `created`, newest first.
    expect(((await last.json()) as { name: string }[]).map((repo) => repo.name)).toEqual([
      'repo-5',
      'repo-4',
      'repo-3',
      'repo-2',
      'repo-1',
    ]);
    expect(last.headers.get('link')).not.toContain('rel="next"');
  });

  it('clamps per_page to 100 and omits Link when everything fits on one page', async () => {
    const standin = await serve(orgWithRepos(150));
    const clamped = await get(`${standin.url}/orgs/acme/repos?per_page=500`);
    expect((await clamped.json()) as unknown[]).toHaveLength(100);

    const small = await serve(orgWithRepos(3));
    const single = await get(`${small.url}/orgs/acme/repos?per_page=100`);
    expect(single.headers.get('link')).toBeNull();
  });

  it('shapes repositories like GitHub, bare for the org and wrapped for an installation', async () => {
    const state = new GitHubState({ org: 'acme' });
    state.addRepo({ name: 'old', archived: true });
    const standin = await serve(state);
    expect(await (await get(`${standin.url}/orgs/acme/repos`)).json()).toEqual([
      {
        id: 1,
        name: 'old',
        full_name: 'acme/old',
        owner: { login: 'acme', type: 'Organization' },
        private: true,
        archived: true,
        disabled: false,
      },
    ]);
    expect(await (await get(`${standin.url}/installation/repositories`)).json()).toMatchObject({
      total_count: 1,
      repositories: [{ name: 'old' }],
    });
  });

  it('filters runs by status or conclusion, newest first, and rejects an unknown status', async () => {
    const state = orgWithRepos(1);
    state.addRun('repo-1', 'queued');
    state.addRun('repo-1', 'in_progress');
    state.addRun('repo-1', 'queued');
    const done = state.addRun('repo-1', 'in_progress');
    state.completeJob(state.addJob(done.id, { labels: ['x'] }).id);
    const standin = await serve(state);
    const runs = `${standin.url}/repos/acme/repo-1/actions/runs`;

    const queued = (await (await get(`${runs}?status=queued`)).json()) as {
      total_count: number;
      workflow_runs: { id: number; status: string; run_attempt: number }[];
    };
    expect(queued.total_count).toBe(2);
    expect(queued.workflow_runs.map((run) => [run.id, run.status, run.run_attempt])).toEqual([
      [3, 'queued', 1],
      [1, 'queued', 1],
    ]);
    const success = (await (await get(`${runs}?status=success`)).json()) as {
      workflow_runs: { id: number }[];
    };
    expect(success.workflow_runs.map((run) => run.id)).toEqual([4]);
    expect((await get(`${runs}?status=sideways`)).status).toBe(422);
  });

  it('lists the jobs of the latest attempt, or of all attempts, and rejects an unknown filter', async () => {
    const state = orgWithRepos(1);
    const run = state.addRun('repo-1');
    state.completeJob(state.addJob(run.id, { labels: ['self-hosted', 'Linux'] }).id, 'failure');
    state.rerun(run.id);
    const standin = await serve(state);
    const jobs = `${standin.url}/repos/acme/repo-1/actions/runs/${run.id}/jobs`;

    const latest = (await (await get(`${jobs}?filter=latest`)).json()) as {
      total_count: number;
      jobs: unknown[];
    };
    expect(latest).toEqual({
      total_count: 1,
      jobs: [
        expect.objectContaining({
          id: 2,
          run_id: run.id,
          run_attempt: 2,
          status: 'queued',
          conclusion: null,
          labels: ['self-hosted', 'Linux'],
          runner_id: null,
          runner_name: null,
        }),
      ],
    });
    expect(((await (await get(`${jobs}?filter=all`)).json()) as { total_count: number }).total_count).toBe(2);
    expect((await get(`${jobs}?filter=newest`)).status).toBe(422);
  });

  it('answers unknown paths, repositories and organizations with GitHub’s 404 JSON', async () => {
    const standin = await serve(orgWithRepos(1));
    for (const path of [
      '/nope',
      '/repos/acme/missing/actions/runs',
      '/orgs/other/repos',
      '/repos/acme/repo-1/actions/runs/9/jobs',
    ]) {
      const response = await get(`${standin.url}${path}`);
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({
        message: 'Not Found',
        documentation_url: expect.any(String),
      });
    }
  });

  it('requires the configured token, as `token` or `Bearer`', async () => {
    const standin = await serve(orgWithRepos(1));
    const denied = await fetch(`${standin.url}/orgs/acme/repos`, {
      headers: { authorization: 'token wrong' },
    });
    expect(denied.status).toBe(401);
    expect(await denied.json()).toMatchObject({ message: 'Bad credentials' });
    const bearer = await fetch(`${standin.url}/orgs/acme/repos`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(bearer.status).toBe(200);
  });

  it('sends JSON, rate-limit headers and a weak ETag, and answers a matching If-None-Match with an empty 304', async () => {
    const standin = await serve(orgWithRepos(2));
    const first = await get(`${standin.url}/orgs/acme/repos`);
    const etag = first.headers.get('etag') ?? '';
    expect(etag).toMatch(/^W\/"[0-9a-f]{64}"$/);
    expect(first.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(first.headers.get('x-ratelimit-limit')).toBe('5000');
    expect(first.headers.get('x-ratelimit-used')).toBe('1');
    expect(first.headers.get('x-ratelimit-resource')).toBe('core');
    expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);

    const again = await get(`${standin.url}/orgs/acme/repos`, { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('x-ratelimit-used')).toBe('1');

    const rate = (await (await get(`${standin.url}/rate_limit`)).json()) as {
      rate: { used: number; remaining: number };
    };
    expect(rate.rate).toMatchObject({ used: 1, remaining: 4999 });
  });

  it('reads, deletes and refuses to delete busy runners like GitHub', async () => {
    const state = orgWithRepos(0);
    const idle = state.registerRunner({ name: 'idle', labels: ['self-hosted'] });
    const busy = state.registerRunner({ name: 'busy', labels: ['self-hosted'], busy: true });
    const standin = await serve(state);
    const runners = `${standin.url}/orgs/acme/actions/runners`;

    expect(await (await get(`${runners}/${idle.id}`)).json()).toEqual({
      id: idle.id,
      name: 'idle',
      os: 'Linux',
      status: 'online',
      busy: false,
      ephemeral: false,
      runner_group_id: 1,
      labels: [{ id: 1, name: 'self-hosted', type: 'read-only' }],
    });
    expect(((await (await get(`${runners}?name=busy`)).json()) as { total_count: number }).total_count).toBe(
      1,
    );
    expect((await send(`${runners}/${busy.id}`, 'DELETE')).status).toBe(422);
    expect((await send(`${runners}/${idle.id}`, 'DELETE')).status).toBe(204);
    expect((await send(`${runners}/${idle.id}`, 'DELETE')).status).toBe(404);
    expect(state.listRunners().map((runner) => runner.name)).toEqual(['busy']);
  });

  it('generates a JIT config that registers an offline ephemeral runner', async () => {
    const state = orgWithRepos(0);
    const standin = await serve(state);
    const url = `${standin.url}/orgs/acme/actions/runners/generate-jitconfig`;
    const request = { name: 'stepscale-i-1', runner_group_id: 1, labels: ['self-hosted', 'linux'] };

    const created = await send(url, 'POST', request);
    expect(created.status).toBe(201);
    const body = (await created.json()) as { runner: unknown; encoded_jit_config: string };
    expect(body.runner).toMatchObject({
      name: 'stepscale-i-1',
      status: 'offline',
      busy: false,
      ephemeral: true,
    });
    expect(Buffer.from(body.encoded_jit_config, 'base64').toString()).toContain('stepscale-i-1');
    expect(state.runnerByName('stepscale-i-1')?.status).toBe('offline');

    expect((await send(url, 'POST', request)).status).toBe(409);
    expect((await send(url, 'POST', { ...request, name: 'other', labels: [] })).status).toBe(422);
  });

  it('answers from the fault hook before routing, and records the request', async () => {
    let failures = 1;
    const standin = await serve(orgWithRepos(1), {
      faults: () => (failures-- > 0 ? { status: 502, headers: { 'retry-after': '1' } } : undefined),
    });
    const failed = await get(`${standin.url}/orgs/acme/repos`);
    expect(failed.status).toBe(502);
    expect(failed.headers.get('retry-after')).toBe('1');
    expect(await failed.json()).toMatchObject({ message: 'Bad Gateway' });
    expect((await get(`${standin.url}/orgs/acme/repos`)).status).toBe(200);
    expect(standin.requests).toHaveLength(2);
  });

  it('delays every response by latencyMs', async () => {
    const standin = await serve(orgWithRepos(1), { latencyMs: 60 });
    const started = performance.now();
    await get(`${standin.url}/orgs/acme/repos`);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });
});
