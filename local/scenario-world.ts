/**
 * A scenario played on the world (local/world/world.ts): its repositories, its runs and cancellations on the
 * world's agenda, each pool's boot time, and a narration of what happened between and during cycles.
 */

import type { Scenario, ScenarioEvent } from './scenario.ts';
import type { MemoryInstance } from './world/fleet.ts';
import type { JobRecord, RunnerRecord, RunRecord } from './world/github.ts';
import { World, type WorldObserver } from './world/world.ts';

const defaultBootSeconds = 60;

/** The world at the scenario's start, with every event of the scenario on its agenda. */
export function worldForScenario(scenario: Scenario, stack: string): World {
  const world = new World({
    org: scenario.org,
    stack,
    start: scenario.start,
    // Nothing in a scenario is drawn at random (fixed boot times, no spot misses); the seed is for form.
    seed: 1,
    repositories: scenario.repositories,
    bootSeconds: (pool) => ({ mean: scenario.bootSeconds[pool] ?? defaultBootSeconds, jitter: 0 }),
    // A scenario's jobs start the moment GitHub hands them to a runner.
    timing: { pickupSeconds: 0, hostedPickupSeconds: scenario.hostedPickupSeconds },
  });
  const runIdsByKey = new Map<string, number>();
  for (const event of scenario.events) {
    world.agenda.schedule(event.at * 1000, () => {
      if (event.type === 'run') {
        const run = world.addRun({ repo: event.repo, jobs: jobsOf(event) });
        if (event.key) runIdsByKey.set(event.key, run.id);
        return;
      }
      const runId = runIdsByKey.get(event.run);
      if (runId === undefined) throw new Error(`Scenario cancels unknown run "${event.run}"`);
      world.cancelRun(runId);
    });
  }
  return world;
}

function jobsOf(event: Extract<ScenarioEvent, { type: 'run' }>) {
  return event.jobs.flatMap((spec) =>
    Array.from({ length: spec.count }, () => ({
      labels: spec.labels,
      status: spec.status,
      durationMs: spec.durationSeconds * 1000,
    })),
  );
}

/** What the world did, as console lines (`+25s …`), kept until {@link drain}ed. */
export class Narration implements WorldObserver {
  private lines: string[] = [];

  constructor(private readonly world: World) {
    world.observe(this);
  }

  drain(): string[] {
    const drained = this.lines;
    this.lines = [];
    return drained;
  }

  runArrived(run: RunRecord, jobs: readonly JobRecord[]): void {
    const counts = new Map<string, number>();
    for (const job of jobs) {
      const key = `${spaced(job.status)} [${job.labels.join(', ')}]`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const listed = [...counts].map(([key, count]) => `${count} ${key}`).join(', ');
    this.note(`${run.repo}: run ${run.id} (${spaced(run.status)}) with ${listed}`);
  }

  runCancelled(run: RunRecord): void {
    this.note(`run ${run.id} cancelled by a user`);
  }

  runnerOnline(runner: RunnerRecord, instance: MemoryInstance): void {
    this.note(`${runner.name} online (${instance.pool})`);
  }

  jobStarted(job: JobRecord, queuedAtMs: number, runner: RunnerRecord | undefined): void {
    if (!runner) return; // GitHub-hosted: not ours to watch
    const waited = (this.world.nowMs - queuedAtMs) / 1000;
    this.note(`job ${job.id} started on ${runner.name} after ${waited}s in the queue`);
  }

  jobFinished(job: JobRecord, runner: RunnerRecord | undefined): void {
    if (!runner) return;
    const left = runner.ephemeral ? '; runner left, instance shut down' : '';
    this.note(`job ${job.id} finished on ${runner.name}${left}`);
  }

  jobRequeued(job: JobRecord): void {
    this.note(`job ${job.id} back in the queue: the runner it was handed to never started it`);
  }

  jobKilled(job: JobRecord): void {
    this.note(`job ${job.id} failed: its instance was terminated while it ran`);
  }

  instanceGaveUp(instance: MemoryInstance): void {
    const wait = this.world.timing.configWaitSeconds;
    this.note(`${instance.id} found no runner config within ${wait}s of its launch and shut down`);
  }

  private note(message: string): void {
    this.lines.push(`+${this.world.nowMs / 1000}s ${message}`);
  }
}

function spaced(status: string): string {
  return status.replace('_', ' ');
}
