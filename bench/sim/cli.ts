/**
 * npm run simulate -- --workload FILE [--strategy NAME]… [--seed N] [--out DIR] [--duration SECONDS] [--json]
 * Runs one workload under the given strategies (default: all), prints a summary per strategy and writes the
 * timeline chart (queued jobs and runners over time, all strategies together) to DIR/<workload>.svg.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { table } from '../../functions/cli/table.ts';
import { waitCells, waitColumns } from './bench.ts';
import { timelineSvg } from './chart.ts';
import { aboveBoot } from './metrics.ts';
import { type SimulationResult, simulate } from './simulate.ts';
import { strategyNames } from './strategies/index.ts';
import { loadWorkload, withFaults } from './workload.ts';

function parse(args: string[]) {
  return parseArgs({
    args,
    options: {
      workload: { type: 'string' },
      strategy: { type: 'string', multiple: true },
      seed: { type: 'string' },
      out: { type: 'string' },
      duration: { type: 'string' },
      faults: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

const usage =
  'usage: npm run simulate -- --workload FILE [--strategy NAME]... [--seed N] [--out DIR] [--duration SECONDS] [--faults] [--json]';

async function main(args: string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  try {
    ({ values } = parse(args));
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    return 2;
  }
  const file = values.workload;
  if (!file || values.help) {
    console.error(usage);
    return 2;
  }
  const loaded = await loadWorkload(file);
  const workload = values.faults ? withFaults(loaded) : loaded;
  const chosen = values.strategy ?? [];
  const strategies = chosen.length > 0 ? chosen : strategyNames;
  const seed = Number(values.seed ?? 1);
  if (!Number.isInteger(seed)) {
    console.error(`--seed needs a whole number\n${usage}`);
    return 2;
  }
  const duration = values.duration;
  const out = values.out ?? 'bench/results';
  const results: SimulationResult[] = [];
  for (const strategy of strategies) {
    results.push(
      await simulate({
        workload,
        strategy,
        seed,
        ...(duration ? { durationSeconds: Number(duration) } : {}),
      }),
    );
  }
  await mkdir(out, { recursive: true });
  const chart = join(out, `${workload.name}.svg`);
  await writeFile(
    chart,
    timelineSvg({
      title: `${workload.name} (seed ${seed})`,
      series: results.map((r) => ({ name: r.strategy, timeline: r.timeline })),
      maxRunners: workload.pools.reduce((sum, pool) => sum + pool.maxRunners, 0),
    }),
  );
  if (values.json) {
    console.log(
      JSON.stringify(
        results.map(({ strategy, metrics, details }) => ({ strategy, metrics, details })),
        null,
        2,
      ),
    );
    return 0;
  }
  console.log(`${workload.name}: ${workload.description}`);
  console.log(
    `${results[0]?.simulatedSeconds ?? 0} s simulated (measured from ${results[0]?.measuredFromSeconds ?? 0} s), seed ${seed}, boot ${workload.bootSeconds.mean} ± ${workload.bootSeconds.jitter} s\n`,
  );
  console.log(
    table(
      [
        'strategy',
        'jobs',
        ...waitColumns,
        'idle runner-min',
        'peak',
        'GitHub req',
        'rate-limited',
        '304',
        'refused',
        'killed',
        're-queued',
      ],
      results.map((r) => [
        r.strategy,
        String(r.details.jobs),
        ...waitCells(r.metrics, aboveBoot(r.metrics.queueWaitP95S, workload.bootSeconds.mean)),
        String(r.metrics.idleRunnerMinutes),
        String(r.metrics.peakRunners),
        String(r.metrics.githubRequests),
        String(r.metrics.rateLimitedRequests),
        String(r.details.notModifiedRequests),
        String(r.details.rejectedRequests),
        String(r.details.jobsKilled),
        String(r.details.requeues),
      ]),
    ),
  );
  console.log(`\ntimeline chart: ${chart}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
