import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PoolSummary } from '../functions/handlers/decide.ts';
import { nothingRemoved } from '../functions/handlers/scale-down.ts';
import { type LocalRunResult, runLocal } from '../local/local-run.ts';

const demo = fileURLToPath(new URL('../local/scenarios/demo.json', import.meta.url));

function poolsOf(result: LocalRunResult, cycle: number): Record<string, PoolSummary> {
  const plan = result.cycles[cycle]?.output.plan as { pools: PoolSummary[] };
  return Object.fromEntries(plan.pools.map((row) => [row.pool, row]));
}

describe('npm start: the demo scenario through the real state machine', () => {
  let result: LocalRunResult;
  const lines: string[] = [];

  beforeAll(async () => {
    result = await runLocal({ webhooks: false, scenarioPath: demo, print: (line) => lines.push(line) });
  });

  it('runs every cycle to success', () => {
    expect(result.cycles.map((cycle) => cycle.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
  });

  it('cycle 1 scales up for queued jobs, including those hidden in an in-progress run', () => {
    const pools = poolsOf(result, 0);
    // 4 x64 jobs inside the api's in-progress run (mixed-case labels), plus minIdle 1.
    expect(pools['linux-x64']).toEqual({
      pool: 'linux-x64',
      source: 'poll',
      queued: 4,
      idle: 0,
      busy: 0,
      booting: 0,
      orphaned: 0,
      launch: 5,
      start: [],
      prepare: 0,
      terminate: 0,
      unregistered: 0,
    });
    expect(pools['linux-arm64']).toMatchObject({ queued: 2, launch: 2 });
    // ubuntu-latest and macOS are not ours; the docs job awaiting approval is not queued.
    expect(result.cycles[0]?.output.demand).toMatchObject({ unmatched: 2 });
    // Launched at once, then registered a write slot (a second) apart, fairly across the pools.
    expect(result.cycles[0]?.output.registration).toEqual({
      queue: [],
      registered: 7,
      failed: 0,
      elsewhere: 0,
      slices: 1,
      more: false,
    });
  });

  it('cycle 2 counts busy runners and clamps the launch at maxRunners', () => {
    const pools = poolsOf(result, 1);
    // 5 runners busy, 3 data-pipeline jobs queued + minIdle 1 = 4 wanted, but only 8 - 5 = 3 fit.
    expect(pools['linux-x64']).toMatchObject({
      queued: 3,
      idle: 0,
      busy: 5,
      booting: 0,
      launch: 3,
      terminate: 0,
    });
    // The two web ARM jobs are still running; billing's two ARM jobs fill the pool to its max of 4.
    expect(pools['linux-arm64']).toMatchObject({ queued: 2, busy: 2, launch: 2 });
  });

  it('cycle 3 removes runners left idle by a cancelled run, and tops x64 back up to minIdle', () => {
    const pools = poolsOf(result, 2);
    expect(pools['linux-arm64']).toMatchObject({ queued: 0, idle: 2, busy: 0, launch: 0, terminate: 2 });
    expect(pools['linux-x64']).toMatchObject({ queued: 0, idle: 0, busy: 0, launch: 1, terminate: 0 });
    // The two idle ARM runners, and nothing else.
    expect(result.cycles[2]?.output.scaleDown).toEqual({
      ...nothingRemoved(0),
      terminated: 2,
      terminatedByPool: { 'linux-arm64': 2 },
    });
    // Deregistered first: the removed runners are gone from GitHub, their instances terminated.
    const arm = result.fleet.live().filter((instance) => instance.pool === 'linux-arm64');
    expect(arm).toHaveLength(0);
    expect(result.github.listRunners().filter((runner) => runner.name.startsWith('stepscale-'))).toHaveLength(
      1,
    );
  });

  it('records the metrics Lambda publishes: what each cycle counted, launched and removed, and every request', () => {
    const { metrics } = result;
    const perCycle = (pool: string, field: 'queued' | 'launch') =>
      result.cycles.map((_, index) => poolsOf(result, index)[pool]?.[field] ?? 0);
    for (const pool of ['linux-x64', 'linux-arm64']) {
      expect(metrics.valuesOf('QueuedJobs', pool)).toEqual(perCycle(pool, 'queued'));
      expect(metrics.sum('RunnersLaunched', pool)).toBe(perCycle(pool, 'launch').reduce((a, b) => a + b, 0));
    }
    expect(metrics.sum('RunnersRemoved', 'linux-arm64')).toBe(2);
    expect(metrics.sum('RegistrationFailures')).toBe(0);
    // One sample per cycle of what is per cycle; the share scanned is the whole organization here.
    expect(metrics.valuesOf('CycleDuration')).toHaveLength(3);
    expect(metrics.valuesOf('RepositoriesScanned')).toEqual([100, 100, 100]);
    expect(metrics.valuesOf('PoolsAtMax')).toEqual([0, 0, 0]);
    // The client counts each request it sends; the stand-in saw each one.
    expect(metrics.sum('GitHubRequests')).toBe(result.requests.length);
    expect(metrics.sum('GitHubRateLimited')).toBe(0);
  });

  it('writes to GitHub only to register each launched runner and to deregister idle ones', () => {
    const writes = result.requests.filter((request) => request.method !== 'GET');
    const registrations = writes.filter(
      (request) => request.path === '/orgs/acme/actions/runners/generate-jitconfig',
    );
    const deregistrations = writes.filter((request) =>
      /^\/orgs\/acme\/actions\/runners\/\d+$/.test(request.path),
    );
    expect(registrations.map((request) => request.method)).toEqual(Array(7 + 5 + 1).fill('POST'));
    expect(deregistrations.map((request) => request.method)).toEqual(['DELETE', 'DELETE']);
    expect(writes).toHaveLength(registrations.length + deregistrations.length);
  });

  it('hands every runner config to its instance and leaves none behind', async () => {
    // Each booted instance took (and deleted) its config; only the one launched in the last cycle waits.
    const left = await result.runnerConfigs.list();
    expect(left.map((config) => config.instanceId)).toEqual(
      result.fleet
        .live()
        .filter((i) => i.state === 'pending')
        .map((i) => i.id),
    );
  });

  it('prints a readable trace: states with durations, Map iterations and a pool table per cycle', () => {
    const text = lines.join('\n');
    expect(text).toMatch(
      /✓ ListRepositories \d+ ms {2}12 repositories, 12 scanned in 3 batches; budget \d+ scans at 3 req each/,
    );
    // The second cycle remembers the repositories that had queued jobs in the first.
    expect(text).toMatch(/✓ ListRepositories \d+ ms {2}12 repositories, 12 scanned \(4 hot\) in 3 batches/);
    expect(text).toMatch(/↳ \[2\] CollectRepositoryJobs \d+ ms/);
    expect(text).toMatch(/✓ RegisterRunners \d+ ms {2}7 registered, 0 waiting/);
    expect(text.match(/pool\s+queued\s+idle\s+busy\s+booting\s+launch\s+terminate/g)).toHaveLength(3);
    expect(text).toContain('execution succeeded');
  });
});

describe('npm start -- --faults: the same run under transient GitHub and EC2 failures', () => {
  it('retries through every fault and decides exactly as without them', async () => {
    // Prepare
    const lines: string[] = [];
    const clean = await runLocal({ webhooks: false, scenarioPath: demo, print: () => undefined });
    // Act
    const faulty = await runLocal({
      webhooks: false,
      scenarioPath: demo,
      faults: true,
      print: (line) => lines.push(line),
    });
    // Assess
    expect(faulty.cycles.map((cycle) => cycle.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    for (const [index, cycle] of faulty.cycles.entries()) {
      expect(cycle.output.plan).toEqual(clean.cycles[index]?.output.plan);
      expect(cycle.output.scaleUp).toEqual(clean.cycles[index]?.output.scaleUp);
      expect(cycle.output.scaleDown).toEqual(clean.cycles[index]?.output.scaleDown);
    }
    // EC2 throttled each pool's first launch: the state machine retried ScaleUp, the fleet launched once.
    const retries = faulty.cycles.flatMap((cycle) =>
      cycle.events.filter((event) => event.type === 'StateRetried' && event.state.name === 'ScaleUp'),
    );
    expect(retries.length).toBeGreaterThan(0);
    expect(faulty.fleet.live().map((i) => i.pool)).toEqual(clean.fleet.live().map((i) => i.pool));
    // GitHub failed a third of the distinct requests once; the client retried them.
    const failed = faulty.requests.filter((request) => [502, 503, 429, 403].includes(request.status ?? 0));
    expect(failed.length).toBeGreaterThan(10);
    expect(lines.join('\n')).toMatch(
      /Faults injected: \d+ GitHub requests failed once .* \d+ launches throttled once/,
    );
  });
});

describe('npm start with webhooks (the default)', () => {
  let result: Awaited<ReturnType<typeof runLocal>>;
  const lines: string[] = [];

  beforeAll(async () => {
    result = await runLocal({ scenarioPath: demo, print: (line) => lines.push(line) });
  }, 60_000);

  it('delivers every workflow_job change, signed, and the receiver accepts each', () => {
    expect(result.deliveries.length).toBeGreaterThan(10);
    expect(result.deliveries.every((answer) => answer.status === 200 || answer.status === 202)).toBe(true);
    const outcomes = new Set(result.deliveries.map((answer) => JSON.parse(answer.body).outcome));
    expect(outcomes).toContain('started');
    expect(outcomes).toContain('ignored-labels'); // GitHub-hosted and macOS jobs
  });

  it('sees the data team’s burst within a second and launches for it before the next scheduled cycle', () => {
    const burst = result.deliveries.find(
      (answer) =>
        answer.delivery.action === 'queued' &&
        answer.delivery.payload.repository.name === 'data-pipeline' &&
        JSON.parse(answer.body).outcome === 'started',
    );
    expect(burst).toBeDefined();
    const queuedAt = Date.parse(burst?.delivery.payload.workflow_job.created_at ?? '');
    const deliveredAt = Date.parse(burst?.delivery.deliveredAt ?? '');
    expect(deliveredAt - queuedAt).toBeLessThanOrEqual(1500);
    const cycle = result.webhookCycles.find(
      (candidate) => (candidate.output.cycle as { id: string }).id === `webhook-${burst?.delivery.guid}`,
    );
    expect(cycle?.status).toBe('SUCCEEDED');
    // One of the four went to the warm runner (minIdle 1) at once; three are launched for.
    expect(cycle?.output.scaleUp).toMatchObject({ launched: 3 });
    expect(lines.some((line) => line.startsWith('━━ Webhook cycle at +60.'))).toBe(true);
  });

  it('runs without deliveries with webhooks off, as before', async () => {
    const off = await runLocal({ scenarioPath: demo, webhooks: false, print: () => undefined });
    expect(off.deliveries).toEqual([]);
    expect(off.webhookCycles).toEqual([]);
    expect(off.cycles).toHaveLength(3);
  }, 60_000);
});
