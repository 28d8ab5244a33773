/**
 * `seed-baseline`: the design stepscale replaces, reimplemented from its description, on the same ports.
 *
 * Every 60 s a scan starts. It lists the runners (once, at the start: "idle at scan time") and the
 * repositories, then reads every repository's queued jobs one after another; the whole scan takes 15 s,
 * growing linearly to 30 s at 1,000 repositories and more, and repository i is read i/N of the way through.
 * At the end of the scan, per pool (first pool whose labels cover the job's):
 *   launch    = clamp(queued + minIdle − idle, 0, maxRunners − live instances)   (booting capacity ignored)
 *   terminate = idle runners beyond queued + minIdle, deregistered first (GitHub refuses busy ones), then
 *               their instances terminated; no minimum running time, no re-read.
 * No conditional requests, no orphan or ghost clean-up. When GitHub refuses a request (rate limit), that
 * repository counts no jobs this scan; without the runner or repository list the scan does nothing; an instance
 * whose runner cannot be registered is terminated at once.
 */
import { createHash } from 'node:crypto';
import { matchPool, runnerServesPool } from '../../../functions/core/labels.ts';
import { type QueuedJob, type Runner, runnerNameFor } from '../../../functions/core/model.ts';
import type { Strategy, StrategyContext } from './types.ts';

export function baselineScanSeconds(repositories: number): number {
  return 15 + 15 * Math.min(1, repositories / 1000);
}

export class SeedBaselineStrategy implements Strategy {
  readonly name = 'seed-baseline';
  readonly firstTickMs = 0;
  readonly conditionalRequests = false;
  private scans = 0;
  private failedScans = 0;
  private failedRepositoryReads = 0;

  async tick(context: StrategyContext): Promise<number> {
    const { world, github, fleet, runnerConfigs, config } = context;
    const startMs = world.nowMs;
    this.scans += 1;
    const pools = config.pools;

    const next = startMs + 60_000;
    let runners: Runner[];
    let repositories: string[];
    try {
      runners = await github.listRunners();
      repositories = await github.listRepositories();
    } catch {
      this.failedScans += 1;
      return next;
    }
    const scanMs = baselineScanSeconds(repositories.length) * 1000;
    const queued = new Map(pools.map((pool) => [pool.name, 0]));
    for (const [index, repository] of repositories.entries()) {
      world.advanceTo(startMs + Math.floor((scanMs * index) / repositories.length));
      let jobs: QueuedJob[] = [];
      try {
        jobs = await github.listQueuedJobs(repository);
      } catch {
        this.failedRepositoryReads += 1;
      }
      for (const job of jobs) {
        const pool = matchPool(job.labels, pools);
        if (pool) queued.set(pool.name, (queued.get(pool.name) ?? 0) + 1);
      }
    }
    world.advanceTo(startMs + scanMs);

    const instances = await fleet.listInstances();
    const instanceByRunner = new Map(instances.map((instance) => [instance.runnerName, instance]));
    for (const pool of pools) {
      const idle = runners.filter(
        (runner) =>
          runner.status === 'online' &&
          !runner.busy &&
          pools.find((candidate) => runnerServesPool(runner.labels, candidate))?.name === pool.name,
      );
      const demand = (queued.get(pool.name) ?? 0) + pool.minIdle;
      const live = instances.filter((instance) => instance.pool === pool.name).length;
      const launch = Math.max(0, Math.min(demand - idle.length, pool.maxRunners - live));
      if (launch > 0) {
        const token = createHash('sha256').update(`${this.scans}/${pool.name}`).digest('hex').slice(0, 40);
        const result = await fleet.launch({
          pool: pool.name,
          count: launch,
          clientToken: token,
          createdAt: world.agenda.now().toISOString(),
        });
        const unregistered: string[] = [];
        for (const instanceId of result.instanceIds) {
          try {
            const jit = await github.createJitRunner({
              name: runnerNameFor(config.stack, instanceId),
              labels: pool.labels,
              runnerGroup: pool.runnerGroup,
            });
            if (!jit.alreadyRegistered) await runnerConfigs.put(instanceId, jit.encodedJitConfig);
          } catch {
            unregistered.push(instanceId);
          }
        }
        if (unregistered.length > 0) await fleet.terminate(unregistered);
      }
      const surplus = idle.length - demand;
      const toTerminate: string[] = [];
      for (const runner of idle.slice(0, Math.max(0, surplus))) {
        const instance = instanceByRunner.get(runner.name);
        if (!instance) continue;
        try {
          await github.deleteRunner(runner.id);
          toTerminate.push(instance.id);
        } catch {
          // 422: it took a job since the scan started (or 403: rate limited); leave it.
        }
      }
      if (toTerminate.length > 0) await fleet.terminate(toTerminate);
    }
    return next;
  }

  report(): Record<string, unknown> {
    return {
      scans: this.scans,
      failedScans: this.failedScans,
      failedRepositoryReads: this.failedRepositoryReads,
    };
  }
}
