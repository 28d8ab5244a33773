/**
 * `npm start -- --scenario local/scenarios/warm.json`: a pool with a warm pool of two stopped runners. The first
 * cycle prepares them; when a build queues two jobs, the cycle its webhook delivery starts starts them instead
 * of launching (a start is ~15 s to a runner here, a launch 60 s) and refills the pool; the tables show it.
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { type LocalRunResult, runLocal } from '../local/local-run.ts';

const scenario = fileURLToPath(new URL('../local/scenarios/warm.json', import.meta.url));

describe('npm start -- --scenario local/scenarios/warm.json', () => {
  let result: LocalRunResult;
  const lines: string[] = [];
  const waitsS: number[] = [];

  beforeAll(async () => {
    result = await runLocal({
      scenarioPath: scenario,
      print: (text) => lines.push(...text.split('\n')),
      observe: {
        jobStarted: (job, queuedAtMs) => {
          // queuedAtMs counts from the scenario's start, as the world's clock does.
          const startedMs = Date.parse(job.startedAt ?? '') - Date.parse('2026-01-05T09:00:00Z');
          if (job.labels.includes('self-hosted')) waitsS.push((startedMs - queuedAtMs) / 1000);
        },
      },
    });
  });

  it('prepares the warm pool, then starts it for the build instead of launching', () => {
    const all = [...result.cycles, ...result.webhookCycles];
    expect(all.every((cycle) => cycle.status === 'SUCCEEDED')).toBe(true);
    const calls = result.fleet.calls;
    const prepared = calls.filter((call) => call.method === 'prepare');
    const started = calls
      .filter((call) => call.method === 'start')
      .flatMap((call) => call.detail as string[]);
    expect(prepared.length).toBeGreaterThan(0);
    expect(started).toHaveLength(2);
    expect(calls.filter((call) => call.method === 'launch')).toEqual([]);
  });

  it('has both jobs running well within a launch’s boot time', () => {
    expect(waitsS).toHaveLength(2);
    for (const wait of waitsS) expect(wait).toBeLessThan(30);
  });

  it('refills the pool after the starts', async () => {
    const warm = (await result.fleet.listInstances()).filter(
      (instance) => instance.warm && instance.warm.stage !== 'started',
    );
    expect(warm.length).toBeGreaterThanOrEqual(2);
  });

  it('prints the warm pool in the pool tables', () => {
    expect(lines.some((line) => /pool\s+queued.*ready\s+preparing\s+start\s+prepare$/.test(line))).toBe(true);
    expect(lines.some((line) => /^\s+linux-x64(\s+\d+){6}\s+2\s+\d+\s+2\s+\d+$/.test(line))).toBe(true);
  });
});
