/**
 * The world's Actions service (local/world/actions-service.ts) and GitHub's assignment rule with scale sets:
 * a job routed to a scale set goes to that scale set's runners only, and only once its listener acquired it.
 */
import { describe, expect, it } from 'vitest';
import type { SessionRecord } from '../local/world/actions-service.ts';
import { World } from '../local/world/world.ts';

const x64 = ['self-hosted', 'linux', 'x64'];

function world(actions: { multipleLabels?: boolean } = {}): World {
  return new World({
    org: 'acme',
    stack: 'stepscale',
    start: '2026-01-05T09:00:00.000Z',
    seed: 1,
    repositories: ['app'],
    bootSeconds: () => ({ mean: 45, jitter: 0 }),
    timing: { pickupSeconds: 0 },
    actions,
  });
}

/** Reads every message after `last` (sealing each), acknowledging none. */
function drain(w: World, session: SessionRecord, last = 0) {
  const messages = [];
  for (;;) {
    const read = w.actions.nextMessage(session, last);
    if (!read) return messages;
    messages.push(read);
    last = read.message.messageId;
  }
}

describe('Actions service in the world', () => {
  it('keeps a scale set’s job from other runners until its listener acquires it, then hands it to its runner', () => {
    // Prepare
    const w = world();
    const set = w.actions.createScaleSet({ name: 'linux-x64', labels: x64 });
    const session = w.actions.createSession(set.id, 'listener');
    const classic = w.github.registerRunner({ name: 'classic', labels: x64 });
    const member = w.actions.generateJitConfig(set.id, 'member');
    w.github.setRunnerStatus(member.id, 'online');

    // Act
    const run = w.addRun({ repo: 'app', jobs: [{ labels: x64, durationMs: 60_000 }] });
    const [job] = w.github.jobsOfRun(run.id, 'latest');
    const beforeAcquire = { ...w.github.getJob(job?.id ?? 0) };
    const [offer] = drain(w, session);
    const requestId = offer?.message.jobs[0]?.runnerRequestId ?? -1;
    w.actions.acquireJobs(session, [requestId]);

    // Assess
    expect(beforeAcquire.runnerId).toBeUndefined();
    expect(offer?.message.jobs.map((event) => event.messageType)).toEqual(['JobAvailable']);
    expect(w.github.getJob(job?.id ?? 0)?.runnerName).toBe('member');
    expect(w.github.getRunner(classic.id)?.busy).toBe(false);
  });

  it('tells the job’s life on the queue and in the statistics, and lets the runner go after it', () => {
    // Prepare
    const w = world();
    const set = w.actions.createScaleSet({ name: 'linux-x64', labels: x64 });
    const session = w.actions.createSession(set.id, 'listener');
    const member = w.actions.generateJitConfig(set.id, 'member');
    w.github.setRunnerStatus(member.id, 'online');
    w.addRun({ repo: 'app', jobs: [{ labels: x64, durationMs: 60_000 }] });
    const [offer] = drain(w, session);
    w.actions.acquireJobs(session, [offer?.message.jobs[0]?.runnerRequestId ?? -1]);

    // Act: the runner starts the job at once and it runs a minute (no machine: the world marks it started)
    const held = w.github.listRunners().find((runner) => runner.name === 'member');
    w.github.startJob(held?.jobId ?? -1);
    w.actions.jobStarted(w.github.getJob(held?.jobId ?? -1) as never, held as never);
    const during = w.actions.statistics(set.id);
    w.github.completeJob(held?.jobId ?? -1);
    w.actions.jobFinished(w.github.getJob(held?.jobId ?? -1) as never, 'succeeded', held);
    const events = drain(w, session, offer?.message.messageId).flatMap((read) =>
      read.message.jobs.map((event) => event.messageType),
    );

    // Assess
    expect(during).toMatchObject({ totalAssignedJobs: 1, totalRunningJobs: 1, totalBusyRunners: 1 });
    expect(events).toEqual(['JobAssigned', 'JobStarted', 'JobCompleted']);
    expect(w.actions.statistics(set.id)).toMatchObject({ totalAssignedJobs: 0, totalRunningJobs: 0 });
  });

  it('never hands a job outside scale sets to a scale set’s runner', () => {
    // Prepare
    const w = world();
    const set = w.actions.createScaleSet({ name: 'gpu', labels: ['self-hosted', 'gpu'] });
    const member = w.actions.generateJitConfig(set.id, 'member');
    w.github.setRunnerStatus(member.id, 'online');

    // Act
    const run = w.addRun({ repo: 'app', jobs: [{ labels: ['self-hosted'], durationMs: 60_000 }] });

    // Assess: the scale set's labels cover the job, so it is the scale set's, and waits for an acquisition
    const [job] = w.github.jobsOfRun(run.id, 'latest');
    expect(job?.runnerId).toBeUndefined();
    expect(w.actions.statistics(set.id).totalAvailableJobs).toBe(1);
  });

  it('routes by name alone where several labels are not supported, and gives a deleted set’s jobs back', () => {
    // Prepare
    const w = world({ multipleLabels: false });
    const set = w.actions.createScaleSet({ name: 'linux-x64', labels: x64 });
    const classic = w.github.registerRunner({ name: 'classic', labels: ['linux-x64'] });

    // Act
    w.addRun({ repo: 'app', jobs: [{ labels: x64, durationMs: 1000 }] });
    w.addRun({ repo: 'app', jobs: [{ labels: ['linux-x64'], durationMs: 1000 }] });
    const whileThere = w.actions.statistics(set.id).totalAvailableJobs;
    const busyWhileThere = w.github.getRunner(classic.id)?.busy;
    w.actions.deleteScaleSet(set.id);

    // Assess: only the job that named the scale set was its; once the set is gone, a classic runner takes it
    expect(set.labels).toEqual(['linux-x64']);
    expect(whileThere).toBe(1);
    expect(busyWhileThere).toBe(false);
    expect(w.github.getJob(w.github.getRunner(classic.id)?.jobId ?? -1)?.labels).toEqual(['linux-x64']);
    expect(w.queuedSelfHostedJobs()).toBe(2);
    expect(w.actions.listScaleSets()).toEqual([]);
  });

  it('batches at most 50 job events into one message, and starts a new one once a message was read', () => {
    // Prepare
    const w = world();
    const set = w.actions.createScaleSet({ name: 'linux-x64', labels: x64 });
    const session = w.actions.createSession(set.id, 'listener');

    // Act
    w.addRun({ repo: 'app', jobs: Array.from({ length: 70 }, () => ({ labels: x64, durationMs: 1000 })) });
    const first = drain(w, session);
    w.addRun({ repo: 'app', jobs: [{ labels: x64, durationMs: 1000 }] });
    const later = drain(w, session, first[first.length - 1]?.message.messageId);

    // Assess
    expect(first.map((read) => read.message.jobs.length)).toEqual([50, 20]);
    expect(first[1]?.statistics.totalAvailableJobs).toBe(70);
    expect(later.map((read) => read.message.jobs.length)).toEqual([1]);
  });
});
