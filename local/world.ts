/**
 * What happens between and during cycles when stepscale runs locally: instances boot and register their
 * runner, GitHub hands queued jobs to idle matching runners, jobs finish, ephemeral runners leave and their
 * instances shut down, and the scenario's runs arrive or get cancelled. Driven by a virtual clock, second by
 * second, so a run is deterministic.
 */
import { labelsCover, normalizeLabels } from '../functions/core/labels.ts';
import type { Scenario, ScenarioEvent } from './scenario.ts';
import type { VirtualClock } from './virtual-clock.ts';
import type { MemoryFleet } from './world/fleet.ts';
import type { GitHubState } from './world/github.ts';
import type { MemoryRunnerConfigStore } from './world/runner-configs.ts';

const hostedRunnerPrefix = 'github-hosted-';

export class LocalWorld {
  private elapsed = 0;
  private readonly pending: ScenarioEvent[];
  private readonly runIdsByKey = new Map<string, number>();
  private readonly durationByJob = new Map<number, number>();
  private readonly finishAtByJob = new Map<number, number>();
  private readonly queuedAtByJob = new Map<number, number>();
  /** What happened since the last {@link drainHappenings}, for the console. */
  private happenings: string[] = [];

  constructor(
    private readonly scenario: Scenario,
    private readonly github: GitHubState,
    private readonly fleet: MemoryFleet,
    private readonly runnerConfigs: MemoryRunnerConfigStore,
    private readonly clock: VirtualClock,
  ) {
    this.pending = [...scenario.events].sort((a, b) => a.at - b.at);
    for (const repo of scenario.repositories) github.addRepo(repo);
  }

  get secondsElapsed(): number {
    return this.elapsed;
  }

  /** Let `seconds` of simulated time pass. */
  advance(seconds: number): void {
    this.advanceTo(this.elapsed + seconds);
  }

  advanceTo(target: number): void {
    this.step(); // whatever is due now (events at t=0, launches just made)
    while (this.elapsed < target) {
      this.clock.advance(1);
      this.elapsed += 1;
      this.step();
    }
  }

  drainHappenings(): string[] {
    const drained = this.happenings;
    this.happenings = [];
    return drained;
  }

  private step(): void {
    this.applyDueEvents();
    this.bootInstances();
    this.finishJobs();
    this.assignJobs();
  }

  private applyDueEvents(): void {
    while (this.pending.length > 0 && (this.pending[0]?.at ?? Number.POSITIVE_INFINITY) <= this.elapsed) {
      const event = this.pending.shift() as ScenarioEvent;
      if (event.type === 'run') this.startRun(event);
      else this.cancelRun(event.run);
    }
  }

  private startRun(event: Extract<ScenarioEvent, { type: 'run' }>): void {
    const run = this.github.addRun(event.repo, runStatusOf(event.jobs.map((job) => job.status)));
    if (event.key) this.runIdsByKey.set(event.key, run.id);
    const counts = new Map<string, number>();
    for (const spec of event.jobs) {
      for (let i = 0; i < spec.count; i += 1) {
        const job = this.github.addJob(run.id, { labels: spec.labels, status: spec.status });
        this.durationByJob.set(job.id, spec.durationSeconds);
        if (spec.status === 'in_progress')
          this.finishAtByJob.set(job.id, this.elapsed + spec.durationSeconds);
        if (spec.status === 'queued') this.queuedAtByJob.set(job.id, this.elapsed);
        const key = `${spec.status.replace('_', ' ')} [${spec.labels.join(', ')}]`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    const jobs = [...counts].map(([key, count]) => `${count} ${key}`).join(', ');
    this.note(`${event.repo}: run ${run.id} (${run.status.replace('_', ' ')}) with ${jobs}`);
  }

  private cancelRun(key: string): void {
    const runId = this.runIdsByKey.get(key);
    if (runId === undefined) throw new Error(`Scenario cancels unknown run "${key}"`);
    this.github.cancelRun(runId);
    this.note(`run ${runId} cancelled by a user`);
  }

  /**
   * What the instance bootstrap does once the machine is up: read its just-in-time config (and delete it),
   * start the runner, which brings the registration ScaleUp created online. Without a config there is
   * nothing to start: the instance idles until stepscale finds it orphaned.
   */
  private bootInstances(): void {
    for (const instance of this.fleet.live()) {
      if (instance.state !== 'pending') continue;
      const bootSeconds = this.scenario.bootSeconds[instance.pool] ?? 60;
      const bootedAt = Date.parse(instance.launchedAt) + bootSeconds * 1000;
      if (bootedAt > this.clock.now().getTime()) continue;
      this.fleet.markRunning(instance.id);
      const runner = this.github.runnerByName(instance.runnerName);
      if (!this.runnerConfigs.take(instance.id) || !runner) {
        this.note(`${instance.id} booted but found no runner config; it cannot start a runner`);
        continue;
      }
      this.github.setRunnerStatus(runner.id, 'online');
      this.note(`${instance.runnerName} online (${instance.pool})`);
    }
  }

  private finishJobs(): void {
    for (const [jobId, finishAt] of this.finishAtByJob) {
      if (finishAt > this.elapsed) continue;
      this.finishAtByJob.delete(jobId);
      const job = this.github.getJob(jobId);
      if (!job || job.status === 'completed') continue;
      const runnerName = job.runnerName;
      this.github.completeJob(jobId);
      if (!runnerName || runnerName.startsWith(hostedRunnerPrefix)) continue;
      // Ephemeral: the runner unregistered itself; its instance shuts down (stepscale's bootstrap does this).
      const instance = this.fleet.live().find((candidate) => candidate.runnerName === runnerName);
      if (instance) this.fleet.markTerminated(instance.id);
      this.note(`job ${jobId} finished on ${runnerName}; runner left, instance shut down`);
    }
  }

  /** GitHub's side: a queued job goes to an idle online runner whose labels cover the job's. */
  private assignJobs(): void {
    for (const [jobId, queuedAt] of [...this.queuedAtByJob]) {
      const job = this.github.getJob(jobId);
      if (job?.status !== 'queued') {
        this.queuedAtByJob.delete(jobId);
        continue;
      }
      const wanted = normalizeLabels(job.labels);
      if (!wanted.includes('self-hosted')) {
        if (this.elapsed - queuedAt >= this.scenario.hostedPickupSeconds) this.startHostedJob(jobId);
        continue;
      }
      const runner = this.github.listRunners().find(
        (candidate) =>
          candidate.status === 'online' &&
          !candidate.busy &&
          labelsCover(
            candidate.labels.map((label) => label.name),
            wanted,
          ),
      );
      if (!runner) continue;
      this.github.assignJob(jobId, runner.id);
      this.queuedAtByJob.delete(jobId);
      this.finishAtByJob.set(jobId, this.elapsed + (this.durationByJob.get(jobId) ?? 60));
      this.note(`job ${jobId} started on ${runner.name} after ${this.elapsed - queuedAt}s in the queue`);
    }
  }

  private startHostedJob(jobId: number): void {
    // GitHub-hosted capacity is not modelled beyond "it shows up": a hosted runner takes the job. It is
    // removed from the org's list at once, as hosted runners never appear among self-hosted ones.
    this.queuedAtByJob.delete(jobId);
    const hosted = this.github.registerRunner({
      name: `${hostedRunnerPrefix}${jobId}`,
      labels: ['ubuntu-latest'],
      ephemeral: true,
    });
    this.github.assignJob(jobId, hosted.id);
    this.github.removeRunner(hosted.id);
    this.finishAtByJob.set(jobId, this.elapsed + (this.durationByJob.get(jobId) ?? 60));
  }

  private note(message: string): void {
    this.happenings.push(`+${this.elapsed}s ${message}`);
  }
}

/** GitHub's view of a new run: in progress once any job started, waiting when all wait for approval. */
function runStatusOf(statuses: readonly string[]): 'queued' | 'in_progress' | 'waiting' {
  if (statuses.includes('in_progress')) return 'in_progress';
  if (statuses.every((status) => status === 'waiting')) return 'waiting';
  return 'queued';
}
