/**
 * The production ports over the simulated world (local/world/world.ts): GitHubPort, FleetPort and
 * RunnerConfigStore. Strategies (the real cycle included) see nothing else. Each call is metered
 * (requests.ts); GitHub's also pays for conditional requests, the primary and secondary rate limits and
 * injected read failures, as the production client would.
 */
import {
  GitHubNotFoundError,
  GitHubRateLimitError,
  GitHubRequestError,
  GitHubUnavailableError,
} from '../../functions/adapters/github-errors.ts';
import type { Instance, QueuedJob, Runner } from '../../functions/core/model.ts';
import type { FleetPort, LaunchRequest, LaunchResult } from '../../functions/ports/fleet.ts';
import type {
  GitHubPort,
  JitRegistration,
  JitRunnerRequest,
  ListingObservation,
  RateLimit,
} from '../../functions/ports/github.ts';
import type { RunnerConfigStore, StoredRunnerConfig } from '../../functions/ports/runner-configs.ts';
import { SecondaryLimits } from '../../local/github-standin/secondary-limits.ts';
import type { RunnerRecord } from '../../local/world/github.ts';
import { Rng } from '../../local/world/rng.ts';
import type { World } from '../../local/world/world.ts';
import { pages, type RequestMeter } from './requests.ts';

export interface SimGitHubOptions {
  /** Send conditional requests (ETag / If-None-Match): unchanged listings cost a 304. */
  readonly conditional: boolean;
  /** The primary rate limit per hour, enforced and reported by `rateLimit()`. */
  readonly hourlyLimit: number;
  /** GitHub's secondary limits (points per endpoint and minute, write pacing). */
  readonly secondary?: { readonly pointsPerMinute?: number; readonly writeIntervalMs?: number };
  /** GitHub's list of runners shows a runner busy only this long after it turned busy. */
  readonly busyFlagLagSeconds?: number;
  /** The chance that a read (a repository's job scan, the runner list) fails despite the client's retries. */
  readonly readFailureRate?: number;
  /** Seeds the read failures. */
  readonly seed?: number;
}

/**
 * What the production client does when GitHub answers 403/429 with `retry-after` (github-octokit.ts): waits
 * that long and sends again, twice at most, and gives up (GitHubRateLimitError) on a longer wait.
 */
export const clientRetryPolicy = { retries: 2, maxRetryAfterSeconds: 20 } as const;

export class SimGitHub implements GitHubPort {
  /** Listing key → the revision last answered with 200. */
  private readonly seen = new Map<string, number>();
  readonly limits: SecondaryLimits;
  private readonly readFailures: Rng;
  private failedReads = 0;

  constructor(
    private readonly world: World,
    private readonly meter: RequestMeter,
    private readonly options: SimGitHubOptions,
  ) {
    this.limits = new SecondaryLimits(options.secondary);
    this.readFailures = new Rng(options.seed ?? 0).fork('github');
  }

  /** GitHub reads that failed so far (see {@link SimGitHubOptions.readFailureRate}). */
  get readFailureCount(): number {
    return this.failedReads;
  }

  async listRepositories(): Promise<string[]> {
    const repos = this.world.github.listRepos();
    this.listing('repositories', 'GET /orgs/{org}/repos', 0, pages(repos.length));
    // As the adapter: archived and disabled repositories run no workflows.
    return repos.filter((repo) => !repo.archived && !repo.disabled).map((repo) => repo.name);
  }

  async listQueuedJobs(
    repository: string,
    observe?: (seen: ListingObservation) => void,
  ): Promise<QueuedJob[]> {
    this.failReadByChance(`listing ${repository}`);
    const { github } = this.world;
    const repo = github.getRepo(repository);
    if (!repo) return [];
    // What the adapter lists: the repository's queued and in-progress runs (not those awaiting approval).
    const runs = github.openRuns(repository).filter((run) => run.status !== 'waiting');
    const queuedRuns = runs.filter((run) => run.status === 'queued').length;
    const endpoint = 'GET /repos/{owner}/{repo}/actions/runs';
    this.meter.scans.total += 1;
    let changed = this.listing(`runs:${repository}:queued`, endpoint, repo.revision, pages(queuedRuns));
    changed =
      this.listing(
        `runs:${repository}:in_progress`,
        endpoint,
        repo.revision,
        pages(runs.length - queuedRuns),
      ) || changed;
    const queued: QueuedJob[] = [];
    for (const run of runs) {
      const jobs = github.jobsOfRun(run.id, 'latest');
      const running = jobs.some((job) => job.status === 'in_progress');
      // A running job's steps progress, so its run's job listing is never "unchanged".
      changed =
        this.listing(
          `jobs:${run.id}`,
          'GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs',
          running ? Number.NaN : run.revision,
          pages(jobs.length),
        ) || changed;
      // As the adapter: a job GitHub has handed to a runner (runner_id set) no longer waits for one.
      for (const job of jobs) {
        if (job.status === 'queued' && job.runnerId === undefined)
          queued.push({ id: job.id, runId: job.runId, labels: [...job.labels] });
      }
    }
    if (changed) this.meter.scans.changed += 1;
    // As the adapter does: the governor learns the jobs endpoint's share from it.
    observe?.({ activeRuns: runs.length });
    return queued;
  }

  async listRunners(): Promise<Runner[]> {
    this.failReadByChance('listing runners');
    const runners = this.world.github.listRunners();
    this.listing(
      'runners',
      'GET /orgs/{org}/actions/runners',
      this.world.github.runnersRevision,
      pages(runners.length),
    );
    return runners.map((runner) => this.view(runner, this.listedBusy(runner)));
  }

  async getRunner(runnerId: number): Promise<Runner | undefined> {
    this.request('GET /orgs/{org}/actions/runners/{id}', 'get');
    const runner = this.world.github.getRunner(runnerId);
    return runner ? this.view(runner, runner.busy) : undefined;
  }

  async deleteRunner(runnerId: number): Promise<void> {
    this.request('DELETE /orgs/{org}/actions/runners/{id}', 'write');
    const runner = this.world.github.getRunner(runnerId);
    if (!runner) return; // already gone counts as gone
    if (runner.busy) throw new GitHubRequestError(`runner ${runner.name} is running a job (422)`, 422);
    this.world.github.removeRunner(runnerId);
  }

  async createJitRunner(request: JitRunnerRequest): Promise<JitRegistration> {
    this.request('POST /orgs/{org}/actions/runners/generate-jitconfig', 'write');
    const { github } = this.world;
    // The adapter resolves the group once per client (not metered here: one request in a container's life).
    const group = github
      .listRunnerGroups()
      .find((candidate) => candidate.name.toLowerCase() === request.runnerGroup.toLowerCase());
    if (!group) throw new GitHubNotFoundError(`Runner group "${request.runnerGroup}" does not exist`);
    // As the production adapter: a name already registered (GitHub's 409) is not a failure.
    if (github.runnerByName(request.name)) return { alreadyRegistered: true };
    const runner = github.registerRunner({
      name: request.name,
      labels: request.labels,
      status: 'offline',
      ephemeral: true,
      runnerGroupId: group.id,
    });
    return { runnerId: runner.id, encodedJitConfig: `jit:${request.name}` };
  }

  async rateLimit(): Promise<RateLimit | undefined> {
    const limit = this.options.hourlyLimit;
    const hour = Math.floor(this.world.nowMs / 3_600_000);
    const used = this.meter.usedInHourOf(this.world.nowMs);
    return {
      limit,
      remaining: Math.max(0, limit - used),
      resetAt: this.world.agenda.isoAt((hour + 1) * 3_600_000),
    };
  }

  /** One listing (all its pages); true when it had changed (answered 200). */
  private listing(key: string, endpoint: string, version: number, pageCount: number): boolean {
    const unchanged = this.options.conditional && this.seen.get(key) === version;
    for (let page = 0; page < pageCount; page += 1)
      this.request(endpoint, unchanged ? 'not-modified' : 'get');
    this.seen.set(key, version);
    return !unchanged;
  }

  /**
   * One request. A 304 costs no primary quota; anything else that would pass the hour's quota is refused.
   * Every request, 304s too, is held to the secondary limits, waited out the way the production client does.
   */
  private request(endpoint: string, kind: 'get' | 'not-modified' | 'write'): void {
    for (let attempt = 0; ; attempt += 1) {
      if (kind !== 'not-modified' && this.meter.usedInHourOf(this.world.nowMs) >= this.options.hourlyLimit) {
        this.meter.record(endpoint, 'rejected');
        const resetMs = (Math.floor(this.world.nowMs / 3_600_000) + 1) * 3_600_000;
        throw new GitHubRateLimitError(
          `${endpoint}: API rate limit exceeded (403)`,
          Math.ceil((resetMs - this.world.nowMs) / 1000),
        );
      }
      const admission = this.limits.admit(endpoint, kind === 'write' ? 'POST' : 'GET', this.world.nowMs);
      if (admission.admitted) {
        this.meter.record(endpoint, kind);
        return;
      }
      this.meter.record(endpoint, 'secondary-limited');
      if (
        attempt >= clientRetryPolicy.retries ||
        admission.retryAfterSeconds > clientRetryPolicy.maxRetryAfterSeconds
      ) {
        throw new GitHubRateLimitError(
          `${endpoint}: secondary rate limit (403, retry-after ${admission.retryAfterSeconds} s)`,
          admission.retryAfterSeconds,
        );
      }
      this.world.advanceTo(this.world.nowMs + admission.retryAfterSeconds * 1000);
    }
  }

  /** Whether this read fails (a seeded draw, so runs stay deterministic). */
  private failReadByChance(action: string): void {
    if (!this.readFailures.chance(this.options.readFailureRate ?? 0)) return;
    this.failedReads += 1;
    throw new GitHubUnavailableError(`${action} failed (injected)`);
  }

  /** The list's `busy` lags reality by `busyFlagLagSeconds`; a single runner read is fresh. */
  private listedBusy(runner: RunnerRecord): boolean {
    const lagMs = (this.options.busyFlagLagSeconds ?? 0) * 1000;
    const busySince = runner.busySince ?? 0;
    return runner.busy && (lagMs === 0 || this.world.agenda.now().getTime() - busySince >= lagMs);
  }

  private view(runner: RunnerRecord, busy: boolean): Runner {
    const labels = runner.labels.map((label) => label.name);
    return { id: runner.id, name: runner.name, status: runner.status, busy, labels };
  }
}

/** The world's EC2, metered. */
export class SimFleet implements FleetPort {
  constructor(
    private readonly world: World,
    private readonly meter: RequestMeter,
  ) {}

  listInstances(): Promise<Instance[]> {
    this.meter.record('ec2:DescribeInstances', 'aws');
    return this.world.fleet.listInstances();
  }

  launch(request: LaunchRequest): Promise<LaunchResult> {
    this.meter.record('ec2:CreateFleet', 'aws');
    return this.world.fleet.launch(request);
  }

  terminate(instanceIds: readonly string[]): Promise<void> {
    this.meter.record('ec2:TerminateInstances', 'aws');
    return this.world.fleet.terminate(instanceIds);
  }

  markOrphaned(instanceIds: readonly string[], at: Date): Promise<void> {
    this.meter.record('ec2:CreateTags', 'aws');
    return this.world.fleet.markOrphaned(instanceIds, at);
  }
}

/** The world's runner configs in SSM, metered. */
export class SimRunnerConfigs implements RunnerConfigStore {
  constructor(
    private readonly world: World,
    private readonly meter: RequestMeter,
  ) {}

  put(instanceId: string, encodedJitConfig: string): Promise<void> {
    this.meter.record('ssm:PutParameter', 'aws');
    return this.world.runnerConfigs.put(instanceId, encodedJitConfig);
  }

  remove(instanceId: string): Promise<void> {
    this.meter.record('ssm:DeleteParameter', 'aws');
    return this.world.runnerConfigs.remove(instanceId);
  }

  list(): Promise<StoredRunnerConfig[]> {
    this.meter.record('ssm:GetParametersByPath', 'aws');
    return this.world.runnerConfigs.list();
  }
}
