/** The readable trace says what a cycle's budgets held back (functions/observability/cycle-trace.ts). */
import { describe, expect, it } from 'vitest';
import { type CycleEvent, TraceFormatter } from '../functions/observability/cycle-trace.ts';

function exited(name: string, output: unknown): CycleEvent {
  return { type: 'StateExited', timestamp: 0, state: { name, type: 'Task' }, output };
}

describe('Class: TraceFormatter', () => {
  it('says when launches were held by the per-cycle cap and GitHub writes wait for a later cycle', () => {
    const line = new TraceFormatter().format(
      exited('Decide', {
        plan: {
          launches: [{ count: 20 }],
          removals: [],
          scaleDownHeld: false,
          budgets: {
            launches: { asked: 25, allowed: 20, cap: 20 },
            writes: { slots: 30, registrations: 35, removals: 4, ghosts: 1, deferred: 10 },
          },
        },
      }),
    );
    expect(line).toContain('launch 20 (25 wanted, cap 20), remove 0');
    expect(line).toContain('write budget spent: 10 of 40 GitHub writes wait (30 slots left this cycle)');
  });

  it('says what registration left for the next cycle, and why', () => {
    const trace = new TraceFormatter();
    const registration = (waitingFor?: string) =>
      trace.format(
        exited('RegisterRunners', {
          registration: {
            registered: 12,
            failed: 1,
            elsewhere: 2,
            queue: [{ instanceIds: ['i-1', 'i-2'] }, { instanceIds: ['i-3'] }],
            ...(waitingFor ? { waitingFor } : {}),
          },
        }),
      );
    expect(registration('write-budget')).toContain(
      '12 registered, 1 FAILED (terminated), 2 by another cycle, 3 waiting (write budget spent: the next cycle goes on)',
    );
    expect(registration('github-rate-limit')).toContain('(GitHub asked to wait: the next cycle goes on)');
  });

  it('times each state from its entry, top level and per Map iteration', () => {
    // Prepare
    const trace = new TraceFormatter();
    const map = { name: 'CollectQueuedJobs', type: 'Map' };
    const task = { name: 'CollectRepositoryJobs', type: 'Task' };
    // Act
    const lines = [
      trace.format({ type: 'StateEntered', timestamp: 1000, state: map }),
      trace.format({ type: 'StateEntered', timestamp: 1010, state: task, index: 1 }),
      trace.format({ type: 'StateFailed', timestamp: 1020, state: task, index: 1, error: 'GitHubAuthError' }),
      trace.format({
        type: 'StateCaught',
        timestamp: 1020,
        state: task,
        index: 1,
        next: 'RecordBatchFailure',
      }),
      trace.format({ type: 'StateExited', timestamp: 1030, state: task, index: 1, output: {} }),
      trace.format({
        type: 'StateExited',
        timestamp: 1100,
        state: map,
        output: { repositories: { batches: [1, 2] } },
      }),
    ];
    // Assess
    expect(lines).toEqual([
      '  ▶ CollectQueuedJobs (Map)',
      undefined,
      '      ✗ CollectRepositoryJobs [1] failed: GitHubAuthError',
      '      ⚠ CollectRepositoryJobs [1] error caught → RecordBatchFailure',
      '      ↳ [1] CollectRepositoryJobs 20 ms',
      '  ✓ CollectQueuedJobs 100 ms  2 iterations',
    ]);
  });
});
