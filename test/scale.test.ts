/**
 * 10,000 repositories through the real ASL on the embedded executor: every state's input and output stays far
 * below Step Functions' 256 KiB, a STANDARD history far below 25,000 events, and the governor keeps a
 * rate-limited cycle within its budget (marking it incomplete, so scale-down holds).
 */
import { describe, expect, it } from 'vitest';
import { runCycle } from '../functions/executor/cycle-runner.ts';
import type { RateLimit } from '../functions/ports/github.ts';
import { executionStats, maxStandardHistoryEvents } from '../local/execution-stats.ts';
import { repositoryNames } from '../local/repository-names.ts';
import { FakeGitHub, queuedJobs, testDeps } from './support/fakes.ts';

const organizationSize = 10_000;
const names = repositoryNames(organizationSize);
/** Every 200th repository has 2 queued jobs for the pool: 50 busy repositories, 100 jobs. */
const busy = names.filter((_, index) => index % 200 === 0);

function largeOrganization(github = new FakeGitHub()) {
  for (const name of names) github.jobsByRepo.set(name, []);
  for (const name of busy) github.jobsByRepo.set(name, queuedJobs(2));
  return github;
}

class RateLimitedGitHub extends FakeGitHub {
  reading: RateLimit = { limit: 5000, remaining: 5000, resetAt: '2026-01-05T10:00:00.000Z' };
  override async rateLimit(): Promise<RateLimit | undefined> {
    return this.reading;
  }
}

const at = (time: string) => () => new Date(time);

describe('10,000 repositories through the real state machine', () => {
  it('scans them all (no rate limit, secondary cap lifted) with every state payload below 64 KiB', async () => {
    // Prepare: GHES with rate limiting off, and a cadence so slow that the secondary cap allows everything.
    const github = largeOrganization();
    const { deps } = testDeps({ github, config: { collection: { endpointPointsPerMinute: 1_000_000 } } });
    // Act
    const result = await runCycle({ deps, cycleId: 'ten-thousand', mapConcurrency: 40 });
    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output.demand).toMatchObject({
      repositories: organizationSize,
      skippedRepositories: 0,
      activeRepositories: busy.length,
      queuedByPool: { 'linux-x64': 2 * busy.length },
      complete: true,
    });
    const stats = executionStats(result.events);
    // 40 batches of 250: maxBatches bounds the Map, batches grow instead.
    expect(stats.mapIterations).toBe(40);
    expect(stats.largestPayloadBytes).toBeLessThan(64 * 1024);
    // The packed names are what weighs: ~55 KB for 10,000 names (~200 KB as plain JSON).
    expect(stats.largestPayloadAt).toMatch(/^(ListRepositories output|CollectQueuedJobs input)$/);
    // 40 iterations x 7 events + ~40 for the fixed states; far below the cap even if every iteration retried.
    expect(stats.standardHistoryEvents).toBeLessThan(400);
    expect(stats.standardHistoryEvents).toBeLessThan(maxStandardHistoryEvents / 50);
  });

  it('scans at most 405 a cycle at a 1-minute cadence (900 points/min on the runs endpoint, a tenth kept for webhook cycles), busy ones first', async () => {
    // Prepare
    const github = largeOrganization();
    const first = testDeps({ github, now: at('2026-01-05T09:00:00Z') });
    // Act: two cycles a minute apart, sharing the governor's memory.
    const one = await runCycle({ deps: first.deps, cycleId: 'one' });
    const second = testDeps({ github, stateStore: first.stateStore, now: at('2026-01-05T09:01:00Z') });
    const two = await runCycle({ deps: second.deps, cycleId: 'two' });
    // Assess
    // Skipped is not failed: scale-down is not held for it (see CycleDemand.complete).
    expect(one.output.demand).toMatchObject({
      repositories: 405,
      skippedRepositories: 9595,
      complete: true,
    });
    expect(one.output.plan).toMatchObject({ scaleDownHeld: false });
    const busySeenFirst = (one.output.demand as { activeRepositories: number }).activeRepositories;
    // The busy repositories found in cycle 1 are hot in cycle 2, on top of the round robin's next 405 - hot.
    const listed = two.events.find(
      (event) => event.type === 'StateExited' && event.state.name === 'ListRepositories',
    );
    const scan = (listed?.type === 'StateExited' ? listed.state.output : {}) as {
      repositories: { scanned: number; hot: number };
    };
    expect(scan.repositories).toMatchObject({ scanned: 405, hot: busySeenFirst });
    expect(two.output.demand).toMatchObject({ activeRepositories: expect.any(Number) });
    expect((two.output.demand as { activeRepositories: number }).activeRepositories).toBeGreaterThanOrEqual(
      busySeenFirst,
    );
    expect(executionStats(two.events).largestPayloadBytes).toBeLessThan(16 * 1024);
  });

  it('spends a PAT’s 5,000/h as 80 requests a cycle, keeping the 200-request reserve', async () => {
    // Prepare: a fresh window with an hour to go; no history, so a scan is assumed to cost 3 requests.
    const github = largeOrganization(new RateLimitedGitHub());
    const { deps } = testDeps({ github, now: at('2026-01-05T09:00:00Z') });
    // Act
    const result = await runCycle({ deps, cycleId: 'pat' });
    // Assess: (5000 - 200) / 60 cycles = 80 requests = 26 scans.
    const listed = result.events.find(
      (event) => event.type === 'StateExited' && event.state.name === 'ListRepositories',
    );
    expect(listed?.type === 'StateExited' && listed.state.output).toMatchObject({
      repositories: { count: 10_000, scanned: 26, skipped: 9974, budget: { requests: 80, slots: 26 } },
    });
    expect(result.output.plan).toMatchObject({ scaleDownHeld: false });
  });
});
