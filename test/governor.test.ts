import { describe, expect, it } from 'vitest';
import {
  type GovernorSettings,
  initialCostPerScan,
  learnCost,
  learnJobListings,
  minCostPerScan,
  planScan,
  recordActivity,
} from '../functions/core/governor.ts';
import { aggregateDemand } from '../functions/handlers/aggregate-demand.ts';
import { collectRepositoryJobs } from '../functions/handlers/collect-repository-jobs.ts';
import { governorKeys } from '../functions/handlers/governor-memory.ts';
import { listRepositories } from '../functions/handlers/list-repositories.ts';
import {
  batchSizeFor,
  packBatch,
  packBatches,
  unpackBatch,
} from '../functions/handlers/repository-batches.ts';
import type { RateLimit } from '../functions/ports/github.ts';
import { repositoryNames } from '../local/repository-names.ts';
import { FakeGitHub, queuedJobs, testDeps } from './support/fakes.ts';

const settings: GovernorSettings = {
  reserveRequests: 200,
  cycleIntervalSeconds: 60,
  endpointPointsPerMinute: 900,
  hotForSeconds: 900,
  rotationShare: 0.1,
  targetedShare: 0,
};
const now = new Date('2026-01-05T09:00:00Z');
const inAnHour = '2026-01-05T10:00:00.000Z';
const names = (count: number) =>
  Array.from({ length: count }, (_, i) => `repo-${String(i).padStart(4, '0')}`);

describe('Function: planScan', () => {
  it('scans everything, complete, when the budget allows', () => {
    const plan = planScan({ repositories: names(100), rateLimit: undefined, now, settings });
    expect(plan.complete).toBe(true);
    expect(plan.scan).toHaveLength(100);
    expect(plan.counts).toMatchObject({ skipped: 0, slots: 450, budgetRequests: null });
  });

  it('derives the secondary cap from the cadence: 450 a minute, 2,250 every 5 minutes', () => {
    const oneMinute = planScan({ repositories: names(3000), rateLimit: undefined, now, settings });
    const fiveMinutes = planScan({
      repositories: names(3000),
      rateLimit: undefined,
      now,
      settings: { ...settings, cycleIntervalSeconds: 300 },
    });
    expect(oneMinute.counts).toMatchObject({ scanned: 450, skipped: 2550, slots: 450 });
    expect(oneMinute.complete).toBe(false);
    expect(fiveMinutes.counts).toMatchObject({ scanned: 2250, slots: 2250 });
  });

  it('keeps a share of the secondary limit for targeted cycles: 405 for the sweep, 45 for a targeted cycle', () => {
    const shared = { ...settings, targetedShare: 0.1 };
    const sweep = planScan({ repositories: names(3000), rateLimit: undefined, now, settings: shared });
    const targeted = planScan({
      repositories: names(100),
      rateLimit: undefined,
      now,
      settings: shared,
      targeted: true,
    });
    expect(sweep.counts).toMatchObject({ scanned: 405, slots: 405 });
    expect(targeted.counts).toMatchObject({ scanned: 45, slots: 45 });
  });

  it('spreads the primary limit over the cycles left in the window, above the reserve', () => {
    const reading = (remaining: number, resetAt = inAnHour) => ({ limit: 5000, remaining, resetAt });
    const fresh = planScan({ repositories: names(1000), rateLimit: reading(5000), now, settings });
    // (5000 - 200) / 60 = 80 requests; 3 per scan without history = 26 scans.
    expect(fresh.counts).toMatchObject({ budgetRequests: 80, slots: 26, scanned: 26 });
    // Ten minutes before the reset: (2200 - 200) / 10 = 200 requests = 66 scans.
    const late = planScan({
      repositories: names(1000),
      rateLimit: reading(2200, '2026-01-05T09:10:00.000Z'),
      now,
      settings,
    });
    expect(late.counts).toMatchObject({ budgetRequests: 200, slots: 66 });
    // At the reserve nothing is scanned at all.
    const spent = planScan({ repositories: names(1000), rateLimit: reading(200), now, settings });
    expect(spent.counts).toMatchObject({ scanned: 0, hardSlots: 0 });
    // A reset "days away" is clock skew: it counts as an hour.
    const skewed = planScan({
      repositories: names(1000),
      rateLimit: reading(5000, '2026-03-01T00:00:00.000Z'),
      now,
      settings,
    });
    expect(skewed.counts.budgetRequests).toBe(80);
  });

  it('scans every hot repository, then continues the round robin from the cursor', () => {
    const all = names(1000);
    const activity = { lastActive: { 'repo-0900': now.getTime() - 60_000, 'repo-0010': now.getTime() } };
    const plan = planScan({
      repositories: all,
      rateLimit: { limit: 5000, remaining: 5000, resetAt: inAnHour },
      now,
      settings,
      rotation: { cursor: 'repo-0499' },
      activity,
    });
    expect(plan.counts).toMatchObject({ hot: 2, hotScanned: 2, rotated: 24, scanned: 26 });
    expect(plan.scan).toContain('repo-0900');
    expect(plan.scan).toContain('repo-0010');
    expect(plan.scan).toContain('repo-0500');
    expect(plan.scan).toContain('repo-0523');
    expect(plan.rotation.cursor).toBe('repo-0523');
  });

  it('forgets activity older than hotForSeconds', () => {
    const plan = planScan({
      repositories: names(1000),
      rateLimit: undefined,
      now,
      settings,
      activity: { lastActive: { 'repo-0900': now.getTime() - 901_000 } },
    });
    expect(plan.counts.hot).toBe(0);
  });

  it('lets the hot set exceed the per-cycle share, but never the reserve, and always rotates', () => {
    const all = names(1000);
    const lastActive = Object.fromEntries(all.slice(0, 600).map((name) => [name, now.getTime()]));
    const plan = planScan({
      repositories: all,
      rateLimit: { limit: 5000, remaining: 1400, resetAt: inAnHour },
      now,
      settings,
      activity: { lastActive },
    });
    // Share: (1400 - 200) / 60 = 20 requests = 6 scans; hard: 1200 / 3 = 400 scans.
    expect(plan.counts).toMatchObject({ slots: 6, hardSlots: 400, hot: 600 });
    expect(plan.counts.scanned).toBe(400);
    expect(plan.counts.rotated).toBe(1);
    expect(plan.counts.hotScanned).toBe(399);
  });

  it('holds the jobs endpoint to the same limit: fewer scans when scans list many runs’ jobs', () => {
    const plan = (jobListingsPerScan?: number) =>
      planScan({
        repositories: names(3000),
        rateLimit: undefined,
        now,
        settings,
        activity: { lastActive: {}, ...(jobListingsPerScan === undefined ? {} : { jobListingsPerScan }) },
      }).counts;
    // 900 points a minute: the runs endpoint's 2 per scan allow 450; 4 job listings per scan allow 225.
    expect(plan(4)).toMatchObject({ scanned: 225, slots: 225, endpointPointsPerScan: 4 });
    expect(plan(1.5)).toMatchObject({ scanned: 450, endpointPointsPerScan: 2 });
    expect(plan(undefined)).toMatchObject({ scanned: 450, endpointPointsPerScan: 2 });
    // Never more job listings a minute than the limit, at the learned rate.
    for (const perScan of [2.5, 3, 7.3, 40]) expect(plan(perScan).scanned * perScan).toBeLessThanOrEqual(900);
  });

  it('rotates by the clock when it has no cursor (a deployment without a state store)', () => {
    const plan = (minute: number) =>
      planScan({
        repositories: names(1000),
        rateLimit: { limit: 5000, remaining: 5000, resetAt: inAnHour },
        now: new Date(now.getTime() + minute * 60_000),
        settings: { ...settings, hotForSeconds: 0 },
      }).scan;
    expect(plan(0)).not.toEqual(plan(1));
  });
});

describe('Function: learnCost', () => {
  const reading = (remaining: number): RateLimit => ({ limit: 5000, remaining, resetAt: inAnHour });
  it('averages what the last cycle used per scanned repository into the estimate', () => {
    const rotation = { costPerScan: 3, lastReading: { remaining: 4000, resetAt: inAnHour, scanned: 100 } };
    expect(learnCost(rotation, reading(3900))).toBe(2); // used 100 over 100 repos: (3 + 1) / 2
  });
  it('keeps the estimate across a window reset, and never goes below the floor', () => {
    const rotation = { costPerScan: 1, lastReading: { remaining: 4000, resetAt: 'earlier', scanned: 100 } };
    expect(learnCost(rotation, reading(5000))).toBe(1);
    const idle = { costPerScan: 0.2, lastReading: { remaining: 4000, resetAt: inAnHour, scanned: 400 } };
    expect(learnCost(idle, reading(4000))).toBe(minCostPerScan);
    expect(learnCost(undefined, reading(4000))).toBe(initialCostPerScan);
  });
});

describe('Function: learnJobListings', () => {
  it('starts from what it saw, then averages half and half; without a scan the estimate stands', () => {
    expect(learnJobListings(undefined, 300, 100)).toBe(3);
    expect(learnJobListings(3, 100, 100)).toBe(2);
    expect(learnJobListings(3, 0, 0)).toBe(3);
    expect(learnJobListings(undefined, 0, 0)).toBeUndefined();
  });
});

describe('Function: recordActivity', () => {
  it('marks active repositories, drops stale ones, keeps the most recent few', () => {
    const previous = { lastActive: { old: now.getTime() - 1_000_000, recent: now.getTime() - 1000 } };
    const next = recordActivity(previous, ['fresh'], now, settings);
    expect(next.lastActive).toEqual({ fresh: now.getTime(), recent: now.getTime() - 1000 });
    expect(Object.keys(recordActivity(previous, ['a', 'b', 'c'], now, settings, 2).lastActive)).toEqual([
      'a',
      'b',
    ]);
  });
});

describe('Repository batches', () => {
  it('round-trips names through the packed form', () => {
    const all = repositoryNames(500);
    expect(unpackBatch(packBatch(all))).toEqual(all);
    expect(unpackBatch(packBatch([]))).toEqual([]);
  });

  it('grows batches with the organization so the Map never has more than maxBatches iterations', () => {
    expect(batchSizeFor(100, 10, 40)).toBe(10);
    expect(batchSizeFor(1000, 10, 40)).toBe(25);
    expect(batchSizeFor(10_000, 10, 40)).toBe(250);
    expect(packBatches(repositoryNames(10_000), 10, 40)).toHaveLength(40);
  });

  it('packs 10,000 names into about a quarter of their JSON size', () => {
    const all = repositoryNames(10_000);
    const packed = JSON.stringify(packBatches(all, 10, 40)).length;
    expect(JSON.stringify(all).length).toBeGreaterThan(190_000);
    expect(packed).toBeLessThan(60_000);
  });

  it('refuses a batch whose count does not match its names', () => {
    expect(() => unpackBatch({ ...packBatch(['a', 'b']), count: 3 })).toThrow(RangeError);
  });
});

describe('Governor handlers', () => {
  const cycle = {
    id: 'cycle-1',
    startedAt: '2026-01-05T09:00:00.000Z',
    mapConcurrency: 4,
  };

  it('CollectRepositoryJobs reports which repositories had queued jobs, a bounded few by name', async () => {
    const github = new FakeGitHub();
    const all = names(30);
    for (const name of all) github.jobsByRepo.set(name, queuedJobs(1));
    const { deps } = testDeps({ github });
    const part = await collectRepositoryJobs(deps)({ cycle, repositories: packBatch(all) });
    expect(part).toMatchObject({ repositories: 30, activeRepositories: 30 });
    expect(part.active).toEqual(all.slice(0, 10));
  });

  it('AggregateDemand reports skipped repositories, holds scale-down only for failed ones, and remembers the active ones', async () => {
    const { deps, stateStore } = testDeps();
    const part = {
      queuedByPool: { 'linux-x64': 2 },
      unmatched: 0,
      repositories: 5,
      failedRepositories: 0,
      activeRepositories: 1,
      active: ['api'],
    };
    const { demand } = await aggregateDemand(deps)({ cycle, parts: [part], skippedRepositories: 3 });
    expect(demand).toMatchObject({ complete: true, skippedRepositories: 3, failedRepositories: 0 });
    const stored = await stateStore.getMany([governorKeys('acme').activity]);
    expect(stored.get(governorKeys('acme').activity)).toEqual({
      lastActive: { api: Date.parse(cycle.startedAt) },
      jobListingsPerScan: 0,
    });
    const failed = await aggregateDemand(deps)({
      cycle,
      parts: [{ ...part, failedRepositories: 1 }],
      skippedRepositories: 0,
    });
    expect(failed.demand.complete).toBe(false);
  });

  it('CollectRepositoryJobs counts job listings, AggregateDemand learns them, ListRepositories scans fewer', async () => {
    // Prepare: 1,000 repositories, each with queued jobs in 6 active runs: 6 job listings per scan.
    const github = new FakeGitHub();
    const all = names(1000);
    for (const name of all)
      github.jobsByRepo.set(
        name,
        Array.from({ length: 6 }, (_, run) => ({ id: run + 1, runId: run + 1, labels: ['self-hosted'] })),
      );
    const { deps } = testDeps({ github, now: () => now });
    // Act: one cycle's collection of 100 of them, then the next cycle's plan.
    const part = await collectRepositoryJobs(deps)({ cycle, repositories: packBatch(all.slice(0, 100)) });
    await aggregateDemand(deps)({ cycle, parts: [part], skippedRepositories: 900 });
    const next = await listRepositories(deps)({ cycle: { ...cycle, id: 'cycle-2' } });
    // Assess: the scheduled cycle's 810 of the 900 points a minute (targetedShare 0.1) over 6 listings per scan.
    expect(part.jobListings).toBe(600);
    expect(next.budget).toMatchObject({ endpointPointsPerScan: 6, slots: 135 });
    expect(next.scanned).toBe(135);
  });

  it('ListRepositories advances the cursor once per cycle, even when retried', async () => {
    class Limited extends FakeGitHub {
      override async rateLimit(): Promise<RateLimit> {
        return { limit: 5000, remaining: 5000, resetAt: inAnHour };
      }
    }
    const github = new Limited();
    for (const name of names(100)) github.jobsByRepo.set(name, []);
    const { deps } = testDeps({ github, now: () => now });
    const list = listRepositories(deps);
    const first = await list({ cycle });
    const retried = await list({ cycle });
    const next = await list({ cycle: { ...cycle, id: 'cycle-2' } });
    const scanned = (output: typeof first) => output.batches.flatMap(unpackBatch);
    expect(scanned(retried)).toEqual(scanned(first));
    // Where the first cycle starts is the clock's choice (no cursor yet); the next continues after it.
    const order = names(100);
    const successor = (name: string | undefined) => order[(order.indexOf(name ?? '') + 1) % order.length];
    const firstScan = scanned(first);
    expect(firstScan).toHaveLength(26);
    const lastOfFirst = [...firstScan].sort((a, b) => order.indexOf(a) - order.indexOf(b));
    const cursor = lastOfFirst.find((name, i) => successor(name) !== lastOfFirst[i + 1]);
    expect(scanned(next)).toContain(successor(cursor));
    expect(scanned(next).some((name) => firstScan.includes(name))).toBe(false);
    expect(first).toMatchObject({ count: 100, scanned: 26, skipped: 74, complete: false });
  });
});
