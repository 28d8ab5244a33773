/**
 * GitHub's secondary rate limits as the stand-ins enforce them (local/github-standin/secondary-limits.ts):
 * the model itself, the HTTP stand-in answering like GitHub (403 with retry-after), the production client
 * waiting it out, and the simulated GitHub charging every strategy the same way.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { simulate } from '../bench/sim/simulate.ts';
import { parseWorkload } from '../bench/sim/workload.ts';
import { createGitHubAdapter } from '../functions/adapters/github-octokit.ts';
import { SecondaryLimits } from '../local/github-standin/secondary-limits.ts';
import { type GitHubStandin, startGitHubStandin } from '../local/github-standin/server.ts';
import { GitHubState } from '../local/world/github.ts';
import { ManualClock } from './support/manual-clock.ts';

const token = 'ghs_limits';
const started: GitHubStandin[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((standin) => standin.close()));
});

describe('Class: SecondaryLimits', () => {
  it('holds mutations a second apart and says how long to wait', () => {
    const limits = new SecondaryLimits();
    expect(limits.admit('POST /a', 'POST', 10_000)).toEqual({ admitted: true });
    expect(limits.admit('DELETE /b', 'DELETE', 10_400)).toEqual({
      admitted: false,
      reason: 'write-pacing',
      retryAfterSeconds: 1,
    });
    // Reads are not paced, and a refused write cost nothing: the next one a second later passes.
    expect(limits.admit('GET /a', 'GET', 10_400)).toEqual({ admitted: true });
    expect(limits.admit('DELETE /b', 'DELETE', 11_000)).toEqual({ admitted: true });
  });

  it('charges 1 point a read and 5 a write per endpoint, 900 a minute, and frees points as they age', () => {
    const limits = new SecondaryLimits({ writeIntervalMs: 0 });
    for (let i = 0; i < 900; i += 1) expect(limits.admit('GET /runs', 'GET', 1000 + i).admitted).toBe(true);
    // Another endpoint has its own 900.
    expect(limits.admit('GET /jobs', 'GET', 2000).admitted).toBe(true);
    const refused = limits.admit('GET /runs', 'GET', 2000);
    // The oldest point was spent at 1.0 s: free again at 61.0 s, 59 s from now.
    expect(refused).toEqual({ admitted: false, reason: 'endpoint-points', retryAfterSeconds: 59 });
    expect(limits.admit('GET /runs', 'GET', 61_000).admitted).toBe(true);

    const writes = new SecondaryLimits({ writeIntervalMs: 0 });
    for (let i = 0; i < 180; i += 1) expect(writes.admit('POST /jit', 'POST', i).admitted).toBe(true);
    expect(writes.admit('POST /jit', 'POST', 200)).toMatchObject({
      admitted: false,
      reason: 'endpoint-points',
    });
    expect(writes.refused).toEqual({ concurrency: 0, 'endpoint-points': 1, 'write-pacing': 0 });
  });

  it('refuses a request beyond the concurrent ones in flight', () => {
    const limits = new SecondaryLimits({ maxConcurrent: 2 });
    for (let i = 0; i < 2; i += 1) {
      expect(limits.admit('GET /a', 'GET', 0).admitted).toBe(true);
      limits.started();
    }
    expect(limits.admit('GET /a', 'GET', 0)).toMatchObject({ admitted: false, reason: 'concurrency' });
    limits.finished();
    expect(limits.admit('GET /a', 'GET', 0).admitted).toBe(true);
  });
});

describe('GitHub stand-in: secondary limits', () => {
  function orgWithRunners(count: number): GitHubState {
    const state = new GitHubState({ org: 'acme' });
    for (let i = 1; i <= count; i += 1) state.registerRunner({ name: `r${i}`, labels: ['x'] });
    return state;
  }

  it('answers a second write within the pacing interval with 403 and retry-after, like GitHub', async () => {
    const clock = new ManualClock('2026-01-05T09:00:00Z');
    const standin = await startGitHubStandin({
      state: orgWithRunners(2),
      token,
      secondaryLimits: { now: () => clock.now().getTime() },
    });
    started.push(standin);
    const remove = (id: number) =>
      fetch(`${standin.url}/orgs/acme/actions/runners/${id}`, {
        method: 'DELETE',
        headers: { authorization: `token ${token}` },
      });
    expect((await remove(1)).status).toBe(204);
    const refused = await remove(2);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { message: string }).message).toMatch(/secondary rate limit/);
    clock.advance(1);
    expect((await remove(2)).status).toBe(204);
  });

  it('refuses a request beyond the concurrent ones in flight', async () => {
    const standin = await startGitHubStandin({
      state: orgWithRunners(1),
      token,
      // Long enough that three requests sent together overlap even on a loaded machine.
      latencyMs: 1000,
      secondaryLimits: { maxConcurrent: 2 },
    });
    started.push(standin);
    // Each request is in flight for a second; the third of three at once finds two in flight.
    const answers = await Promise.all(
      Array.from({ length: 3 }, () =>
        fetch(`${standin.url}/orgs/acme/actions/runners`, { headers: { authorization: `token ${token}` } }),
      ),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 200, 403]);
    expect(standin.secondaryLimits?.refused.concurrency).toBe(1);
    // Once they are answered the slots are free again.
    const later = await fetch(`${standin.url}/orgs/acme/actions/runners`, {
      headers: { authorization: `token ${token}` },
    });
    expect(later.status).toBe(200);
  });

  it('is waited out by the production client: every registration goes through, a second apart', async () => {
    // The stand-in's clock runs 20 times faster than the wall, and the client's retry-after second is 50 ms.
    const startedAt = Date.now();
    const standin = await startGitHubStandin({
      state: orgWithRunners(0),
      token,
      secondaryLimits: { now: () => startedAt + (Date.now() - startedAt) * 20 },
    });
    started.push(standin);
    const github = createGitHubAdapter({
      apiUrl: standin.url,
      org: 'acme',
      token,
      minWriteIntervalMs: 0, // unpaced on purpose: GitHub's 403s must slow it down
      retry: { retryAfterBaseValue: 50 }, // a retry-after second is 50 ms here
    });
    for (let i = 1; i <= 3; i += 1) {
      await github.createJitRunner({ name: `r${i}`, labels: ['x'], runnerGroup: 'Default' });
    }
    const posts = standin.requests.filter((request) => request.method === 'POST');
    expect(posts.filter((request) => request.status === 201)).toHaveLength(3);
    expect(posts.filter((request) => request.status === 403).length).toBeGreaterThan(0);
  });
});

describe('simulated GitHub: secondary limits', () => {
  const workload = parseWorkload({
    name: 'burst-of-40',
    durationSeconds: 900,
    warmupSeconds: 0,
    repositories: 5,
    pools: [{ name: 'x64', labels: ['self-hosted', 'x64'], maxRunners: 40 }],
    arrivals: [
      { type: 'burst', at: [90], jobs: 40, labels: ['self-hosted', 'x64'], durationSeconds: { mean: 60 } },
    ],
  });

  it('makes every strategy register at most one runner a second through REST, the poller it replaces and tf-runner included', async () => {
    for (const strategy of ['seed-baseline', 'stepscale', 'tf-runner']) {
      const result = await simulate({ workload, strategy, seed: 1, drainSeconds: 300 });
      const registrations = result.worldMetrics.registrationTimesMs();
      expect(registrations.length, strategy).toBeGreaterThanOrEqual(40);
      const gaps = registrations.slice(1).map((at, i) => at - (registrations[i] as number));
      expect(Math.min(...gaps), strategy).toBeGreaterThanOrEqual(1000);
    }
  });

  it('lets arc-listener register its runners at once: JIT configs from the scale set are no REST writes', async () => {
    const result = await simulate({ workload, strategy: 'arc-listener', seed: 1, drainSeconds: 300 });
    const registrations = result.worldMetrics.registrationTimesMs();
    expect(registrations).toHaveLength(40);
    expect((registrations[39] as number) - (registrations[0] as number)).toBe(0);
    expect(result.details.githubWrites).toBe(0);
  });

  it('charges the baseline the 403s its unpaced writes get, and the wait they cost', async () => {
    const result = await simulate({ workload, strategy: 'seed-baseline', seed: 1, drainSeconds: 300 });
    expect(result.details.secondaryLimitedRequests).toBeGreaterThanOrEqual(39);
    const registrations = result.worldMetrics.registrationTimesMs();
    // 40 registrations a second apart: the last comes at least 39 s after the first.
    expect((registrations[39] as number) - (registrations[0] as number)).toBeGreaterThanOrEqual(39_000);
  });
});
