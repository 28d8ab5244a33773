/**
 * The execution log model (bench/sim/execution-log.ts): the records AWS writes for each kind of state, and
 * what execution data adds, checked on a real cycle's events from the embedded executor.
 */
import { describe, expect, it } from 'vitest';
import { ExecutionLogMeter, recordOverheadBytes } from '../bench/sim/execution-log.ts';
import { runCycle } from '../functions/executor/cycle-runner.ts';
import { FakeGitHub, queuedJobs, testDeps } from './support/fakes.ts';

const escaped = (value: unknown) => JSON.stringify(JSON.stringify(value)).length;

describe('ExecutionLogMeter', () => {
  it('writes five records per Lambda Task (entered, scheduled, started, succeeded, exited), each payload once', () => {
    const meter = new ExecutionLogMeter();
    const input = { cycle: { id: 'c' } };
    const output = { launched: 2 };
    meter.event({ type: 'StateEntered', timestamp: 0, state: { name: 'ScaleUp', type: 'Task', input } });
    meter.invocation('ScaleUp', input, output);
    meter.event({
      type: 'StateExited',
      timestamp: 1,
      state: { name: 'ScaleUp', type: 'Task', input, output: { ...input, scaleUp: output } },
    });
    const bytes = meter.bytes();
    expect(bytes.allWithoutData).toBe(5 * recordOverheadBytes);
    expect(bytes.allWithData - bytes.allWithoutData).toBe(
      escaped(input) * 2 + escaped(output) + escaped({ ...input, scaleUp: output }),
    );
    expect(bytes.errorOnly).toBe(0);
  });

  it('writes two records per Choice or Pass, and only index and name per Map iteration', () => {
    const meter = new ExecutionLogMeter();
    const state = { big: 'x'.repeat(1000) };
    meter.event({
      type: 'StateEntered',
      timestamp: 0,
      state: { name: 'HasRegistrations', type: 'Choice', input: state },
    });
    meter.event({
      type: 'StateExited',
      timestamp: 0,
      state: { name: 'HasRegistrations', type: 'Choice', input: state, output: state },
    });
    meter.event({
      type: 'MapIterationStarted',
      timestamp: 0,
      index: 0,
      input: state,
      parentState: { name: 'CollectQueuedJobs', type: 'Map', input: state },
    } as never);
    expect(meter.bytes().allWithoutData).toBe(3 * recordOverheadBytes);
    expect(meter.bytes().allWithData).toBe(3 * recordOverheadBytes + 2 * escaped(state));
  });

  it('counts a whole cycle from its events: every transition logged, failures only at level ERROR', async () => {
    const github = new FakeGitHub();
    github.jobsByRepo.set('api', queuedJobs(2));
    const { deps } = testDeps({ github });
    const meter = new ExecutionLogMeter();
    let invocations = 0;
    let transitions = 0;
    await runCycle({
      deps,
      cycleId: 'c',
      wrapTask: (task, handler) => async (input) => {
        const output = await handler(input);
        invocations += 1;
        meter.invocation(task, input, output);
        return output;
      },
      onEvent: (event) => {
        if (event.type === 'StateEntered') transitions += 1;
        meter.event(event);
      },
    });
    const { allWithoutData, errorOnly, byState } = meter.bytes();
    // Entered and exited per state, two more per Task invocation and one (started) per Task state, the Map's
    // started/succeeded and its iterations' two, the execution's two.
    expect(allWithoutData / recordOverheadBytes).toBeGreaterThanOrEqual(
      2 * transitions + 3 * invocations + 2,
    );
    expect(errorOnly).toBe(0);
    expect(Object.keys(byState)).toContain('Decide');
  });
});
