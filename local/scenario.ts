/**
 * A local scenario: the organization's repositories, stepscale's pools, how long instances take to boot,
 * when cycles run, and what happens on GitHub over time (runs arriving, runs being cancelled).
 */
import { readFile } from 'node:fs/promises';
import * as z from 'zod';

const jobSpec = z.strictObject({
  labels: z.array(z.string()).min(1),
  /** How many identical jobs (a matrix). */
  count: z.int().min(1).default(1),
  status: z.enum(['queued', 'in_progress', 'waiting']).default('queued'),
  durationSeconds: z.int().min(1).default(120),
});

const eventSpec = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('run'),
    at: z.number().min(0),
    /** Name other events use to refer to this run. */
    key: z.string().optional(),
    repo: z.string(),
    jobs: z.array(jobSpec).min(1),
  }),
  z.strictObject({ type: z.literal('cancel'), at: z.number().min(0), run: z.string() }),
]);

export const scenarioSchema = z.strictObject({
  description: z.string(),
  org: z.string(),
  start: z.iso.datetime(),
  repositories: z.array(z.string()).min(1),
  /** Seconds from launch until an instance's runner is online, per pool. */
  bootSeconds: z.record(z.string(), z.number().min(0)),
  /** GitHub-hosted jobs (no `self-hosted` label) start this long after being queued. */
  hostedPickupSeconds: z.number().min(0).default(15),
  /** Seconds since start at which a scaling cycle runs. */
  cycles: z.array(z.number().min(0)).min(1),
  /** stepscale config without `github` (the stand-in provides it). */
  config: z.record(z.string(), z.unknown()),
  events: z.array(eventSpec),
});

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioEvent = Scenario['events'][number];

export async function loadScenario(path: string): Promise<Scenario> {
  return scenarioSchema.parse(JSON.parse(await readFile(path, 'utf8')));
}
