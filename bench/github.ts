/**
 * `npm run bench:github [-- --quick] [-- --json] [-- --latency MS]`: what a scaling cycle costs against GitHub,
 * measured against the local stand-in with injected latency, for 100 / 1,000 / 10,000 repositories
 * (`--quick`: 100 and 1,000).
 *
 * stepscale: the real state machine (runCycle) with the real handlers and the real Octokit adapter (with its
 * conditional requests backed by an in-memory StateStore), three cycles: a first one (nothing remembered yet),
 * an idle one (nothing changed since) and a busy one (5% of the repositories got a queued run with 2 jobs).
 * The governor is set up as for GitHub Enterprise Server with rate limiting off and the secondary cap lifted,
 * so every repository is scanned every cycle: this measures the full scan, not the governor's skipping.
 *
 * naive: the poller stepscale replaces: every repository, every run of it (no status filter), then every run's
 * jobs, no ETags, one request at a time. Each repository has 2 completed runs of history. At 50 ms a request
 * that is ~5 minutes per 1,000 repositories, so it is measured on the first 100 repositories and extrapolated
 * linearly (by requests) to the whole organization; its request counts are exact.
 *
 * Per cycle: wall time, requests, rate-limited requests (all but 304s and GET /rate_limit, which GitHub does
 * not count), largest state payload (JSON bytes of any state input or output).
 */
import '../functions/executor/polyfills.ts';
import { parseArgs } from 'node:util';
import { createGitHubAdapter } from '../functions/adapters/github-octokit.ts';
import { linkTarget } from '../functions/adapters/github-repositories.ts';
import { MemoryCycleStarter } from '../functions/adapters/memory-cycle-starter.ts';
import { MemoryStateStore } from '../functions/adapters/memory-state-store.ts';
import { MemoryWebhookInbox } from '../functions/adapters/memory-webhook-inbox.ts';
import { MemoryWriteBudget } from '../functions/adapters/memory-write-budget.ts';
import { noScaleSets } from '../functions/adapters/no-scale-sets.ts';
import { table } from '../functions/cli/table.ts';
import { parseConfig, scalingPolicyOf } from '../functions/config/config.ts';
import { runCycle } from '../functions/executor/cycle-runner.ts';
import type { HandlerDeps } from '../functions/handlers/deps.ts';
import { silentLog } from '../functions/observability/logger.ts';
import { noMetrics } from '../functions/observability/metrics.ts';
import { executionStats } from '../local/execution-stats.ts';
import { repositoryNames } from '../local/repository-names.ts';
import { MemoryFleet } from '../local/world/fleet.ts';
import { MemoryRunnerConfigStore } from '../local/world/runner-configs.ts';
import { benchLabels, benchOrg, busyShare } from './github/organization.ts';
import { type BenchRequest, type StandinProcess, startStandinProcess } from './github/standin-process.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    latency: { type: 'string', default: '50' },
  },
  strict: true,
});
const latencyMs = Number(values.latency);
const sizes = process.env.BENCH_SIZES
  ? process.env.BENCH_SIZES.split(',').map(Number)
  : values.quick
    ? [100, 1000]
    : [100, 1000, 10_000];
const naiveSample = 100;
/** The template's MapConcurrency default (collect tasks at once). */
const mapConcurrency = 6;
const fullScanUpTo = 1000;
const org = benchOrg;
const token = 'bench-token';
const labels = benchLabels;

interface CycleRow {
  readonly repositories: number;
  readonly side: 'stepscale' | 'naive';
  readonly cycle: 'first' | 'idle' | 'busy';
  readonly wallMs: number;
  /**
   * stepscale: from the start until AggregateDemand has the organization's demand (listing, collection,
   * aggregation); the rest of the cycle is Decide and, when there is demand, the GitHub writes of ScaleUp,
   * which GitHub wants a second apart (20 launches take 20 s in production, whatever the scan costs).
   */
  readonly scanMs?: number;
  readonly requests: number;
  readonly rateLimited: number;
  /** stepscale only. */
  readonly largestPayloadBytes?: number;
  readonly queued: number;
  /** Repositories scanned this cycle (the governor may skip some). */
  readonly scanned: number;
  /** naive: measured on a sample and extrapolated. */
  readonly extrapolatedFrom?: number;
}

const countsAgainstLimit = (request: BenchRequest) =>
  request.status !== 304 && request.path !== '/rate_limit';

async function stepscaleCycles(size: number): Promise<CycleRow[]> {
  const standin = await startStandinProcess({ size, token, latencyMs });
  try {
    const config = parseConfig({
      github: { url: 'https://github.example.com', apiUrl: standin.url, org },
      pools: [
        {
          name: 'linux-x64',
          labels,
          maxRunners: 1000,
          instanceTypes: ['m7i.large'],
          launchTemplate: 'lt-0123',
          subnets: ['subnet-0a'],
        },
      ],
      scaleUp: { maxLaunchesPerCycle: 20 },
      // Up to 1,000 repositories the secondary cap is lifted so the full scan is measured; at 10,000 the
      // governor's default applies (900 points/min → 450 repositories a cycle, hot ones first): a full scan of
      // 10,000 does not fit the 55 s execution timeout on one local process (client, stand-in and executor
      // share one CPU; in AWS the Map's Lambdas run in parallel).
      collection: { endpointPointsPerMinute: size <= fullScanUpTo ? 1_000_000 : 900 },
    });
    const stateStore = new MemoryStateStore();
    const adapter = createGitHubAdapter({
      apiUrl: config.github.apiUrl,
      org,
      token,
      stateStore,
      minWriteIntervalMs: 0,
      // One client serves every collect task here; in AWS each is a Lambda with its own client sending at most
      // collection.concurrency requests at once, MapConcurrency of them at a time: the same ceiling.
      maxConcurrentRequests: mapConcurrency * config.collection.concurrency,
    });
    const deps: HandlerDeps = {
      config,
      policy: scalingPolicyOf(config),
      // GitHub Enterprise Server with rate limiting off: the governor lets every repository be scanned.
      github: { ...adapter, rateLimit: async () => undefined },
      fleet: new MemoryFleet({ stack: config.stack, now: () => new Date() }),
      runnerConfigs: new MemoryRunnerConfigStore(() => new Date()),
      stateStore,
      // Unpaced, like the client above: this measures the scan, not GitHub's write spacing.
      writeBudget: new MemoryWriteBudget(1),
      webhookInbox: new MemoryWebhookInbox(),
      scaleSets: noScaleSets,
      cycleStarter: new MemoryCycleStarter(),
      log: silentLog,
      now: () => new Date(),
      sleepUntil: async () => {},
      metrics: noMetrics,
    };
    const rows: CycleRow[] = [];
    for (const cycle of ['first', 'idle', 'busy'] as const) {
      if (cycle === 'busy') await standin.makeBusy();
      const before = await standin.requestCount();
      const started = performance.now();
      let demandKnownAt = Number.NaN;
      const result = await runCycle({
        deps,
        cycleId: `bench-${size}-${cycle}`,
        mapConcurrency,
        wrapTask: (task, handler) =>
          task !== 'AggregateDemand'
            ? handler
            : async (input) => {
                const output = await handler(input);
                demandKnownAt = performance.now();
                return output;
              },
      });
      const wallMs = performance.now() - started;
      if (result.status !== 'SUCCEEDED')
        throw new Error(
          `stepscale ${cycle} cycle failed: ${JSON.stringify(result.output.scaleUpError ?? result.output.scaleDownError ?? result.error)}`,
        );
      const requests = await standin.requestsSince(before);
      const demand = result.output.demand as { queuedByPool?: Record<string, number> } | undefined;
      rows.push({
        repositories: size,
        side: 'stepscale',
        cycle,
        wallMs,
        scanMs: demandKnownAt - started,
        requests: requests.length,
        rateLimited: requests.filter(countsAgainstLimit).length,
        largestPayloadBytes: executionStats(result.events).largestPayloadBytes,
        queued: Object.values(demand?.queuedByPool ?? {}).reduce((a, b) => a + b, 0),
        scanned: (result.output.demand as { repositories?: number } | undefined)?.repositories ?? 0,
      });
    }
    return rows;
  } finally {
    await standin.close();
  }
}

/** The old poller, sequential and unconditional. Returns queued jobs seen and requests made. */
async function naivePoll(standin: StandinProcess, repositories: readonly string[]): Promise<number> {
  const get = async (
    url: string,
    retried = false,
  ): Promise<{ body: Record<string, unknown>; next?: string }> => {
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { authorization: `token ${token}`, accept: 'application/vnd.github+json' },
      });
    } catch (error) {
      // A kept-alive connection the stand-in closed meanwhile; a poller would simply try again.
      if (retried) throw error;
      return get(url, true);
    }
    if (!response.ok) throw new Error(`naive poller: ${response.status} for ${url}`);
    const next = linkTarget(response.headers.get('link') ?? undefined, 'next')?.href;
    return { body: (await response.json()) as Record<string, unknown>, next };
  };
  const all = async <T>(url: string, key: string): Promise<T[]> => {
    const items: T[] = [];
    for (let page: string | undefined = url; page; ) {
      const { body, next } = await get(page);
      items.push(...((body[key] as T[]) ?? []));
      page = next;
    }
    return items;
  };
  let queued = 0;
  for (const repo of repositories) {
    const runs = await all<{ id: number }>(
      `${standin.url}/repos/${org}/${repo}/actions/runs?per_page=100`,
      'workflow_runs',
    );
    for (const run of runs) {
      const jobs = await all<{ status: string }>(
        `${standin.url}/repos/${org}/${repo}/actions/runs/${run.id}/jobs?per_page=100`,
        'jobs',
      );
      queued += jobs.filter((job) => job.status === 'queued').length;
    }
  }
  return queued;
}

async function naiveCycles(size: number): Promise<CycleRow[]> {
  const names = repositoryNames(size);
  const standin = await startStandinProcess({ size, token, latencyMs });
  try {
    const sample = names.slice(0, Math.min(naiveSample, size));
    const rows: CycleRow[] = [];
    for (const cycle of ['idle', 'busy'] as const) {
      if (cycle === 'busy') await standin.makeBusy();
      // Exact request count for the whole organization: repository pages + one run listing per repository +
      // one job listing per run (every list here fits one page of 100).
      const { requests: totalRequests, queued: queuedTotal } = await standin.naiveTotals();
      const before = await standin.requestCount();
      const started = performance.now();
      const queued = await naivePoll(standin, sample);
      const sampleMs = performance.now() - started;
      const sampleRequests = (await standin.requestCount()) - before;
      rows.push({
        repositories: size,
        side: 'naive',
        cycle,
        wallMs: (sampleMs * totalRequests) / Math.max(1, sampleRequests),
        requests: totalRequests,
        rateLimited: totalRequests,
        queued: sample.length === size ? queued : queuedTotal,
        scanned: size,
        ...(sample.length < size ? { extrapolatedFrom: sample.length } : {}),
      });
    }
    return rows;
  } finally {
    await standin.close();
  }
}

const rows: CycleRow[] = [];
const benchStarted = performance.now();
for (const size of sizes) {
  if (!values.json) process.stderr.write(`… ${size} repositories\n`);
  rows.push(...(await stepscaleCycles(size)), ...(await naiveCycles(size)));
}
const totalSeconds = (performance.now() - benchStarted) / 1000;

if (values.json) {
  console.log(JSON.stringify({ latencyMs, busyShare, naiveSample, totalSeconds, rows }));
} else {
  const header = [
    'repos',
    'side',
    'cycle',
    'scanned',
    'scan',
    'wall',
    'requests',
    'rate-limited',
    'largest payload',
    'queued',
  ];
  const cells = rows.map((row) => [
    row.repositories.toLocaleString('en-US'),
    row.side,
    row.cycle,
    row.scanned.toLocaleString('en-US'),
    row.scanMs === undefined ? '—' : `${(row.scanMs / 1000).toFixed(2)} s`,
    `${(row.wallMs / 1000).toFixed(2)} s${row.extrapolatedFrom ? '*' : ''}`,
    row.requests.toLocaleString('en-US'),
    row.rateLimited.toLocaleString('en-US'),
    row.largestPayloadBytes === undefined ? '—' : `${(row.largestPayloadBytes / 1024).toFixed(1)} KiB`,
    String(row.queued),
  ]);
  console.log(`GitHub cost of a scaling cycle — stand-in with ${latencyMs} ms latency per request\n`);
  console.log(table(header, cells, 3));
  console.log(
    `\n* naive wall time measured on the first ${naiveSample} repositories, extrapolated linearly by requests.` +
      `\n  busy = ${busyShare * 100}% of repositories got a queued run with 2 jobs. Bench took ${totalSeconds.toFixed(0)} s.` +
      '\n  scan = until AggregateDemand knows the demand; wall = the whole cycle (busy: + 20 runner registrations,' +
      '\n  which GitHub wants a second apart in production; the stand-in takes them back to back).' +
      `\n  stepscale scans everything up to ${fullScanUpTo.toLocaleString('en-US')} repositories (secondary cap lifted, no primary` +
      '\n  limit); beyond, the governor scans 450 a cycle (900 points/min on the runs endpoint) and skips the rest.',
  );
}
