import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ActivityMemory,
  type GovernorSettings,
  planScan,
  type RotationMemory,
  type ScanPlanInput,
  worstCostPerScan,
} from '../functions/core/governor.ts';

const now = new Date('2026-01-05T09:00:00Z');
const nowMs = now.getTime();

const nameList = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/), {
  minLength: 1,
  maxLength: 200,
});
const settingsArb: fc.Arbitrary<GovernorSettings> = fc.record({
  reserveRequests: fc.integer({ min: 0, max: 500 }),
  cycleIntervalSeconds: fc.constantFrom(30, 60, 120, 300),
  // Small caps, so that most runs have to skip.
  endpointPointsPerMinute: fc.integer({ min: 2, max: 400 }),
  hotForSeconds: fc.integer({ min: 0, max: 1800 }),
  rotationShare: fc.constantFrom(0, 0.1, 0.25),
  targetedShare: fc.constantFrom(0, 0.1, 0.5),
});
const rateLimitArb = fc.option(
  fc.record({
    limit: fc.constant(5000),
    remaining: fc.integer({ min: 0, max: 5000 }),
    resetAt: fc.integer({ min: 0, max: 7200 }).map((s) => new Date(nowMs + s * 1000).toISOString()),
  }),
  { nil: undefined },
);

function inputArb(): fc.Arbitrary<ScanPlanInput> {
  return nameList.chain((repositories) =>
    fc.record({
      repositories: fc.constant(repositories),
      rateLimit: rateLimitArb,
      now: fc.constant(now),
      settings: settingsArb,
      targeted: fc.boolean(),
      rotation: fc.option(
        fc.record({
          cursor: fc.option(fc.oneof(fc.constantFrom(...repositories), fc.string({ maxLength: 8 })), {
            nil: undefined,
          }),
          costPerScan: fc.option(fc.double({ min: 0.2, max: 20, noNaN: true }), { nil: undefined }),
        }),
        { nil: undefined },
      ),
      activity: fc.option(
        fc
          .dictionary(
            fc.oneof(fc.constantFrom(...repositories), fc.string({ maxLength: 6 })),
            fc.integer({ min: nowMs - 3_600_000, max: nowMs }),
          )
          .map((lastActive) => ({ lastActive })),
        { nil: undefined },
      ),
    }),
  );
}

/** `size` repository names, r000 onwards. */
const repositoryNames = (size: number) =>
  Array.from({ length: size }, (_, i) => `r${String(i).padStart(3, '0')}`);

/** All the endpoint's `points` for scheduled cycles a minute apart, a tenth of the slots for the rotation. */
const rotationSettings = (points: number, hotForSeconds: number): GovernorSettings => ({
  reserveRequests: 0,
  cycleIntervalSeconds: 60,
  endpointPointsPerMinute: points,
  hotForSeconds,
  rotationShare: 0.1,
  targetedShare: 0,
});

/**
 * planScan cycle after cycle, a minute apart and carrying its rotation over, with no rate limit known; remembers
 * the cycle each repository was last scanned in.
 */
function minuteByMinute(repositories: readonly string[], settings: GovernorSettings) {
  let rotation: RotationMemory | undefined;
  const lastScanned = new Map<string, number>();
  return {
    /** Cycle number `cycle`, with `hot` active as it starts. */
    scan(cycle: number, hot: readonly string[]) {
      const at = nowMs + cycle * 60_000;
      const activity: ActivityMemory = { lastActive: Object.fromEntries(hot.map((name) => [name, at])) };
      const plan = planScan({
        repositories,
        rateLimit: undefined,
        now: new Date(at),
        settings,
        rotation,
        activity,
      });
      rotation = plan.rotation;
      for (const name of plan.scan) lastScanned.set(name, cycle);
      return plan;
    },
    /** The repositories that at `cycle` have gone unscanned for more than `bound` cycles. */
    starved(cycle: number, bound: number) {
      return repositories.filter((name) => cycle - (lastScanned.get(name) ?? -1) > bound);
    },
  };
}

const rotationMinimum = (slots: number, hardSlots: number, share: number) =>
  Math.min(hardSlots, Math.max(1, Math.ceil(slots * share)));

describe('Property: the governor', () => {
  it('never exceeds the secondary cap nor touches the reserve; beyond its share only for hot repositories', () => {
    fc.assert(
      fc.property(inputArb(), (input) => {
        const plan = planScan(input);
        const { counts, scan } = plan;
        const total = new Set(input.repositories).size;
        // Well-formed: sorted unique names of the organization; complete exactly when nothing is skipped.
        expect(scan).toEqual([...new Set(scan)].sort());
        expect(scan.every((name) => input.repositories.includes(name))).toBe(true);
        expect(plan.complete).toBe(scan.length === total);
        expect(counts.scanned + counts.skipped).toBe(total);

        const { settings } = input;
        // A scheduled cycle leaves the targeted share of the endpoint's minute; a targeted one takes only it.
        const share = input.targeted ? settings.targetedShare : 1 - settings.targetedShare;
        const secondaryCap = Math.floor(
          (settings.endpointPointsPerMinute * share * Math.max(1, settings.cycleIntervalSeconds / 60)) / 2,
        );
        expect(scan.length).toBeLessThanOrEqual(secondaryCap);
        if (input.rateLimit) {
          const spendable = Math.max(0, input.rateLimit.remaining - settings.reserveRequests);
          // Scanning everything is allowed only when it fits the cycle's share; otherwise the reserve holds
          // even if every scanned repository turned out busy.
          if (!plan.complete || scan.length > counts.slots)
            expect(scan.length * Math.max(worstCostPerScan, counts.costPerScan)).toBeLessThanOrEqual(
              spendable,
            );
        }
        // Beyond the cycle's share only because of hot repositories (plus the rotation's minimum).
        const minimum = rotationMinimum(counts.slots, counts.hardSlots, settings.rotationShare);
        expect(scan.length).toBeLessThanOrEqual(Math.max(counts.slots, counts.hotScanned + minimum));
        if (counts.hot + minimum <= counts.slots) expect(scan.length).toBeLessThanOrEqual(counts.slots);
      }),
      { numRuns: 500 },
    );
  });

  it('is deterministic and independent of the order repositories are listed in', () => {
    fc.assert(
      fc.property(inputArb(), fc.integer(), (input, seed) => {
        const shuffled = [...input.repositories].sort(
          (a, b) => (hash(a, seed) - hash(b, seed)) | (a < b ? -1 : 1),
        );
        expect(planScan({ ...input, repositories: shuffled })).toEqual(planScan(input));
        expect(planScan(input)).toEqual(planScan(structuredClone(input)));
      }),
      { numRuns: 300 },
    );
  });

  it('starves no repository: each is scanned at least once every ceil(N / rotation slots) cycles', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 150 }),
        fc.integer({ min: 2, max: 60 }),
        fc.array(fc.array(fc.nat(149), { maxLength: 40 }), { minLength: 1, maxLength: 30 }),
        (size, points, hotPerCycle) => {
          const repositories = repositoryNames(size);
          // Activity lasts one cycle: the hot set changes every cycle.
          const scanner = minuteByMinute(repositories, rotationSettings(points, 30));
          const slots = Math.floor(points / 2);
          const bound =
            slots === 0 ? Number.POSITIVE_INFINITY : Math.ceil(size / Math.max(1, Math.ceil(slots * 0.1)));
          const cycles = Math.max(hotPerCycle.length, Number.isFinite(bound) ? 2 * bound : 0);
          for (let cycle = 0; cycle < cycles; cycle += 1) {
            const hot = (hotPerCycle[cycle % hotPerCycle.length] ?? []).map(
              (i) => repositories[i % size] as string,
            );
            scanner.scan(cycle, hot);
            // After `bound` cycles, nobody has gone unscanned for `bound` cycles.
            if (cycle + 1 >= bound) expect(scanner.starved(cycle, bound)).toEqual([]);
          }
        },
      ),
      { numRuns: 100 },
    );
  }, 60_000);

  it('with a steady hot set, scans every cold repository at least once every ceil(cold / cold slots) cycles', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 150 }),
        fc.integer({ min: 2, max: 80 }),
        fc.uniqueArray(fc.nat(149), { maxLength: 20 }),
        (size, points, hotIndexes) => {
          const repositories = repositoryNames(size);
          const hot = [...new Set(hotIndexes.map((i) => repositories[i % size] as string))];
          const scanner = minuteByMinute(repositories, rotationSettings(points, 3600));
          let bound = Number.POSITIVE_INFINITY;
          for (let cycle = 0; cycle < 3 * Math.min(size, 50); cycle += 1) {
            const plan = scanner.scan(cycle, hot);
            if (plan.complete) return; // everything fits: nothing to starve
            const cold = size - plan.counts.hotScanned;
            bound = Math.ceil(cold / Math.max(1, plan.counts.rotated));
            expect(hot.filter((name) => plan.scan.includes(name)).length).toBeGreaterThanOrEqual(
              plan.counts.hotScanned,
            );
            if (cycle + 1 >= bound) expect(scanner.starved(cycle, bound)).toEqual([]);
          }
        },
      ),
      { numRuns: 100 },
    );
  }, 60_000);
});

function hash(text: string, seed: number): number {
  let h = seed | 0;
  for (let i = 0; i < text.length; i += 1) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h;
}
