import type { QueuedJob, Runner } from '../core/model.ts';

export interface ListingObservation {
  /** Active runs whose jobs were listed: one request each to the jobs endpoint (more with pages). */
  readonly activeRuns: number;
  /** Jobs of those runs that a runner has started, when the adapter tells (their wait is a metric). */
  readonly started?: readonly StartedJob[];
}

export interface StartedJob {
  readonly labels: readonly string[];
  /** ISO-8601: when the job was queued (GitHub's `created_at`) and when a runner started it. */
  readonly queuedAt: string;
  readonly startedAt: string;
}

/** The slice of GitHub that the scaler needs, defined by the scaler. */
export interface GitHubPort {
  /** Names (not full names) of the organization's repositories, all pages. */
  listRepositories(): Promise<string[]>;
  /**
   * Jobs with status `queued` that GitHub has not handed to a runner yet (no `runner_id`), in the
   * repository's queued and in-progress runs (latest attempt), all pages.
   * An adapter may tell `observe` how many active runs it listed jobs for (the jobs endpoint's requests),
   * which the governor uses to stay under that endpoint's secondary limit.
   */
  listQueuedJobs(repository: string, observe?: (seen: ListingObservation) => void): Promise<QueuedJob[]>;
  /**
   * Optional hint before listing the queued jobs of a batch of repositories (one collect task): an adapter
   * that remembers answers across cycles reads the whole batch's in one round trip, and writes back once
   * every repository of it was listed. Never required for correctness.
   */
  prefetchRepositories?(repositories: readonly string[]): Promise<void>;
  /** The organization's self-hosted runners, all pages. */
  listRunners(): Promise<Runner[]>;
  /** One runner re-read fresh (the list's `busy` lags); undefined when it no longer exists. */
  getRunner(runnerId: number): Promise<Runner | undefined>;
  /** Deregister a runner. Resolves when it is gone (already gone counts as gone). */
  deleteRunner(runnerId: number): Promise<void>;
  /**
   * Register an ephemeral just-in-time runner (POST /orgs/{org}/actions/runners/generate-jitconfig).
   * The registration exists (offline) as soon as this resolves. The config is a secret. A runner of that
   * name exists already (GitHub's 409: an earlier attempt registered it) resolves as
   * `{ alreadyRegistered: true }`: GitHub hands a JIT config out only once, so there is none to return.
   */
  createJitRunner(request: JitRunnerRequest): Promise<JitRegistration>;
  /**
   * The primary rate limit (GET /rate_limit, which does not count against it); undefined where rate limits
   * are off (GitHub Enterprise Server by default).
   */
  rateLimit(): Promise<RateLimit | undefined>;
}

export interface RateLimit {
  readonly limit: number;
  readonly remaining: number;
  /** ISO-8601 time the window resets. */
  readonly resetAt: string;
}

export interface JitRunnerRequest {
  readonly name: string;
  readonly labels: readonly string[];
  /** Runner group name; resolved to its id (GET /orgs/{org}/actions/runner-groups). */
  readonly runnerGroup: string;
}

export interface JitRunner {
  readonly alreadyRegistered?: false;
  readonly runnerId: number;
  /** Secret: never logged, never put in a state payload. */
  readonly encodedJitConfig: string;
}

/** What registering came to: a new runner and its config, or one of that name that exists already. */
export type JitRegistration = JitRunner | { readonly alreadyRegistered: true };
