/**
 * The production GitHubPort: GitHub's REST API through Octokit (`@octokit/core` with route strings and
 * `plugin-paginate-rest`), for github.com, ghe.com and GHES alike (only the base URL differs). Every list is
 * read to its last page. How each request is sent (rate limits waited out a bounded number of times, 5xx and
 * network failures retried, writes paced, concurrency bounded) is github-transport.ts; whatever still fails
 * leaves as one of the named errors of functions/errors.ts (github-errors.ts), which the state machine acts on.
 */

import { Octokit } from '@octokit/core';
import { paginateRest } from '@octokit/plugin-paginate-rest';
import pLimit from 'p-limit';
import type { QueuedJob, Runner } from '../core/model.ts';
import { GitHubRequestError } from '../errors.ts';
import type { Log } from '../observability/logger.ts';
import { onceUntilFailure } from '../once-until-failure.ts';
import type { GitHubPort, StartedJob } from '../ports/github.ts';
import type { StateStore } from '../ports/state-store.ts';
import { type GitHubAuth, octokitAuthOptions } from './github-auth.ts';
import {
  type ConditionalRequests,
  conditionalScopes,
  createConditionalRequests,
} from './github-conditional.ts';
import { httpStatusOf, isNotFound, toGitHubError } from './github-errors.ts';
import { listActiveRepositories } from './github-repositories.ts';
import { fetchTrusting } from './github-tls.ts';
import { githubTransport } from './github-transport.ts';

export interface GitHubRetryOptions {
  /** Retries of a 5xx, network failure or timeout. Default 2 (waits 1 s, then 4 s). */
  readonly serverErrorRetries?: number;
  /** Retries after a primary or secondary rate limit. Default 2. */
  readonly rateLimitRetries?: number;
  /** A rate limit that lifts later than this is not waited for; the state machine decides. Default 20. */
  readonly maxRetryAfterSeconds?: number;
  /** Milliseconds per second of every retry wait. Default 1000; tests shrink it. */
  readonly retryAfterBaseValue?: number;
}

export interface GitHubClientOptions {
  /** REST base URL: https://api.github.com, https://api.SUB.ghe.com or https://HOST/api/v3. */
  readonly apiUrl: string;
  readonly org: string;
  /** A token (PAT) or a GitHub App; `token: t` is short for `auth: { type: 'token', token: t }`. */
  readonly auth?: GitHubAuth;
  readonly token?: string;
  /** Glob filters on repository names (config `github.repositories`). */
  readonly repositories?: { readonly include?: readonly string[]; readonly exclude?: readonly string[] };
  /** Extra CA certificates (PEM) GitHub's TLS certificate may be issued by (config `github.caBundleFile`). */
  readonly caBundle?: string;
  /** Refuse every POST/PUT/PATCH/DELETE before it is sent (`stepscale plan`). */
  readonly readOnly?: boolean;
  readonly userAgent?: string;
  /** Told of every request attempt sent to GitHub and whether it was rate limited (metrics). */
  readonly onAttempt?: (outcome: { readonly rateLimited: boolean }) => void;
  /** Rate-limit waits are logged as warnings, each request as debug. Silent without one. */
  readonly logger?: Pick<Log, 'debug' | 'warn'>;
  /** Bound on one attempt of one request. Default 8000. */
  readonly attemptTimeoutMs?: number;
  /**
   * How many runs' jobs are fetched at once within one repository. Default 8: with conditional requests
   * most job listings come back 304 (free against the primary limit), so what is left of their cost is
   * latency, and a repository with many active runs is read sooner; {@link maxConcurrentRequests} still
   * bounds the client as a whole.
   */
  readonly jobFetchConcurrency?: number;
  /**
   * Requests of this client in flight at once, 1 to 100. Default 50. GitHub's secondary limit allows 100
   * concurrent requests per user or app.
   */
  readonly maxConcurrentRequests?: number;
  /**
   * Where answers of conditional requests are remembered across cycles (DynamoDB in Lambda). Without one,
   * no request is conditional.
   */
  readonly stateStore?: StateStore;
  /**
   * Send conditional requests when there is a {@link stateStore}. Default true; an object tunes how long
   * remembered answers live (default a day) and the clock that judges it.
   */
  readonly conditional?: boolean | { readonly ttlSeconds?: number; readonly now?: () => Date };
  readonly retry?: GitHubRetryOptions;
  /**
   * Least time between two writes (POST/PUT/PATCH/DELETE) of this client. GitHub asks for at least a second
   * between mutations and limits content creation to 80 a minute, so the default is 1000. The local
   * stand-in has no such limit: local runs and tests pass 0.
   */
  readonly minWriteIntervalMs?: number;
  readonly request?: { readonly fetch?: typeof fetch };
}

const perPage = 100;

/** The fields of a runner the adapter reads. */
interface GitHubRunner {
  readonly id: number;
  readonly name: string;
  readonly status: string;
  readonly busy: boolean;
  readonly labels: readonly { readonly name: string }[];
}

export function createGitHubAdapter(options: GitHubClientOptions): GitHubPort {
  const { org } = options;
  const conditional =
    options.stateStore && options.conditional !== false
      ? createConditionalRequests({
          store: options.stateStore,
          org,
          logger: options.logger,
          ...(typeof options.conditional === 'object' ? options.conditional : {}),
        })
      : undefined;
  const octokit = createOctokit(options, conditional);
  const jobFetchConcurrency = options.jobFetchConcurrency ?? 8;

  async function activeRunIds(repo: string): Promise<number[]> {
    // Queued jobs also hide inside in_progress runs (a matrix starts some jobs, others wait). A run can move
    // from queued to in_progress between the two listings, so it may appear in both.
    const listings = await Promise.all(
      (['queued', 'in_progress'] as const).map((status) =>
        octokit.paginate('GET /repos/{owner}/{repo}/actions/runs', {
          owner: org,
          repo,
          status,
          per_page: perPage,
        }),
      ),
    );
    return [...new Set(listings.flat().map((run) => run.id))];
  }

  async function latestJobsOf(repo: string, runIds: readonly number[]) {
    const limit = pLimit({ concurrency: jobFetchConcurrency, rejectOnClear: true });
    const listJobs = (runId: number) =>
      octokit.paginate('GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs', {
        owner: org,
        repo,
        run_id: runId,
        filter: 'latest',
        per_page: perPage,
      });
    try {
      return (await Promise.all(runIds.map((runId) => limit(() => listJobs(runId))))).flat();
    } catch (error) {
      // The repository's answer is lost with one failed run; stop spending requests on the others.
      limit.clearQueue();
      throw error;
    }
  }

  // Group ids do not change while a Lambda container lives; one lookup serves every JIT registration.
  // A failed lookup is retried next time, not cached.
  const runnerGroupIds = onceUntilFailure(async () => {
    const groups = await octokit.paginate<{ id: number; name: string }>(
      'GET /orgs/{org}/actions/runner-groups',
      { org, per_page: perPage },
    );
    return new Map(groups.map((group) => [group.name.toLowerCase(), group.id]));
  });
  async function runnerGroupId(name: string): Promise<number> {
    const id = (await runnerGroupIds()).get(name.toLowerCase());
    if (id === undefined)
      throw new GitHubRequestError(`Runner group "${name}" does not exist in ${org}`, 404);
    return id;
  }

  return withConditionalScopes(conditional, org, {
    listRepositories: () =>
      translated('listing repositories', async () => {
        return listActiveRepositories(octokit, {
          source: options.auth?.type === 'app' ? 'installation' : 'organization',
          org,
          filter: options.repositories,
          perPage,
        });
      }),

    listQueuedJobs: (repository, observe) =>
      translated(`listing queued jobs of ${org}/${repository}`, async () => {
        const runIds = await activeRunIds(repository);
        const jobs = await latestJobsOf(repository, runIds);
        observe?.({ activeRuns: runIds.length, started: startedJobs(jobs) });
        // Only `queued` wants a runner now (waiting, pending and requested do not yet), and only until GitHub
        // has handed it to a runner (`runner_id` set): that runner already counts as busy. Keyed by id, as a
        // job can be listed twice when its run moved between pages.
        const queued = new Map<number, QueuedJob>();
        for (const job of jobs) {
          if (job.status !== 'queued' || job.runner_id != null) continue;
          queued.set(job.id, { id: job.id, runId: job.run_id, labels: job.labels });
        }
        return [...queued.values()];
      }),

    listRunners: () =>
      translated('listing runners', async () => {
        const runners = await octokit.paginate('GET /orgs/{org}/actions/runners', {
          org,
          per_page: perPage,
        });
        return runners.map(toRunner);
      }),

    getRunner: (runnerId) =>
      translated(`reading runner ${runnerId}`, async () => {
        try {
          const { data } = await octokit.request('GET /orgs/{org}/actions/runners/{runner_id}', {
            org,
            runner_id: runnerId,
          });
          return toRunner(data);
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
      }),

    createJitRunner: (request) =>
      translated(`registering just-in-time runner ${request.name}`, async () => {
        const groupId = await runnerGroupId(request.runnerGroup);
        try {
          const { data } = await octokit.request('POST /orgs/{org}/actions/runners/generate-jitconfig', {
            org,
            name: request.name,
            runner_group_id: groupId,
            labels: [...request.labels],
            work_folder: '_work',
          });
          return { runnerId: data.runner.id, encodedJitConfig: data.encoded_jit_config };
        } catch (error) {
          // "Already exists - A runner with the same name": registered by an earlier attempt.
          if (httpStatusOf(error) === 409) return { alreadyRegistered: true } as const;
          throw error;
        }
      }),

    rateLimit: () =>
      translated('reading the rate limit', async () => {
        try {
          const { data } = await octokit.request('GET /rate_limit');
          const core = data.resources.core;
          return {
            limit: core.limit,
            remaining: core.remaining,
            resetAt: new Date(core.reset * 1000).toISOString(),
          };
        } catch (error) {
          // GitHub Enterprise Server answers 404 when its rate limiting is off: there is no limit to mind.
          if (isNotFound(error)) return undefined;
          throw error;
        }
      }),

    deleteRunner: (runnerId) =>
      translated(`deleting runner ${runnerId}`, async () => {
        try {
          await octokit.request('DELETE /orgs/{org}/actions/runners/{runner_id}', {
            org,
            runner_id: runnerId,
          });
        } catch (error) {
          // Already gone is what deleting wants.
          if (!isNotFound(error)) throw error;
        }
      }),
  });
}

/**
 * Each polled listing answered conditionally from its own store item (see github-conditional.ts): a
 * repository's queued jobs from the repository's, the org-level listings from theirs.
 */
function withConditionalScopes(
  conditional: ConditionalRequests | undefined,
  org: string,
  port: GitHubPort,
): GitHubPort {
  if (!conditional) return { ...port, prefetchRepositories: async () => {} };
  return {
    ...port,
    listRepositories: () =>
      conditional.within(conditionalScopes.org(org, 'repositories'), port.listRepositories),
    listQueuedJobs: (repository, observe) =>
      conditional.within(conditionalScopes.repository(org, repository), () =>
        port.listQueuedJobs(repository, observe),
      ),
    listRunners: () => conditional.within(conditionalScopes.org(org, 'runners'), port.listRunners),
    prefetchRepositories: (repositories) =>
      conditional.prefetch(repositories.map((repository) => conditionalScopes.repository(org, repository))),
  };
}

async function translated<T>(action: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toGitHubError(error, action);
  }
}

/** Jobs a runner has started (in progress or done), with the times their wait is measured between. */
function startedJobs(
  jobs: readonly {
    readonly status: string;
    readonly labels: readonly string[];
    readonly created_at: string;
    readonly started_at: string;
    readonly runner_id: number | null;
  }[],
): StartedJob[] {
  return jobs
    .filter((job) => job.status !== 'queued' && job.runner_id != null && job.started_at)
    .map((job) => ({ labels: job.labels, queuedAt: job.created_at, startedAt: job.started_at }));
}

function toRunner(runner: GitHubRunner): Runner {
  return {
    id: runner.id,
    name: runner.name,
    status: runner.status === 'online' ? 'online' : 'offline',
    busy: runner.busy,
    labels: runner.labels.map((label) => label.name),
  };
}

/** The client every GitHub adapter of this project talks through (transport, auth, conditional requests). */
export function createOctokit(options: GitHubClientOptions, conditional?: ConditionalRequests) {
  const retry = options.retry ?? {};
  const logger = options.logger;
  const StepscaleOctokit = Octokit.plugin(
    paginateRest,
    githubTransport({
      attemptTimeoutMs: options.attemptTimeoutMs ?? 8000,
      serverErrorRetries: retry.serverErrorRetries ?? 2,
      rateLimitRetries: retry.rateLimitRetries ?? 2,
      maxRetryAfterSeconds: retry.maxRetryAfterSeconds ?? 20,
      retryAfterBaseValue: retry.retryAfterBaseValue ?? 1000,
      minWriteIntervalMs: options.minWriteIntervalMs ?? 1000,
      maxConcurrentRequests: Math.min(100, Math.max(1, options.maxConcurrentRequests ?? 50)),
      readOnly: options.readOnly ?? false,
      logger,
      onAttempt: options.onAttempt,
    }),
    // Registered last, so it is the outermost hook: a 304 is its answer, never seen by the retries.
    ...(conditional ? [conditional.plugin] : []),
  );
  return new StepscaleOctokit({
    baseUrl: options.apiUrl.replace(/\/+$/, ''),
    ...octokitAuthOptions(authOf(options), options.org),
    userAgent: options.userAgent ?? 'stepscale',
    request: {
      fetch: options.request?.fetch ?? (options.caBundle ? fetchTrusting(options.caBundle) : undefined),
    },
    log: {
      // Octokit's own debug lines dump whole request options; the transport logs one line per attempt.
      debug: () => {},
      info: (message: string) => logger?.debug(message),
      warn: (message: string) => logger?.warn(message),
      error: (message: string) => logger?.debug(message),
    },
  });
}

function authOf(options: GitHubClientOptions): GitHubAuth {
  if (options.auth) return options.auth;
  if (options.token !== undefined) return { type: 'token', token: options.token };
  throw new TypeError('GitHubClientOptions needs auth or token');
}
