/** The readable trace says what a cycle's budgets held back (local/trace.ts). */
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../local/cycle-runner.ts';
import { TraceFormatter } from '../local/trace.ts';

type Event = NonNullable<TraceEvent>;

function exited(name: string, output: unknown): Event {
  return {
    type: 'StateExited',
    timestamp: 0,
    state: { name, type: 'Task', input: {}, output },
  } as unknown as Event;
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
});
