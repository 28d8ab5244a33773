/**
 * Launches EC2 does not list yet (core/recent-launches.ts): counted as pending for a minute, then not; and
 * through the real ASL, a cycle right after another does not launch again while DescribeInstances lags.
 */
import { describe, expect, it } from 'vitest';
import type { Instance } from '../functions/core/model.ts';
import {
  recentLaunchSeconds,
  recordLaunches,
  withRecentLaunches,
} from '../functions/core/recent-launches.ts';
import { runCycle } from '../functions/executor/cycle-runner.ts';
import { FakeGitHub, queuedJobs, testDeps } from './support/fakes.ts';

const now = new Date('2026-01-05T09:00:30Z');
const listed: Instance = {
  id: 'i-listed',
  pool: 'x64',
  state: 'running',
  launchedAt: '2026-01-05T08:50:00Z',
  runnerName: 'stepscale-i-listed',
};

describe('withRecentLaunches', () => {
  it.each([
    { case: 'launched 10 s ago, not listed', at: '2026-01-05T09:00:20Z', ids: ['i-new'], added: ['i-new'] },
    { case: 'launched 10 s ago, already listed', at: '2026-01-05T09:00:20Z', ids: ['i-listed'], added: [] },
    { case: 'launched 59 s ago', at: '2026-01-05T08:59:31Z', ids: ['i-new'], added: ['i-new'] },
    {
      case: 'launched 60 s ago (EC2 has caught up or it failed)',
      at: '2026-01-05T08:59:30Z',
      ids: ['i-new'],
      added: [],
    },
    {
      case: 'a launch time in the future (clock skew)',
      at: '2026-01-05T09:01:00Z',
      ids: ['i-new'],
      added: [],
    },
  ])('$case → adds $added', ({ at, ids, added }) => {
    const merged = withRecentLaunches([listed], [{ pool: 'x64', instanceIds: ids, at }], 'stepscale', now);
    expect(merged.slice(1).map((instance) => instance.id)).toEqual(added);
    for (const instance of merged.slice(1)) {
      expect(instance).toEqual({
        id: 'i-new',
        pool: 'x64',
        state: 'pending',
        launchedAt: at,
        runnerName: 'stepscale-i-new',
      });
    }
  });

  it('adds an instance recorded twice once', () => {
    const at = '2026-01-05T09:00:20Z';
    const launch = { pool: 'x64', instanceIds: ['i-a'], at };
    expect(withRecentLaunches([], [launch, launch], 'stepscale', now)).toHaveLength(1);
  });

  it('adds a prepare launch EC2 does not list yet as preparing in the warm pool', () => {
    const at = '2026-01-05T09:00:20Z';
    const prepared = {
      pool: 'x64',
      instanceIds: ['i-warm'],
      at,
      kind: 'prepare' as const,
      preparedAt: '2026-01-05T09:00:00Z',
    };
    expect(withRecentLaunches([], [prepared], 'stepscale', now)).toEqual([
      {
        id: 'i-warm',
        pool: 'x64',
        state: 'pending',
        launchedAt: at,
        runnerName: 'stepscale-i-warm',
        warm: { stage: 'preparing', preparedAt: '2026-01-05T09:00:00Z' },
      },
    ]);
  });

  it('counts an instance it started that EC2 still lists stopped (or not yet tagged started) as started and pending', () => {
    // Prepare
    const at = '2026-01-05T09:00:20Z';
    const warm = { stage: 'preparing' as const, preparedAt: '2026-01-05T08:00:00Z', templateVersion: 3 };
    const stale: Instance = {
      ...listed,
      id: 'i-warm',
      runnerName: 'stepscale-i-warm',
      state: 'stopped',
      stopReason: 'instance',
      launchedAt: '2026-01-05T08:00:05Z',
      warm,
    };
    const start = { pool: 'x64', instanceIds: ['i-warm', 'i-unlisted'], at, kind: 'start' as const };

    // Act
    const merged = withRecentLaunches([listed, stale], [start], 'stepscale', now);

    // Assess: the start's own time is its launch time; an unlisted start adds nothing (it exists, EC2 lags).
    expect(merged).toEqual([
      listed,
      {
        ...listed,
        id: 'i-warm',
        runnerName: 'stepscale-i-warm',
        state: 'pending',
        launchedAt: at,
        warm: { ...warm, stage: 'started' },
      },
    ]);
    // Once EC2 lists it started and running, the listing stands; a minute later the record is gone.
    const caughtUp = {
      ...stale,
      state: 'running' as const,
      launchedAt: at,
      warm: { ...warm, stage: 'started' as const },
    };
    const { stopReason: _, ...running } = caughtUp;
    expect(withRecentLaunches([running], [start], 'stepscale', now)).toEqual([running]);
    expect(withRecentLaunches([stale], [start], 'stepscale', new Date('2026-01-05T09:01:20Z'))).toEqual([
      stale,
    ]);
  });

  it('keeps only what is recent in the record', () => {
    const old = { pool: 'x64', instanceIds: ['i-old'], at: '2026-01-05T08:58:00Z' };
    const fresh = { pool: 'x64', instanceIds: ['i-fresh'], at: now.toISOString() };
    expect(
      recordLaunches([old], [fresh, { pool: 'arm', instanceIds: [], at: now.toISOString() }], now),
    ).toEqual([fresh]);
    expect(recentLaunchSeconds).toBe(60);
  });
});

describe('two cycles seconds apart while DescribeInstances lags', () => {
  it('the second counts the first one’s launches as booting and launches nothing more', async () => {
    // Prepare: EC2 lists nothing launched in the last 30 s.
    const github = new FakeGitHub();
    github.jobsByRepo.set('api', queuedJobs(3));
    const { deps, fleet, clock } = testDeps({ github });
    const listInstances = fleet.listInstances.bind(fleet);
    fleet.listInstances = async () =>
      (await listInstances()).filter(
        (instance) => clock.now().getTime() - Date.parse(instance.launchedAt) > 30_000,
      );
    // Act
    const first = await runCycle({ deps, cycleId: 'webhook-1' });
    clock.advance(5);
    const second = await runCycle({ deps, cycleId: 'webhook-2' });
    // Assess
    expect(first.output.scaleUp).toMatchObject({ launched: 3 });
    expect(second.output.plan).toMatchObject({ launches: [] });
    expect(fleet.live()).toHaveLength(3);
  });

  it('launches again for the same jobs without the record (what the record prevents)', async () => {
    const github = new FakeGitHub();
    github.jobsByRepo.set('api', queuedJobs(3));
    const { deps, fleet, clock, stateStore } = testDeps({ github });
    const listInstances = fleet.listInstances.bind(fleet);
    fleet.listInstances = async () =>
      (await listInstances()).filter(
        (instance) => clock.now().getTime() - Date.parse(instance.launchedAt) > 30_000,
      );
    stateStore.putMany = async () => {}; // the record is never written
    await runCycle({ deps, cycleId: 'webhook-1' });
    clock.advance(5);
    const second = await runCycle({ deps, cycleId: 'webhook-2' });
    expect(second.output.scaleUp).toMatchObject({ launched: 3 });
  });
});
