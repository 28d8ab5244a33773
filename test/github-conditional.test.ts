/**
 * Conditional requests (github-conditional.ts) through the real adapter, over HTTP against the stand-in,
 * which answers If-None-Match with 304 and charges the primary rate limit only for the rest.
 */

import pLimit from 'p-limit';
import { describe, expect, it } from 'vitest';
import { createGitHubAdapter, type GitHubClientOptions } from '../functions/adapters/github-octokit.ts';
import { MemoryStateStore } from '../functions/adapters/memory-state-store.ts';
import { GitHubRateLimitError } from '../functions/errors.ts';
import type { GitHubPort } from '../functions/ports/github.ts';
import type { StateStore } from '../functions/ports/state-store.ts';
import type { FaultResponse, GitHubStandin, RecordedRequest } from '../local/github-standin/server.ts';
import { GitHubState } from '../local/world/github.ts';
import { fastRetry, githubStandins } from './support/github-fixtures.ts';

const token = 'conditional-token';
const standins = githubStandins(token);
const { serve } = standins;

/** The adapter over `standin`, remembering GitHub's answers in `stateStore` when there is one. */
function adapterFor(
  standin: GitHubStandin,
  stateStore: StateStore | undefined,
  options: Partial<GitHubClientOptions> = {},
): GitHubPort {
  return standins.adapterFor(standin, { ...(stateStore ? { stateStore } : {}), ...options });
}

/** A store that counts its calls (MemoryStateStore.stats counts keys, not round trips). */
class CountingStore implements StateStore {
  readonly memory = new MemoryStateStore();
  readonly calls = { getMany: 0, putMany: 0, putKeys: [] as string[][] };

  getMany<T>(keys: readonly string[]) {
    this.calls.getMany += 1;
    return this.memory.getMany<T>(keys);
  }

  putMany<T>(entries: readonly { key: string; value: T }[], ttlSeconds: number) {
    this.calls.putMany += 1;
    this.calls.putKeys.push(entries.map((entry) => entry.key));
    return this.memory.putMany(entries, ttlSeconds);
  }

  acquireLease(key: string, holder: string, until: Date) {
    return this.memory.acquireLease(key, holder, until);
  }

  releaseLease(key: string, holder: string) {
    return this.memory.releaseLease(key, holder);
  }

  /** The stored item of a key, as the JSON a real store would hold. */
  async json(key: string): Promise<string | undefined> {
    const value = (await this.memory.getMany([key])).get(key);
    return value === undefined ? undefined : JSON.stringify(value);
  }
}

/** The requests served from `from` on, and how many of them were not 304 (those count against the limit). */
function since(standin: GitHubStandin, from: number) {
  const requests = standin.requests.slice(from);
  return {
    requests,
    statuses: requests.map((request) => request.status),
    charged: requests.filter((request) => request.status !== 304).length,
  };
}

function orgWithActivity(): { state: GitHubState; runIds: number[] } {
  const state = new GitHubState({ org: 'acme' });
  state.addRepo('app');
  const queued = state.addRun('app', 'queued');
  state.addJob(queued.id, { labels: ['self-hosted', 'linux'] });
  const matrix = state.addRun('app', 'in_progress');
  state.addJob(matrix.id, { labels: ['self-hosted', 'linux'], status: 'in_progress' });
  state.addJob(matrix.id, { labels: ['self-hosted', 'gpu'] });
  return { state, runIds: [queued.id, matrix.id] };
}

describe('conditional requests: queued jobs', () => {
  it('answers a second identical listing from 304s: same result, nothing charged', async () => {
    const { state } = orgWithActivity();
    const standin = await serve(state);
    const store = new CountingStore();
    const github = adapterFor(standin, store);

    const first = await github.listQueuedJobs('app');
    const firstRound = since(standin, 0);
    expect(firstRound.statuses).toEqual([200, 200, 200, 200]);

    const second = await github.listQueuedJobs('app');
    const secondRound = since(standin, firstRound.requests.length);
    expect(second).toEqual(first);
    expect(second).toHaveLength(2);
    // The same requests, each sent with the ETag and answered 304.
    expect(secondRound.requests.map(({ path, query }) => ({ path, query }))).toEqual(
      firstRound.requests.map(({ path, query }) => ({ path, query })),
    );
    expect(secondRound.statuses).toEqual([304, 304, 304, 304]);
    expect(secondRound.charged).toBe(0);
  });

  it('sees a new queued job on the next call (its listing’s ETag changes), the rest stays 304', async () => {
    const { state, runIds } = orgWithActivity();
    const standin = await serve(state);
    const github = adapterFor(standin, new CountingStore());
    await github.listQueuedJobs('app');
    const from = standin.requests.length;

    const added = state.addJob(runIds[1] as number, { labels: ['self-hosted', 'arm64'] });
    const jobs = await github.listQueuedJobs('app');
    expect(jobs.map((job) => job.id)).toContain(added.id);
    expect(jobs).toHaveLength(3);
    const round = since(standin, from);
    expect(round.charged).toBe(1);
    expect(round.requests.find((request) => request.status === 200)?.path).toBe(
      `/repos/acme/app/actions/runs/${runIds[1]}/jobs`,
    );

    // A new run changes the runs listing; its jobs are fetched fresh.
    const fresh = state.addRun('app', 'queued');
    const freshJob = state.addJob(fresh.id, { labels: ['self-hosted'] });
    const next = await github.listQueuedJobs('app');
    expect(next.map((job) => job.id)).toContain(freshJob.id);
    expect(next).toHaveLength(4);
  });

  it('pages conditionally: every page of runs and of jobs is a 304 the second time', async () => {
    const state = new GitHubState({ org: 'acme' });
    state.addRepo('big');
    for (let i = 0; i < 150; i += 1)
      state.addJob(state.addRun('big', 'queued').id, { labels: ['self-hosted'] });
    const huge = state.addRun('big', 'in_progress');
    for (let i = 0; i < 250; i += 1) {
      state.addJob(huge.id, { labels: ['self-hosted'], status: i % 5 === 0 ? 'in_progress' : 'queued' });
    }
    const standin = await serve(state);
    const github = adapterFor(standin, new CountingStore());

    const first = await github.listQueuedJobs('big');
    expect(first).toHaveLength(150 + 200);
    const from = standin.requests.length;
    const pagesOf = (requests: readonly RecordedRequest[]) =>
      requests.filter(
        (request) => request.path.endsWith('/runs') || request.path.endsWith(`/${huge.id}/jobs`),
      );
    expect(pagesOf(standin.requests).map((r) => r.query.page ?? '1')).toEqual(
      expect.arrayContaining(['1', '2', '3']),
    );

    const second = await github.listQueuedJobs('big');
    expect(second).toEqual(first);
    const round = since(standin, from);
    expect(round.requests).toHaveLength(from);
    expect(round.charged).toBe(0);
    // Page 2 and 3 were reached through the remembered Link headers.
    expect(
      pagesOf(round.requests)
        .map((r) => `${r.path.split('/').pop()}:${r.query.page ?? '1'}`)
        .sort(),
    ).toEqual(['jobs:1', 'jobs:2', 'jobs:3', 'runs:1', 'runs:1', 'runs:2']);
  });

  it('survives the adapter: a new instance with the same store (a new Lambda container) gets 304s', async () => {
    const { state } = orgWithActivity();
    const standin = await serve(state);
    const store = new CountingStore();
    const first = await adapterFor(standin, store).listQueuedJobs('app');
    const from = standin.requests.length;

    const second = await adapterFor(standin, store).listQueuedJobs('app');
    expect(second).toEqual(first);
    expect(since(standin, from).charged).toBe(0);
    expect(since(standin, from).requests).toHaveLength(from);
  });

  it('costs one getMany and at most one putMany per batch of repositories', async () => {
    const state = new GitHubState({ org: 'acme' });
    const repos = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
    for (const repo of repos) {
      state.addRepo(repo);
      state.addJob(state.addRun(repo, 'queued').id, { labels: ['self-hosted'] });
    }
    const standin = await serve(state);
    const store = new CountingStore();
    // As the collect handler does: a hint with the batch, then the listings, a few at a time.
    const collect = async (github: GitHubPort) => {
      await github.prefetchRepositories?.(repos);
      const limit = pLimit(2);
      return Promise.all(repos.map((repo) => limit(() => github.listQueuedJobs(repo))));
    };

    const firstCycle = await collect(adapterFor(standin, store));
    expect(firstCycle.flat()).toHaveLength(6);
    expect(store.calls).toMatchObject({ getMany: 1, putMany: 1 });
    expect(store.calls.putKeys[0]).toHaveLength(6);

    // Nothing changed: read once, nothing written, nothing charged.
    const from = standin.requests.length;
    const github = adapterFor(standin, store);
    expect(await collect(github)).toEqual(firstCycle);
    expect(store.calls).toMatchObject({ getMany: 2, putMany: 1 });
    expect(since(standin, from).charged).toBe(0);

    // One repository changed: only its item is written back.
    state.addJob(state.addRun('r4', 'queued').id, { labels: ['self-hosted'] });
    await collect(github);
    expect(store.calls).toMatchObject({ getMany: 3, putMany: 2 });
    expect(store.calls.putKeys[1]).toEqual(['github/v1/acme/repos/r4']);
  });

  it('reads the items of listings started together in one getMany even without the hint', async () => {
    const state = new GitHubState({ org: 'acme' });
    for (const repo of ['a', 'b', 'c']) state.addRepo(repo);
    const standin = await serve(state);
    const store = new CountingStore();
    const github = adapterFor(standin, store);

    await Promise.all(['a', 'b', 'c'].map((repo) => github.listQueuedJobs(repo)));
    expect(store.calls).toMatchObject({ getMany: 1, putMany: 1 });
    expect(store.memory.size).toBe(3);
  });

  it('stores only the fields it reads: a repository with 100 queued runs stays small', async () => {
    const state = new GitHubState({ org: 'acme' });
    state.addRepo('app');
    for (let i = 0; i < 100; i += 1) {
      state.addJob(state.addRun('app', 'queued').id, {
        labels: ['self-hosted', 'linux', 'x64'],
        name: `build (ubuntu, node ${i}) with a long matrix name`,
      });
    }
    const standin = await serve(state);
    const store = new CountingStore();
    expect(await adapterFor(standin, store).listQueuedJobs('app')).toHaveLength(100);

    const json = (await store.json('github/v1/acme/repos/app')) ?? '';
    // 102 pages (two runs listings, 100 job listings): URL, ETag and the projected fields of each.
    expect(json.length).toBeGreaterThan(10_000);
    expect(json.length).toBeLessThan(40_000);
    expect(json).not.toContain('matrix name');
    expect(json).not.toContain('created_at');
    const item = JSON.parse(json) as { p: Record<string, { d: { jobs?: unknown[] } }> };
    const jobPage = Object.entries(item.p).find(([url]) => url.endsWith('/jobs?filter=latest&per_page=100'));
    expect(Object.keys((jobPage?.[1].d.jobs?.[0] ?? {}) as object).sort()).toEqual([
      'id',
      'labels',
      'run_id',
      'status',
    ]);
  });

  it('drops the pages of runs that finished when the repository’s item is rewritten', async () => {
    const { state, runIds } = orgWithActivity();
    const standin = await serve(state);
    const store = new CountingStore();
    const github = adapterFor(standin, store);
    await github.listQueuedJobs('app');
    const pages = async () =>
      Object.keys((JSON.parse((await store.json('github/v1/acme/repos/app')) ?? '{}') as { p: object }).p);
    expect(await pages()).toHaveLength(4);

    state.cancelRun(runIds[0] as number);
    expect(await github.listQueuedJobs('app')).toHaveLength(1);
    const left = await pages();
    expect(left).toHaveLength(3);
    expect(left.some((url) => url.includes(`/runs/${runIds[0]}/jobs`))).toBe(false);
  });

  it('rewrites an unchanged item after half its TTL, so a quiet repository stays cached', async () => {
    const { state } = orgWithActivity();
    const standin = await serve(state);
    const store = new CountingStore();
    let clock = new Date('2026-03-01T00:00:00Z');
    const conditional = { ttlSeconds: 3600, now: () => clock };
    await adapterFor(standin, store, { conditional }).listQueuedJobs('app');
    expect(store.calls.putMany).toBe(1);

    clock = new Date('2026-03-01T00:29:00Z');
    await adapterFor(standin, store, { conditional }).listQueuedJobs('app');
    expect(store.calls.putMany).toBe(1);

    clock = new Date('2026-03-01T00:31:00Z');
    const from = standin.requests.length;
    await adapterFor(standin, store, { conditional }).listQueuedJobs('app');
    expect(store.calls.putMany).toBe(2);
    expect(since(standin, from).charged).toBe(0);
    const item = JSON.parse((await store.json('github/v1/acme/repos/app')) ?? '{}') as { w: number };
    expect(item.w).toBe(clock.getTime() / 1000);
  });

  it('sends nothing conditional without a store, or with conditional: false', async () => {
    const { state } = orgWithActivity();
    const standin = await serve(state);
    const store = new CountingStore();
    for (const github of [
      adapterFor(standin, undefined),
      adapterFor(standin, store, { conditional: false }),
    ]) {
      await github.listQueuedJobs('app');
      await github.listQueuedJobs('app');
    }
    expect(standin.requests.every((request) => request.status === 200)).toBe(true);
    expect(store.calls).toMatchObject({ getMany: 0, putMany: 0 });
  });

  it('keeps working, unconditionally, when the store fails', async () => {
    const { state } = orgWithActivity();
    const standin = await serve(state);
    const warnings: string[] = [];
    const down = async (): Promise<never> => {
      throw new Error('store down');
    };
    const broken: StateStore = { getMany: down, putMany: down, acquireLease: down, releaseLease: down };
    const logger = { debug: () => {}, warn: (message: string) => warnings.push(message) };
    const github = adapterFor(standin, broken, { logger });
    expect(await github.listQueuedJobs('app')).toHaveLength(2);
    expect(warnings).toEqual([
      'Could not read cached GitHub answers',
      'Could not store cached GitHub answers',
    ]);
  });
});

describe('conditional requests: org-level listings', () => {
  it('lists runners and repositories conditionally, each from its own item, and sees a change', async () => {
    const state = new GitHubState({ org: 'acme' });
    for (let i = 1; i <= 120; i += 1) state.addRepo(`repo-${i}`);
    const runner = state.registerRunner({ name: 'r-1', labels: ['self-hosted', 'linux'] });
    const standin = await serve(state);
    const store = new CountingStore();
    const github = adapterFor(standin, store);

    const repos = await github.listRepositories();
    const runners = await github.listRunners();
    const from = standin.requests.length;
    expect(await github.listRepositories()).toEqual(repos);
    expect(await github.listRunners()).toEqual(runners);
    expect(since(standin, from).statuses).toEqual([304, 304, 304]);
    expect(store.memory.size).toBe(2);
    const stored = JSON.parse((await store.json('github/v1/acme/org/runners')) ?? '{}');
    expect(stored).toEqual({
      v: 1,
      w: expect.any(Number),
      p: {
        '/orgs/acme/actions/runners?per_page=100': {
          e: expect.stringMatching(/^W\/"/),
          d: {
            total_count: 1,
            runners: [
              {
                id: runner.id,
                name: 'r-1',
                status: 'online',
                busy: false,
                labels: [{ name: 'self-hosted' }, { name: 'linux' }],
              },
            ],
          },
        },
      },
    });

    state.setRunnerBusy(runner.id, true);
    const after = standin.requests.length;
    expect(await github.listRunners()).toEqual([{ ...runners[0], busy: true }]);
    expect(since(standin, after).statuses).toEqual([200]);
  });

  it('never trusts a full last page of a plain list: a repository added behind it is found', async () => {
    const state = new GitHubState({ org: 'acme' });
    for (let i = 1; i <= 100; i += 1) state.addRepo(`repo-${i}`);
    const standin = await serve(state);
    const github = adapterFor(standin, new CountingStore());
    expect(await github.listRepositories()).toHaveLength(100);

    state.addRepo('repo-101');
    expect(await github.listRepositories()).toHaveLength(101);
  });
});

describe('conditional requests: faults, with exact request counts', () => {
  const withFaults = async (faults: (request: RecordedRequest) => FaultResponse | undefined) => {
    const state = new GitHubState({ org: 'acme' });
    state.registerRunner({ name: 'r-1', labels: ['self-hosted'] });
    const standin = await serve(state, { faults });
    return { standin, github: adapterFor(standin, new CountingStore()) };
  };
  const failFirst = (fault: FaultResponse) => {
    let remaining = 1;
    return () => (remaining-- > 0 ? fault : undefined);
  };

  it('retries a 502 once: exactly two requests', async () => {
    const { standin, github } = await withFaults(failFirst({ status: 502 }));
    expect(await github.listRunners()).toHaveLength(1);
    expect(standin.requests.map((request) => request.status)).toEqual([502, 200]);
  });

  it('waits out a 429 with retry-after: exactly two requests', async () => {
    const { standin, github } = await withFaults(failFirst({ status: 429, headers: { 'retry-after': '1' } }));
    expect(await github.listRunners()).toHaveLength(1);
    expect(standin.requests.map((request) => request.status)).toEqual([429, 200]);
  });

  it('waits out a 403 secondary rate limit with retry-after', async () => {
    const { standin, github } = await withFaults(
      failFirst({
        status: 403,
        headers: { 'retry-after': '1' },
        body: JSON.stringify({ message: 'You have exceeded a secondary rate limit.' }),
      }),
    );
    expect(await github.listRunners()).toHaveLength(1);
    expect(standin.requests.map((request) => request.status)).toEqual([403, 200]);
  });

  it('gives up on an exhausted primary limit that resets beyond maxRetryAfterSeconds', async () => {
    const reset = String(Math.floor(Date.now() / 1000) + 600);
    const { standin, github } = await withFaults(() => ({
      status: 403,
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset },
      body: JSON.stringify({ message: 'API rate limit exceeded for user ID 1.' }),
    }));
    await expect(github.listRunners()).rejects.toBeInstanceOf(GitHubRateLimitError);
    expect(standin.requests).toHaveLength(1);
  });

  it('a 304 answer is not retried or mistaken for a failure when a fault hits a cached page', async () => {
    let failNext = false;
    const { standin, github } = await withFaults(() => {
      if (!failNext) return undefined;
      failNext = false;
      return { status: 502 };
    });
    const runners = await github.listRunners();
    failNext = true;
    expect(await github.listRunners()).toEqual(runners);
    expect(standin.requests.map((request) => request.status)).toEqual([200, 502, 304]);
  });
});

describe('conditional requests: pages linked by repository id', () => {
  /**
   * GitHub's Link headers for a repository's later pages may use `/repositories/{id}/…`. A fetch stub plays
   * GitHub for one repository with 101 queued runs (two pages, the second linked that way) and no jobs.
   */
  function githubLinkingById() {
    const api = 'https://api.github.com';
    const seen: { path: string; conditional: boolean; status: number }[] = [];
    const pages: Record<string, { etag: string; body: unknown; link?: string }> = {
      '/repos/acme/app/actions/runs?status=queued&per_page=100': {
        etag: 'W/"p1"',
        body: { total_count: 101, workflow_runs: [{ id: 1, status: 'queued' }] },
        link: `<${api}/repositories/42/actions/runs?status=queued&per_page=100&page=2>; rel="next", <${api}/repositories/42/actions/runs?status=queued&per_page=100&page=2>; rel="last"`,
      },
      '/repositories/42/actions/runs?status=queued&per_page=100&page=2': {
        etag: 'W/"p2"',
        body: { total_count: 101, workflow_runs: [{ id: 2, status: 'queued' }] },
      },
      '/repos/acme/app/actions/runs?status=in_progress&per_page=100': {
        etag: 'W/"ip"',
        body: { total_count: 0, workflow_runs: [] },
      },
    };
    for (const id of [1, 2])
      pages[`/repos/acme/app/actions/runs/${id}/jobs?filter=latest&per_page=100`] = {
        etag: `W/"j${id}"`,
        body: { total_count: 0, jobs: [] },
      };
    const fetchStub = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(String(input instanceof Request ? input.url : input));
      const path = `${url.pathname}${url.search}`;
      const page = pages[path];
      const headers = new Headers(init?.headers as Record<string, string>);
      const conditional = page !== undefined && headers.get('if-none-match') === page.etag;
      const status = page === undefined ? 404 : conditional ? 304 : 200;
      seen.push({ path: url.pathname.split('/').slice(0, 3).join('/'), conditional, status });
      const responseHeaders = {
        'content-type': 'application/json',
        ...(page ? { etag: page.etag } : {}),
        ...(page?.link ? { link: page.link } : {}),
      };
      const response =
        status === 304
          ? new Response(null, { status, headers: responseHeaders })
          : new Response(JSON.stringify(page?.body ?? { message: 'Not Found' }), {
              status,
              headers: responseHeaders,
            });
      // A fetched Response knows its URL (octokit.paginate reads it); a constructed one does not.
      return Object.defineProperty(response, 'url', { value: url.href });
    }) as typeof fetch;
    return { fetchStub, seen, api };
  }

  it('answers them conditionally too, as part of the repository that linked to them', async () => {
    const { fetchStub, seen, api } = githubLinkingById();
    const github = createGitHubAdapter({
      apiUrl: api,
      org: 'acme',
      token,
      retry: fastRetry,
      stateStore: new MemoryStateStore(),
      request: { fetch: fetchStub },
    });
    await github.listQueuedJobs('app');
    const first = seen.splice(0);
    await github.listQueuedJobs('app');
    // Same five requests (2 pages of queued runs, in_progress, 2 job listings), all conditional the second time.
    expect(first.map((request) => request.status)).toEqual([200, 200, 200, 200, 200]);
    expect(first.filter((request) => request.path === '/repositories/42')).toHaveLength(1);
    expect(seen.map((request) => [request.path, request.status])).toEqual(
      first.map((request) => [request.path, 304]),
    );
  });
});
