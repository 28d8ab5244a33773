/**
 * The world behind the local GitHub stand-in: one organization with repositories, workflow runs, jobs and
 * self-hosted runners. It has no clock of its own and no background activity: a simulation or a test moves
 * it forward with the mutators, so every scenario is reproducible. Ids are sequential per kind.
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
}

export interface RunRecord {
  readonly id: number;
  readonly repo: string;
  status: RunStatus;
  conclusion: Conclusion | null;
  /** Starts at 1; {@link GitHubState.rerun} adds an attempt. */
  attempt: number;
  readonly createdAt: string;
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
  /** Ephemeral runners unregister themselves after one job, as GitHub does. */
  readonly ephemeral: boolean;
  readonly labels: readonly RunnerLabel[];
  readonly runnerGroupId: number;
}

export interface NewRunner {
  readonly name: string;
  readonly labels: readonly string[];
  readonly status?: 'online' | 'offline';
  readonly busy?: boolean;
  readonly ephemeral?: boolean;
  readonly os?: string;
  readonly runnerGroupId?: number;
}

export interface NewJob {
  readonly labels: readonly string[];
  readonly status?: JobStatus;
  readonly name?: string;
}

export class StandinStateError extends Error {
  override readonly name = 'StandinStateError';
}

/** GitHub's default group: where runners go unless a request names another one. */
export const defaultRunnerGroupId = 1;

export interface RunnerGroupRecord {
  readonly id: number;
  readonly name: string;
  readonly isDefault: boolean;
}

const readOnlyLabels = new Set(['self-hosted', 'linux', 'windows', 'macos', 'x64', 'arm', 'arm64']);

export class GitHubState {
  readonly org: string;
  private readonly now: () => Date;
  private readonly repos = new Map<string, RepoRecord>();
  private readonly runs = new Map<number, RunRecord>();
  private readonly jobs = new Map<number, JobRecord>();
  /** Indexes (runs and jobs are never removed): a listing reads its own repository's or run's, not all. */
  private readonly runsByRepo = new Map<string, RunRecord[]>();
  private readonly jobsByRun = new Map<number, JobRecord[]>();
  private readonly runners = new Map<number, RunnerRecord>();
  /** Labels are organization-wide entities on GitHub: one id per name, whatever the case. */
  private readonly labelIds = new Map<string, number>();
  private readonly runnerGroups: RunnerGroupRecord[] = [
    { id: defaultRunnerGroupId, name: 'Default', isDefault: true },
  ];
  private readonly nextId = { repo: 1, run: 1, job: 1, runner: 1 };

  /** `now` only stamps created/started/completed times; it never drives a transition. */
  constructor(options: { org: string; now?: () => Date }) {
    this.org = options.org;
    this.now = options.now ?? (() => new Date());
  }

  addRepo(repo: string | StandinRepo): RepoRecord {
    const spec = typeof repo === 'string' ? { name: repo } : repo;
    if (this.repos.has(spec.name)) throw new StandinStateError(`Repository ${spec.name} already exists`);
    const created: RepoRecord = {
      id: this.nextId.repo++,
      name: spec.name,
      archived: spec.archived ?? false,
      disabled: spec.disabled ?? false,
      private: spec.private ?? true,
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
    };
    this.runs.set(run.id, run);
    const ofRepo = this.runsByRepo.get(repo);
    if (ofRepo) ofRepo.push(run);
    else this.runsByRepo.set(repo, [run]);
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
    return job;
  }

  registerRunner(spec: NewRunner): RunnerRecord {
    if (this.runnerByName(spec.name)) throw new StandinStateError(`Runner ${spec.name} already exists`);
    const runner: RunnerRecord = {
      id: this.nextId.runner++,
      name: spec.name,
      os: spec.os ?? 'Linux',
      status: spec.status ?? 'online',
      busy: spec.busy ?? false,
      ephemeral: spec.ephemeral ?? false,
      labels: spec.labels.map((label) => this.runnerLabel(label)),
      runnerGroupId: spec.runnerGroupId ?? defaultRunnerGroupId,
    };
    this.runners.set(runner.id, runner);
    return runner;
  }

  setRunnerStatus(runnerId: number, status: 'online' | 'offline'): void {
    this.requireRunner(runnerId).status = status;
  }

  setRunnerBusy(runnerId: number, busy: boolean): void {
    this.requireRunner(runnerId).busy = busy;
  }

  /** False when there was no such runner (GitHub's DELETE then answers 404). */
  removeRunner(runnerId: number): boolean {
    return this.runners.delete(runnerId);
  }

  /** A runner picks the job up: the job starts, the runner turns busy, the run follows. */
  /**
   * GitHub has given a queued job to a runner that has not started it yet: the job is still `queued`, with
   * the runner's id and name set, and the runner is busy.
   */
  handOver(jobId: number, runnerId: number): void {
    const job = this.requireJob(jobId);
    const runner = this.requireRunner(runnerId);
    if (job.status !== 'queued') throw new StandinStateError(`Job ${jobId} is ${job.status}, not queued`);
    if (runner.busy) throw new StandinStateError(`Runner ${runner.name} is busy`);
    job.runnerId = runner.id;
    job.runnerName = runner.name;
    runner.busy = true;
  }

  assignJob(jobId: number, runnerId: number): void {
    const job = this.requireJob(jobId);
    const runner = this.requireRunner(runnerId);
    if (job.status !== 'queued') throw new StandinStateError(`Job ${jobId} is ${job.status}, not queued`);
    if (runner.busy) throw new StandinStateError(`Runner ${runner.name} is busy`);
    job.status = 'in_progress';
    job.runnerId = runner.id;
    job.runnerName = runner.name;
    job.startedAt = this.timestamp();
    runner.busy = true;
    this.deriveRunStatus(job.runId);
  }

  completeJob(jobId: number, conclusion: Conclusion = 'success'): void {
    const job = this.requireJob(jobId);
    this.finishJob(job, conclusion);
    this.deriveRunStatus(job.runId);
  }

  /** Every unfinished job of the run ends cancelled; their runners are released. */
  cancelRun(runId: number): void {
    const run = this.requireRun(runId);
    for (const job of this.jobsOfRun(runId, 'latest')) {
      if (job.status !== 'completed') this.finishJob(job, 'cancelled');
    }
    run.status = 'completed';
    run.conclusion = 'cancelled';
  }

  /** Re-run a whole run: a new attempt whose jobs are fresh queued copies (earlier attempts stay listed). */
  rerun(runId: number): JobRecord[] {
    const run = this.requireRun(runId);
    if (run.status !== 'completed')
      throw new StandinStateError(`Run ${runId} is ${run.status}; only a completed run can be re-run`);
    const previous = this.jobsOfRun(runId, 'latest');
    run.attempt += 1;
    run.status = 'queued';
    run.conclusion = null;
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

  addRunnerGroup(name: string): RunnerGroupRecord {
    if (this.runnerGroups.some((group) => group.name.toLowerCase() === name.toLowerCase()))
      throw new StandinStateError(`Runner group ${name} already exists`);
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

  getRunner(runnerId: number): RunnerRecord | undefined {
    return this.runners.get(runnerId);
  }

  runnerByName(name: string): RunnerRecord | undefined {
    return [...this.runners.values()].find((runner) => runner.name === name);
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
    if (!runner) return;
    runner.busy = false;
    if (runner.ephemeral) this.runners.delete(runner.id);
  }

  private deriveRunStatus(runId: number): void {
    const run = this.requireRun(runId);
    const statuses = this.jobsOfRun(runId, 'latest').map((job) => job.status);
    if (statuses.every((status) => status === 'completed')) {
      const conclusions = new Set(this.jobsOfRun(runId, 'latest').map((job) => job.conclusion));
      run.status = 'completed';
      run.conclusion =
        (['failure', 'cancelled'] as const).find((worst) => conclusions.has(worst)) ?? 'success';
    } else if (statuses.some((status) => status === 'in_progress' || status === 'completed')) {
      run.status = 'in_progress';
    } else if (statuses.every((status) => status === 'waiting')) {
      run.status = 'waiting';
    } else {
      run.status = 'queued';
    }
  }

  private timestamp(): string {
    return this.now().toISOString();
  }

  private requireRepo(name: string): RepoRecord {
    const repo = this.repos.get(name);
    if (!repo) throw new StandinStateError(`No repository ${name}`);
    return repo;
  }

  private requireRun(runId: number): RunRecord {
    const run = this.runs.get(runId);
    if (!run) throw new StandinStateError(`No run ${runId}`);
    return run;
  }

  private requireJob(jobId: number): JobRecord {
    const job = this.jobs.get(jobId);
    if (!job) throw new StandinStateError(`No job ${jobId}`);
    return job;
  }

  private requireRunner(runnerId: number): RunnerRecord {
    const runner = this.runners.get(runnerId);
    if (!runner) throw new StandinStateError(`No runner ${runnerId}`);
    return runner;
  }
}
