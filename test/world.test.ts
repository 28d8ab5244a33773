/**
 * The world's lifecycle (local/world/world.ts) as a scaler sees it through the benchmark's ports, and what
 * the benchmark measures of it (bench/sim/world-metrics.ts).
 */

import { describe, expect, it } from 'vitest';
import { SimFleet, SimGitHub, SimRunnerConfigs } from '../bench/sim/ports.ts';
import { RequestMeter } from '../bench/sim/requests.ts';
import { worldOf } from '../bench/sim/simulate.ts';
import { parseWorkload } from '../bench/sim/workload.ts';
import { WorldMetrics } from '../bench/sim/world-metrics.ts';
import { GitHubRateLimitError, GitHubRequestError } from '../functions/errors.ts';
import type { JitRegistration, JitRunner } from '../functions/ports/github.ts';
import type { JobRecord } from '../local/world/github.ts';
import { pickupRequeueMs, type World } from '../local/world/world.ts';

const labels = ['self-hosted', 'linux', 'x64'];

/** A registration these tests expect to be a new runner. */
function newRunner(registration: JitRegistration): JitRunner {
  if (registration.alreadyRegistered) throw new Error('the runner was registered already');
  return registration;
}

function setup(overrides: Record<string, unknown> = {}) {
  const workload = parseWorkload({
    name: 'unit',
    durationSeconds: 3600,
    warmupSeconds: 0,
    repositories: 3,
    pools: [{ name: 'linux', labels, maxRunners: 10 }],
    bootSeconds: { mean: 40, jitter: 0 },
    pickupSeconds: 2,
    deadRunnerOnlineSeconds: 60,
    arrivals: [{ type: 'burst', at: [0], jobs: 1, labels, durationSeconds: { mean: 60 } }],
    ...overrides,
  });
  const world = worldOf(workload, 1);
  const metrics = new WorldMetrics(world, { pools: workload.pools });
  const meter = new RequestMeter(() => world.nowMs);
  const github = new SimGitHub(world, meter, { conditional: true, hourlyLimit: workload.rateLimitPerHour });
  const fleet = new SimFleet(world, meter);
  const configs = new SimRunnerConfigs(world, meter);
  /** What ScaleUp does for one instance: launch, register, store the config. */
  const launchRunner = async (token = `t-${world.nowMs}`) => {
    const { instanceIds } = await fleet.launch({
      pool: 'linux',
      count: 1,
      clientToken: token,
      createdAt: '',
    });
    const id = instanceIds[0] as string;
    const jit = newRunner(
      await github.createJitRunner({ name: `stepscale-${id}`, labels, runnerGroup: 'Default' }),
    );
    await configs.put(id, jit.encodedJitConfig);
    return { instanceId: id, runnerId: jit.runnerId };
  };
  const run = (jobs = 1, durationMs = 60_000) =>
    world.addRun({
      repo: 'repo-00001',
      jobs: Array.from({ length: jobs }, () => ({ labels, durationMs })),
    });
  return { world, metrics, meter, github, fleet, configs, launchRunner, run };
}

/** Jobs GitHub lists as `queued` in the repository (handed over ones too, until their runner starts them). */
function queuedOnGitHub(world: World, repo: string): JobRecord[] {
  return world.github
    .listRuns(repo)
    .flatMap((run) => world.github.jobsOfRun(run.id, 'latest'))
    .filter((job) => job.status === 'queued');
}

/** Queued on GitHub, but given to a runner that has not started it yet. */
function handedOver(job: JobRecord | undefined): boolean {
  return job?.status === 'queued' && job.runnerId !== undefined;
}

describe('Class: World', () => {
  it('boots an instance after the boot time: its registration goes online, the config is consumed', async () => {
    // Prepare
    const { world, github, configs, launchRunner } = setup();
    const { runnerId } = await launchRunner();
    // Act + Assess
    world.advanceTo(39_999);
    expect((await github.getRunner(runnerId))?.status).toBe('offline');
    world.advanceTo(40_000);
    expect((await github.getRunner(runnerId))?.status).toBe('online');
    expect(await configs.list()).toEqual([]);
    expect(world.fleet.live()[0]?.state).toBe('running');
  });

  it('answers a second registration of a name as alreadyRegistered, as the production adapter does', async () => {
    const { github } = setup();
    const request = { name: 'stepscale-i-again', labels, runnerGroup: 'Default' };
    expect(await github.createJitRunner(request)).toMatchObject({ runnerId: expect.any(Number) });
    expect(await github.createJitRunner(request)).toEqual({ alreadyRegistered: true });
  });

  it('waits after boot for a config registered late, polling for it, and comes online once it is there', async () => {
    // Prepare: launched now, registered 68 s later (a paced registration in a burst).
    const { world, github, fleet, configs, metrics } = setup({ configPollSeconds: 5 });
    const { instanceIds } = await fleet.launch({
      pool: 'linux',
      count: 1,
      clientToken: 'late',
      createdAt: '',
    });
    const id = instanceIds[0] as string;
    world.advanceTo(68_000);
    const jit = newRunner(
      await github.createJitRunner({ name: `stepscale-${id}`, labels, runnerGroup: 'Default' }),
    );
    await configs.put(id, jit.encodedJitConfig);
    // Act + Assess: booted at 40 s, it looks at 40, 45, …, 70 s: the look at 70 s is the first to find it.
    world.advanceTo(69_999);
    expect((await github.getRunner(jit.runnerId))?.status).toBe('offline');
    world.advanceTo(70_000);
    expect((await github.getRunner(jit.runnerId))?.status).toBe('online');
    expect(metrics.stats()).toMatchObject({ runnersOnline: 1, unconfiguredInstances: 0 });
  });

  it('shuts an instance down when no config came within the bootstrap’s wait', async () => {
    const { world, fleet, metrics } = setup({ configWaitSeconds: 300 });
    await fleet.launch({ pool: 'linux', count: 1, clientToken: 'never', createdAt: '' });
    world.advanceTo(299_999);
    expect(world.fleet.live()).toHaveLength(1);
    world.advanceTo(300_000);
    expect(world.fleet.live()).toHaveLength(0);
    expect(metrics.stats().unconfiguredInstances).toBe(1);
  });

  it('assigns a queued job to an idle matching runner, starts it after the pick-up delay, records the wait', async () => {
    // Prepare
    const { world, github, launchRunner, run, metrics } = setup();
    run(1);
    const { runnerId } = await launchRunner();
    // Act
    world.advanceTo(40_000); // online → assigned at once
    expect((await github.getRunner(runnerId))?.busy).toBe(true);
    // Still `queued` on GitHub until started, but handed to a runner (runner_id set): no longer waiting for one.
    expect(queuedOnGitHub(world, 'repo-00001')).toHaveLength(1);
    expect(await github.listQueuedJobs('repo-00001')).toHaveLength(0);
    world.advanceTo(42_000);
    // Assess
    expect(await github.listQueuedJobs('repo-00001')).toHaveLength(0);
    expect(metrics.stats().waitsMs).toEqual([42_000]);
  });

  it('never gives a job to a runner whose labels do not cover it (case-insensitive subset)', async () => {
    const { world, launchRunner } = setup();
    world.addRun({
      repo: 'repo-00002',
      jobs: [{ labels: ['self-hosted', 'ARM64'], durationMs: 1000 }],
    });
    world.addRun({
      repo: 'repo-00002',
      jobs: [{ labels: ['Self-Hosted', 'LINUX'], durationMs: 60_000 }],
    });
    await launchRunner();
    world.advanceTo(45_000);
    const statuses = [...world.github.allJobs()].map((job) => job.status);
    expect(statuses).toEqual(['queued', 'in_progress']);
  });

  it('is ephemeral: after its job the runner deregisters and its instance shuts down', async () => {
    const { world, github, launchRunner, run } = setup();
    run(1, 30_000);
    const { runnerId } = await launchRunner();
    world.advanceTo(72_000);
    expect(await github.getRunner(runnerId)).toBeUndefined();
    expect(world.fleet.live()).toEqual([]);
  });

  it('re-queues a job 60 s after handing it to a runner whose machine is gone', async () => {
    // Prepare: an online idle runner whose instance is terminated without deregistering it.
    const { world, fleet, launchRunner, run, metrics } = setup();
    const first = await launchRunner();
    world.advanceTo(40_000);
    await fleet.terminate([first.instanceId]);
    // Act: a job arrives; GitHub still believes the runner is online and hands the job to it.
    world.advanceTo(50_000);
    run(1);
    const job = [...world.github.allJobs()][0];
    expect(handedOver(job)).toBe(true);
    world.advanceTo(50_000 + pickupRequeueMs - 1);
    expect(handedOver(job)).toBe(true);
    world.advanceTo(50_000 + pickupRequeueMs);
    // Assess
    expect(job?.status).toBe('queued');
    expect(metrics.stats().requeues).toBe(1);
    // A new runner picks it up; the wait counts from the first queueing.
    await launchRunner();
    world.advanceTo(50_000 + pickupRequeueMs + 42_000);
    expect(metrics.stats().waitsMs).toEqual([pickupRequeueMs + 42_000]);
  });

  it('kills a running job whose instance is terminated, and GitHub refuses to delete a busy runner', async () => {
    const { world, github, fleet, launchRunner, run, metrics } = setup();
    run(1, 600_000);
    const { instanceId, runnerId } = await launchRunner();
    world.advanceTo(45_000);
    await expect(github.deleteRunner(runnerId)).rejects.toSatisfy(
      (error) => error instanceof GitHubRequestError && error.status === 422,
    );
    await fleet.terminate([instanceId]);
    expect(metrics.stats().jobsKilled).toBe(1);
  });

  it('gives a job without the self-hosted label to GitHub-hosted capacity after the hosted pick-up delay', async () => {
    // Prepare: an idle runner that would cover the job's labels, were it ours.
    const { world, github, launchRunner } = setup();
    const { runnerId } = await launchRunner();
    world.advanceTo(40_000);
    // Act
    world.addRun({ repo: 'repo-00001', jobs: [{ labels: ['linux'], durationMs: 30_000 }] });
    // Assess
    const [job] = [...world.github.allJobs()];
    world.advanceTo(40_000 + world.timing.hostedPickupSeconds * 1000 - 1);
    expect(job?.status).toBe('queued');
    world.advanceTo(40_000 + world.timing.hostedPickupSeconds * 1000);
    expect(job?.status).toBe('in_progress');
    expect(job?.runnerId).toBeUndefined();
    expect((await github.getRunner(runnerId))?.busy).toBe(false);
    world.advanceTo(100_000);
    expect(job?.status).toBe('completed');
  });

  it('cancels a run: its running job ends, the runner leaves and its machine shuts down; a waiting job never runs', async () => {
    // Prepare
    const { world, github, launchRunner } = setup();
    const run = world.addRun({
      repo: 'repo-00001',
      jobs: [
        { labels, durationMs: 600_000 },
        { labels, durationMs: 60_000, status: 'waiting' },
      ],
    });
    const { runnerId } = await launchRunner();
    world.advanceTo(45_000);
    // Act
    world.cancelRun(run.id);
    // Assess
    expect(world.github.getRun(run.id)).toMatchObject({ status: 'completed', conclusion: 'cancelled' });
    expect([...world.github.allJobs()].map((job) => job.conclusion)).toEqual(['cancelled', 'cancelled']);
    expect(await github.getRunner(runnerId)).toBeUndefined();
    expect(world.fleet.live()).toEqual([]);
  });

  it('dedupes launches by client token and fails spot requests at the configured rate', async () => {
    const { fleet } = setup({ spotFailureRate: 0.5 });
    const a = await fleet.launch({ pool: 'linux', count: 200, clientToken: 'same', createdAt: '' });
    const b = await fleet.launch({ pool: 'linux', count: 200, clientToken: 'same', createdAt: '' });
    expect(b).toEqual(a);
    expect(a.instanceIds.length + a.missing).toBe(200);
    expect(a.missing).toBeGreaterThan(70);
    expect(a.missing).toBeLessThan(130);
    expect(a.errors).toEqual(['InsufficientInstanceCapacity']);
  });
});

describe('Class: SimGitHub (request model)', () => {
  it('counts 2 run listings + 1 per active run, and answers unchanged listings with free 304s', async () => {
    const { github, meter, run } = setup();
    run(3);
    await github.listQueuedJobs('repo-00001');
    expect(meter.totals).toMatchObject({ total: 3, rateLimited: 3, notModified: 0 });
    await github.listQueuedJobs('repo-00001');
    expect(meter.totals).toMatchObject({ total: 6, rateLimited: 3, notModified: 3 });
    run(1);
    await github.listQueuedJobs('repo-00001');
    // Both run listings changed; the old run's jobs did not, the new run's are new.
    expect(meter.totals).toMatchObject({ total: 10, rateLimited: 6, notModified: 4 });
  });

  it('refuses requests once the hour’s primary limit is spent, and reports it', async () => {
    const { world, meter } = setup({ rateLimitPerHour: 4 });
    const baseline = new SimGitHub(world, meter, {
      conditional: false,
      hourlyLimit: 4,
    });
    await baseline.listQueuedJobs('repo-00001');
    await baseline.listQueuedJobs('repo-00002');
    await expect(baseline.listQueuedJobs('repo-00003')).rejects.toBeInstanceOf(GitHubRateLimitError);
    expect(meter.totals).toMatchObject({ rateLimited: 4, rejected: 1 });
    expect(await baseline.rateLimit()).toMatchObject({ limit: 4, remaining: 0 });
  });
});
