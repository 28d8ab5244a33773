/**
 * npm run bench [-- --quick] [--json] [--seed N] [--out DIR]
 * Every shipped workload under every strategy (stepscale, seed-baseline, the peers), then the cost model and
 * the goals per workload. Prints a table per workload (or one JSON object with --json) and, unless --json,
 * writes a chart per workload to DIR (default bench/results): queued jobs and live runners, a row per strategy.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatReport, runBench } from './sim/bench.ts';
import { timelineSvg } from './sim/chart.ts';

const here = dirname(fileURLToPath(import.meta.url));

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      seed: { type: 'string', default: '1' },
      out: { type: 'string', default: join(here, 'results') },
    },
  });
  const { json, quick, out } = values;
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error('--seed needs an integer');
  const started = performance.now();
  const report = await runBench({
    workloadsDir: join(here, 'workloads'),
    quick,
    seed,
    onResult: async (workload, results) => {
      if (json) return;
      await mkdir(out, { recursive: true });
      const file = join(out, `${workload.name}.svg`);
      const maxRunners = workload.pools.reduce((sum, pool) => sum + pool.maxRunners, 0);
      await writeFile(
        file,
        timelineSvg({
          title: `${workload.name} (seed ${seed}${quick ? ', quick' : ''})`,
          series: results.map((r) => ({ name: r.strategy, timeline: r.timeline })),
          maxRunners,
        }),
      );
      console.error(`simulated ${workload.name}: ${results.map((r) => r.strategy).join(', ')} → ${file}`);
    },
  });
  if (json) {
    const { workloads: _perWorkload, ...headline } = report;
    console.log(JSON.stringify({ ...headline, workloads: report.workloads.map(trimWorkload) }, null, 2));
  } else {
    console.log(formatReport(report));
    console.log(
      `\n(${((performance.now() - started) / 1000).toFixed(1)} s wall time; seed ${seed}${quick ? ', quick' : ''})`,
    );
  }
}

function trimWorkload(w: Awaited<ReturnType<typeof runBench>>['workloads'][number]) {
  return {
    ...w,
    strategies: Object.fromEntries(
      Object.entries(w.strategies).map(([name, { details, ...metrics }]) => {
        const { requestsByEndpoint: _endpoints, ...rest } = details;
        return [name, { ...metrics, details: rest }];
      }),
    ),
  };
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  console.error('usage: npm run bench [-- --quick] [--json] [--seed N] [--out DIR]');
  process.exit(1);
});
