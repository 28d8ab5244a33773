/**
 * `npm start -- --job-source scaleset`: the demo scenario with runner scale sets — the listener against the
 * stand-in's Actions service over HTTP, the cycles it starts through the real state machine.
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { instanceIdOfRunner } from '../functions/core/model.ts';
import { isActionsServicePath } from '../local/github-standin/actions-service.ts';
import { type LocalRunResult, runLocal } from '../local/local-run.ts';

const demo = fileURLToPath(new URL('../local/scenarios/demo.json', import.meta.url));

describe('npm start -- --job-source scaleset', () => {
  let result: LocalRunResult;
  let polled: LocalRunResult;
  const lines: string[] = [];
  /** Each self-hosted job that started, and the scale set of the runner it started on (0: none). */
  const startedOn = new Map<number, number>();

  beforeAll(async () => {
    result = await runLocal({
      scenarioPath: demo,
      jobSource: 'scaleset',
      print: (line) => lines.push(line),
      observe: {
        jobStarted: (job, _queuedAt, runner) => {
          if (runner) startedOn.set(job.id, runner.scaleSetId ?? 0);
        },
      },
    });
    polled = await runLocal({ scenarioPath: demo, print: () => {} });
  });

  it('creates one scale set per pool, listens, and runs the cycles the listener starts', () => {
    expect(result.world.actions.listScaleSets().map((set) => [set.name, set.labels])).toEqual([
      ['linux-x64', ['linux-x64', 'self-hosted', 'linux', 'x64']],
      ['linux-arm64', ['linux-arm64', 'self-hosted', 'linux', 'arm64']],
    ]);
    expect(result.listenerCycles.length).toBeGreaterThan(0);
    expect([...result.cycles, ...result.listenerCycles].every((cycle) => cycle.status === 'SUCCEEDED')).toBe(
      true,
    );
    expect(lines.some((line) => /listener: linux-x64 message #\d+ JobAvailable/.test(line))).toBe(true);
    expect(lines.some((line) => line.startsWith('━━ Cycle started by the listener'))).toBe(true);
  });

  it('serves the same self-hosted jobs as polling, every one on a runner of its pool’s scale set', () => {
    const ran = (run: LocalRunResult) =>
      [...run.github.allJobs()]
        .filter((job) => job.startedAt && job.labels.some((label) => label.toLowerCase() === 'self-hosted'))
        .map((job) => job.id)
        .sort((a, b) => a - b);
    expect(ran(result)).toEqual(ran(polled));
    const sets = new Map(result.world.actions.listScaleSets().map((set) => [set.id, set.name]));
    const ours = [...result.github.allJobs()].filter(
      (job) => job.runnerName && instanceIdOfRunner('stepscale-local', job.runnerName),
    );
    expect(ours.length).toBe(startedOn.size);
    for (const job of ours) {
      const wanted = job.labels.map((label) => label.toLowerCase()).includes('arm64')
        ? 'linux-arm64'
        : 'linux-x64';
      expect(sets.get(startedOn.get(job.id) ?? 0), `job ${job.id}`).toBe(wanted);
    }
  });

  it('registers through the scale sets: no REST registration, far fewer REST requests than polling', () => {
    const rest = result.requests.filter((request) => !isActionsServicePath(request.path));
    expect(rest.filter((request) => request.path.endsWith('/generate-jitconfig'))).toEqual([]);
    expect(
      result.requests.filter((request) => request.path.endsWith('/generatejitconfig')).length,
    ).toBeGreaterThan(0);
    expect(rest.length * 5).toBeLessThan(polled.requests.length);
    // Every Actions-service call named its api-version (the stand-in refuses one that does not).
    expect(result.requests.filter((request) => request.status === 400)).toEqual([]);
  });
});
