/**
 * The world's GitHub: one organization with repositories, workflow runs (with attempts), jobs, self-hosted
 * runners (labels with ids, runner groups). It has no clock of its own and no background activity: the world
 * (world.ts) or a test moves it forward with the mutators, so every scenario is reproducible. Ids are
 * sequential per kind. The HTTP stand-in serves it; the simulated port reads it directly.
 *
 * A queued job GitHub has given to a runner that has not started it yet ("handed over") stays `queued`, with
 * the runner's id and name set, as GitHub lists it.
 *
 * Every change of a job's status (created queued or waiting, started, completed) is told to
 * `onJobStatusChanged`, whoever made it: what GitHub sends `workflow_job` webhooks for (world.ts).
 *
 * Revisions stand for ETags in the simulated port: a repository's bumps when a run of it arrives or any of
 * its jobs changes its status, a run's when one of its jobs does, the runner list's on every change of a
 * runner. A hand-over alone bumps no listing: the start follows it within seconds and changes the listing
 * then.
 */

export type RunStatus = 'queued' | 'in_progress' | 'completed' | 'waiting';
export type JobStatus = RunStatus;
export type Conclusion = 'success' | 'failure' | 'cancelled';

export interface StandinRepo {
  readonly name: string;
  readonly archived?: boolean;
  readonly disabled?: boolean;
  readonly private?: boolean;
}

export interface RepoRecord {
  readonly id: number;
  readonly name: string;
  readonly archived: boolean;
  readonly disabled: boolean;
  readonly private: boolean;
  /** Bumped when a run of it arrives or changes (what the ETag of its run listings notices). */
  revision: number;
}

export interface RunRecord {
  readonly id: number;
  readonly repo: string;
  status: RunStatus;
  conclusion: Conclusion | null;
  /** Starts at 1; {@link GitHubState.rerun} adds an attempt. */
  attempt: number;
  readonly createdAt: string;
  /** Bumped when one of its jobs changes status (what the ETag of its job listing notices). */
  revision: number;
}

export interface JobRecord {
  readonly id: number;
  readonly runId: number;
  readonly attempt: number;
  readonly name: string;
  status: JobStatus;
  conclusion: Conclusion | null;
  readonly labels: readonly string[];
  runnerId?: number;
  runnerName?: string;
  readonly createdAt: string;
  startedAt?: string;
  completedAt?: string;
}

export interface RunnerLabel {
  readonly id: number;
  readonly name: string;
  /** GitHub's own labels (self-hosted, OS, architecture) are read-only; the rest are custom. */
  readonly type: 'read-only' | 'custom';
}

export interface RunnerRecord {
  readonly id: number;
  readonly name: string;
  readonly os: string;
  status: 'online' | 'offline';
  busy: boolean;
  /** When it last turned busy (epoch ms): GitHub's runner list may show it only a while later. */
  busySince?: number;
  /** The job it holds (handed over or running), while it holds one. */
  jobId?: number;
  /** Ephemeral runners unregister themselves after one job, as GitHub does. */
  readonly ephemeral: boolean;
  readonly labels: readonly RunnerLabel[];
  readonly runnerGroupId: number;
  /** The runner scale set it was registered through (local/world/actions-service.ts), if any. */
  readonly scaleSetId?: number;
}

export interface NewRunner {
  readonly name: string;
  readonly labels: readonly string[];
  readonly status?: 'online' | 'offline';
  readonly busy?: boolean;
  readonly ephemeral?: boolean;
  readonly os?: string;
  readonly runnerGroupId?: number;
  readonly scaleSetId?: number;
}

export interface NewJob {
  readonly labels: readonly string[];
  readonly status?: JobStatus;
  readonly name?: string;
}

export class GitHubStateError extends Error {
  override readonly name = 'GitHubStateError';
}

/** GitHub's default group: where runners go unless a request names another one. */
export const defaultRunnerGroupId = 1;

export interface RunnerGroupRecord {
  readonly id: number;
  readonly name: string;
  readonly isDefault: boolean;
}

const readOnlyLabels = new Set(['self-hosted', 'linux', 'windows', 'macos', 'x64', 'arm', 'arm64']);

export interface GitHubStateOptions {
  readonly org: string;
  /** Only stamps created/started/completed times and busy-since; it never drives a transition. */
  readonly now?: () => Date;
  /** Told of every registration, whoever made it (a JIT request, a test). */
  readonly onRunnerRegistered?: (runner: RunnerRecord) => void;
  /** Told of every job that is created (`created`) or changes its status, after the change. */
  readonly onJobStatusChanged?: (job: JobRecord, created: boolean) => void;
}

export class GitHubState {
  readonly org: string;
  private readonly now: () => Date;
  private readonly onRunnerRegistered: (runner: RunnerRecord) => void;
  private readonly onJobStatusChanged: (job: JobRecord, created: boolean) => void;
  private readonly repos = new Map<string, RepoRecord>();
  private readonly runs = new Map<number, RunRecord>();
  private readonly jobs = new Map<number, JobRecord>();
  /** Indexes (runs and jobs are never removed): a listing reads its own repository's or run's, not all. */
  private readonly runsByRepo = new Map<string, RunRecord[]>();
  /** Runs not completed yet, per repository, in arrival order: what a scan of queued jobs reads. */
  private readonly openRunsByRepo = new Map<string, Set<RunRecord>>();
  private readonly jobsByRun = new Map<number, JobRecord[]>();
  private readonly runners = new Map<number, RunnerRecord>();
  private readonly runnersByName = new Map<string, RunnerRecord>();
  private runnerRevision = 0;
  /** Labels are organization-wide entities on GitHub: one id per name, whatever the case. */
  private readonly labelIds = new Map<string, number>();
  private readonly runnerGroups: RunnerGroupRecord[] = [
    { id: defaultRunnerGroupId, name: 'Default', isDefault: true },
  ];
  private readonly nextId = { repo: 1, run: 1, job: 1, runner: 1 };

  constructor(options: GitHubStateOptions) {
    this.org = options.org;
    this.now = options.now ?? (() => new Date());
    this.onRunnerRegistered = options.onRunnerRegistered ?? (() => {});
    this.onJobStatusChanged = options.onJobStatusChanged ?? (() => {});
  }

  /** Bumped on every change of a runner (registered, removed, online or offline, busy or idle). */
  get runnersRevision(): number {
    return this.runnerRevision;
  }

  addRepo(repo: string | StandinRepo): RepoRecord {
    const spec = typeof repo === 'string' ? { name: repo } : repo;
    if (this.repos.has(spec.name)) throw new GitHubStateError(`Repository ${spec.name} already exists`);
    const created: RepoRecord = {
      id: this.nextId.repo++,
      name: spec.name,
      archived: spec.archived ?? false,
      disabled: spec.disabled ?? false,
      private: spec.private ?? true,
      revision: 0,
    };
    this.repos.set(created.name, created);
    return created;
  }

  /**
   * A run in the given state. Its status stays as given until a job of it changes (assign, complete,
   * cancel), so a test can set up any combination, e.g. an in_progress run with queued jobs.
   */
  addRun(repo: string, status: RunStatus = 'queued'): RunRecord {
    this.requireRepo(repo);
    const run: RunRecord = {
      id: this.nextId.run++,
      repo,
      status,
      conclusion: null,
      attempt: 1,
      createdAt: this.timestamp(),
      revision: 0,
    };
    this.runs.set(run.id, run);
    const ofRepo = this.runsByRepo.get(repo);
    if (ofRepo) ofRepo.push(run);
    else this.runsByRepo.set(repo, [run]);
    this.setRunStatus(run, status, null);
    this.touch(run);
    return run;
  }

  addJob(runId: number, spec: NewJob): JobRecord {
    const run = this.requireRun(runId);
    const id = this.nextId.job++;
    const job: JobRecord = {
      id,
      runId,
      attempt: run.attempt,
      name: spec.name ?? `job-${id}`,
      status: spec.status ?? 'queued',
      conclusion: spec.status === 'completed' ? 'success' : null,
      labels: [...spec.labels],
      createdAt: this.timestamp(),
    };
    this.jobs.set(id, job);
    const ofRun = this.jobsByRun.get(runId);
    if (ofRun) ofRun.push(job);
    else this.jobsByRun.set(runId, [job]);
    this.touch(run);
    this.onJobStatusChanged(job, true);
    return job;
  }

  registerRunner(spec: NewRunner): RunnerRecord {
    if (this.runnersByName.has(spec.name)) throw new GitHubStateError(`Runner ${spec.name} already exists`);
    const runner: RunnerRecord = {
      id: this.nextId.runner++,
      name: spec.name,
      os: spec.os ?? 'Linux',
      status: spec.status ?? 'online',
      busy: spec.busy ?? false,
      ephemeral: spec.ephemeral ?? false,
      labels: spec.labels.map((label) => this.runnerLabel(label)),
      runnerGroupId: spec.runnerGroupId ?? defaultRunnerGroupId,
      ...(spec.scaleSetId === undefined ? {} : { scaleSetId: spec.scaleSetId }),
      ...(spec.busy ? { busySince: this.now().getTime() } : {}),
    };
    this.runners.set(runner.id, runner);
    this.runnersByName.set(runner.name, runner);
    this.runnerRevision += 1;
    this.onRunnerRegistered(runner);
    return runner;
  }

  setRunnerStatus(runnerId: number, status: 'online' | 'offline'): void {
    this.requireRunner(runnerId).status = status;
    this.runnerRevision += 1;
  }

  /** Idle again lets go of the job it held (GitHub gave up on it, or it is gone). */
  setRunnerBusy(runnerId: number, busy: boolean): void {
    const runner = this.requireRunner(runnerId);
    runner.busy = busy;
    if (busy) runner.busySince = this.now().getTime();
    else runner.jobId = undefined;
    this.runnerRevision += 1;
  }

  /** False when there was no such runner (GitHub's DELETE then answers 404). */
  removeRunner(runnerId: number): boolean {
    const runner = this.runners.get(runnerId);
    if (!runner) return false;
    this.runners.delete(runnerId);
    this.runnersByName.delete(runner.name);
    this.runnerRevision += 1;
    return true;
  }

  /**
   * GitHub has given a queued job to a runner that has not started it yet: the job is still `queued`, with
   * the runner's id and name set, and the runner is busy.
   */
  handOver(jobId: number, runnerId: number): void {
    const job = this.requireJob(jobId);
    const runner = this.requireRunner(runnerId);
    if (job.status !== 'queued') throw new GitHubStateError(`Job ${jobId} is ${job.status}, not queued`);
    if (job.runnerId !== undefined) throw new GitHubStateError(`Job ${jobId} is handed over already`);
    if (runner.busy) throw new GitHubStateError(`Runner ${runner.name} is busy`);
    job.runnerId = runner.id;
    job.runnerName = runner.name;
    runner.busy = true;
    runner.busySince = this.now().getTime();
    runner.jobId = job.id;
    this.runnerRevision += 1;
  }

  /** The runner a job was handed over to starts it: the job is in progress, the run follows. */
  startJob(jobId: number): void {
    const job = this.requireJob(jobId);
    if (job.status !== 'queued' || job.runnerId === undefined)
      throw new GitHubStateError(`Job ${jobId} is not handed over to a runner`);
    job.status = 'in_progress';
    job.startedAt = this.timestamp();
    this.deriveRunStatus(job.runId);
    this.onJobStatusChanged(job, false);
  }

  /** A runner picks the job up at once: {@link handOver} and {@link startJob} in one. */
  assignJob(jobId: number, runnerId: number): void {
    this.handOver(jobId, runnerId);
    this.startJob(jobId);
  }

  /**
   * GitHub-hosted capacity runs the job: it starts at once on a runner that is not one of the organization's
   * self-hosted runners, so no registration is listed or held busy.
   */
  startOnHostedRunner(jobId: number, runnerName: string): void {
    const job = this.requireJob(jobId);
    if (job.status !== 'queued' || job.runnerId !== undefined)
      throw new GitHubStateError(`Job ${jobId} is not waiting in the queue`);
    job.status = 'in_progress';
    job.runnerName = runnerName;
    job.startedAt = this.timestamp();
    this.deriveRunStatus(job.runId);
    this.onJobStatusChanged(job, false);
  }

  /** GitHub takes a handed-over job back (its runner never started it): queued again, the runner let go. */
  giveBack(jobId: number): void {
    const job = this.requireJob(jobId);
    if (job.status !== 'queued' || job.runnerId === undefined)
      throw new GitHubStateError(`Job ${jobId} is not handed over to a runner`);
    const runner = this.runners.get(job.runnerId);
    job.runnerId = undefined;
    job.runnerName = undefined;
    if (runner?.jobId === job.id) this.setRunnerBusy(runner.id, false);
    this.touch(this.requireRun(job.runId));
  }

  completeJob(jobId: number, conclusion: Conclusion = 'success'): void {
    const job = this.requireJob(jobId);
    this.finishJob(job, conclusion);
    this.deriveRunStatus(job.runId);
  }

  /**
   * The machine under a running job died: the job fails at once, and its runner stays listed as it was
   * (online, busy) until GitHub notices the missed heartbeats (the world decides when).
   */
  loseRunnerOf(jobId: number): void {
    const job = this.requireJob(jobId);
    if (job.status !== 'in_progress')
      throw new GitHubStateError(`Job ${jobId} is ${job.status}, not running`);
    job.status = 'completed';
    job.conclusion = 'failure';
    job.completedAt = this.timestamp();
    this.deriveRunStatus(job.runId);
    this.onJobStatusChanged(job, false);
  }

  /** Every unfinished job of the run ends cancelled; their runners are released. */
  cancelRun(runId: number): void {
    const run = this.requireRun(runId);
    for (const job of this.jobsOfRun(runId, 'latest')) {
      if (job.status !== 'completed') this.finishJob(job, 'cancelled');
    }
    this.setRunStatus(run, 'completed', 'cancelled');
    this.touch(run);
  }

  /** Re-run a whole run: a new attempt whose jobs are fresh queued copies (earlier attempts stay listed). */
  rerun(runId: number): JobRecord[] {
    const run = this.requireRun(runId);
    if (run.status !== 'completed')
      throw new GitHubStateError(`Run ${runId} is ${run.status}; only a completed run can be re-run`);
    const previous = this.jobsOfRun(runId, 'latest');
    run.attempt += 1;
    this.setRunStatus(run, 'queued', null);
    return previous.map((job) => this.addJob(runId, { labels: job.labels, name: job.name }));
  }

  listRepos(): RepoRecord[] {
    return [...this.repos.values()];
  }

  getRepo(name: string): RepoRecord | undefined {
    return this.repos.get(name);
  }

  listRuns(repo: string): RunRecord[] {
    return [...(this.runsByRepo.get(repo) ?? [])];
  }

  /** The repository's runs that are not completed (queued, in progress or waiting), oldest first. */
  openRuns(repo: string): RunRecord[] {
    return [...(this.openRunsByRepo.get(repo) ?? [])];
  }

  getRun(runId: number): RunRecord | undefined {
    return this.runs.get(runId);
  }

  /** `latest`: only the jobs of the run's current attempt (GitHub's `filter=latest`). */
  jobsOfRun(runId: number, filter: 'latest' | 'all'): JobRecord[] {
    const run = this.requireRun(runId);
    const jobs = this.jobsByRun.get(runId) ?? [];
    return jobs.filter((job) => filter === 'all' || job.attempt === run.attempt);
  }

  getJob(jobId: number): JobRecord | undefined {
    return this.jobs.get(jobId);
  }

  /** Every job of every run and attempt, in creation order (not a copy: for counting, not for changing). */
  allJobs(): IterableIterator<JobRecord> {
    return this.jobs.values();
  }

  addRunnerGroup(name: string): RunnerGroupRecord {
    if (this.runnerGroups.some((group) => group.name.toLowerCase() === name.toLowerCase()))
      throw new GitHubStateError(`Runner group ${name} already exists`);
    const group = { id: this.runnerGroups.length + 1, name, isDefault: false };
    this.runnerGroups.push(group);
    return group;
  }

  listRunnerGroups(): RunnerGroupRecord[] {
    return [...this.runnerGroups];
  }

  listRunners(): RunnerRecord[] {
    return [...this.runners.values()];
  }

  /** The registered runners in registration order (not a copy: for counting, not for changing). */
  allRunners(): IterableIterator<RunnerRecord> {
    return this.runners.values();
  }

  getRunner(runnerId: number): RunnerRecord | undefined {
    return this.runners.get(runnerId);
  }

  runnerByName(name: string): RunnerRecord | undefined {
    return this.runnersByName.get(name);
  }

  private runnerLabel(name: string): RunnerLabel {
    const key = name.toLowerCase();
    let id = this.labelIds.get(key);
    if (id === undefined) {
      id = this.labelIds.size + 1;
      this.labelIds.set(key, id);
    }
    return { id, name, type: readOnlyLabels.has(key) ? 'read-only' : 'custom' };
  }

  private finishJob(job: JobRecord, conclusion: Conclusion): void {
    job.status = 'completed';
    job.conclusion = conclusion;
    job.completedAt = this.timestamp();
    const runner = job.runnerId === undefined ? undefined : this.runners.get(job.runnerId);
    if (runner?.ephemeral) this.removeRunner(runner.id);
    else if (runner) this.setRunnerBusy(runner.id, false);
    this.onJobStatusChanged(job, false);
  }

  private deriveRunStatus(runId: number): void {
    const run = this.requireRun(runId);
    const jobs = this.jobsOfRun(runId, 'latest');
    const statuses = jobs.map((job) => job.status);
    if (statuses.every((status) => status === 'completed')) {
      const conclusions = new Set(jobs.map((job) => job.conclusion));
      const worst = (['failure', 'cancelled'] as const).find((bad) => conclusions.has(bad));
      this.setRunStatus(run, 'completed', worst ?? 'success');
    } else if (statuses.some((status) => status === 'in_progress' || status === 'completed')) {
      this.setRunStatus(run, 'in_progress', null);
    } else if (statuses.every((status) => status === 'waiting')) {
      this.setRunStatus(run, 'waiting', null);
    } else {
      this.setRunStatus(run, 'queued', null);
    }
    this.touch(run);
  }

  private setRunStatus(run: RunRecord, status: RunStatus, conclusion: Conclusion | null): void {
    run.status = status;
    run.conclusion = conclusion;
    const open = this.openRunsByRepo.get(run.repo) ?? new Set<RunRecord>();
    this.openRunsByRepo.set(run.repo, open);
    if (status === 'completed') open.delete(run);
    else open.add(run);
  }

  /** Something in the run's listings changed: the run's and its repository's revisions move. */
  private touch(run: RunRecord): void {
    run.revision += 1;
    const repo = this.repos.get(run.repo);
    if (repo) repo.revision += 1;
  }

  private timestamp(): string {
    return this.now().toISOString();
  }

  private requireRepo(name: string): RepoRecord {
    return stored(this.repos, name, 'repository');
  }

  private requireRun(runId: number): RunRecord {
    return stored(this.runs, runId, 'run');
  }

  private requireJob(jobId: number): JobRecord {
    return stored(this.jobs, jobId, 'job');
  }

  private requireRunner(runnerId: number): RunnerRecord {
    return stored(this.runners, runnerId, 'runner');
  }
}

/** The record kept under `key`; naming one that does not exist is the caller's error. */
function stored<K, V>(records: ReadonlyMap<K, V>, key: K, kind: string): V {
  const record = records.get(key);
  if (record === undefined) throw new GitHubStateError(`No ${kind} ${key}`);
  return record;
}
