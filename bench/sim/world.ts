/**
 * The simulated world: GitHub (runs and jobs, the queue, the assignment of a queued job to an idle matching
 * runner, the 60 s pick-up re-queue, runner registrations), EC2 (launch → boot + runner registration, spot
 * capacity failures, client-token dedupe, termination) and the runner-config store. Discrete-event: nothing
 * happens between events, and every random draw comes from a seeded stream.
 *
 * Life of a job: a run arrives with its jobs `queued`. GitHub hands a queued job to an idle online runner
 * whose labels cover the job's (case-insensitive subset), at once. The runner starts it `pickupSeconds`
 * later — unless its machine is gone, in which case GitHub re-queues the job 60 s after the assignment.
 * The job runs for its duration; the ephemeral runner then deregisters itself and its instance shuts down.
 * A job whose machine is terminated while it runs fails ("killed"); it is not re-queued.
 *
 * Life of an instance: launched `pending`; after the boot time (launch → runner online) its bootstrap looks
 * for its runner config every `configPollSeconds`; once config and registration are there it reads and deletes
 * the config and the runner goes online. With none by `configWaitSeconds` after the launch, it shuts itself
 * down (as the example launch template does); a scaler may terminate it earlier as an orphan.
 *
 * Strategies never touch this class directly: they go through the ports in ports.ts, as production does.
 */
import { GitHubRequestError } from '../../functions/adapters/github-errors.ts';
import { normalizeLabels } from '../../functions/core/labels.ts';
import { instanceIdOfRunner, runnerNameFor } from '../../functions/core/model.ts';
import { Agenda } from '../../local/world/agenda.ts';
import { Rng } from '../../local/world/rng.ts';
import { type PlannedRun, repositoryName, type Workload } from './workload.ts';

/** GitHub re-queues a job that the runner it was given did not start within this long. */
export const pickupRequeueMs = 60_000;

export type JobStatus = 'queued' | 'assigned' | 'in_progress' | 'completed' | 'killed';

export interface SimJob {
  readonly id: number;
  readonly runId: number;
  readonly repo: string;
  readonly labels: readonly string[];
  readonly normalized: readonly string[];
  readonly durationMs: number;
  readonly queuedAt: number;
  status: JobStatus;
  assignedAt?: number;
  startedAt?: number;
  runnerId?: number;
  requeues: number;
}

export interface SimRun {
  readonly id: number;
  readonly repo: string;
  readonly jobIds: number[];
  /** Bumped on every visible change of its jobs (what an ETag would notice). */
  version: number;
  active: boolean;
}

export interface SimRepo {
  readonly name: string;
  readonly activeRunIds: Set<number>;
  version: number;
}

export interface SimRunner {
  readonly id: number;
  readonly name: string;
  readonly labels: readonly string[];
  /** GitHub's view: online once the runner connected, offline when it never did or stopped heartbeating. */
  status: 'online' | 'offline';
  /** Truth: holds a job (assigned or running). */
  busy: boolean;
  busySince?: number;
  jobId?: number;
  /** The runner process is running on a live machine. */
  alive: boolean;
  readonly instanceId?: string;
}

export interface SimInstance {
  readonly id: string;
  readonly pool: string;
  state: 'pending' | 'running' | 'terminated';
  readonly launchedAt: number;
  readonly runnerName: string;
  orphanedSince?: string;
  terminatedAt?: number;
}

export interface LaunchOutcome {
  readonly instanceIds: string[];
  readonly missing: number;
  readonly errors: string[];
}

export interface TimelineSample {
  readonly t: number;
  readonly queued: number;
  readonly instances: number;
  readonly idle: number;
  readonly busy: number;
  readonly booting: number;
}

export interface WorldStats {
  readonly waitsMs: number[];
  /** Per job (same order as `waitsMs`): the part of its wait during which its pool was at maxRunners. */
  readonly waitsAtCapMs: number[];
  /** Jobs never started by the end; their wait so far is in `waitsMs` too (censored, never dropped). */
  readonly unstarted: number;
  readonly jobs: number;
  readonly jobsKilled: number;
  readonly requeues: number;
  readonly idleRunnerSeconds: number;
  readonly instanceSeconds: number;
  readonly peakInstances: number;
  readonly peakInstancesByPool: Record<string, number>;
  readonly launched: number;
  readonly launchMissing: number;
  /** When the last runner registration was created and the last runner came online, ms since start. */
  readonly lastRegistrationMs?: number;
  readonly lastRunnerOnlineMs?: number;
  readonly runnersOnline: number;
  readonly unconfiguredInstances: number;
  readonly timeline: TimelineSample[];
}

export interface WorldOptions {
  readonly workload: Workload;
  readonly seed: number;
  /** Runs arriving before this; the world itself runs as long as it is advanced. */
  readonly untilMs: number;
  readonly stack: string;
  readonly sampleEveryMs?: number;
  /** Waits of jobs queued before this, and idle time before it, are not measured (warm-up). */
  readonly measureFromMs?: number;
}

export class SimWorld {
  readonly clock: Agenda;
  readonly workload: Workload;
  readonly stack: string;
  readonly repos = new Map<string, SimRepo>();
  readonly runs = new Map<number, SimRun>();
  readonly jobs = new Map<number, SimJob>();
  readonly runners = new Map<number, SimRunner>();
  readonly instances = new Map<string, SimInstance>();
  readonly configs = new Map<string, { value: string; storedAt: string }>();
  /** Bumped on every visible change of the organization's runner list. */
  runnersVersion = 0;

  private readonly queue: SimJob[] = [];
  private readonly runnersByName = new Map<string, SimRunner>();
  private readonly live = new Map<string, SimInstance>();
  private readonly launchesByToken = new Map<string, LaunchOutcome>();
  private readonly bootRng: Rng;
  private readonly spotRng: Rng;
  private readonly githubRng: Rng;
  private githubFailures = 0;
  private nextJobId = 1;
  private nextRunId = 1;
  private nextRunnerId = 1;
  private nextInstance = 1;

  // metrics
  private readonly waitsMs: number[] = [];
  private readonly waitsAtCapMs: number[] = [];
  /** Per pool, the spans its live instances stood at its maxRunners (the last one open while it still does). */
  private readonly atCap = new Map<string, { from: number; to?: number }[]>();
  private readonly poolOfLabels = new Map<string, string | undefined>();
  private jobsKilled = 0;
  private requeues = 0;
  private idleRunnerMs = 0;
  private instanceMs = 0;
  private lastObservedMs = 0;
  private peak = 0;
  private readonly peakByPool: Record<string, number> = {};
  private launched = 0;
  private launchMissing = 0;
  /** When each runner registration was created (JIT), and when each runner came online (config read). */
  private readonly registeredAt: number[] = [];
  private readonly onlineAt: number[] = [];
  /** Instances that shut themselves down: no runner config came within the bootstrap's wait. */
  private unconfigured = 0;
  private readonly timeline: TimelineSample[] = [];
  private readonly measureFromMs: number;

  constructor(options: WorldOptions) {
    this.measureFromMs = options.measureFromMs ?? 0;
    this.workload = options.workload;
    this.stack = options.stack;
    this.clock = new Agenda(Date.parse(options.workload.start));
    const rng = new Rng(options.seed);
    this.bootRng = rng.fork('boot');
    this.spotRng = rng.fork('spot');
    this.githubRng = rng.fork('github');
    for (let i = 0; i < options.workload.repositories; i += 1) {
      const name = repositoryName(i);
      this.repos.set(name, { name, activeRunIds: new Set(), version: 0 });
    }
    for (const pool of options.workload.pools) this.peakByPool[pool.name] = 0;
    const sampleEvery = options.sampleEveryMs ?? 10_000;
    const sample = () => {
      this.timeline.push(this.sample());
      this.clock.after(sampleEvery, sample);
    };
    this.clock.schedule(0, sample);
  }
  /** Whether this GitHub read fails (workload.githubFailureRate; a seeded draw, so runs stay deterministic). */
  githubReadFails(): boolean {
    const fails = this.githubRng.chance(this.workload.githubFailureRate);
    if (fails) this.githubFailures += 1;
    return fails;
  }

  /** GitHub reads failed so far (see {@link githubReadFails}). */
  get githubReadFailures(): number {
    return this.githubFailures;
  }

  /** Put the workload's runs on the agenda. */
  scheduleRuns(runs: readonly PlannedRun[]): void {
    for (const run of runs) this.clock.schedule(run.atMs, () => this.addRun(run));
  }

  get nowMs(): number {
    return this.clock.elapsedMs;
  }

  advanceTo(ms: number): void {
    this.clock.advanceTo(ms, (at) => this.observe(at));
  }

  // ── GitHub: runs, jobs, assignment ────────────────────────────────────────────────────────────────────

  addRun(planned: PlannedRun): SimRun {
    const repo = this.repos.get(planned.repo);
    if (!repo) throw new Error(`unknown repository ${planned.repo}`);
    const run: SimRun = { id: this.nextRunId++, repo: repo.name, jobIds: [], version: 0, active: true };
    this.runs.set(run.id, run);
    repo.activeRunIds.add(run.id);
    repo.version += 1;
    for (const spec of planned.jobs) {
      const job: SimJob = {
        id: this.nextJobId++,
        runId: run.id,
        repo: repo.name,
        labels: spec.labels,
        normalized: normalizeLabels(spec.labels),
        durationMs: spec.durationMs,
        queuedAt: this.nowMs,
        status: 'queued',
        requeues: 0,
      };
      this.jobs.set(job.id, job);
      run.jobIds.push(job.id);
      this.queue.push(job);
    }
    this.assign();
    return run;
  }

  /** Jobs GitHub lists as `queued` in a repository (an assigned job is still queued until its runner starts it). */
  queuedJobsOf(repoName: string): SimJob[] {
    const repo = this.repos.get(repoName);
    if (!repo) return [];
    const jobs: SimJob[] = [];
    for (const runId of repo.activeRunIds) {
      for (const jobId of this.runs.get(runId)?.jobIds ?? []) {
        const job = this.jobs.get(jobId);
        if (job && (job.status === 'queued' || job.status === 'assigned')) jobs.push(job);
      }
    }
    return jobs;
  }

  /** A run is `queued` until one of its jobs starts, then `in_progress` until all are done. */
  runStatus(run: SimRun): 'queued' | 'in_progress' {
    return run.jobIds.some((id) => this.jobs.get(id)?.startedAt !== undefined) ? 'in_progress' : 'queued';
  }

  /** GitHub's side: each idle online runner takes the oldest queued job its labels cover. */
  private assign(): void {
    if (this.queue.length === 0) return;
    const idle = [...this.runners.values()].filter((r) => r.status === 'online' && !r.busy);
    if (idle.length === 0) return;
    for (const runner of idle) {
      const index = this.queue.findIndex((job) =>
        job.normalized.every((label) => runner.labels.includes(label)),
      );
      if (index < 0) continue;
      const job = this.queue[index] as SimJob;
      this.queue.splice(index, 1);
      job.status = 'assigned';
      job.assignedAt = this.nowMs;
      job.runnerId = runner.id;
      runner.busy = true;
      runner.busySince = this.nowMs;
      runner.jobId = job.id;
      this.runnersVersion += 1;
      const assignedAt = this.nowMs;
      this.clock.after(this.workload.pickupSeconds * 1000, () => this.pickUp(job, runner, assignedAt));
    }
  }

  private pickUp(job: SimJob, runner: SimRunner, assignedAt: number): void {
    if (job.status !== 'assigned' || job.runnerId !== runner.id || job.assignedAt !== assignedAt) return;
    if (!runner.alive) {
      // Nobody starts it: GitHub gives the job back to the queue 60 s after handing it out.
      this.clock.schedule(assignedAt + pickupRequeueMs, () => this.requeue(job, runner, assignedAt));
      return;
    }
    job.status = 'in_progress';
    job.startedAt = this.nowMs;
    if (job.queuedAt >= this.measureFromMs) {
      this.waitsMs.push(this.nowMs - job.queuedAt);
      this.waitsAtCapMs.push(this.waitAtCap(job, this.nowMs));
    }
    this.touchRun(job.runId);
    this.clock.after(job.durationMs, () => this.finish(job, runner));
  }

  private requeue(job: SimJob, runner: SimRunner, assignedAt: number): void {
    if (job.status !== 'assigned' || job.assignedAt !== assignedAt) return;
    job.status = 'queued';
    job.runnerId = undefined;
    job.assignedAt = undefined;
    job.requeues += 1;
    this.requeues += 1;
    // Back in its place: GitHub keeps the original queue time.
    const at = this.queue.findIndex(
      (other) => other.queuedAt > job.queuedAt || (other.queuedAt === job.queuedAt && other.id > job.id),
    );
    this.queue.splice(at < 0 ? this.queue.length : at, 0, job);
    if (this.runners.get(runner.id) === runner) {
      runner.status = 'offline';
      runner.busy = false;
      runner.jobId = undefined;
      this.runnersVersion += 1;
    }
    this.touchRun(job.runId);
    this.assign();
  }

  private finish(job: SimJob, runner: SimRunner): void {
    if (job.status !== 'in_progress') return;
    job.status = 'completed';
    this.touchRun(job.runId);
    // Ephemeral: the runner deregisters itself after its one job and the bootstrap shuts the machine down.
    this.unregister(runner);
    if (runner.instanceId) this.shutDown(runner.instanceId);
    this.assign();
  }

  private touchRun(runId: number): void {
    const run = this.runs.get(runId);
    if (!run) return;
    run.version += 1;
    const repo = this.repos.get(run.repo);
    if (repo) repo.version += 1;
    const done = run.jobIds.every((id) => {
      const status = this.jobs.get(id)?.status;
      return status === 'completed' || status === 'killed';
    });
    if (done && run.active) {
      run.active = false;
      repo?.activeRunIds.delete(run.id);
    }
  }

  // ── GitHub: runner registrations ──────────────────────────────────────────────────────────────────────

  /** POST generate-jitconfig: the registration exists at once, offline until the instance boots and connects. */
  registerJitRunner(name: string, labels: readonly string[]): SimRunner {
    if (this.runnersByName.has(name)) throw new GitHubRequestError(`runner ${name} already exists`, 409);
    const instanceId = instanceIdOfRunner(this.stack, name);
    const runner: SimRunner = {
      id: this.nextRunnerId++,
      name,
      labels: normalizeLabels(labels),
      status: 'offline',
      busy: false,
      alive: false,
      ...(instanceId ? { instanceId } : {}),
    };
    this.runners.set(runner.id, runner);
    this.runnersByName.set(name, runner);
    this.runnersVersion += 1;
    this.registeredAt.push(this.nowMs);
    return runner;
  }

  /** DELETE a registration; GitHub refuses (422) while the runner holds a job. */
  deleteRunner(runnerId: number): void {
    const runner = this.runners.get(runnerId);
    if (!runner) return;
    if (runner.busy) throw new GitHubRequestError(`runner ${runner.name} is running a job`, 422);
    this.unregister(runner);
  }

  private unregister(runner: SimRunner): void {
    if (this.runners.get(runner.id) !== runner) return;
    this.runners.delete(runner.id);
    this.runnersByName.delete(runner.name);
    runner.alive = false;
    this.runnersVersion += 1;
  }

  /** The list's `busy` lags reality by `busyFlagLagSeconds`; a single runner read is fresh. */
  listedBusy(runner: SimRunner): boolean {
    const lagMs = this.workload.busyFlagLagSeconds * 1000;
    return runner.busy && (lagMs === 0 || this.nowMs - (runner.busySince ?? 0) >= lagMs);
  }

  // ── EC2 ───────────────────────────────────────────────────────────────────────────────────────────────

  launch(pool: string, count: number, clientToken: string): LaunchOutcome {
    const previous = this.launchesByToken.get(clientToken);
    if (previous) return previous;
    const instanceIds: string[] = [];
    let missing = 0;
    for (let i = 0; i < count; i += 1) {
      if (this.spotRng.chance(this.workload.spotFailureRate)) {
        missing += 1;
        continue;
      }
      const id = `i-${(this.nextInstance++).toString(16).padStart(17, '0')}`;
      const instance: SimInstance = {
        id,
        pool,
        state: 'pending',
        launchedAt: this.nowMs,
        runnerName: runnerNameFor(this.stack, id),
      };
      this.instances.set(id, instance);
      this.live.set(id, instance);
      instanceIds.push(id);
      const { mean, jitter } = this.workload.bootSeconds;
      const bootMs = Math.max(1000, Math.round(this.bootRng.uniform(mean - jitter, mean + jitter) * 1000));
      this.clock.after(bootMs, () => this.boot(instance));
    }
    this.launched += instanceIds.length;
    this.launchMissing += missing;
    this.noteLiveCount(pool);
    const live = this.liveInstances();
    this.peak = Math.max(this.peak, live.length);
    this.peakByPool[pool] = Math.max(this.peakByPool[pool] ?? 0, live.filter((i) => i.pool === pool).length);
    const outcome = { instanceIds, missing, errors: missing > 0 ? ['InsufficientInstanceCapacity'] : [] };
    this.launchesByToken.set(clientToken, outcome);
    return outcome;
  }

  private boot(instance: SimInstance): void {
    if (instance.state !== 'pending') return;
    instance.state = 'running';
    this.lookForConfig(instance);
  }

  /** The bootstrap's poll for its runner config (SSM GetParameter every few seconds). */
  private lookForConfig(instance: SimInstance): void {
    if (instance.state !== 'running') return;
    const runner = this.runnersByName.get(instance.runnerName);
    if (!this.configs.has(instance.id) || !runner) {
      const giveUpAt = instance.launchedAt + this.workload.configWaitSeconds * 1000;
      const nextLook = this.nowMs + this.workload.configPollSeconds * 1000;
      if (nextLook > giveUpAt) this.clock.schedule(giveUpAt, () => this.giveUp(instance));
      else this.clock.schedule(nextLook, () => this.lookForConfig(instance));
      return;
    }
    this.configs.delete(instance.id);
    this.onlineAt.push(this.nowMs);
    runner.status = 'online';
    runner.alive = true;
    this.runnersVersion += 1;
    this.assign();
  }

  /** No config came within the bootstrap's wait: it shuts the machine down. */
  private giveUp(instance: SimInstance): void {
    if (instance.state !== 'running' || this.runnersByName.get(instance.runnerName)?.alive) return;
    this.unconfigured += 1;
    this.shutDown(instance.id);
  }

  /** TerminateInstances (by a scaler). A registered runner on it dies with it. */
  terminate(instanceId: string): void {
    this.shutDown(instanceId);
  }

  private shutDown(instanceId: string): void {
    const instance = this.instances.get(instanceId);
    if (!instance || instance.state === 'terminated') return;
    instance.state = 'terminated';
    instance.terminatedAt = this.nowMs;
    this.live.delete(instanceId);
    this.noteLiveCount(instance.pool);
    const runner = this.runnersByName.get(instance.runnerName);
    if (!runner?.alive) return;
    runner.alive = false;
    const job = runner.jobId === undefined ? undefined : this.jobs.get(runner.jobId);
    if (job?.status === 'in_progress') {
      job.status = 'killed';
      this.jobsKilled += 1;
      this.touchRun(job.runId);
    }
    // GitHub notices the missing heartbeats only after a while; until then it may hand the runner a job.
    this.clock.after(this.workload.deadRunnerOnlineSeconds * 1000, () => {
      if (this.runners.get(runner.id) !== runner || runner.status === 'offline') return;
      if (runner.jobId !== undefined && this.jobs.get(runner.jobId)?.status === 'assigned') return; // re-queue handles it
      runner.status = 'offline';
      runner.busy = false;
      runner.jobId = undefined;
      this.runnersVersion += 1;
    });
  }

  markOrphaned(instanceId: string, at: Date): void {
    const instance = this.instances.get(instanceId);
    if (instance && instance.state !== 'terminated') instance.orphanedSince = at.toISOString();
  }

  liveInstances(): SimInstance[] {
    return [...this.live.values()];
  }

  // ── metrics ───────────────────────────────────────────────────────────────────────────────────────────

  /** When each runner registration (JIT) was created, in order (ms since the start). */
  registrationTimesMs(): number[] {
    return [...this.registeredAt];
  }

  /** Opens or closes the pool's at-cap span when its live count reaches or leaves maxRunners. */
  private noteLiveCount(pool: string): void {
    const max = this.workload.pools.find((candidate) => candidate.name === pool)?.maxRunners;
    if (max === undefined) return;
    let live = 0;
    for (const instance of this.live.values()) if (instance.pool === pool) live += 1;
    const spans = this.atCap.get(pool) ?? [];
    this.atCap.set(pool, spans);
    const open = spans[spans.length - 1];
    const isOpen = open !== undefined && open.to === undefined;
    if (live >= max && !isOpen) spans.push({ from: this.nowMs });
    if (live < max && isOpen) open.to = this.nowMs;
  }

  /** How much of the job's wait until `endMs` its pool (the first whose labels cover the job's) was at max. */
  private waitAtCap(job: SimJob, endMs: number): number {
    const key = job.normalized.join('\u0000');
    if (!this.poolOfLabels.has(key)) {
      const pool = this.workload.pools.find((candidate) =>
        job.normalized.every((label) => normalizeLabels(candidate.labels).includes(label)),
      );
      this.poolOfLabels.set(key, pool?.name);
    }
    const pool = this.poolOfLabels.get(key);
    let total = 0;
    for (const span of (pool && this.atCap.get(pool)) || []) {
      const from = Math.max(span.from, job.queuedAt);
      const to = Math.min(span.to ?? endMs, endMs);
      if (to > from) total += to - from;
    }
    return total;
  }

  private counts() {
    let idle = 0;
    let busy = 0;
    for (const runner of this.runners.values()) {
      if (!runner.alive) continue;
      if (runner.busy) busy += 1;
      else if (runner.status === 'online') idle += 1;
    }
    let booting = 0;
    for (const instance of this.live.values()) if (instance.state === 'pending') booting += 1;
    return { idle, busy, booting, instances: this.live.size };
  }

  private sample(): TimelineSample {
    let assigned = 0;
    for (const runner of this.runners.values()) {
      if (runner.jobId !== undefined && this.jobs.get(runner.jobId)?.status === 'assigned') assigned += 1;
    }
    const queued = this.queue.length + assigned;
    return { t: this.nowMs / 1000, queued, ...this.counts() };
  }

  /** Integrate the time-weighted counts up to `at` (state is constant between events). */
  private observe(at: number): void {
    if (at <= this.lastObservedMs) return;
    const dt = at - Math.max(this.lastObservedMs, Math.min(at, this.measureFromMs));
    const { idle, instances } = this.counts();
    this.idleRunnerMs += idle * dt;
    this.instanceMs += instances * dt;
    this.lastObservedMs = at;
  }

  stats(): WorldStats {
    this.observe(this.nowMs);
    const unstartedJobs = [...this.jobs.values()].filter(
      (j) => j.status === 'queued' || j.status === 'assigned',
    );
    return {
      waitsMs: [...this.waitsMs, ...unstartedJobs.map((job) => this.nowMs - job.queuedAt)],
      waitsAtCapMs: [...this.waitsAtCapMs, ...unstartedJobs.map((job) => this.waitAtCap(job, this.nowMs))],
      unstarted: unstartedJobs.length,
      jobs: [...this.jobs.values()].filter((job) => job.queuedAt >= this.measureFromMs).length,
      jobsKilled: this.jobsKilled,
      requeues: this.requeues,
      idleRunnerSeconds: this.idleRunnerMs / 1000,
      instanceSeconds: this.instanceMs / 1000,
      peakInstances: this.peak,
      peakInstancesByPool: { ...this.peakByPool },
      launched: this.launched,
      launchMissing: this.launchMissing,
      ...(this.registeredAt.length > 0 ? { lastRegistrationMs: Math.max(...this.registeredAt) } : {}),
      ...(this.onlineAt.length > 0 ? { lastRunnerOnlineMs: Math.max(...this.onlineAt) } : {}),
      runnersOnline: this.onlineAt.length,
      unconfiguredInstances: this.unconfigured,
      timeline: [...this.timeline],
    };
  }
}
