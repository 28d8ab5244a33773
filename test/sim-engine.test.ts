import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { percentile } from '../bench/sim/metrics.ts';
import { parseWorkload, planArrivals } from '../bench/sim/workload.ts';
import { Agenda, EventQueue } from '../local/world/agenda.ts';
import { Rng } from '../local/world/rng.ts';

describe('Class: EventQueue', () => {
  it('pops events by time, and same-time events in the order they were scheduled', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (times) => {
        // Prepare
        const queue = new EventQueue();
        times.forEach((at, index) => {
          queue.push(at, () => index);
        });
        // Act
        const popped: { at: number; seq: number }[] = [];
        for (let event = queue.pop(); event; event = queue.pop()) popped.push(event);
        // Assess
        const expected = times.map((at, seq) => ({ at, seq })).sort((a, b) => a.at - b.at || a.seq - b.seq);
        expect(popped.map(({ at, seq }) => ({ at, seq }))).toEqual(expected);
      }),
    );
  });
});

describe('Class: Agenda', () => {
  it('runs due events in order, lets events schedule more, and never goes back in time', () => {
    // Prepare
    const clock = new Agenda(Date.parse('2026-01-05T08:00:00Z'));
    const log: string[] = [];
    clock.schedule(5000, () => {
      log.push(`a@${clock.elapsedMs}`);
      clock.after(1000, () => log.push(`c@${clock.elapsedMs}`));
    });
    clock.schedule(5000, () => log.push(`b@${clock.elapsedMs}`));
    clock.schedule(9000, () => log.push(`d@${clock.elapsedMs}`));
    // Act
    clock.advanceTo(8000);
    // Assess
    expect(log).toEqual(['a@5000', 'b@5000', 'c@6000']);
    expect(clock.elapsedMs).toBe(8000);
    expect(clock.now().toISOString()).toBe('2026-01-05T08:00:08.000Z');
    clock.schedule(1000, () => log.push(`late@${clock.elapsedMs}`)); // in the past: runs now, not before
    clock.advanceTo(9000);
    expect(log.slice(3)).toEqual(['late@8000', 'd@9000']);
  });
});

describe('Class: Rng', () => {
  it('repeats itself for a seed and differs between seeds and forks', () => {
    const draw = (rng: Rng) => Array.from({ length: 5 }, () => rng.next());
    expect(draw(new Rng(42))).toEqual(draw(new Rng(42)));
    expect(draw(new Rng(42))).not.toEqual(draw(new Rng(43)));
    expect(draw(new Rng(42).fork('a'))).not.toEqual(draw(new Rng(42).fork('b')));
    for (const value of draw(new Rng(7))) expect(value).toBeGreaterThanOrEqual(0);
  });
});

describe('Function: planArrivals', () => {
  const workload = parseWorkload({
    name: 'w',
    durationSeconds: 3600,
    repositories: 10,
    pools: [{ name: 'p', labels: ['self-hosted'], maxRunners: 5 }],
    arrivals: [
      { type: 'poisson', ratePerMinute: 2, labels: ['self-hosted'], durationSeconds: { mean: 60 } },
      { type: 'burst', at: [100, 5000], jobs: 50, labels: ['self-hosted'], durationSeconds: { mean: 60 } },
    ],
  });

  it('is the same list of runs for a seed, bursts included, nothing after the end', () => {
    const a = planArrivals(workload, new Rng(1), 3_600_000);
    const b = planArrivals(workload, new Rng(1), 3_600_000);
    expect(a).toEqual(b);
    expect(a.filter((run) => run.jobs.length === 50).map((run) => run.atMs)).toEqual([100_000]);
    expect(a.every((run) => run.atMs < 3_600_000)).toBe(true);
    // A Poisson rate of 2 a minute gives about 120 runs an hour.
    expect(a.length - 1).toBeGreaterThan(80);
    expect(a.length - 1).toBeLessThan(160);
  });

  it('reports every problem of a workload file together', () => {
    expect(() =>
      parseWorkload({ name: 'x', durationSeconds: 10, repositories: 0, pools: [], arrivals: [] }),
    ).toThrow(/durationSeconds[\s\S]*repositories[\s\S]*pools[\s\S]*arrivals/);
  });
});

describe('Function: percentile', () => {
  it('uses the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 95)).toBe(95);
    expect(percentile([], 95)).toBe(0);
  });
});
