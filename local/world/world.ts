/**
 * The simulated world stepscale scales: GitHub (github.ts), EC2 (fleet.ts) and the runner configs in SSM
 * (runner-configs.ts), and what happens in them over virtual time, on one seeded agenda (agenda.ts).
 * `npm start` plays a scenario on it behind the HTTP stand-in; the benchmark plays workloads on it behind
 * metered ports (bench/sim/ports.ts). Nothing happens between events, and every random draw is seeded.
 *
 * Life of a job: a run arrives with its jobs queued (or waiting for approval, or already running on
 * GitHub-hosted capacity). GitHub hands a queued job to an idle online runner whose labels cover the job's,
 * at once (a job a runner scale set's labels cover goes to that scale set's runners only, once its listener
 * acquired it: actions-service.ts); the runner starts it `pickupSeconds` later — unless its machine is gone, and then GitHub gives the
 * job back to the queue 60 s after handing it out. The job runs for its duration; the ephemeral runner then
 * leaves and its instance shuts down. A job without the `self-hosted` label (and no scale set's) goes to GitHub-hosted capacity
 * after `hostedPickupSeconds`. A job whose machine is terminated while it runs fails; its runner stays listed
 * as it was for `deadRunnerOnlineSeconds`, until GitHub notices the missed heartbeats.
 *
 * Life of an instance: launched pending (a client token launches once; spot capacity may miss); after its
 * boot time its bootstrap looks for its runner config every `configPollSeconds`; once config and
 * registration are there it takes the config and the runner goes online. With none within
 * `configWaitSeconds` of the launch it shuts the machine down; a scaler may terminate it earlier.
 *
 * Warm pools: an instance whose first boot finds the tag `stepscale:warm` = `preparing` (the user data reads it
 * from the instance metadata) warms up for `prepareSeconds` and shuts down, which stops it (its shutdown
 * behaviour is `stop`) after `stopSeconds`. Started again (`startSeconds` to running, a seeded capacity miss
 * possible), its per-boot bootstrap looks for its runner config as after a launch, runs one job and shuts down
 * — stopping again, for the scaler to terminate. Having run a job, it powers off at once on any later boot (the
 * bootstrap's marker): a warm instance never runs a second job. A stop through the API ends whatever ran on it.
 *
 * Webhooks (webhooks.ts): every change of a job's status makes a `workflow_job` delivery to each subscribed
 * hook, a second or so later, unless it is lost.
 *
 * A scaler acts only through ports over `github`, `fleet`, `runnerConfigs` and `webhooks`; the world reacts
 * to launches and terminations whoever made them.
 */
import { labelsCover, normalizeLabels } from '../../functions/core/labels.ts';
import { instanceIdOfRunner } from '../../functions/core/model.ts';
import { ActionsService, type ActionsServiceOptions } from './actions-service.ts';
import { Agenda } from './agenda.ts';
import { MemoryFleet, type MemoryInstance } from './fleet.ts';
import {
  GitHubState,
  GitHubStateError,
  type JobRecord,
  type RunnerRecord,
  type RunRecord,
} from './github.ts';
import { Rng } from './rng.ts';
import { MemoryRunnerConfigStore } from './runner-configs.ts';
import { type WebhookSettings, Webhooks } from './webhooks.ts';

/** GitHub gives a job back to the queue when the runner it was handed to has not started it within this. */
export const pickupRequeueMs = 60_000;

export interface LifecycleTiming {
  /** An idle runner that got a job starts it this long after the hand-over. */
  readonly pickupSeconds: number;
  /** A job without the `self-hosted` label starts on GitHub-hosted capacity this long after it is queued. */
  readonly hostedPickupSeconds: number;
  /** After the boot the bootstrap looks for its runner config this often… */
  readonly configPollSeconds: number;
  /** …and shuts the machine down when none came within this long of the launch. */
  readonly configWaitSeconds: number;
  /** A runner whose machine died still shows as it was this long (GitHub notices the missed heartbeats). */
  readonly deadRunnerOnlineSeconds: number;
  /** A warm instance's first boot warms it up this long before it powers off. */
  readonly prepareSeconds: number;
  /** An instance that powers off (or is stopped) is stopped this long after. */
  readonly stopSeconds: number;
}

export const defaultTiming: LifecycleTiming = {
  pickupSeconds: 2,
  hostedPickupSeconds: 15,
  configPollSeconds: 5,
  configWaitSeconds: 300,
  deadRunnerOnlineSeconds: 60,
  prepareSeconds: 15,
  stopSeconds: 10,
};

/** Seconds, uniform in mean ± jitter. */
export interface Spread {
  readonly mean: number;
  readonly jitter: number;
}

export interface WorldOptions {
  readonly org: string;
  /** The scaler's stack: its runners are named after it and their instances (`<stack>-<instance-id>`). */
  readonly stack: string;
  /** ISO time virtual time starts at. */
  readonly start: string;
  readonly seed: number;
  readonly repositories?: readonly string[];
  /** Launch → boot, per pool (at least a second). */
  readonly bootSeconds: (pool: string) => Spread;
  /** The chance that one requested instance finds no spot capacity. */
  readonly spotFailureRate?: number;
  /** Start of a stopped instance → running, per pool (default 15 ± 5 s). */
  readonly startSeconds?: (pool: string) => Spread;
  /** The chance that starting one stopped instance finds no capacity in its zone. */
  readonly startFailureRate?: number;
  readonly timing?: Partial<LifecycleTiming>;
  /** What the Actions service offers (scale sets at all, several labels per scale set). */
  readonly actions?: Omit<ActionsServiceOptions, 'now'>;
  /** How `workflow_job` deliveries are delayed and lost (webhooks.ts; default 1 ± 0.5 s, none lost). */
  readonly webhooks?: Partial<WebhookSettings>;
}

export interface NewRunJob {
  readonly labels: readonly string[];
  readonly durationMs: number;
  /** `in_progress`: running on GitHub-hosted capacity already; `waiting`: awaiting approval, never runs. */
  readonly status?: 'queued' | 'in_progress' | 'waiting';
}

export interface NewRun {
  readonly repo: string;
  readonly jobs: readonly NewRunJob[];
}

/** What happened, for whoever watches: the console of `npm start`, the benchmark's metrics. */
export interface WorldObserver {
  /** Virtual time is about to move to `atMs`; nothing changed since the previous call. */
  timePasses?(atMs: number): void;
  runArrived?(run: RunRecord, jobs: readonly JobRecord[]): void;
  runCancelled?(run: RunRecord): void;
  /** `runner` is undefined on GitHub-hosted capacity. */
  jobStarted?(job: JobRecord, queuedAtMs: number, runner: RunnerRecord | undefined): void;
  jobFinished?(job: JobRecord, runner: RunnerRecord | undefined): void;
  jobRequeued?(job: JobRecord): void;
  jobKilled?(job: JobRecord): void;
  /** A job was created (`created`) or changed its status: what GitHub sends `workflow_job` webhooks for. */
  jobStatusChanged?(job: JobRecord, created: boolean): void;
  runnerRegistered?(runner: RunnerRecord): void;
  runnerOnline?(runner: RunnerRecord, instance: MemoryInstance): void;
  instancesLaunched?(pool: string, instances: readonly MemoryInstance[], missing: number): void;
  instanceGone?(instance: MemoryInstance): void;
  /** The bootstrap gave up waiting for its runner config and shut the machine down. */
  instanceGaveUp?(instance: MemoryInstance): void;
  /** Stopped instances were started (warm pools). */
  instanceStarted?(instance: MemoryInstance): void;
  /** An instance began to stop: it no longer runs, and now costs only its volumes. */
  instanceStopping?(instance: MemoryInstance): void;
}

interface JobLife {
  readonly durationMs: number;
  readonly queuedAtMs: number;
  /** The labels GitHub matches runners against (normalized once). */
  readonly wanted: readonly string[];
  /** When it was last handed to a runner: a pick-up or give-back for an older hand-over is stale. */
  handedAtMs?: number;
}

export class World {
  readonly agenda: Agenda;
  readonly github: GitHubState;
  /** GitHub's runner scale sets: routes matching jobs to a scale set, whose runners alone may take them. */
  readonly actions: ActionsService;
  readonly fleet: MemoryFleet;
  readonly runnerConfigs: MemoryRunnerConfigStore;
  readonly webhooks: Webhooks;
  readonly stack: string;
  readonly timing: LifecycleTiming;
  private readonly bootSeconds: (pool: string) => Spread;
  private readonly startSeconds: (pool: string) => Spread;
  private readonly bootRng: Rng;
  private readonly startRng: Rng;
  /** Per instance, incremented whenever it stops or starts: a boot scheduled for an earlier run is void. */
  private readonly runs = new Map<string, number>();
  /** Instances whose bootstrap ran a job: on any later boot it powers off at once (its marker file). */
  private readonly ranJob = new Set<string>();
  private readonly observers: WorldObserver[] = [];
  /** Queued self-hosted jobs not handed to a runner, oldest first: GitHub's queue. */
  private readonly queue: JobRecord[] = [];
  private readonly lives = new Map<number, JobLife>();
  /** Names of the runners whose process runs on a live machine (the bootstrap started it with its config). */
  private readonly runnerProcesses = new Set<string>();
  private readonly runnerLabelKeys = new WeakMap<RunnerRecord, string[]>();

  constructor(options: WorldOptions) {
    this.stack = options.stack;
    this.timing = { ...defaultTiming, ...options.timing };
    this.bootSeconds = options.bootSeconds;
    this.startSeconds = options.startSeconds ?? (() => ({ mean: 15, jitter: 5 }));
    this.agenda = new Agenda(Date.parse(options.start));
    const rng = new Rng(options.seed);
    this.bootRng = rng.fork('boot');
    this.startRng = rng.fork('start');
    const spotRng = rng.fork('spot');
    const startMissRng = rng.fork('start-miss');
    const spotFailureRate = options.spotFailureRate ?? 0;
    const startFailureRate = options.startFailureRate ?? 0;
    const now = this.agenda.now;
    this.webhooks = new Webhooks({
      agenda: this.agenda,
      rng: rng.fork('webhooks'),
      org: options.org,
      repoOfRun: (runId) => this.github.getRun(runId)?.repo,
      ...(options.webhooks ? { settings: options.webhooks } : {}),
    });
    this.github = new GitHubState({
      org: options.org,
      now,
      onRunnerRegistered: (runner) => this.tell((observer) => observer.runnerRegistered?.(runner)),
      onJobStatusChanged: (job, created) => {
        this.webhooks.jobChanged(job, created);
        this.tell((observer) => observer.jobStatusChanged?.(job, created));
      },
    });
    this.fleet = new MemoryFleet({
      now,
      stack: options.stack,
      spotMiss: () => spotRng.chance(spotFailureRate),
      startMiss: () => startMissRng.chance(startFailureRate),
      onLaunched: (pool, instances, missing) => this.launched(pool, instances, missing),
      onStarted: (instance) => this.started(instance),
      onStopping: (instance) => this.machineDown(instance),
      onTerminated: (instance) => this.tell((observer) => observer.instanceGone?.(instance)),
    });
    this.actions = new ActionsService(this.github, { ...options.actions, now });
    this.actions.onRoutingChanged = () => {
      this.routeQueue();
      this.assign();
    };
    this.actions.onAcquired = () => this.assign();
    this.runnerConfigs = new MemoryRunnerConfigStore(now);
    for (const repo of options.repositories ?? []) this.github.addRepo(repo);
  }

  get nowMs(): number {
    return this.agenda.elapsedMs;
  }

  /**
   * Let virtual time pass to `ms`, everything due on the way happening. With `stopAfter`, stop right after
   * the first event after which it answers true (the benchmark wakes a strategy that way).
   */
  advanceTo(ms: number, stopAfter?: () => boolean): void {
    this.agenda.advanceTo(ms, (at) => this.tell((observer) => observer.timePasses?.(at)), stopAfter);
  }

  observe(observer: WorldObserver): void {
    this.observers.push(observer);
  }

  /** Whether the runner's process runs on a live machine (a registration alone runs nothing). */
  hasRunnerProcess(runnerName: string): boolean {
    return this.runnerProcesses.has(runnerName);
  }

  /** Self-hosted jobs GitHub lists as queued: in the queue, or handed to a runner that has not started. */
  queuedSelfHostedJobs(): number {
    let handedOver = 0;
    for (const runner of this.github.allRunners()) {
      if (runner.jobId !== undefined && this.github.getJob(runner.jobId)?.status === 'queued')
        handedOver += 1;
    }
    return this.queue.length + handedOver;
  }

  // ── GitHub: runs and the queue ──────────────────────────────────────────────────────────────────────────

  scheduleRun(atMs: number, run: NewRun): void {
    this.agenda.schedule(atMs, () => this.addRun(run));
  }

  addRun(spec: NewRun): RunRecord {
    const statuses = spec.jobs.map((job) => job.status ?? 'queued');
    const run = this.github.addRun(spec.repo, runStatusOf(statuses));
    const jobs = spec.jobs.map((jobSpec) => {
      const job = this.github.addJob(run.id, { labels: jobSpec.labels, status: jobSpec.status ?? 'queued' });
      const wanted = normalizeLabels(job.labels);
      this.lives.set(job.id, { durationMs: jobSpec.durationMs, queuedAtMs: this.nowMs, wanted });
      if (job.status === 'in_progress') this.agenda.after(jobSpec.durationMs, () => this.finish(job));
      else if (
        job.status === 'queued' &&
        // `runs-on: <scale set name>` is self-hosted without saying so.
        (this.actions.routeOf(job, wanted) !== undefined || wanted.includes('self-hosted'))
      )
        this.queue.push(job);
      else if (job.status === 'queued')
        this.agenda.after(this.timing.hostedPickupSeconds * 1000, () => this.startHosted(job));
      return job;
    });
    this.tell((observer) => observer.runArrived?.(run, jobs));
    this.assign();
    return run;
  }

  /** A user cancels the run: its unfinished jobs end; a runner holding one leaves, its machine shuts down. */
  cancelRun(runId: number): void {
    const run = this.github.getRun(runId);
    if (!run) throw new GitHubStateError(`No run ${runId}`);
    const holders = this.github.jobsOfRun(runId, 'latest').flatMap((job) => {
      const runner = job.status === 'completed' ? undefined : this.runnerOf(job);
      return runner ? [runner] : [];
    });
    const unfinished = this.github.jobsOfRun(runId, 'latest').filter((job) => job.status !== 'completed');
    this.github.cancelRun(runId);
    for (const job of unfinished) this.actions.jobFinished(job, 'canceled');
    for (let i = this.queue.length - 1; i >= 0; i -= 1) {
      if (this.queue[i]?.runId === runId) this.queue.splice(i, 1);
    }
    for (const runner of holders) if (runner.ephemeral) this.shutDownMachineOf(runner.name);
    this.tell((observer) => observer.runCancelled?.(run));
    this.assign();
  }

  /** GitHub's side: each idle online runner is handed the oldest queued job its labels cover. */
  private assign(): void {
    if (this.queue.length === 0) return;
    const idle: RunnerRecord[] = [];
    for (const runner of this.github.allRunners()) {
      if (runner.status === 'online' && !runner.busy) idle.push(runner);
    }
    for (const runner of idle) {
      const labels = this.labelKeysOf(runner);
      const index = this.queue.findIndex((job) => this.mayTake(runner, labels, job));
      if (index < 0) continue;
      const [job] = this.queue.splice(index, 1) as [JobRecord];
      this.github.handOver(job.id, runner.id);
      const handedAtMs = this.nowMs;
      this.lifeOf(job).handedAtMs = handedAtMs;
      this.agenda.after(this.timing.pickupSeconds * 1000, () => this.pickUp(job, runner, handedAtMs));
    }
  }

  private pickUp(job: JobRecord, runner: RunnerRecord, handedAtMs: number): void {
    const life = this.lifeOf(job);
    if (job.status !== 'queued' || job.runnerId !== runner.id || life.handedAtMs !== handedAtMs) return;
    if (!this.runnerProcesses.has(runner.name)) {
      // Nobody starts it: GitHub gives the job back to the queue a while after handing it out.
      this.agenda.schedule(handedAtMs + pickupRequeueMs, () => this.giveBack(job, runner, handedAtMs));
      return;
    }
    this.github.startJob(job.id);
    this.actions.jobStarted(job, runner);
    this.tell((observer) => observer.jobStarted?.(job, life.queuedAtMs, runner));
    this.agenda.after(life.durationMs, () => this.finish(job));
  }

  private giveBack(job: JobRecord, runner: RunnerRecord, handedAtMs: number): void {
    const life = this.lifeOf(job);
    if (job.status !== 'queued' || job.runnerId === undefined || life.handedAtMs !== handedAtMs) return;
    this.github.giveBack(job.id);
    life.handedAtMs = undefined;
    // Back in its place: GitHub keeps the original queue time.
    const at = this.queue.findIndex((other) => {
      const otherQueuedAt = this.lifeOf(other).queuedAtMs;
      return otherQueuedAt > life.queuedAtMs || (otherQueuedAt === life.queuedAtMs && other.id > job.id);
    });
    this.queue.splice(at < 0 ? this.queue.length : at, 0, job);
    // GitHub has given up on that runner too.
    if (this.github.getRunner(runner.id) === runner) this.github.setRunnerStatus(runner.id, 'offline');
    this.tell((observer) => observer.jobRequeued?.(job));
    this.assign();
  }

  private startHosted(job: JobRecord): void {
    if (job.status !== 'queued') return;
    // Hosted capacity is not modelled beyond "it shows up": a runner outside the organization takes the job.
    this.github.startOnHostedRunner(job.id, `GitHub Actions ${job.id}`);
    const life = this.lifeOf(job);
    this.tell((observer) => observer.jobStarted?.(job, life.queuedAtMs, undefined));
    this.agenda.after(life.durationMs, () => this.finish(job));
  }

  private finish(job: JobRecord): void {
    if (job.status !== 'in_progress') return;
    const runner = this.runnerOf(job);
    this.github.completeJob(job.id);
    this.actions.jobFinished(job, 'succeeded', runner);
    // Ephemeral: the runner unregistered itself after its one job; the bootstrap shuts the machine down.
    if (runner?.ephemeral) {
      const instanceId = instanceIdOfRunner(this.stack, runner.name);
      if (instanceId) this.ranJob.add(instanceId);
      this.shutDownMachineOf(runner.name);
    }
    this.tell((observer) => observer.jobFinished?.(job, runner));
    this.assign();
  }

  // ── EC2: boot, bootstrap, termination ───────────────────────────────────────────────────────────────────

  private launched(pool: string, instances: readonly MemoryInstance[], missing: number): void {
    const { mean, jitter } = this.bootSeconds(pool);
    for (const instance of instances) {
      const bootMs = Math.max(1000, Math.round(this.bootRng.uniform(mean - jitter, mean + jitter) * 1000));
      const run = this.nextRun(instance.id);
      this.agenda.after(bootMs, () => this.boot(instance, run, true));
    }
    this.tell((observer) => observer.instancesLaunched?.(pool, instances, missing));
  }

  /** A stopped instance was started: it boots again, faster than a launch (no AMI to fetch, caches warm). */
  private started(instance: MemoryInstance): void {
    const { mean, jitter } = this.startSeconds(instance.pool);
    const startMs = Math.max(1000, Math.round(this.startRng.uniform(mean - jitter, mean + jitter) * 1000));
    const run = this.nextRun(instance.id);
    this.agenda.after(startMs, () => this.boot(instance, run, false));
    this.tell((observer) => observer.instanceStarted?.(instance));
  }

  private boot(instance: MemoryInstance, run: number, firstBoot: boolean): void {
    if (this.runs.get(instance.id) !== run || instance.terminatedAt !== undefined) return;
    if (instance.state !== 'pending') return;
    this.fleet.markRunning(instance.id);
    // The bootstrap's marker: this machine ran its one job already.
    if (this.ranJob.has(instance.id)) {
      this.fleet.shutDown(instance.id);
      return;
    }
    // Prepare mode, read from the instance's tags at its first boot: warm up, then power off.
    if (firstBoot && instance.warm?.stage === 'preparing') {
      this.agenda.after(this.timing.prepareSeconds * 1000, () => {
        if (this.runs.get(instance.id) === run && instance.state === 'running')
          this.fleet.shutDown(instance.id);
      });
      return;
    }
    this.lookForConfig(instance, run);
  }

  /** The bootstrap's poll for its runner config (SSM GetParameter every few seconds). */
  private lookForConfig(instance: MemoryInstance, run: number): void {
    if (instance.terminatedAt !== undefined || this.runs.get(instance.id) !== run) return;
    const runner = this.github.runnerByName(instance.runnerName);
    if (!runner || !this.runnerConfigs.has(instance.id)) {
      const giveUpAt = this.agenda.msOf(instance.launchedAt) + this.timing.configWaitSeconds * 1000;
      const nextLook = this.nowMs + this.timing.configPollSeconds * 1000;
      if (nextLook > giveUpAt) this.agenda.schedule(giveUpAt, () => this.giveUp(instance, run));
      else this.agenda.schedule(nextLook, () => this.lookForConfig(instance, run));
      return;
    }
    this.runnerConfigs.take(instance.id);
    this.runnerProcesses.add(runner.name);
    this.github.setRunnerStatus(runner.id, 'online');
    this.tell((observer) => observer.runnerOnline?.(runner, instance));
    this.assign();
  }

  /** No config came within the bootstrap's wait: it shuts the machine down. */
  private giveUp(instance: MemoryInstance, run: number): void {
    if (instance.terminatedAt !== undefined || this.runs.get(instance.id) !== run) return;
    if (this.runnerProcesses.has(instance.runnerName)) return;
    this.tell((observer) => observer.instanceGaveUp?.(instance));
    this.fleet.shutDown(instance.id);
  }

  private shutDownMachineOf(runnerName: string): void {
    const instanceId = instanceIdOfRunner(this.stack, runnerName);
    if (instanceId) this.fleet.shutDown(instanceId);
  }

  /** Someone stops an instance through the API (StopInstances): whatever ran on it ends. */
  stopInstance(instanceId: string): void {
    this.fleet.stopInstance(instanceId, 'api');
  }

  private nextRun(instanceId: string): number {
    const run = (this.runs.get(instanceId) ?? 0) + 1;
    this.runs.set(instanceId, run);
    return run;
  }

  /**
   * An instance stopped running (terminated by a scaler, shut down from inside, or stopped): a runner on it
   * dies with it; one that stops becomes stopped a little later.
   */
  private machineDown(instance: MemoryInstance): void {
    this.nextRun(instance.id);
    if (instance.state === 'stopping') {
      this.agenda.after(this.timing.stopSeconds * 1000, () => this.fleet.markStopped(instance.id));
      this.tell((observer) => observer.instanceStopping?.(instance));
    }
    if (!this.runnerProcesses.delete(instance.runnerName)) return;
    const runner = this.github.runnerByName(instance.runnerName);
    if (!runner) return;
    const job = runner.jobId === undefined ? undefined : this.github.getJob(runner.jobId);
    if (job?.status === 'in_progress') {
      this.github.loseRunnerOf(job.id);
      this.actions.jobFinished(job, 'failed', runner);
      this.tell((observer) => observer.jobKilled?.(job));
    }
    this.agenda.after(this.timing.deadRunnerOnlineSeconds * 1000, () => {
      if (this.github.getRunner(runner.id) !== runner || runner.status === 'offline') return;
      const held = runner.jobId === undefined ? undefined : this.github.getJob(runner.jobId);
      if (held?.status === 'queued') return; // handed over: giving the job back takes the runner offline
      this.github.setRunnerStatus(runner.id, 'offline');
      this.github.setRunnerBusy(runner.id, false);
    });
  }

  // ── helpers ─────────────────────────────────────────────────────────────────────────────────────────────

  /**
   * GitHub's rule for one idle runner and one queued job: a job routed to a scale set goes only to that scale
   * set's runners, once its listener acquired it; any other job to a runner outside scale sets whose labels
   * cover the job's.
   */
  private mayTake(runner: RunnerRecord, labels: readonly string[], job: JobRecord): boolean {
    const { wanted } = this.lifeOf(job);
    const routed = this.actions.routeOf(job, wanted);
    if (routed) return runner.scaleSetId === routed.scaleSetId && routed.state === 'acquired';
    return runner.scaleSetId === undefined && labelsCover(labels, wanted);
  }

  /** Offers every waiting job to the scale set that covers it (after a scale set came, changed or went). */
  private routeQueue(): void {
    for (const job of this.queue) this.actions.routeOf(job, this.lifeOf(job).wanted);
  }

  private runnerOf(job: JobRecord): RunnerRecord | undefined {
    return job.runnerId === undefined ? undefined : this.github.getRunner(job.runnerId);
  }

  private lifeOf(job: JobRecord): JobLife {
    const life = this.lives.get(job.id);
    if (!life) throw new GitHubStateError(`Job ${job.id} did not arrive through the world`);
    return life;
  }

  private labelKeysOf(runner: RunnerRecord): string[] {
    let keys = this.runnerLabelKeys.get(runner);
    if (!keys) {
      keys = normalizeLabels(runner.labels.map((label) => label.name));
      this.runnerLabelKeys.set(runner, keys);
    }
    return keys;
  }

  private tell(notify: (observer: WorldObserver) => void): void {
    for (const observer of this.observers) notify(observer);
  }
}

/** GitHub's view of a new run: in progress once any job started, waiting when all wait for approval. */
function runStatusOf(statuses: readonly string[]): 'queued' | 'in_progress' | 'waiting' {
  if (statuses.includes('in_progress')) return 'in_progress';
  if (statuses.every((status) => status === 'waiting')) return 'waiting';
  return 'queued';
}
