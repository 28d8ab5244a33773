/**
 * The production GitHubPort: GitHub's REST API through Octokit, for github.com, ghe.com and GHES alike
 * (only the base URL differs). Every list is read to its last page. Rate limits are waited out a bounded
 * number of times (plugin-throttling), 5xx and network failures are retried (plugin-retry), and whatever
 * still fails leaves as one of the named errors in github-errors.ts, which the state machine acts on.
 */
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import pLimit from 'p-limit';
import type { QueuedJob, Runner } from '../core/model.ts';
import type { Log } from '../observability/logger.ts';
import type { GitHubPort } from '../ports/github.ts';
import type { StateStore } from '../ports/state-store.ts';
import { type GitHubAuth, octokitAuthOptions } from './github-auth.ts';
import {
  type ConditionalRequests,
  conditionalScopes,
  createConditionalRequests,
} from './github-conditional.ts';
import {
  GitHubMalformedResponseError,
  GitHubRequestError,
  GitHubWriteRefusedError,
  isNotFound,
  toGitHubError,
} from './github-errors.ts';
import { listActiveRepositories } from './github-repositories.ts';
import { fetchTrusting } from './github-tls.ts';

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
   * concurrent requests per user or app; plugin-throttling's own limiter allows only 10 per process, which
   * makes a cycle over a thousand repositories needlessly slow.
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

const apiHeaders = { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' };
const readMethods = new Set(['GET', 'HEAD']);
/** 4xx are answers, not outages; rate limits (403/429) are the throttling plugin's to wait out. */
const notRetried = [400, 401, 403, 404, 409, 410, 422, 429, 451];
const perPage = 100;

type GitHubRunner = Awaited<ReturnType<Octokit['rest']['actions']['getSelfHostedRunnerForOrg']>>['data'];

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
        octokit.paginate(octokit.rest.actions.listWorkflowRunsForRepo, {
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
      octokit.paginate(octokit.rest.actions.listJobsForWorkflowRun, {
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
  let runnerGroupIds: Promise<Map<string, number>> | undefined;
  async function runnerGroupId(name: string): Promise<number> {
    runnerGroupIds ??= octokit
      .paginate<{ id: number; name: string }>('GET /orgs/{org}/actions/runner-groups', {
        org,
        per_page: perPage,
      })
      .then((groups) => new Map(groups.map((group) => [group.name.toLowerCase(), group.id])));
    runnerGroupIds.catch(() => {
      runnerGroupIds = undefined; // a failed lookup is retried next time, not cached
    });
    const id = (await runnerGroupIds).get(name.toLowerCase());
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
        observe?.({ activeRuns: runIds.length });
        const jobs = await latestJobsOf(repository, runIds);
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
        const runners = await octokit.paginate(octokit.rest.actions.listSelfHostedRunnersForOrg, {
          org,
          per_page: perPage,
        });
        return runners.map(toRunner);
      }),

    getRunner: (runnerId) =>
      translated(`reading runner ${runnerId}`, async () => {
        try {
          const { data } = await octokit.rest.actions.getSelfHostedRunnerForOrg({ org, runner_id: runnerId });
          return toRunner(data);
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
      }),

    createJitRunner: (request) =>
      translated(`registering just-in-time runner ${request.name}`, async () => {
        const { data } = await octokit.rest.actions.generateRunnerJitconfigForOrg({
          org,
          name: request.name,
          runner_group_id: await runnerGroupId(request.runnerGroup),
          labels: [...request.labels],
          work_folder: '_work',
        });
        return { runnerId: data.runner.id, encodedJitConfig: data.encoded_jit_config };
      }),

    rateLimit: () =>
      translated('reading the rate limit', async () => {
        try {
          const { data } = await octokit.rest.rateLimit.get();
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
          await octokit.rest.actions.deleteSelfHostedRunnerFromOrg({ org, runner_id: runnerId });
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

function toRunner(runner: GitHubRunner): Runner {
  return {
    id: runner.id,
    name: runner.name,
    status: runner.status === 'online' ? 'online' : 'offline',
    busy: runner.busy,
    labels: runner.labels.map((label) => label.name),
  };
}

function createOctokit(options: GitHubClientOptions, conditional?: ConditionalRequests): Octokit {
  const retryOptions = options.retry ?? {};
  const retryAfterBaseValue = retryOptions.retryAfterBaseValue ?? 1000;
  const rateLimitRetries = retryOptions.rateLimitRetries ?? 2;
  const maxRetryAfterSeconds = retryOptions.maxRetryAfterSeconds ?? 20;
  const logger = options.logger;

  const onLimit =
    (kind: 'primary' | 'secondary') =>
    (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
      const willRetry = retryCount < rateLimitRetries && retryAfter <= maxRetryAfterSeconds;
      logger?.warn(`GitHub ${kind} rate limit hit`, {
        method: request.method,
        url: request.url,
        retryAfterSeconds: retryAfter,
        retryCount,
        willRetry,
      });
      return willRetry;
    };

  const StepscaleOctokit = Octokit.plugin(
    attemptTimeout(options.attemptTimeoutMs ?? 8000),
    malformedJsonIsAFailure,
    retryAfterIsARateLimit,
    throttling,
    retry,
    // Outermost: a 304 passes the retry and throttling layers as the failure Octokit makes of it.
    ...(conditional ? [conditional.plugin] : []),
  );
  const octokit = new StepscaleOctokit({
    baseUrl: options.apiUrl.replace(/\/+$/, ''),
    ...octokitAuthOptions(authOf(options), options.org),
    userAgent: options.userAgent ?? 'stepscale',
    request: {
      fetch: options.request?.fetch ?? (options.caBundle ? fetchTrusting(options.caBundle) : undefined),
    },
    log: {
      // Octokit's debug line dumps whole request options; one line per request is enough.
      debug: () => {},
      info: (message: string) => logger?.debug(message),
      warn: (message: string) => logger?.warn(message),
      // Failed attempts; the final failure is thrown and logged by the caller.
      error: (message: string) => logger?.debug(message),
    },
    throttle: {
      onRateLimit: onLimit('primary'),
      onSecondaryRateLimit: onLimit('secondary'),
      retryAfterBaseValue,
      // The plugin's own write spacing is process-wide and fixed at 1 s; this one is per client and tunable.
      // The plugin types this as a Bottleneck group but only ever calls key(id).schedule(…).
      write: writeSpacing(options.minWriteIntervalMs ?? 1000) as never,
      // Likewise its global limiter (10 at once, process-wide) is replaced by one per client. The plugin reads
      // `global` from these options like `write`, though its option types leave it out.
      // And its retry scheduler, a Bottleneck every request passes through, by a plain one (see retryScheduler).
      ...({
        global: concurrencyLimit(Math.min(100, Math.max(1, options.maxConcurrentRequests ?? 50))),
        retryLimiter: retryScheduler(),
      } as object),
    },
    retry: { retries: retryOptions.serverErrorRetries ?? 2, doNotRetry: notRetried, retryAfterBaseValue },
  });

  octokit.hook.before('request', (request) => {
    // A GitHub App's installation token is created by a POST; it changes nothing, so plan may send it.
    if (options.readOnly && !readMethods.has(request.method) && !isTokenCreation(request.url)) {
      throw new GitHubWriteRefusedError(`Read-only GitHub client refused ${request.method} ${request.url}`);
    }
    Object.assign(request.headers, apiHeaders);
  });
  return octokit;
}

function authOf(options: GitHubClientOptions): GitHubAuth {
  if (options.auth) return options.auth;
  if (options.token !== undefined) return { type: 'token', token: options.token };
  throw new TypeError('GitHubClientOptions needs auth or token');
}

function isTokenCreation(url: string): boolean {
  return /\/app\/installations\/[^/]+\/access_tokens$/.test(url);
}

/**
 * A limiter in the shape plugin-throttling schedules every request on
 * (`global.key(id).schedule(jobOptions, request, requestOptions)`): at most `maxConcurrent` at once, the
 * rest waiting in order. A retry is scheduled with weight 0 (Bottleneck's "takes no slot"), so a retry
 * waiting out a rate limit never waits behind the queue it is part of.
 */
function concurrencyLimit(maxConcurrent: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  const limiter = {
    async schedule<A extends unknown[], T>(
      jobOptions: { weight?: number } | undefined,
      task: (...args: A) => Promise<T>,
      ...args: A
    ): Promise<T> {
      if (jobOptions?.weight === 0) return task(...args);
      if (running >= maxConcurrent) await new Promise<void>((resolve) => waiting.push(resolve));
      else running += 1;
      try {
        return await task(...args);
      } finally {
        // The slot passes straight to the next in line, or is freed.
        const next = waiting.shift();
        if (next) next();
        else running -= 1;
      }
    },
  };
  return { key: () => limiter };
}

type FailedHandler = (error: unknown, info: { args: unknown[]; retryCount: number }) => unknown;

/**
 * What plugin-throttling runs every request through to wait out a rate limit and try again
 * (`retryLimiter.schedule(task, ...args)`, `retryLimiter.on('failed', handler)`), with Bottleneck's semantics:
 * when an attempt fails, the 'failed' handlers are asked (together; one that throws counts as no answer), and
 * the first number one answers is how many milliseconds to wait before the task runs again with the same
 * arguments; without a number the failure stands. The plugin's default is a Bottleneck without limits, whose
 * bookkeeping yields to the timers several times per request behind locks shared by every request: under load
 * about one request got through per event-loop turn, which held a 1,000-repository cycle to ~250 requests a
 * second however much concurrency was allowed.
 */
function retryScheduler() {
  const failedHandlers: FailedHandler[] = [];
  return {
    on(event: string, handler: FailedHandler): void {
      if (event === 'failed') failedHandlers.push(handler);
    },
    async schedule<A extends unknown[], T>(task: (...args: A) => Promise<T>, ...args: A): Promise<T> {
      for (let retryCount = 0; ; retryCount += 1) {
        try {
          return await task(...args);
        } catch (error) {
          const answers = await Promise.all(
            failedHandlers.map(async (handler) => {
              try {
                return await handler(error, { args, retryCount });
              } catch {
                return undefined;
              }
            }),
          );
          const retryAfterMs = answers.find((answer) => answer !== undefined && answer !== null);
          if (retryAfterMs === undefined) throw error;
          await new Promise((resolve) => setTimeout(resolve, Math.trunc(Number(retryAfterMs)) || 0));
        }
      }
    },
  };
}

/**
 * A limiter in the shape plugin-throttling schedules writes on (`key(id).schedule(options, task)`):
 * one write at a time, at least `minIntervalMs` apart.
 */
function writeSpacing(minIntervalMs: number) {
  let queue: Promise<unknown> = Promise.resolve();
  let nextAllowed = 0;
  const limiter = {
    schedule<T>(_options: unknown, task: () => Promise<T>): Promise<T> {
      const run = queue.then(async () => {
        const wait = nextAllowed - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        nextAllowed = Date.now() + minIntervalMs;
        return task();
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
  return { key: () => limiter };
}

/**
 * Bounds each attempt rather than the whole retried request: registered before the retry plugin, it sits
 * inside it, so a hung connection becomes a failed attempt (Octokit reports it as status 500) and is retried.
 * The options are mutated because Octokit's hook chain hands every layer the same object and ignores
 * whatever a wrapper passes on.
 */
function attemptTimeout(timeoutMs: number): Parameters<typeof Octokit.plugin>[number] {
  return (octokit) => {
    octokit.hook.wrap('request', (request, requestOptions) => {
      requestOptions.request = { ...requestOptions.request, signal: AbortSignal.timeout(timeoutMs) };
      return request(requestOptions);
    });
  };
}

/**
 * Octokit hands on the raw text of a JSON answer that does not parse as if it were the data, and the code
 * reading it then fails with a TypeError far from the cause (or, worse, reads nothing from it). A JSON answer
 * whose data is still a string is made a failure here, which toGitHubError names GitHubUnavailableError.
 */
const malformedJsonIsAFailure: Parameters<typeof Octokit.plugin>[number] = (octokit) => {
  octokit.hook.wrap('request', async (request, requestOptions) => {
    const response = await request(requestOptions);
    const contentType = String(response.headers['content-type'] ?? '');
    if (response.status !== 204 && typeof response.data === 'string' && /\bjson\b/i.test(contentType)) {
      throw new GitHubMalformedResponseError(
        `GitHub answered ${requestOptions.method} ${requestOptions.url} (HTTP ${response.status}) with malformed JSON`,
      );
    }
    return response;
  });
};

/**
 * plugin-throttling waits out a 403/429 only when its message names a secondary rate limit or the quota
 * is spent (`x-ratelimit-remaining: 0`). GitHub's docs say any answer with `retry-after` asks to wait that
 * long, whatever the message; this marks such a 403/429 as a secondary limit for the plugin (registered
 * before it, so it sits inside it) and for toGitHubError.
 */
const retryAfterIsARateLimit: Parameters<typeof Octokit.plugin>[number] = (octokit) => {
  octokit.hook.error('request', (error) => {
    const failure = error as Error & {
      status?: number;
      response?: { headers?: Record<string, string | undefined> };
    };
    const headers = failure.response?.headers ?? {};
    if (
      (failure.status === 403 || failure.status === 429) &&
      headers['retry-after'] !== undefined &&
      headers['x-ratelimit-remaining'] !== '0' &&
      !/\bsecondary rate\b/i.test(failure.message)
    ) {
      failure.message = `${failure.message} (secondary rate limit: retry-after ${headers['retry-after']} s)`;
    }
    throw error;
  });
};
