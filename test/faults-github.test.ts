/**
 * GitHub faults through the real state machine: runCycle with the real handlers and the real Octokit
 * adapter against the HTTP stand-in, each fault injected by the stand-in per request. Request counts are
 * exact: a faulted cycle sends what a clean cycle sends, plus exactly the retries the fault calls for.
 */
import { describe, expect, it } from 'vitest';
import { createGitHubAdapter } from '../functions/adapters/github-octokit.ts';
import { runCycle } from '../functions/executor/cycle-runner.ts';
import type { HandlerDeps } from '../functions/handlers/deps.ts';
import type { Log } from '../functions/observability/logger.ts';
import type { FaultResponse, GitHubStandin, RecordedRequest } from '../local/github-standin/server.ts';
import { GitHubState } from '../local/world/github.ts';
import { testDeps } from './support/fakes.ts';
import { githubStandins } from './support/github-fixtures.ts';
import { ManualClock } from './support/manual-clock.ts';

const token = 'ghp_faults_token';
const x64 = ['self-hosted', 'linux', 'x64'];
/** Generous, so that a slow answer on a loaded machine is never taken for a hang (counts are exact). */
const attemptTimeoutMs = 3000;
const { serve } = githubStandins(token);

/**
 * Three repositories, in batches of two by sorted name: [api, docs] and [web]. api has 3 queued x64 jobs,
 * web 2 queued inside an in-progress run, docs 1 GitHub-hosted job (unmatched).
 */
function org(): GitHubState {
  const state = new GitHubState({ org: 'acme', now: () => new Date('2026-01-05T09:00:00Z') });
  for (const name of ['api', 'docs', 'web']) state.addRepo(name);
  const api = state.addRun('api', 'queued');
  for (let i = 0; i < 3; i += 1) state.addJob(api.id, { labels: x64 });
  const web = state.addRun('web', 'in_progress');
  state.addJob(web.id, { labels: x64, status: 'in_progress' });
  for (let i = 0; i < 2; i += 1) state.addJob(web.id, { labels: x64 });
  const docs = state.addRun('docs', 'queued');
  state.addJob(docs.id, { labels: ['ubuntu-latest'] });
  return state;
}

interface Warning {
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

async function cycleWith(
  options: {
    faults?: (request: RecordedRequest) => FaultResponse | undefined;
    latency?: (request: RecordedRequest) => number | undefined;
  } = {},
) {
  const state = org();
  // GitHub's secondary limits judged on the cycle's clock, which waiting for a write slot moves.
  const clock = new ManualClock('2026-01-05T09:00:00Z');
  const standin = await serve(state, {
    pathPrefix: '/api/v3',
    secondaryLimits: { now: () => clock.now().getTime() },
    ...options,
  });
  const setup = testDeps({
    clock,
    config: { github: { url: standin.url.replace(/\/api\/v3$/, ''), org: 'acme' } },
  });
  const warnings: Warning[] = [];
  const log = {
    debug: () => {},
    info: () => {},
    warn: (message: string, fields: Record<string, unknown> = {}) => warnings.push({ message, fields }),
    error: (message: string, fields: Record<string, unknown> = {}) => warnings.push({ message, fields }),
  } as unknown as Log;
  const deps: HandlerDeps = {
    ...setup.deps,
    log,
    github: createGitHubAdapter({
      apiUrl: setup.deps.config.github.apiUrl,
      org: 'acme',
      token,
      stateStore: setup.stateStore,
      minWriteIntervalMs: 0,
      attemptTimeoutMs,
      retry: { retryAfterBaseValue: 1 },
    }),
  };
  const result = await runCycle({ deps, cycleId: '2026-01-05T09:00:00Z' });
  return { result, standin, state, fleet: setup.fleet, warnings };
}

/** Requests as sortable strings: method, path and page. */
const asked = (standin: GitHubStandin) =>
  standin.requests
    .map(
      (request) =>
        `${request.method} ${request.path}${request.query.status ? `?${request.query.status}` : ''}`,
    )
    .sort();

/** Fails the first request whose path (and status filter) matches, once. */
function failOnce(fault: FaultResponse, path: string, status?: string) {
  let remaining = 1;
  return (request: RecordedRequest) =>
    request.path === path && (status === undefined || request.query.status === status) && remaining-- > 0
      ? fault
      : undefined;
}

const apiQueuedRuns = '/repos/acme/api/actions/runs';
const webRuns = '/repos/acme/web/actions/runs';

/** The clean cycle's requests, computed once: the reference every faulted cycle is compared with. */
let cleanRequests: string[] | undefined;
async function clean(): Promise<string[]> {
  if (!cleanRequests) {
    const { result, standin } = await cycleWith();
    expect(result.status).toBe('SUCCEEDED');
    cleanRequests = asked(standin);
  }
  return cleanRequests;
}

const exactDemand = { queuedByPool: { 'linux-x64': 5 }, unmatched: 1, complete: true, failedRepositories: 0 };

/**
 * One repository's demand was lost: the rest is counted as `counted` says, and scale-down is held, as it is
 * whenever collection is incomplete.
 */
function expectOneRepositoryFailed(
  result: Awaited<ReturnType<typeof cycleWith>>['result'],
  counted: Record<string, unknown>,
) {
  expect(result.output.demand).toMatchObject({ ...counted, complete: false, failedRepositories: 1 });
  expect(result.output.plan).toMatchObject({ scaleDownHeld: true, removals: [] });
}

describe('GitHub faults through the state machine: retried transparently, exact numbers', () => {
  it('counts demand exactly on a clean cycle and launches for it', async () => {
    const { result, fleet } = await cycleWith();
    expect(result.output.demand).toMatchObject(exactDemand);
    expect(result.output.scaleUp).toMatchObject({ launched: 5, missing: 0 });
    expect(result.output.registration).toMatchObject({ registered: 5, failed: 0, queue: [] });
    expect(fleet.live()).toHaveLength(5);
  });

  it.each([
    ['502 once', { status: 502 }],
    ['503 once', { status: 503 }],
    ['429 with retry-after once', { status: 429, headers: { 'retry-after': '1' } }],
    [
      '403 secondary rate limit with retry-after once',
      {
        status: 403,
        headers: { 'retry-after': '1' },
        body: JSON.stringify({ message: 'You have exceeded a secondary rate limit.' }),
      },
    ],
  ] as [string, FaultResponse][])(
    '%s: one more request, no Step Functions retry, exact demand',
    async (_name, fault) => {
      const reference = await clean();
      const { result, standin } = await cycleWith({ faults: failOnce(fault, apiQueuedRuns, 'queued') });
      expect(result.status).toBe('SUCCEEDED');
      expect(result.output.demand).toMatchObject(exactDemand);
      expect(result.output.scaleUp).toMatchObject({ launched: 5 });
      // The adapter waited it out itself: exactly one extra request, and the task never failed.
      expect(asked(standin)).toEqual([...reference, `GET ${apiQueuedRuns}?queued`].sort());
      expect(standin.requests.filter((request) => request.status === fault.status)).toHaveLength(1);
      expect(result.events.filter((event) => event.type === 'StateRetried')).toHaveLength(0);
    },
  );

  it('retries an attempt that hangs past attemptTimeoutMs: one more request, exact demand', async () => {
    const reference = await clean();
    let hung = 0;
    const { result, standin } = await cycleWith({
      latency: (request) =>
        request.path === webRuns && request.query.status === 'in_progress' && hung++ === 0
          ? attemptTimeoutMs + 2000
          : undefined,
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output.demand).toMatchObject(exactDemand);
    expect(asked(standin)).toEqual([...reference, `GET ${webRuns}?in_progress`].sort());
  });

  it('answers malformed JSON with a named error: that repository fails, the rest of the cycle goes on', async () => {
    // Prepare: a truncated 200 page on api's queued runs, once.
    const reference = await clean();
    const { result, standin, warnings } = await cycleWith({
      faults: failOnce(
        { status: 200, body: '{"total_count": 1, "workflow_runs": [' },
        apiQueuedRuns,
        'queued',
      ),
    });
    // Assess: named GitHubUnavailableError (not a TypeError); docs in the same batch and web are counted.
    expect(result.status).toBe('SUCCEEDED');
    const failure = warnings.find((warning) => warning.message === 'Could not collect queued jobs');
    expect(failure?.fields).toMatchObject({ repository: 'api' });
    expect(failure?.fields.error).toMatchObject({
      name: 'GitHubUnavailableError',
      message: expect.stringMatching(/malformed JSON/),
    });
    expectOneRepositoryFailed(result, { queuedByPool: { 'linux-x64': 2 }, unmatched: 1 });
    expect(result.output.scaleUp).toMatchObject({ launched: 2 });
    // Not retried by the client (the state machine's Retry only runs when a whole batch fails): api's
    // other listings and jobs are skipped, nothing else is sent twice.
    expect(asked(standin).filter((request) => !reference.includes(request))).toEqual([]);
  });

  it('reports a repository deleted mid-cycle (404) as failed, counts the others, holds scale-down', async () => {
    const { result, warnings } = await cycleWith({
      faults: (request) =>
        request.path === apiQueuedRuns
          ? { status: 404, body: JSON.stringify({ message: 'Not Found' }) }
          : undefined,
    });
    expect(result.status).toBe('SUCCEEDED');
    const failure = warnings.find((warning) => warning.message === 'Could not collect queued jobs');
    expect(failure?.fields).toMatchObject({ repository: 'api', error: { name: 'GitHubNotFoundError' } });
    expectOneRepositoryFailed(result, { queuedByPool: { 'linux-x64': 2 }, unmatched: 1, repositories: 3 });
  });
});

describe('GitHub faults through the state machine: not waited out', () => {
  /** The Map iteration's caught error, as RecordBatchFailure received it. */
  const batchFailures = (events: Awaited<ReturnType<typeof cycleWith>>['result']['events']) =>
    events.flatMap((event) =>
      event.type === 'StateEntered' && event.state.name === 'RecordBatchFailure'
        ? [(event.state.input as { error: { Error: string } }).error.Error]
        : [],
    );

  it('an exhausted primary limit resetting in an hour: GitHubRateLimitError, batch failed, no scale-down', async () => {
    const resetInAnHour = String(Math.floor(Date.now() / 1000) + 3600);
    const { result, standin } = await cycleWith({
      faults: (request) =>
        request.path === webRuns
          ? {
              status: 403,
              headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': resetInAnHour },
              body: JSON.stringify({ message: 'API rate limit exceeded for user ID 1.' }),
            }
          : undefined,
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(batchFailures(result.events)).toEqual(['GitHubRateLimitError']);
    // The client does not wait an hour; the state machine retries the batch once (its RateLimit retrier),
    // then records it as failed: 2 attempts × (queued + in_progress listings), each answered once.
    expect(result.events.filter((event) => event.type === 'StateRetried')).toHaveLength(1);
    expect(standin.requests.filter((request) => request.path === webRuns)).toHaveLength(4);
    expectOneRepositoryFailed(result, { queuedByPool: { 'linux-x64': 3 }, unmatched: 1 });
    expect(result.output.scaleDown).toMatchObject({ terminated: 0, ghostsRemoved: 0, orphansMarked: 0 });
  });

  it('an abuse-style 403 without headers: GitHubAuthError, not retried, reported, no scale-down', async () => {
    const { result, standin } = await cycleWith({
      faults: (request) =>
        request.path === webRuns
          ? {
              status: 403,
              body: JSON.stringify({
                message:
                  'You have triggered an abuse detection mechanism. Please wait a few minutes before you try again.',
              }),
            }
          : undefined,
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(batchFailures(result.events)).toEqual(['GitHubAuthError']);
    expect(result.events.filter((event) => event.type === 'StateRetried')).toHaveLength(0);
    expect(standin.requests.filter((request) => request.path === webRuns)).toHaveLength(2);
    expectOneRepositoryFailed(result, {});
  });
});
