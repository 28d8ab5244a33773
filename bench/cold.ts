// `npm run bench:cold [-- --json] [-- --runs N]`: what a cold start of each Lambda function pays before its
// handler runs — the bundle's size, and the time to import it in a fresh Node process (the median of N runs,
// default 7). Builds first (npm run build). Import only: the handler builds its ports on the first invocation.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { table } from '../functions/cli/table.ts';

const { values } = parseArgs({
  options: { json: { type: 'boolean', default: false }, runs: { type: 'string', default: '7' } },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs needs a whole number ≥ 1');

execFileSync('node', ['scripts/build.mjs'], { stdio: ['ignore', 'ignore', 'inherit'] });

const dir = 'dist/lambda';
const bundles = readdirSync(dir)
  .filter((name) => name.endsWith('.mjs'))
  .sort();

function importMs(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  const out = execFileSync('node', ['--no-warnings', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  return Number(out);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const rows = bundles.map((name) => {
  const file = join(dir, name);
  const times = Array.from({ length: runs }, () => importMs(file));
  return {
    function: name.replace(/\.mjs$/, ''),
    bytes: statSync(file).size,
    importMs: Math.round(median(times)),
  };
});

if (values.json) {
  console.log(JSON.stringify({ node: process.version, runs, functions: rows }, null, 2));
} else {
  const header = ['function', 'size', 'import (median)'];
  const cells = rows.map((row) => [
    row.function,
    `${(row.bytes / 1024).toFixed(0)} KiB`,
    `${row.importMs} ms`,
  ]);
  console.log(table(header, cells, 1));
  console.log(`\n(Node ${process.version}, median of ${runs} imports in fresh processes)`);
}
