import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig, scalingPolicyOf } from '../functions/config/config.ts';
import {
  localTime,
  type WarmSchedule,
  type WarmWindow,
  warmTarget,
  weekdays,
  windowHolds,
} from '../functions/core/warm-target.ts';
import { problemsOf } from './support/config-problems.ts';

const pool = {
  name: 'linux-x64',
  labels: ['self-hosted', 'linux', 'x64'],
  maxRunners: 20,
  minIdle: 2,
  instanceTypes: ['m7i.large'],
  launchTemplate: 'lt-0123',
  subnets: ['subnet-0a'],
};

function raw(warm: unknown, overrides: Record<string, unknown> = {}) {
  return {
    github: { url: 'https://github.com', org: 'acme' },
    pools: [{ ...pool, ...overrides, warm }],
  };
}

const berlinOffice: WarmWindow = {
  days: ['mon', 'tue', 'wed', 'thu', 'fri'],
  from: '08:00',
  to: '18:00',
  timeZone: 'Europe/Berlin',
  stopped: 10,
};

describe('Config: pools[].warm', () => {
  it('fills in the defaults of a warm pool and hands it to the policy', () => {
    // Act
    const config = parseConfig(raw({ stopped: 5 }));

    // Assess
    const warm = {
      stopped: 5,
      windows: [],
      maxAgeSeconds: 86_400,
      prepareTimeoutSeconds: 900,
      replaceAheadSeconds: 120,
    };
    expect(config.pools[0]?.warm).toEqual(warm);
    expect(scalingPolicyOf(config).pools[0]?.warm).toEqual(warm);
  });

  it('keeps a pool without warm without one in its policy', () => {
    const config = parseConfig(raw(undefined));
    expect(config.pools[0]?.warm).toBeUndefined();
    expect(scalingPolicyOf(config).pools[0]).not.toHaveProperty('warm');
  });

  it('keeps time windows with their days, times and zone; every day in UTC by default', () => {
    // Act
    const config = parseConfig(
      raw({ stopped: 1, windows: [berlinOffice, { from: '00:00', to: '24:00', stopped: 3 }] }),
    );

    // Assess
    expect(config.pools[0]?.warm?.windows).toEqual([
      berlinOffice,
      { days: [...weekdays], from: '00:00', to: '24:00', timeZone: 'UTC', stopped: 3 },
    ]);
  });

  it('reports every problem of a warm pool at once', () => {
    // Act
    const problems = problemsOf(() =>
      parseConfig(
        raw({
          stopped: -1,
          windows: [
            { days: ['mon', 'mon'], from: '18:00', to: '08:00', timeZone: 'Europe/Atlantis', stopped: 2 },
            { days: ['monday'], from: '8:00', to: '25:00', stopped: 1 },
          ],
          maxAgeSeconds: 60,
          prepareTimeoutSeconds: 10,
          unknown: true,
        }),
      ),
    );

    // Assess
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^pools\[0\]\.warm\.stopped: /),
        'pools[0].warm.windows[0].days: lists a day twice',
        'pools[0].warm.windows[0].timeZone: must be an IANA time zone such as "Europe/Berlin"',
        expect.stringMatching(/^pools\[0\]\.warm\.windows\[0\]\.to: to must be later than from/),
        expect.stringMatching(/^pools\[0\]\.warm\.windows\[1\]\.days\[0\]: /),
        'pools[0].warm.windows[1].from: must be a local time "HH:MM" from 00:00 to 24:00',
        'pools[0].warm.windows[1].to: must be a local time "HH:MM" from 00:00 to 24:00',
        expect.stringMatching(/^pools\[0\]\.warm\.maxAgeSeconds: /),
        expect.stringMatching(/^pools\[0\]\.warm\.prepareTimeoutSeconds: /),
        expect.stringMatching(/^pools\[0\]\.warm: .*unknown/i),
      ]),
    );
  });

  it.each([
    ['the default count', { stopped: 19 }],
    ['a window', { stopped: 1, windows: [{ ...berlinOffice, stopped: 19 }] }],
  ])('refuses more stopped instances plus minIdle than maxRunners in %s', (_, warm) => {
    // Act
    const problems = problemsOf(() => parseConfig(raw(warm)));

    // Assess
    expect(problems).toEqual([
      'pools[0].warm: warm.stopped (in every window too) plus minIdle cannot exceed maxRunners: stopped instances count toward it',
    ]);
  });

  it('accepts stopped plus minIdle equal to maxRunners', () => {
    expect(() =>
      parseConfig(raw({ stopped: 18, windows: [{ ...berlinOffice, stopped: 18 }] })),
    ).not.toThrow();
  });
});

describe('warmTarget', () => {
  const schedule: WarmSchedule = { stopped: 2, windows: [berlinOffice] };

  it.each([
    // Winter (CET, UTC+1)
    ['2026-01-05T06:59:00Z', 2, 'Monday 07:59 in Berlin'],
    ['2026-01-05T07:00:00Z', 10, 'Monday 08:00 in Berlin: from is inclusive'],
    ['2026-01-05T16:59:59Z', 10, 'Monday 17:59:59 in Berlin'],
    ['2026-01-05T17:00:00Z', 2, 'Monday 18:00 in Berlin: to is exclusive'],
    ['2026-01-10T10:00:00Z', 2, 'Saturday'],
    // Summer (CEST, UTC+2): the window follows the wall clock, not UTC
    ['2026-07-06T06:00:00Z', 10, 'Monday 08:00 CEST'],
    ['2026-07-06T16:30:00Z', 2, 'Monday 18:30 CEST'],
    // Sunday 23:30 UTC is already Monday 00:30 in Berlin, outside 08:00–18:00
    ['2026-01-04T23:30:00Z', 2, 'Monday 00:30 in Berlin'],
  ])('at %s asks for %i (%s)', (at, expected) => {
    expect(warmTarget(schedule, new Date(at))).toBe(expected);
  });

  it('takes the first window that holds', () => {
    const overlapping: WarmSchedule = {
      stopped: 0,
      windows: [
        { ...berlinOffice, stopped: 4 },
        { days: [...weekdays], from: '00:00', to: '24:00', timeZone: 'UTC', stopped: 1 },
      ],
    };
    expect(warmTarget(overlapping, new Date('2026-01-05T09:00:00Z'))).toBe(4);
    expect(warmTarget(overlapping, new Date('2026-01-05T20:00:00Z'))).toBe(1);
  });

  it('keeps to the local day across the spring-forward gap', () => {
    // 2026-03-29 02:00 CET jumps to 03:00 CEST in Berlin.
    expect(localTime(new Date('2026-03-29T00:59:00Z'), 'Europe/Berlin')).toEqual({
      day: 'sun',
      minutes: 119,
    });
    expect(localTime(new Date('2026-03-29T01:00:00Z'), 'Europe/Berlin')).toEqual({
      day: 'sun',
      minutes: 180,
    });
  });

  it('asks, at any time, for the default or a count some window holds with (property)', () => {
    const windowArb = fc.record({
      days: fc.subarray([...weekdays], { minLength: 1 }),
      fromMinutes: fc.integer({ min: 0, max: 1439 }),
      length: fc.integer({ min: 1, max: 1440 }),
      timeZone: fc.constantFrom(
        'UTC',
        'Europe/Berlin',
        'America/New_York',
        'Asia/Kolkata',
        'Pacific/Auckland',
      ),
      stopped: fc.integer({ min: 0, max: 50 }),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50 }),
        fc.array(windowArb, { maxLength: 4 }),
        fc.date({
          min: new Date('2026-01-01T00:00:00Z'),
          max: new Date('2027-12-31T00:00:00Z'),
          noInvalidDate: true,
        }),
        (stopped, specs, now) => {
          const windows: WarmWindow[] = specs.map((spec) => ({
            days: spec.days,
            from: hhmm(spec.fromMinutes),
            to: hhmm(Math.min(1440, spec.fromMinutes + spec.length)),
            timeZone: spec.timeZone,
            stopped: spec.stopped,
          }));
          const target = warmTarget({ stopped, windows }, now);
          const holding = windows.filter((window) => windowHolds(window, now));
          // The first window that holds decides; with none, the default.
          expect(target).toBe(holding[0]?.stopped ?? stopped);
          // A window holds exactly when the local wall clock is inside it.
          for (const window of windows) {
            const { day, minutes } = localTime(now, window.timeZone);
            const inside =
              window.days.includes(day) &&
              minutes >= minutesOfText(window.from) &&
              minutes < minutesOfText(window.to);
            expect(windowHolds(window, now)).toBe(inside);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

function hhmm(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

function minutesOfText(text: string): number {
  const [h, m] = text.split(':');
  return Number(h) * 60 + Number(m);
}
