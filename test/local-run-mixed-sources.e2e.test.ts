/**
 * A polled pool and a scale-set pool whose labels overlap, through the stand-in and the real state machine:
 * GitHub gives the scale set every job its labels cover, so a job both pools serve is the scale set's (its
 * statistics count it) and the polled pool, listed first, must not launch for it as well.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DecideOutput } from '../functions/handlers/decide.ts';
import { type LocalRunResult, runLocal } from '../local/local-run.ts';

const pool = (name: string, labels: string[], extra: Record<string, unknown> = {}) => ({
  name,
  labels,
  maxRunners: 6,
  instanceTypes: ['m7i.large'],
  launchTemplate: 'lt-0123456789abcdef0',
  subnets: ['subnet-0a1b2c3d'],
  capacity: 'on-demand',
  ...extra,
});

const scenario = {
  description: 'A polled pool listed before a scale-set pool that serves some of the same jobs',
  org: 'acme',
  start: '2026-01-05T09:00:00Z',
  repositories: ['api', 'web'],
  bootSeconds: { large: 30, x64: 30 },
  hostedPickupSeconds: 15,
  cycles: [0, 60, 120],
  config: {
    stack: 'stepscale-local',
    pools: [
      // First in order, and serving every job of the second: without the claim it would count them all.
      pool('large', ['self-hosted', 'linux', 'x64', 'large'], { jobSource: 'poll' }),
      pool('x64', ['self-hosted', 'linux', 'x64'], { jobSource: 'scaleset' }),
    ],
    scaleDown: { minRunningSeconds: 300, bootTimeoutSeconds: 300 },
  },
  events: [
    {
      type: 'run',
      at: 0,
      repo: 'api',
      jobs: [{ labels: ['self-hosted', 'linux', 'x64'], count: 3, durationSeconds: 400 }],
    },
    {
      type: 'run',
      at: 0,
      repo: 'web',
      jobs: [{ labels: ['self-hosted', 'linux', 'x64', 'large'], count: 2, durationSeconds: 400 }],
    },
  ],
};

describe('a polled pool and a scale-set pool serving the same jobs', () => {
  let result: LocalRunResult;
  const launchedByPool: Record<string, number> = {};
  /** Each self-hosted job that started: its labels, and whether its runner is a scale set's. */
  const started: { labels: readonly string[]; onScaleSet: boolean }[] = [];

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stepscale-mixed-'));
    const scenarioPath = join(dir, 'scenario.json');
    await writeFile(scenarioPath, JSON.stringify(scenario));
    result = await runLocal({
      scenarioPath,
      print: () => {},
      observe: {
        instancesLaunched: (name, instances) => {
          launchedByPool[name] = (launchedByPool[name] ?? 0) + instances.length;
        },
        jobStarted: (job, _queuedAt, runner) => {
          if (runner) started.push({ labels: job.labels, onScaleSet: runner.scaleSetId !== undefined });
        },
      },
    });
  });

  it('counts a job both serve for the scale set only, and launches one runner per job', () => {
    const cycles = [...result.cycles, ...result.listenerCycles];
    expect(result.listenerCycles.length).toBeGreaterThan(0);
    expect(cycles.every((cycle) => cycle.status === 'SUCCEEDED')).toBe(true);
    // The scheduled cycle at 0 polled all five jobs: three went to the scale-set pool (not read: its
    // statistics count them once its listener acquired them), two to the polled pool listed first.
    const first = result.cycles[0]?.output as { demand: { queuedByPool: Record<string, number> } };
    expect(first.demand.queuedByPool).toEqual({ large: 2, x64: 3 });
    for (const cycle of cycles) {
      const plan = cycle.output.plan as DecideOutput;
      expect(plan.pools.find((entry) => entry.pool === 'large')?.queued ?? 0).toBeLessThanOrEqual(2);
    }
    expect(
      cycles.some((cycle) =>
        (cycle.output.plan as DecideOutput).pools.some(
          (entry) => entry.pool === 'x64' && entry.source === 'scaleset' && entry.assigned === 3,
        ),
      ),
    ).toBe(true);
    expect(launchedByPool).toEqual({ large: 2, x64: 3 });
  });

  it('runs each job once, the three on the scale set’s runners and the two on the polled pool’s', () => {
    expect(started).toHaveLength(5);
    expect(started.filter((job) => job.onScaleSet).map((job) => job.labels.length)).toEqual([3, 3, 3]);
    expect(started.filter((job) => !job.onScaleSet).map((job) => job.labels.length)).toEqual([4, 4]);
  });
});
