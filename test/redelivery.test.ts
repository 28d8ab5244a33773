/**
 * Which failed webhook deliveries are asked for again (core/redelivery.ts): table-driven cases, and a property
 * over many runs against a GitHub that fails redeliveries at random — every event is asked for at most
 * `maxAttempts` times, never again after a redelivery succeeded, and never outside its window.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  defaultRedeliverySettings,
  type FailedDelivery,
  planRedeliveries,
  type RedeliveryProgress,
} from '../functions/core/redelivery.ts';

const t0 = Date.parse('2026-03-01T12:00:00Z');
const at = (seconds: number) => new Date(t0 + seconds * 1000);
const failure = (
  id: number,
  guid: string,
  seconds: number,
  action = 'queued',
  event = 'workflow_job',
): FailedDelivery => ({
  id,
  guid,
  deliveredAt: at(seconds).toISOString(),
  event,
  action,
});

describe('planRedeliveries', () => {
  it.each([
    { case: 'a new failure', failed: [failure(10, 'a', 0)], progress: undefined, now: 30, redeliver: [10] },
    {
      case: 'the event retried and failed again, a minute later',
      failed: [failure(10, 'a', 0), failure(12, 'a', 35)],
      progress: { attempts: 1, answeredId: 10, lastAt: at(30).toISOString() },
      now: 95,
      redeliver: [12],
    },
    {
      case: 'the event retried and failed again, too soon to ask again',
      failed: [failure(10, 'a', 0), failure(12, 'a', 35)],
      progress: { attempts: 1, answeredId: 10, lastAt: at(30).toISOString() },
      now: 60,
      redeliver: [],
    },
    {
      case: 'the event retried, no newer failure (it succeeded)',
      failed: [failure(10, 'a', 0)],
      progress: { attempts: 1, answeredId: 10, lastAt: at(30).toISOString() },
      now: 300,
      redeliver: [],
    },
    {
      case: 'asked for three times already',
      failed: [failure(10, 'a', 0), failure(14, 'a', 400)],
      progress: { attempts: 3, answeredId: 13, lastAt: at(390).toISOString() },
      now: 900,
      redeliver: [],
    },
    {
      case: 'first failure outside the window',
      failed: [failure(10, 'a', 0)],
      progress: undefined,
      now: 3601,
      redeliver: [],
    },
    {
      case: 'an action the receiver ignores',
      failed: [failure(10, 'a', 0, 'completed')],
      progress: undefined,
      now: 30,
      redeliver: [],
    },
    {
      case: 'another event',
      failed: [failure(10, 'a', 0, 'opened', 'issues')],
      progress: undefined,
      now: 30,
      redeliver: [],
    },
  ])('$case → $redeliver', ({ failed, progress, now, redeliver }) => {
    const remembered = new Map<string, RedeliveryProgress>(progress ? [['a', progress]] : []);
    const plan = planRedeliveries(failed, remembered, at(now));
    expect(plan.redeliver.map((request) => request.id)).toEqual(redeliver);
    for (const entry of plan.progress) {
      expect(entry.value).toEqual({
        attempts: (progress?.attempts ?? 0) + 1,
        answeredId: Math.max(...failed.map((delivery) => delivery.id)),
        lastAt: at(now).toISOString(),
      });
    }
  });

  it('asks for the oldest events first, at most maxPerRun a run, and counts the rest as deferred', () => {
    const failed = Array.from({ length: 60 }, (_, i) => failure(1000 - i, `g-${i}`, 100 - i));
    const plan = planRedeliveries(failed, new Map(), at(200));
    expect(plan.redeliver).toHaveLength(50);
    expect(plan.redeliver[0]).toEqual({ id: 941, guid: 'g-59' });
    expect(plan.counts).toMatchObject({ failedEvents: 60, deferred: 10 });
  });
});

describe('planRedeliveries over many runs', () => {
  it('asks for every event, each at most maxAttempts times, and never again once a redelivery succeeded', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ failAt: fc.integer({ min: 0, max: 3000 }) }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
        (events, outcomes) => {
          // GitHub's side: attempts per event; a redelivery fails when the next outcome says so.
          let nextId = 1;
          const attempts: FailedDelivery[] = events.map((event, index) =>
            failure(nextId++, `g-${index}`, event.failAt),
          );
          const remembered = new Map<string, RedeliveryProgress>();
          const asked = new Map<string, number>();
          const succeeded = new Set<string>();
          let outcome = 0;
          for (let run = 0; run < 80; run += 1) {
            const now = at(run * 60);
            const visible = attempts.filter((attempt) => Date.parse(attempt.deliveredAt) <= now.getTime());
            const plan = planRedeliveries(visible, remembered, now);
            for (const { guid } of plan.redeliver) {
              expect(succeeded.has(guid)).toBe(false);
              const first = attempts.find((attempt) => attempt.guid === guid);
              expect(now.getTime() - Date.parse(first?.deliveredAt ?? '')).toBeLessThanOrEqual(
                defaultRedeliverySettings.windowSeconds * 1000,
              );
              asked.set(guid, (asked.get(guid) ?? 0) + 1);
              const fails = outcomes[outcome++ % outcomes.length];
              if (fails) attempts.push(failure(nextId++, guid, run * 60 + 1));
              else succeeded.add(guid);
            }
            for (const { guid, value } of plan.progress) remembered.set(guid, value);
          }
          for (const count of asked.values())
            expect(count).toBeLessThanOrEqual(defaultRedeliverySettings.maxAttempts);
        },
      ),
    );
  });
});
