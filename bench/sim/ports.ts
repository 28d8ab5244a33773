/**
 * The simulated world behind the production ports: GitHubPort, FleetPort and RunnerConfigStore. Strategies
 * (the real cycle included) see nothing else. Each call is metered (requests.ts).
 */
import {
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
import { pages, type RequestMeter } from './requests.ts';
import type { SimRunner, SimWorld } from './world.ts';

export interface SimGitHubOptions {
  /** Send conditional requests (ETag / If-None-Match): unchanged listings cost a 304. */
  readonly conditional: boolean;
  /** The primary rate limit per hour, enforced and reported by `rateLimit()`. */
  readonly hourlyLimit: number;
  /** GitHub's secondary limits (points per endpoint and minute, write pacing). */
  readonly secondary?: { readonly pointsPerMinute?: number; readonly writeIntervalMs?: number };
}

/**
 * What the production client does when GitHub answers 403/429 with `retry-after` (github-octokit.ts): waits
 * that long and sends again, twice at most, and gives up (GitHubRateLimitError) on a longer wait.
 */
export const clientRetryPolicy = { retries: 2, maxRetryAfterSeconds: 20 } as const;

export class SimGitHub implements GitHubPort {
  /** Listing key → the version last answered with 200. */
  private readonly seen = new Map<string, number>();
  readonly limits: SecondaryLimits;

  constructor(
    private readonly world: SimWorld,
    private readonly meter: RequestMeter,
    private readonly options: SimGitHubOptions,
  ) {
    this.limits = new SecondaryLimits(options.secondary);
  }

  async listRepositories(): Promise<string[]> {
    this.listing('repositories', 'GET /orgs/{org}/repos', 0, pages(this.world.repos.size));
    return [...this.world.repos.keys()];
  }

  async listQueuedJobs(
    repository: string,
    observe?: (seen: ListingObservation) => void,
  ): Promise<QueuedJob[]> {
    if (this.world.githubReadFails())
      throw new GitHubUnavailableError(`listing ${repository} failed (injected)`);
    const repo = this.world.repos.get(repository);
    if (!repo) return [];
    const runs = [...repo.activeRunIds].flatMap((id) => {
      const run = this.world.runs.get(id);
      return run ? [run] : [];
    });
    const queuedRuns = runs.filter((run) => this.world.runStatus(run) === 'queued').length;
    const endpoint = 'GET /repos/{owner}/{repo}/actions/runs';
    this.meter.scans.total += 1;
    let changed = this.listing(`runs:${repository}:queued`, endpoint, repo.version, pages(queuedRuns));
    changed =
      this.listing(
        `runs:${repository}:in_progress`,
        endpoint,
        repo.version,
        pages(runs.length - queuedRuns),
      ) || changed;
    for (const run of runs) {
      const running = run.jobIds.some((id) => this.world.jobs.get(id)?.status === 'in_progress');
      // A running job's steps progress, so its run's job listing is never "unchanged".
      changed =
        this.listing(
          `jobs:${run.id}`,
          'GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs',
          running ? Number.NaN : run.version,
          pages(run.jobIds.length),
        ) || changed;
    }
    if (changed) this.meter.scans.changed += 1;
    // As the adapter does: the governor learns the jobs endpoint's share from it.
    observe?.({ activeRuns: runs.length });
    // As the adapter: a job GitHub has handed to a runner (runner_id set) no longer waits for one.
    return this.world
      .queuedJobsOf(repository)
      .filter((job) => job.status === 'queued')
      .map((job) => ({ id: job.id, runId: job.runId, labels: [...job.labels] }));
  }

  async listRunners(): Promise<Runner[]> {
    if (this.world.githubReadFails()) throw new GitHubUnavailableError('listing runners failed (injected)');
    const runners = [...this.world.runners.values()];
    this.listing(
      'runners',
      'GET /orgs/{org}/actions/runners',
      this.world.runnersVersion,
      pages(runners.length),
    );
    return runners.map((runner) => this.view(runner, this.world.listedBusy(runner)));
  }

  async getRunner(runnerId: number): Promise<Runner | undefined> {
    this.request('GET /orgs/{org}/actions/runners/{id}', 'get');
    const runner = this.world.runners.get(runnerId);
    return runner ? this.view(runner, runner.busy) : undefined;
  }

  async deleteRunner(runnerId: number): Promise<void> {
    this.request('DELETE /orgs/{org}/actions/runners/{id}', 'write');
    this.world.deleteRunner(runnerId);
  }

  async createJitRunner(request: JitRunnerRequest): Promise<JitRegistration> {
    this.request('POST /orgs/{org}/actions/runners/generate-jitconfig', 'write');
    try {
      const runner = this.world.registerJitRunner(request.name, request.labels);
      return { runnerId: runner.id, encodedJitConfig: `jit:${request.name}` };
    } catch (error) {
      // As the production adapter: a name already registered (409) is not a failure.
      if (error instanceof GitHubRequestError && error.status === 409) return { alreadyRegistered: true };
      throw error;
    }
  }

  async rateLimit(): Promise<RateLimit | undefined> {
    const limit = this.options.hourlyLimit;
    const hour = Math.floor(this.world.nowMs / 3_600_000);
    const used = this.meter.usedInHourOf(this.world.nowMs);
    return {
      limit,
      remaining: Math.max(0, limit - used),
      resetAt: this.world.clock.isoAt((hour + 1) * 3_600_000),
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

  private view(runner: SimRunner, busy: boolean): Runner {
    return { id: runner.id, name: runner.name, status: runner.status, busy, labels: [...runner.labels] };
  }
}

export class SimFleet implements FleetPort {
  constructor(
    private readonly world: SimWorld,
    private readonly meter: RequestMeter,
  ) {}

  async listInstances(): Promise<Instance[]> {
    this.meter.record('ec2:DescribeInstances', 'aws');
    return this.world.liveInstances().map((instance) => ({
      id: instance.id,
      pool: instance.pool,
      state: instance.state === 'running' ? 'running' : 'pending',
      launchedAt: this.world.clock.isoAt(instance.launchedAt),
      runnerName: instance.runnerName,
      ...(instance.orphanedSince ? { orphanedSince: instance.orphanedSince } : {}),
    }));
  }

  async launch(request: LaunchRequest): Promise<LaunchResult> {
    this.meter.record('ec2:CreateFleet', 'aws');
    const outcome = this.world.launch(request.pool, request.count, request.clientToken);
    return { instanceIds: [...outcome.instanceIds], missing: outcome.missing, errors: [...outcome.errors] };
  }

  async terminate(instanceIds: readonly string[]): Promise<void> {
    this.meter.record('ec2:TerminateInstances', 'aws');
    for (const id of instanceIds) this.world.terminate(id);
  }

  async markOrphaned(instanceIds: readonly string[], at: Date): Promise<void> {
    this.meter.record('ec2:CreateTags', 'aws');
    for (const id of instanceIds) this.world.markOrphaned(id, at);
  }
}

export class SimRunnerConfigs implements RunnerConfigStore {
  constructor(
    private readonly world: SimWorld,
    private readonly meter: RequestMeter,
  ) {}

  async put(instanceId: string, encodedJitConfig: string): Promise<void> {
    this.meter.record('ssm:PutParameter', 'aws');
    this.world.configs.set(instanceId, {
      value: encodedJitConfig,
      storedAt: this.world.clock.now().toISOString(),
    });
  }

  async remove(instanceId: string): Promise<void> {
    this.meter.record('ssm:DeleteParameter', 'aws');
    this.world.configs.delete(instanceId);
  }

  async list(): Promise<StoredRunnerConfig[]> {
    this.meter.record('ssm:GetParametersByPath', 'aws');
    return [...this.world.configs].map(([instanceId, { storedAt }]) => ({ instanceId, storedAt }));
  }
}
