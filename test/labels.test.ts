import { describe, expect, it } from 'vitest';
import { countDemand, type Demand, emptyDemand, sumDemand } from '../functions/core/demand.ts';
import { type LabelledPool, matchPool, normalizeLabels, runnerServesPool } from '../functions/core/labels.ts';

const linux: LabelledPool = { name: 'linux', labels: ['self-hosted', 'linux'] };
const x64: LabelledPool = { name: 'x64', labels: ['self-hosted', 'linux', 'x64'] };
const arm: LabelledPool = { name: 'arm', labels: ['self-hosted', 'linux', 'arm64'] };
const gpu: LabelledPool = { name: 'gpu', labels: ['self-hosted', 'linux', 'x64', 'gpu'] };

describe('normalizeLabels', () => {
  it.each([
    { input: [], expected: [] },
    { input: ['Self-Hosted', 'LINUX', 'x64'], expected: ['self-hosted', 'linux', 'x64'] },
    { input: ['  linux ', '\tX64\n'], expected: ['linux', 'x64'] },
    { input: ['Linux', 'linux', ' LINUX '], expected: ['linux'] },
    { input: ['x64', 'linux', 'X64', 'self-hosted'], expected: ['x64', 'linux', 'self-hosted'] },
    { input: ['', '   ', 'gpu'], expected: ['gpu'] },
    { input: ['', ' '], expected: [] },
  ])('normalizes $input to $expected', ({ input, expected }) => {
    expect(normalizeLabels(input)).toEqual(expected);
  });

  it('does not modify its input', () => {
    // Prepare
    const input = [' Linux ', 'LINUX'];

    // Act
    normalizeLabels(input);

    // Assess
    expect(input).toEqual([' Linux ', 'LINUX']);
  });
});

describe('matchPool', () => {
  it.each([
    { jobLabels: ['self-hosted', 'linux'], pools: [linux, x64], expected: 'linux' },
    { jobLabels: ['self-hosted', 'linux'], pools: [x64, linux], expected: 'x64' },
    { jobLabels: ['self-hosted', 'linux', 'x64'], pools: [linux, x64], expected: 'x64' },
    { jobLabels: ['SELF-HOSTED', 'Linux', 'X64'], pools: [arm, x64], expected: 'x64' },
    { jobLabels: ['  self-hosted ', 'linux', 'ARM64'], pools: [x64, arm], expected: 'arm' },
    { jobLabels: ['linux'], pools: [arm, x64], expected: 'arm' },
    { jobLabels: ['x64'], pools: [arm, x64], expected: 'x64' },
    { jobLabels: ['self-hosted'], pools: [x64], expected: 'x64' },
    { jobLabels: ['linux', 'Linux', 'LINUX'], pools: [x64], expected: 'x64' },
    { jobLabels: ['self-hosted', 'linux', 'x64', 'gpu'], pools: [linux, x64, arm, gpu], expected: 'gpu' },
  ])('assigns $jobLabels to pool $expected', ({ jobLabels, pools, expected }) => {
    expect(matchPool(jobLabels, pools)?.name).toBe(expected);
  });

  it('takes the first pool in config order even when a later pool fits the job exactly', () => {
    // Prepare: the gpu pool is listed first and its labels are a superset of the job's labels.
    const pools = [gpu, x64];

    // Act
    const pool = matchPool(['self-hosted', 'linux', 'x64'], pools);

    // Assess
    expect(pool).toBe(gpu);
  });

  it('returns the pool object itself, so callers keep their own pool type', () => {
    // Prepare
    const pools = [{ ...x64, maxRunners: 7 }];

    // Act
    const pool = matchPool(['x64'], pools);

    // Assess
    expect(pool?.maxRunners).toBe(7);
  });

  it.each([
    { case: 'a GitHub-hosted label', jobLabels: ['ubuntu-latest'] },
    { case: 'a label no pool has', jobLabels: ['self-hosted', 'linux', 'riscv'] },
    { case: 'labels spread over two pools', jobLabels: ['x64', 'arm64'] },
    { case: 'an empty label list', jobLabels: [] },
    { case: 'only blank labels', jobLabels: ['', '  '] },
  ])('matches no pool for $case', ({ jobLabels }) => {
    expect(matchPool(jobLabels, [linux, x64, arm, gpu])).toBeUndefined();
  });

  it('matches nothing when no pools are configured', () => {
    expect(matchPool(['self-hosted'], [])).toBeUndefined();
  });
});

describe('runnerServesPool', () => {
  it.each([
    { runnerLabels: ['self-hosted', 'linux', 'x64'], pool: x64, expected: true },
    { runnerLabels: ['Self-Hosted', ' LINUX ', 'X64'], pool: x64, expected: true },
    { runnerLabels: ['self-hosted', 'linux', 'x64', 'gpu', 'extra'], pool: x64, expected: true },
    { runnerLabels: ['self-hosted', 'linux', 'x64'], pool: linux, expected: true },
    { runnerLabels: ['self-hosted', 'linux'], pool: x64, expected: false },
    { runnerLabels: ['self-hosted', 'linux', 'x64'], pool: gpu, expected: false },
    { runnerLabels: ['self-hosted', 'linux', 'x64'], pool: arm, expected: false },
    { runnerLabels: [], pool: linux, expected: false },
  ])('returns $expected for runner $runnerLabels and pool $pool.name', ({ runnerLabels, pool, expected }) => {
    expect(runnerServesPool(runnerLabels, pool)).toBe(expected);
  });
});

describe('emptyDemand', () => {
  it('has every configured pool at zero and nothing unmatched', () => {
    expect(emptyDemand([x64, arm])).toEqual({ queuedByPool: { x64: 0, arm: 0 }, unmatched: 0 });
  });
});

describe('countDemand', () => {
  it('counts each job once, for the first pool that serves it, and the rest as unmatched', () => {
    // Prepare
    const jobs = [
      { labels: ['self-hosted', 'linux', 'x64'] },
      { labels: ['SELF-HOSTED', 'Linux', 'X64'] },
      { labels: ['self-hosted', 'linux', 'arm64'] },
      { labels: ['self-hosted', 'linux'] }, // served by both: the first pool (x64) takes it
      { labels: ['ubuntu-latest'] },
      { labels: ['windows-latest'] },
      { labels: [] },
      { labels: ['self-hosted', 'linux', 'x64', 'gpu'] },
    ];

    // Act
    const demand = countDemand(jobs, [x64, arm, gpu]);

    // Assess
    expect(demand).toEqual({ queuedByPool: { x64: 3, arm: 1, gpu: 1 }, unmatched: 3 });
  });

  it.each([
    // job labels, claiming pools, the pool it is counted for
    [['self-hosted', 'linux'], [], 'x64'],
    [['self-hosted', 'linux'], ['arm'], 'arm'],
    [['self-hosted', 'linux'], ['arm', 'gpu'], 'arm'],
    [['self-hosted', 'linux', 'x64'], ['arm'], 'x64'], // arm does not serve it: its claim does not reach it
    [['self-hosted', 'linux', 'x64'], ['gpu'], 'gpu'],
  ] as const)(
    'counts %j, with %j claiming, for %s: a scale set claims the jobs it serves',
    (labels, claiming, pool) => {
      // Act
      const demand = countDemand([{ labels }], [x64, arm, gpu], new Set(claiming));

      // Assess
      expect(demand.queuedByPool[pool]).toBe(1);
      expect(Object.values(demand.queuedByPool).reduce((a, b) => a + b, 0)).toBe(1);
      expect(demand.unmatched).toBe(0);
    },
  );

  it('lists every configured pool even without jobs', () => {
    expect(countDemand([], [x64, arm])).toEqual({ queuedByPool: { x64: 0, arm: 0 }, unmatched: 0 });
  });

  it('counts everything as unmatched when no pool is configured', () => {
    expect(countDemand([{ labels: ['self-hosted'] }, { labels: ['x64'] }], [])).toEqual({
      queuedByPool: {},
      unmatched: 2,
    });
  });
});

describe('sumDemand', () => {
  it('adds partial demands pool by pool', () => {
    // Prepare
    const parts: Demand[] = [
      { queuedByPool: { x64: 2, arm: 0 }, unmatched: 1 },
      { queuedByPool: { x64: 3, arm: 4 }, unmatched: 0 },
      { queuedByPool: { arm: 1 }, unmatched: 5 },
    ];

    // Act
    const demand = sumDemand([x64, arm], parts);

    // Assess
    expect(demand).toEqual({ queuedByPool: { x64: 5, arm: 5 }, unmatched: 6 });
  });

  it('counts jobs of a pool that is not configured (any more) as unmatched', () => {
    // Prepare
    const parts: Demand[] = [
      { queuedByPool: { x64: 1, retired: 4 }, unmatched: 2 },
      { queuedByPool: { X64: 3 }, unmatched: 0 }, // pool names are exact: X64 is not x64
    ];

    // Act
    const demand = sumDemand([x64, arm], parts);

    // Assess
    expect(demand).toEqual({ queuedByPool: { x64: 1, arm: 0 }, unmatched: 9 });
  });

  it('returns the empty demand when there are no parts', () => {
    expect(sumDemand([x64, arm], [])).toEqual({ queuedByPool: { x64: 0, arm: 0 }, unmatched: 0 });
  });

  it('agrees with counting all jobs at once', () => {
    // Prepare
    const pools = [x64, arm];
    const batchA = [{ labels: ['x64'] }, { labels: ['ubuntu-latest'] }];
    const batchB = [{ labels: ['ARM64'] }, { labels: ['self-hosted', 'x64'] }, { labels: [] }];

    // Act
    const summed = sumDemand(pools, [countDemand(batchA, pools), countDemand(batchB, pools)]);

    // Assess
    expect(summed).toEqual({ queuedByPool: { x64: 2, arm: 1 }, unmatched: 2 });
  });
});
