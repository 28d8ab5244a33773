/**
 * The world's `workflow_job` webhooks (local/world/webhooks.ts): every status change delivered after the
 * delay within its jitter, losses drawn per delivery from the seed, GitHub's record of attempts and
 * redelivery; and the workload block that sets them (bench/sim/workload.ts).
 */
import { describe, expect, it } from 'vitest';
import { SimGitHub, SimWebhooks } from '../bench/sim/ports.ts';
import { RequestMeter } from '../bench/sim/requests.ts';
import { parseWorkload } from '../bench/sim/workload.ts';
import {
  redeliveryWindowMs,
  type WebhookDelivery,
  WebhookError,
  type WebhookSettings,
} from '../local/world/webhooks.ts';
import { World } from '../local/world/world.ts';

/** Jobs without `self-hosted` run on GitHub-hosted capacity: queued, in progress 15 s later, then completed. */
const hosted = ['ubuntu-latest'];

function worldWith(settings: Partial<WebhookSettings>, seed = 1) {
  return new World({
    org: 'acme',
    stack: 'stepscale',
    start: '2026-01-05T08:00:00.000Z',
    seed,
    repositories: ['repo-a', 'repo-b'],
    bootSeconds: () => ({ mean: 40, jitter: 0 }),
    webhooks: settings,
  });
}

function record(world: World) {
  const received: WebhookDelivery[] = [];
  const hook = world.webhooks.subscribe((delivery) => received.push(delivery));
  return { received, hook };
}

describe('Class: Webhooks', () => {
  it('delivers every status change of a job, each within delay ± jitter of the change', () => {
    // Prepare
    const world = worldWith({ delaySeconds: 2, jitterSeconds: 1 });
    const { received } = record(world);
    // Act: a hosted job (queued → in_progress at 15 s → completed at 75 s), a job awaiting approval, and a job
    // that arrives running.
    const run = world.addRun({ repo: 'repo-a', jobs: [{ labels: hosted, durationMs: 60_000 }] });
    world.addRun({
      repo: 'repo-b',
      jobs: [
        { labels: ['self-hosted'], durationMs: 1000, status: 'waiting' },
        { labels: hosted, durationMs: 30_000, status: 'in_progress' },
      ],
    });
    world.advanceTo(200_000);
    // Assess
    const [job] = world.github.jobsOfRun(run.id, 'latest');
    const of = (jobId: number | undefined) =>
      received.filter((d) => d.payload.workflow_job.id === jobId).map((d) => d.action);
    expect(of(job?.id)).toEqual(['queued', 'in_progress', 'completed']);
    expect(of(2)).toEqual(['waiting']);
    expect(of(3)).toEqual(['queued', 'in_progress', 'completed']);
    const changedAtMs = { queued: 0, in_progress: 15_000, completed: 75_000 } as const;
    for (const delivery of received.filter((d) => d.payload.workflow_job.id === job?.id)) {
      const delay = delivery.deliveredAtMs - changedAtMs[delivery.action as keyof typeof changedAtMs];
      expect(delay).toBeGreaterThanOrEqual(1000);
      expect(delay).toBeLessThanOrEqual(3000);
    }
    const completed = received.find((d) => d.payload.workflow_job.id === job?.id && d.action === 'completed');
    expect(completed?.payload).toMatchObject({
      action: 'completed',
      workflow_job: { status: 'completed', conclusion: 'success', labels: hosted, run_id: run.id },
      repository: { name: 'repo-a', full_name: 'acme/repo-a' },
    });
    expect(completed?.payload.workflow_job.runner_name).toBe(`GitHub Actions ${job?.id}`);
    // Unique GUIDs, one per delivery.
    expect(new Set(received.map((d) => d.guid)).size).toBe(received.length);
  });

  it('announces a cancelled job as completed with conclusion cancelled', () => {
    const world = worldWith({});
    const { received } = record(world);
    const run = world.addRun({
      repo: 'repo-a',
      jobs: [{ labels: ['self-hosted', 'linux'], durationMs: 1000 }],
    });
    world.advanceTo(5000);
    world.cancelRun(run.id);
    world.advanceTo(10_000);
    expect(received.map((d) => [d.action, d.payload.workflow_job.conclusion])).toEqual([
      ['queued', null],
      ['completed', 'cancelled'],
    ]);
  });

  it('loses the same deliveries for a seed, others for another seed, about lossRate of them', () => {
    // Prepare: 600 hosted jobs, 1,800 deliveries, 10 % lost.
    const lostGuids = (seed: number) => {
      const world = worldWith({ lossRate: 0.1 }, seed);
      const { received, hook } = record(world);
      for (let i = 0; i < 600; i += 1)
        world.scheduleRun(i * 100, { repo: 'repo-a', jobs: [{ labels: hosted, durationMs: 1000 }] });
      world.advanceTo(200_000);
      const records = hook.deliveries();
      // Assess: a lost attempt is recorded failed and never reached the receiver; the rest did.
      const failed = records.filter((r) => r.status === 'failed');
      expect(received.length + failed.length).toBe(1800);
      expect(records).toHaveLength(1800);
      for (const lost of failed) expect(received.some((d) => d.guid === lost.guid)).toBe(false);
      expect(failed.every((r) => r.statusCode === 502)).toBe(true);
      return failed.map((r) => `${r.jobId}/${r.action}`);
    };
    // Act
    const a = lostGuids(7);
    const b = lostGuids(7);
    const c = lostGuids(8);
    // Assess
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
    expect(a.length).toBeGreaterThan(130);
    expect(a.length).toBeLessThan(230);
  });

  it('loses the same queued deliveries whatever else happens in the world', () => {
    // A second world where the jobs run differently (longer, some cancelled) loses the same `queued` ones.
    const lostQueued = (durationMs: number, cancelEvery: number) => {
      const world = worldWith({ lossRate: 0.2 }, 3);
      const { hook } = record(world);
      for (let i = 0; i < 200; i += 1) {
        world.scheduleRun(i * 1000, { repo: 'repo-a', jobs: [{ labels: hosted, durationMs }] });
        if (i % cancelEvery === 0) world.agenda.schedule(i * 1000 + 500, () => world.cancelRun(i + 1));
      }
      world.advanceTo(500_000);
      return hook
        .deliveries()
        .filter((r) => r.action === 'queued' && r.status === 'failed')
        .map((r) => r.jobId);
    };
    const lost = lostQueued(5000, 1000);
    expect(lost.length).toBeGreaterThan(0);
    expect(lostQueued(90_000, 3)).toEqual(lost);
  });

  it('records every attempt and redelivers on request: same GUID, new id, after the delay, lost again possibly', () => {
    // Prepare
    const world = worldWith({ delaySeconds: 1, jitterSeconds: 0.5, lossRate: 0.5 }, 11);
    const { received, hook } = record(world);
    for (let i = 0; i < 20; i += 1)
      world.addRun({ repo: 'repo-a', jobs: [{ labels: ['self-hosted'], durationMs: 1 }] });
    world.advanceTo(10_000);
    const failed = hook.deliveries().filter((r) => r.status === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    // Act: ask for every failed one again at 60 s.
    world.advanceTo(60_000);
    const atMs = failed.map((r) => hook.redeliver(r.id));
    world.advanceTo(70_000);
    // Assess
    for (const at of atMs) {
      expect(at).toBeGreaterThanOrEqual(60_500);
      expect(at).toBeLessThanOrEqual(61_500);
    }
    const again = hook.deliveries(60_000);
    expect(again).toHaveLength(failed.length);
    expect(again.map((r) => r.guid).sort()).toEqual(failed.map((r) => r.guid).sort());
    for (const attempt of again) {
      expect(attempt.redelivery).toBe(true);
      expect(attempt.id).toBeGreaterThan(Math.max(...failed.map((r) => r.id)));
    }
    const redelivered = received.filter((d) => d.redelivery);
    expect(redelivered.length).toBe(again.filter((r) => r.status === 'OK').length);
    expect(redelivered.length).toBeGreaterThan(0);
    expect(redelivered.length).toBeLessThan(failed.length); // at 50 % loss some redeliveries fail too
    expect(hook.delivery(again[0]?.id ?? 0)?.payload.action).toBe('queued');
  });

  it('refuses to redeliver an unknown delivery or one older than three days', () => {
    const world = worldWith({});
    const { hook } = record(world);
    world.addRun({ repo: 'repo-a', jobs: [{ labels: ['self-hosted'], durationMs: 1 }] });
    world.advanceTo(5000);
    const [first] = hook.deliveries();
    expect(() => hook.redeliver(999)).toThrow(WebhookError);
    world.advanceTo(5000 + redeliveryWindowMs + 60_000);
    expect(() => hook.redeliver(first?.id ?? 0)).toThrow(/three days/);
  });

  it('schedules nothing while no hook is subscribed, and stops at unsubscribe', () => {
    const world = worldWith({});
    world.addRun({ repo: 'repo-a', jobs: [{ labels: ['self-hosted'], durationMs: 1 }] });
    expect(world.agenda.queue.size).toBe(0);
    const { received, hook } = record(world);
    world.addRun({ repo: 'repo-a', jobs: [{ labels: ['self-hosted'], durationMs: 1 }] });
    hook.unsubscribe();
    world.advanceTo(10_000);
    expect(received).toEqual([]);
  });
});

describe('Class: SimWebhooks', () => {
  it('pushes deliveries for free and meters the App endpoints: a list page per 100 attempts, a POST per redelivery', async () => {
    // Prepare
    const world = worldWith({ lossRate: 0.3 }, 5);
    const meter = new RequestMeter(() => world.nowMs);
    const github = new SimGitHub(world, meter, { conditional: false, hourlyLimit: 15_000 });
    const received: WebhookDelivery[] = [];
    const hook = new SimWebhooks(world, github).subscribe((delivery) => received.push(delivery));
    for (let i = 0; i < 150; i += 1)
      world.addRun({ repo: 'repo-a', jobs: [{ labels: ['self-hosted'], durationMs: 1 }] });
    world.advanceTo(10_000);
    expect(meter.totals.total).toBe(0);
    // Act
    const records = await hook.listDeliveries();
    const failed = records.filter((r) => r.status === 'failed');
    await hook.redeliver(failed[0]?.id ?? 0);
    const one = await hook.getDelivery(records[0]?.id ?? 0);
    // Assess
    expect(records).toHaveLength(150);
    expect(received).toHaveLength(150 - failed.length);
    expect(meter.byEndpoint).toEqual({
      'GET /app/hook/deliveries': 2,
      'POST /app/hook/deliveries/{delivery_id}/attempts': 1,
      'GET /app/hook/deliveries/{delivery_id}': 1,
    });
    expect(one?.payload.action).toBe('queued');
    await expect(hook.redeliver(12_345)).rejects.toThrow(WebhookError);
  });
});

describe('Function: parseWorkload (webhooks, judgedOn)', () => {
  const base = {
    name: 'w',
    durationSeconds: 600,
    repositories: 1,
    pools: [{ name: 'p', labels: ['self-hosted'], maxRunners: 1 }],
    arrivals: [{ type: 'burst', at: [0], jobs: 1, labels: ['self-hosted'], durationSeconds: { mean: 60 } }],
  };

  it('defaults to a 1 ± 0.5 s delivery that is never lost, and no judgement', () => {
    const workload = parseWorkload(base);
    expect(workload.webhooks).toEqual({ delaySeconds: 1, jitterSeconds: 0.5, lossRate: 0 });
    expect(workload.judgedOn).toBeUndefined();
    expect(parseWorkload({ ...base, webhooks: { lossRate: 0.02 }, judgedOn: 'seeing' })).toMatchObject({
      webhooks: { delaySeconds: 1, jitterSeconds: 0.5, lossRate: 0.02 },
      judgedOn: 'seeing',
    });
  });

  it.each([
    [
      { webhooks: { delaySeconds: 1, jitterSeconds: 2 } },
      /webhooks\.jitterSeconds: .*must not exceed delaySeconds/,
    ],
    [{ webhooks: { lossRate: 1 } }, /webhooks\.lossRate/],
    [{ webhooks: { lossRate: -0.1 } }, /webhooks\.lossRate/],
    [{ webhooks: { delay: 1 } }, /webhooks: .*delay/],
    [{ judgedOn: 'speed' }, /judgedOn/],
  ])('rejects %j with a clear message', (override, message) => {
    expect(() => parseWorkload({ ...base, ...override })).toThrow(message);
  });
});
