/**
 * `npx tsx scripts/record-executions.ts`: records the fixtures the CLI's tests read (test/fixtures/executions/)
 * from a real run of the ASL with the real handlers on the embedded executor — `npm start`'s demo scenario, its
 * second cycle under failures (ListRepositories retried twice, one repository batch failing and caught inside
 * the Map, ScaleUp throttled through all its retries and caught, so the cycle ends in ScalingActionsFailed) —
 * written as AWS records them (test/support/aws-history.ts): each execution's GetExecutionHistory events
 * (STANDARD) and its CloudWatch Logs records (EXPRESS).
 */
import '../functions/executor/polyfills.ts';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { cycleSubstitutions } from '../functions/executor/cycle-runner.ts';
import { loadDefinition } from '../functions/statemachine-definition.ts';
import { runLocal } from '../local/local-run.ts';
import { ExecutionRecorder } from '../test/support/aws-history.ts';

const demo = fileURLToPath(new URL('../local/scenarios/demo.json', import.meta.url));
const out = fileURLToPath(new URL('../test/fixtures/executions/', import.meta.url));

export const fixtureAccount = {
  stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:ScalingCycleStateMachine-kQ3x9Lm2Vb7N',
  logGroup: '/aws/vendedlogs/states/stepscale-scaling-cycle',
};
const functionSuffix: Record<string, string> = {
  ListRepositories: 'Vd3pQ8sLk2Xa',
  CollectRepositoryJobs: 'Hn7cR1tWm5Ze',
  AggregateDemand: 'Bq4yT6uJx9Lo',
  Decide: 'Ws2kF8nPc3Rv',
  ScaleUp: 'Mz5hD1gYb7Qe',
  ScaleDown: 'Ja9vN4rXt2Ku',
  RegisterRunners: 'Ec6mL3wSp8Hy',
};
const functionArn = (task: string) =>
  `arn:aws:lambda:us-east-1:123456789012:function:stepscale-${task}Function-${functionSuffix[task] ?? 'x'}`;

/** Execution names as Step Functions gives the Scheduler's starts (it names none), and Express ids. */
const names = [
  ['0b6f4f0e-55d2-4c77-9a43-2f1f1e2d9c41', '5d8a0e2c-7a8e-4f6b-8b0e-0f3c6a1d2b77'],
  ['8e1c2d3b-4a5f-4e6d-9c7b-1a2b3c4d5e6f', 'a4c1e9b2-0d3f-4a5b-8c6d-7e8f9a0b1c2d'],
  ['c3d9f0a1-2b4e-4d6f-8a1c-3e5b7d9f1a3c', 'f0e1d2c3-b4a5-4968-8776-655443322110'],
  ['6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d', '1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9'],
] as const;

interface Recording {
  readonly file: string;
  readonly comment: string;
  readonly names: readonly [string, string];
  recorder?: ExecutionRecorder;
  status?: string;
}

const definition = await loadDefinition(cycleSubstitutions(functionArn));

const recordings: Recording[] = [
  {
    file: 'cycle-1.json',
    comment: "npm start's demo at +0 s: queued jobs in both pools, launches and paced registrations",
    names: names[0],
  },
  {
    file: 'cycle-2-failed.json',
    comment:
      "npm start's demo with a cycle added at +60 s, under failures: ListRepositories fails twice (GitHubUnavailableError, retried), one repository batch fails (GitHubAuthError, caught in the Map: scale-down held), ScaleUp is throttled on every attempt (FleetThrottledError, retried 4 times, caught); the execution fails with ScalingActionsFailed",
    names: names[1],
  },
  {
    file: 'cycle-3.json',
    comment: "npm start's demo at +120 s: busy runners counted, a burst clamped at a pool's maxRunners",
    names: names[2],
  },
  {
    file: 'cycle-4.json',
    comment:
      "npm start's demo at +480 s: idle runners of a cancelled run removed, a pool topped up to minIdle",
    names: names[3],
  },
];
/** The demo with one more cycle, a minute in: the one recorded under failures. */
const scenario = JSON.parse(await readFile(demo, 'utf8')) as { cycles: number[] };
const scenarioPath = `${tmpdir()}/stepscale-record-executions.json`;
await writeFile(scenarioPath, JSON.stringify({ ...scenario, cycles: [0, 60, 120, 480] }));

let listings = 0;
let batchFailed = false;
/** Cycle 2's failures, before the real handler runs. */
const failing =
  (task: string, handler: (input: unknown) => Promise<unknown>) =>
  async (input: unknown): Promise<unknown> => {
    if (task === 'ListRepositories' && listings++ < 2)
      throw named('GitHubUnavailableError', 'GitHub answered 502');
    if (task === 'CollectRepositoryJobs' && !batchFailed) {
      batchFailed = true;
      throw named('GitHubAuthError', 'GitHub refused the token (403 without rate-limit headers)');
    }
    if (task === 'ScaleUp') throw named('FleetThrottledError', 'CreateFleet: RequestLimitExceeded');
    return handler(input);
  };

const result = await runLocal({
  webhooks: false,
  scenarioPath,
  print: () => undefined,
  tap: ({ index, now }) => {
    const recording = recordings[index];
    if (!recording) return {};
    // The Scheduler starts an execution a little after the scheduled time.
    const recorder = new ExecutionRecorder({
      functionArn,
      definition,
      startAt: now().getTime() + 41,
      virtualNow: () => now().getTime(),
    });
    recording.recorder = recorder;
    return {
      wrapTask: (task, handler) =>
        recorder.wrapTask(
          task,
          index === 1 ? failing(task, handler as (input: unknown) => Promise<unknown>) : handler,
        ),
      onEvent: recorder.onEvent,
    };
  },
});
result.cycles.forEach((cycle, index) => {
  const recording = recordings[index];
  if (recording) recording.status = cycle.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED';
});

await mkdir(out, { recursive: true });
for (const recording of recordings) {
  const {
    recorder,
    names: [name, expressId],
  } = recording;
  if (!recorder) throw new Error(`${recording.file}: the cycle did not run`);
  const machine = fixtureAccount.stateMachineArn.split(':').at(-1);
  const standardArn = `arn:aws:states:us-east-1:123456789012:execution:${machine}:${name}`;
  const expressArn = `arn:aws:states:us-east-1:123456789012:express:${machine}:${name}:${expressId}`;
  const history = recorder.history();
  const fixture = {
    comment: `${recording.comment}. Recorded by scripts/record-executions.ts; do not edit.`,
    stateMachineArn: fixtureAccount.stateMachineArn,
    logGroup: fixtureAccount.logGroup,
    name,
    status: recording.status,
    standard: { executionArn: standardArn, events: history },
    express: { executionArn: expressArn, records: recorder.logRecords(expressArn) },
  };
  await writeFile(`${out}${recording.file}`, `${JSON.stringify(fixture, null, 1)}\n`);
  console.log(`${recording.file}: ${recording.status}, ${history.length} events`);
}

function named(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}
