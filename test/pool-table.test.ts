/**
 * The per-pool tables (functions/cli/table.ts, cycle-summary.ts) show a warm pool when a pool has one: what is
 * ready, what is still warming up, what the cycle starts, and the refill; pools without one show dashes, and tables without any stay as
 * they were.
 */
import { describe, expect, it } from 'vitest';
import { cyclePoolTable, summarizeCycle } from '../functions/cli/cycle-summary.ts';
import { renderCycles } from '../functions/cli/cycles.ts';
import { poolTable } from '../functions/cli/table.ts';
import type { PoolSummary } from '../functions/handlers/decide.ts';

const plain: PoolSummary = {
  pool: 'linux-arm64',
  source: 'poll',
  queued: 2,
  idle: 0,
  busy: 1,
  booting: 0,
  orphaned: 0,
  launch: 2,
  start: [],
  prepare: 0,
  terminate: 0,
  unregistered: 0,
};
const warm: PoolSummary = {
  ...plain,
  pool: 'linux-x64',
  queued: 3,
  launch: 1,
  start: ['i-0001', 'i-0002'],
  prepare: 2,
  warm: { target: 4, ahead: 0, ready: 3, preparing: 1 },
};

describe('poolTable', () => {
  it('adds ready, start and prepare when a pool has a warm pool, dashes for the others', () => {
    expect(poolTable([warm, plain]).split('\n')).toEqual([
      '  pool         queued  idle  busy  booting  launch  terminate  ready  preparing  start  prepare',
      '  ───────────  ──────  ────  ────  ───────  ──────  ─────────  ─────  ─────────  ─────  ───────',
      '  linux-x64         3     0     1        0       1          0      3          1      2        2',
      '  linux-arm64       2     0     1        0       2          0      –          –      –        –',
    ]);
  });

  it('has no warm columns when no pool has a warm pool', () => {
    expect(poolTable([plain]).split('\n')[0]).toBe(
      '  pool         queued  idle  busy  booting  launch  terminate',
    );
  });
});

const execution = {
  executionArn: 'arn:aws:states:eu-west-1:1:execution:m:c',
  name: 'c',
  status: 'SUCCEEDED',
} as const;
const summary = summarizeCycle(execution, {
  plan: { pools: [warm, plain] },
  scaleUp: { instanceIds: ['i-0003'], registrations: [{ pool: 'linux-x64', instanceIds: ['i-0003'] }] },
  scaleDown: { terminated: 0, terminatedByPool: {} },
});

describe('cyclePoolTable', () => {
  it("shows the warm pool of the cycle's plan next to what was done", () => {
    expect(cyclePoolTable(summary).split('\n')).toEqual([
      '  pool         queued  idle  busy  booting  launch  launched  terminate  removed  ready  preparing  start  prepare',
      '  ───────────  ──────  ────  ────  ───────  ──────  ────────  ─────────  ───────  ─────  ─────────  ─────  ───────',
      '  linux-x64         3     0     1        0       1         1          0        0      3          1      2        2',
      '  linux-arm64       2     0     1        0       2         0          0        0      –          –      –        –',
    ]);
  });
});

describe('stepscale cycles', () => {
  it('adds what each pool started from its warm pool when one has one', () => {
    const machine = {
      name: 'cycle',
      arn: 'arn:aws:states:eu-west-1:1:stateMachine:cycle',
      type: 'STANDARD',
    } as const;
    const text = renderCycles(machine, [summary], 1);
    expect(text).toMatch(/pool\s+queued\s+launched\s+started\s+removed/);
    expect(text).toMatch(/linux-x64\s+3\s+1\s+2\s+0\n/);
    expect(text).toMatch(/linux-arm64\s+2\s+0 of 2\s+–\s+0\n/);
    const plainOnly = summarizeCycle(execution, { plan: { pools: [plain] } });
    expect(renderCycles(machine, [plainOnly], 1)).toMatch(/pool\s+queued\s+launched\s+removed/);
  });
});
