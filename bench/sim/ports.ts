/**
 * The production ports over the simulated world (local/world/world.ts): GitHubPort, FleetPort and
 * RunnerConfigStore; and what peers and fast paths use besides: an App's webhook (SimWebhooks: deliveries
 * pushed, the App's list-deliveries and redeliver endpoints) and the Actions service of runner scale sets
 * (SimActionsService, ARC's protocol). Strategies (the real cycle included) see nothing else. Each call is
 * metered (requests.ts); GitHub's also pays for conditional requests, the primary and secondary rate limits
 * and injected read failures, as the production client would.
 */

import { normalizeLabels } from '../../functions/core/labels.ts';
import type { Instance, QueuedJob, Runner } from '../../functions/core/model.ts';
import {
  GitHubNotFoundError,
  GitHubRateLimitError,
  GitHubRequestError,
  GitHubUnavailableError,
} from '../../functions/errors.ts';
import type { FleetPort, LaunchRequest, LaunchResult } from '../../functions/ports/fleet.ts';
import type {
  GitHubPort,
  JitRegistration,
  JitRunner,
  JitRunnerRequest,
  ListingObservation,
  RateLimit,
  StartedJob,
} from '../../functions/ports/github.ts';
import type { RunnerConfigStore, StoredRunnerConfig } from '../../functions/ports/runner-configs.ts';
import { SecondaryLimits } from '../../local/github-standin/secondary-limits.ts';
import type { JobRecord, RunnerRecord } from '../../local/world/github.ts';
import { Rng } from '../../local/world/rng.ts';
import type {
  DeliveryRecord,
  WebhookDelivery,
  WebhookHook,
  WebhookReceiver,
} from '../../local/world/webhooks.ts';
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
    const started: StartedJob[] = [];
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
        else if (job.status !== 'queued' && job.runnerId !== undefined && job.startedAt)
          started.push({ labels: [...job.labels], queuedAt: job.createdAt, startedAt: job.startedAt });
      }
    }
    if (changed) this.meter.scans.changed += 1;
    // As the adapter does: the governor learns the jobs endpoint's share from it.
    observe?.({ activeRuns: runs.length, started });
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

  /**
   * A request to an App endpoint outside GitHubPort (a webhook's deliveries): metered, and held to the same
   * limits as the installation's requests (GitHub keeps a separate budget for App-level requests; counting
   * them here is the conservative side).
   */
  appRequest(endpoint: string, method: 'GET' | 'POST'): void {
    this.request(endpoint, method === 'GET' ? 'get' : 'write');
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

/**
 * An App's webhook as a strategy sees it: `workflow_job` deliveries pushed to a receiver (free: GitHub sends
 * them), and the App endpoints to list recent attempts and ask for redeliveries (metered GitHub requests).
 */
export class SimWebhooks {
  constructor(
    private readonly world: World,
    private readonly github: SimGitHub,
  ) {}

  /** From now on every delivery that is not lost is handed to `receiver` at its delivery time. */
  subscribe(receiver: WebhookReceiver): SimWebhookHook {
    return new SimWebhookHook(this.world.webhooks.subscribe(receiver), this.github);
  }
}

export class SimWebhookHook {
  constructor(
    private readonly hook: WebhookHook,
    private readonly github: SimGitHub,
  ) {}

  /** `GET /app/hook/deliveries` (pages of 100) back to `sinceMs`: every attempt, `OK` or `failed`. */
  async listDeliveries(sinceMs = 0): Promise<DeliveryRecord[]> {
    const records = this.hook.deliveries(sinceMs);
    for (let page = 0; page < pages(records.length); page += 1)
      this.github.appRequest('GET /app/hook/deliveries', 'GET');
    return records;
  }

  /** `GET /app/hook/deliveries/{delivery_id}`: one attempt with its payload. */
  async getDelivery(id: number): Promise<WebhookDelivery | undefined> {
    this.github.appRequest('GET /app/hook/deliveries/{delivery_id}', 'GET');
    return this.hook.delivery(id);
  }

  /**
   * `POST /app/hook/deliveries/{delivery_id}/attempts` (202): GitHub attempts it again after the usual delay,
   * and that attempt can be lost too. Throws WebhookError for an unknown or too old delivery.
   */
  async redeliver(id: number): Promise<void> {
    this.github.appRequest('POST /app/hook/deliveries/{delivery_id}/attempts', 'POST');
    this.hook.redeliver(id);
  }

  unsubscribe(): void {
    this.hook.unsubscribe();
  }
}

/** What a scale set's statistics say (the Actions service sends them with every message). */
export interface ScaleSetStatistics {
  /** Jobs assigned to the scale set and not completed (queued for one of its runners, or running on one). */
  readonly totalAssignedJobs: number;
  readonly totalRunningJobs: number;
  readonly totalRegisteredRunners: number;
  readonly totalBusyRunners: number;
  readonly totalIdleRunners: number;
}

/** One message from the scale set's queue: the job events since the previous one, and the statistics. */
export interface ScaleSetMessage {
  readonly messageId: number;
  readonly jobsAssigned: readonly number[];
  readonly jobsStarted: readonly { readonly jobId: number; readonly runnerName: string }[];
  readonly jobsCompleted: readonly { readonly jobId: number; readonly result: string }[];
  readonly statistics: ScaleSetStatistics;
}

export interface ScaleSetSpec {
  readonly name: string;
  /** Jobs whose labels this set covers (case-insensitively) are assigned to it (the first such set). */
  readonly labels: readonly string[];
  readonly runnerGroup: string;
}

export interface ActionsServiceOptions {
  readonly seed: number;
  /** From a job event to the listener's long poll returning it: uniform in [min, max] seconds. */
  readonly latencySeconds?: { readonly min: number; readonly max: number };
}

interface ScaleSetState {
  readonly id: number;
  readonly spec: ScaleSetSpec;
  readonly labels: readonly string[];
  readonly onMessage: (message: ScaleSetMessage) => void;
  /** Jobs assigned to it, and whether the listener has been told yet (only then do they count). */
  readonly jobs: Map<number, { job: JobRecord; told: boolean }>;
  readonly runnerIds: Set<number>;
  /** The message being gathered for events at one virtual instant, and when the last one arrives. */
  building?: {
    eventMs: number;
    assigned: number[];
    started: ScaleSetMessage['jobsStarted'][number][];
    completed: ScaleSetMessage['jobsCompleted'][number][];
  };
  lastArrivalMs: number;
}

/**
 * The Actions service's side of runner scale sets (actions/scaleset; what ARC's listener talks to), over the
 * world. Job events of a scale set's jobs — assigned (queued), started, completed — reach its listener as
 * messages a latency after they happen (`latencySeconds`, default 0.2–1 s uniform, one draw per virtual
 * instant, so a matrix's jobs come in one message); messages arrive in order; each carries the statistics as
 * of its arrival, counting a job as assigned from the message that announced it until it completes. Every
 * call is an Actions-service request (not REST): the long poll that returns a message, its acknowledgement,
 * an empty long poll, a JIT config, a runner removal.
 */
export class SimActionsService {
  private readonly sets: ScaleSetState[] = [];
  private observing = false;
  private nextMessageId = 1;
  private readonly latency: { readonly min: number; readonly max: number };
  private readonly rng: Rng;

  constructor(
    private readonly world: World,
    private readonly meter: RequestMeter,
    options: ActionsServiceOptions,
  ) {
    this.latency = options.latencySeconds ?? { min: 0.2, max: 1 };
    this.rng = new Rng(options.seed).fork('actions-service');
  }

  /**
   * Create the scale set and open its message session (two requests). Jobs of it already queued count from
   * the session's first statistics on; later events come to `onMessage` as its long poll returns them.
   */
  openSession(spec: ScaleSetSpec, onMessage: (message: ScaleSetMessage) => void): ScaleSetSession {
    this.meter.record('POST _apis/runtime/runnerscalesets', 'actions-service');
    this.meter.record('POST _apis/runtime/runnerscalesets/{id}/sessions', 'actions-service');
    const set: ScaleSetState = {
      id: this.sets.length + 1,
      spec,
      labels: normalizeLabels(spec.labels),
      onMessage,
      jobs: new Map(),
      runnerIds: new Set(),
      lastArrivalMs: 0,
    };
    this.sets.push(set);
    for (const job of this.world.github.allJobs()) {
      if (job.status === 'queued' && this.setOf(job) === set) set.jobs.set(job.id, { job, told: true });
    }
    if (!this.observing) {
      this.observing = true;
      this.world.observe({ jobStatusChanged: (job, created) => this.jobChanged(job, created) });
    }
    return new ScaleSetSession(set.id, this.meter, {
      statistics: () => this.statistics(set),
      generateJitConfig: (name) => this.generateJitConfig(set, name),
      removeRunner: (runnerId) => this.removeRunner(set, runnerId),
    });
  }

  private setOf(job: JobRecord): ScaleSetState | undefined {
    const wanted = normalizeLabels(job.labels);
    if (wanted.length === 0) return undefined;
    return this.sets.find((set) => wanted.every((label) => set.labels.includes(label)));
  }

  private jobChanged(job: JobRecord, created: boolean): void {
    if (created) {
      if (job.status !== 'queued') return;
      const set = this.setOf(job);
      if (!set) return;
      set.jobs.set(job.id, { job, told: false });
      this.gather(set).assigned.push(job.id);
      return;
    }
    const set = this.sets.find((candidate) => candidate.jobs.has(job.id));
    if (!set) return;
    if (job.status === 'in_progress')
      this.gather(set).started.push({ jobId: job.id, runnerName: job.runnerName ?? '' });
    else if (job.status === 'completed')
      this.gather(set).completed.push({ jobId: job.id, result: job.conclusion ?? 'success' });
  }

  /** The message for events at this instant: one latency draw per (scale set, instant), arrivals in order. */
  private gather(set: ScaleSetState): NonNullable<ScaleSetState['building']> {
    const now = this.world.nowMs;
    if (set.building?.eventMs === now) return set.building;
    const building = { eventMs: now, assigned: [], started: [], completed: [] };
    set.building = building;
    const draw = this.rng.fork(`${set.id}/${now}`);
    const latencyMs = Math.round(draw.uniform(this.latency.min, this.latency.max) * 1000);
    const arrivalMs = Math.max(now + latencyMs, set.lastArrivalMs);
    set.lastArrivalMs = arrivalMs;
    this.world.agenda.schedule(arrivalMs, () => this.arrive(set, building));
    return building;
  }

  private arrive(set: ScaleSetState, built: NonNullable<ScaleSetState['building']>): void {
    if (set.building === built) set.building = undefined;
    for (const jobId of built.assigned) {
      const entry = set.jobs.get(jobId);
      if (entry) entry.told = true;
    }
    // The long poll that returns this message.
    this.meter.record('GET {messageQueueUrl}', 'actions-service');
    set.onMessage({
      messageId: this.nextMessageId++,
      jobsAssigned: built.assigned,
      jobsStarted: built.started,
      jobsCompleted: built.completed,
      statistics: this.statistics(set),
    });
  }

  private statistics(set: ScaleSetState): ScaleSetStatistics {
    let assigned = 0;
    let running = 0;
    for (const [jobId, { job, told }] of set.jobs) {
      if (job.status === 'completed') {
        set.jobs.delete(jobId);
        continue;
      }
      if (!told) continue;
      assigned += 1;
      if (job.status === 'in_progress') running += 1;
    }
    let registered = 0;
    let busy = 0;
    for (const runnerId of set.runnerIds) {
      const runner = this.world.github.getRunner(runnerId);
      if (!runner) {
        set.runnerIds.delete(runnerId);
        continue;
      }
      registered += 1;
      if (runner.busy) busy += 1;
    }
    return {
      totalAssignedJobs: assigned,
      totalRunningJobs: running,
      totalRegisteredRunners: registered,
      totalBusyRunners: busy,
      totalIdleRunners: registered - busy,
    };
  }

  private generateJitConfig(set: ScaleSetState, name: string): JitRunner {
    const { github } = this.world;
    const group = github
      .listRunnerGroups()
      .find((candidate) => candidate.name.toLowerCase() === set.spec.runnerGroup.toLowerCase());
    if (!group) throw new GitHubNotFoundError(`Runner group "${set.spec.runnerGroup}" does not exist`);
    if (github.runnerByName(name)) throw new GitHubRequestError(`runner ${name} already exists (409)`, 409);
    const runner = github.registerRunner({
      name,
      labels: set.spec.labels,
      status: 'offline',
      ephemeral: true,
      runnerGroupId: group.id,
    });
    set.runnerIds.add(runner.id);
    return { runnerId: runner.id, encodedJitConfig: `jit:${name}` };
  }

  /** False when the runner holds a job (the service refuses: JobStillRunning); true when gone. */
  private removeRunner(set: ScaleSetState, runnerId: number): boolean {
    const runner = this.world.github.getRunner(runnerId);
    if (!runner) return true;
    if (runner.busy) return false;
    this.world.github.removeRunner(runnerId);
    set.runnerIds.delete(runnerId);
    return true;
  }
}

/** A listener's session with one scale set: what ARC's listener and controller call, each call metered. */
export class ScaleSetSession {
  constructor(
    readonly scaleSetId: number,
    private readonly meter: RequestMeter,
    private readonly service: {
      statistics(): ScaleSetStatistics;
      generateJitConfig(name: string): JitRunner;
      removeRunner(runnerId: number): boolean;
    },
  ) {}

  /** The statistics the session was opened with (and, later, as of now). */
  statistics(): ScaleSetStatistics {
    return this.service.statistics();
  }

  /** DELETE the message just handled (the acknowledgement; otherwise the next poll returns it again). */
  acknowledge(_messageId: number): void {
    this.meter.record('DELETE {messageQueueUrl}/{messageId}', 'actions-service');
  }

  /** A long poll that returned no message (202 after ~50 s). */
  pollReturnedEmpty(): void {
    this.meter.record('GET {messageQueueUrl}', 'actions-service');
  }

  /** `POST …/runnerscalesets/{id}/generatejitconfig`: registers the runner with the scale set's labels. */
  async generateJitConfig(name: string): Promise<JitRunner> {
    this.meter.record('POST _apis/runtime/runnerscalesets/{id}/generatejitconfig', 'actions-service');
    return this.service.generateJitConfig(name);
  }

  /** `DELETE …/runners/{id}`: false when the runner holds a job (the service refuses). */
  async removeRunner(runnerId: number): Promise<boolean> {
    this.meter.record('DELETE _apis/distributedtask/pools/{id}/agents/{runnerId}', 'actions-service');
    return this.service.removeRunner(runnerId);
  }
}
