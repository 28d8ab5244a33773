/**
 * The production ports over the simulated world (local/world/world.ts): GitHubPort, FleetPort and
 * RunnerConfigStore; and what peers and fast paths use besides: an App's webhook (SimWebhooks: deliveries
 * pushed, the App's list-deliveries and redeliver endpoints) and the Actions service of runner scale sets
 * (SimActionsService, ARC's protocol). Strategies (the real cycle included) see nothing else. Each call is
 * metered (requests.ts); GitHub's also pays for conditional requests, the primary and secondary rate limits
 * and injected read failures, as the production client would.
 */

import type { Instance, QueuedJob, Runner } from '../../functions/core/model.ts';
import {
  GitHubNotFoundError,
  GitHubRateLimitError,
  GitHubRequestError,
  GitHubUnavailableError,
} from '../../functions/errors.ts';
import type {
  FleetPort,
  LaunchRequest,
  LaunchResult,
  PrepareRequest,
  StartResult,
} from '../../functions/ports/fleet.ts';
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
import type { ServiceStatistics } from '../../local/world/actions-service.ts';
import type { RunnerRecord } from '../../local/world/github.ts';
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

  prepare(request: PrepareRequest): Promise<LaunchResult> {
    this.meter.record('ec2:RunInstances', 'aws');
    return this.world.fleet.prepare(request);
  }

  /** As the EC2 adapter: a CreateTags and a StartInstances per instance. */
  start(instanceIds: readonly string[]): Promise<StartResult> {
    for (const _ of instanceIds) {
      this.meter.record('ec2:CreateTags', 'aws');
      this.meter.record('ec2:StartInstances', 'aws');
    }
    return this.world.fleet.start(instanceIds);
  }

  /** As the EC2 adapter: one DescribeLaunchTemplates per pool. */
  templateVersions(pools: readonly string[]): Promise<Record<string, number>> {
    for (const _ of pools) this.meter.record('ec2:DescribeLaunchTemplates', 'aws');
    return this.world.fleet.templateVersions(pools);
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

/** What a scale set's statistics say: the world's, as the Actions service sends them with every message. */
export type ScaleSetStatistics = ServiceStatistics;

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

/**
 * The Actions service of runner scale sets as ARC's listener meets it (actions/scaleset listener/listener.go),
 * a push view over the world's one model of it (local/world/actions-service.ts; what stepscale-scaleset polls
 * through SimScaleSets and the HTTP stand-in serves). `openSession` creates the scale set and opens its
 * session. When the scale set's queue has something, the listener's long poll returns it a latency later
 * (`latencySeconds`, default 0.2–1 s uniform, one draw per message; messages arrive in order). On arrival the
 * listener acquires the jobs offered, as listener.go does for every JobAvailable, and the message it is handed
 * carries the events and the statistics after that acquisition (the service's JobAssigned message, folded into
 * the same arrival: this favours the peer by one poll). A job counts as assigned from that message until it
 * completes; GitHub hands it to the scale set's own runners only. Every call is an Actions-service request
 * (not REST): the long poll that returns a message, the acquisition, the acknowledgement, an empty long poll,
 * a JIT config, a runner removal.
 */
export class SimActionsService {
  private readonly rng: Rng;
  private readonly latency: { readonly min: number; readonly max: number };
  private draws = 0;

  constructor(
    private readonly world: World,
    private readonly meter: RequestMeter,
    options: ActionsServiceOptions,
  ) {
    this.latency = options.latencySeconds ?? { min: 0.2, max: 1 };
    this.rng = new Rng(options.seed).fork('actions-service');
  }

  /**
   * Create the scale set and open its message session (two requests). Jobs of it already queued are offered on
   * its queue at once; every later event comes to `onMessage` as its long poll returns it.
   */
  openSession(spec: ScaleSetSpec, onMessage: (message: ScaleSetMessage) => void): ScaleSetSession {
    const { actions, github } = this.world;
    this.meter.record('POST _apis/runtime/runnerscalesets', 'actions-service');
    this.meter.record('POST _apis/runtime/runnerscalesets/{id}/sessions', 'actions-service');
    const group = actions.runnerGroupByName(spec.runnerGroup);
    if (!group) throw new GitHubNotFoundError(`Runner group "${spec.runnerGroup}" does not exist`);
    const set = actions.createScaleSet({ name: spec.name, runnerGroupId: group.id, labels: spec.labels });
    const session = actions.createSession(set.id, 'arc-listener');
    let lastSeen = 0;
    let arrival: number | undefined;
    const deliver = () => {
      arrival = undefined;
      const assigned: number[] = [];
      const started: ScaleSetMessage['jobsStarted'][number][] = [];
      const completed: ScaleSetMessage['jobsCompleted'][number][] = [];
      let messageId = lastSeen;
      const drain = () => {
        for (
          let read = actions.nextMessage(session, lastSeen);
          read;
          read = actions.nextMessage(session, lastSeen)
        ) {
          lastSeen = read.message.messageId;
          messageId = lastSeen;
          for (const event of read.message.jobs) {
            const jobId = Number(event.jobId);
            if (event.messageType === 'JobAssigned') assigned.push(jobId);
            else if (event.messageType === 'JobStarted')
              started.push({ jobId, runnerName: event.runnerName ?? '' });
            else if (event.messageType === 'JobCompleted')
              completed.push({ jobId, result: event.result ?? 'succeeded' });
            else offered.push(event.runnerRequestId);
          }
        }
      };
      const offered: number[] = [];
      drain();
      if (offered.length > 0) {
        this.meter.record('POST _apis/runtime/runnerscalesets/{id}/acquirejobs', 'actions-service');
        actions.acquireJobs(session, offered.splice(0));
        drain();
      }
      if (messageId === 0) return;
      // The long poll that returns this message.
      this.meter.record('GET {messageQueueUrl}', 'actions-service');
      onMessage({
        messageId,
        jobsAssigned: assigned,
        jobsStarted: started,
        jobsCompleted: completed,
        statistics: this.statistics(set.id),
      });
    };
    actions.onChange(() => {
      if (arrival !== undefined || !actions.hasMessage(set.id, lastSeen)) return;
      const draw = this.rng.fork(`${set.id}/${this.draws++}`);
      arrival = this.world.nowMs + Math.round(draw.uniform(this.latency.min, this.latency.max) * 1000);
      this.world.agenda.schedule(arrival, deliver);
    });
    if (actions.hasMessage(set.id, lastSeen)) deliver();
    return new ScaleSetSession(set.id, this.meter, {
      statistics: () => this.statistics(set.id),
      generateJitConfig: (name) => {
        if (github.runnerByName(name))
          throw new GitHubRequestError(`runner ${name} already exists (409)`, 409);
        const runner = actions.generateJitConfig(set.id, name);
        return { runnerId: runner.id, encodedJitConfig: `jit:${name}` };
      },
      removeRunner: (runnerId) => {
        const runner = github.getRunner(runnerId);
        if (!runner) return true;
        if (runner.busy) return false;
        actions.removeRunner(runnerId);
        return true;
      },
      acknowledge: (messageId) => actions.deleteMessage(session, messageId),
    });
  }

  private statistics(scaleSetId: number): ScaleSetStatistics {
    return this.world.actions.statistics(scaleSetId);
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
      acknowledge(messageId: number): void;
    },
  ) {}

  /** The statistics the session was opened with (and, later, as of now). */
  statistics(): ScaleSetStatistics {
    return this.service.statistics();
  }

  /** DELETE the message just handled (the acknowledgement; otherwise the next poll returns it again). */
  acknowledge(messageId: number): void {
    this.meter.record('DELETE {messageQueueUrl}/{messageId}', 'actions-service');
    this.service.acknowledge(messageId);
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
