import { readFile } from 'node:fs/promises';
import validator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import * as stepscaleErrors from '../functions/errors.ts';
import { StepscaleError } from '../functions/errors.ts';
import { taskHandlers } from '../functions/handlers/index.ts';
import { type PackedBatch, unpackBatch } from '../functions/handlers/repository-batches.ts';
import { definitionPath, placeholdersIn, substitute } from '../functions/statemachine-definition.ts';
import { runCycle } from '../local/cycle-runner.ts';
import { FakeGitHub, namedError, queuedJobs, testDeps } from './support/fakes.ts';

/** The cycle start a launch request carries (the `stepscale:created-at` tag). */
const launchCreatedAt = '2026-01-05T09:00:00.000Z';

type State = {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
  Retry?: unknown[];
  Catch?: unknown[];
  ItemProcessor?: { States: Record<string, State> };
};

async function definitionText(): Promise<string> {
  return readFile(definitionPath, 'utf8');
}

function flatten(states: Record<string, State>): [string, State][] {
  return Object.entries(states).flatMap(([name, state]) => [
    [name, state] as [string, State],
    ...(state.ItemProcessor ? flatten(state.ItemProcessor.States) : []),
  ]);
}

describe('statemachine/scaling-cycle.asl.json', () => {
  it('is valid ASL once substituted', async () => {
    // Prepare
    const text = await definitionText();
    const substitutions = Object.fromEntries(
      placeholdersIn(text).map((name) => [
        name,
        name.endsWith('Arn') ? `arn:aws:lambda:us-east-1:123456789012:function:${name}` : '5',
      ]),
    );
    // Act
    const { isValid, errors } = validator(JSON.parse(substitute(text, substitutions)), {
      checkPaths: true,
      checkArn: true,
    });
    // Assess
    expect(errors).toEqual([]);
    expect(isValid).toBe(true);
  });

  it('names one handler per Task state, and every Task has a timeout, retries and a catch', async () => {
    const definition = JSON.parse(await definitionText());
    const tasks = flatten(definition.States).filter(([, state]) => state.Type === 'Task');
    expect(tasks.map(([name]) => name).sort()).toEqual(Object.keys(taskHandlers).sort());
    for (const [name, state] of tasks) {
      expect(state.Resource, name).toBe(`\${${name}FunctionArn}`);
      expect(state.TimeoutSeconds, name).toBeGreaterThan(0);
      expect(state.Retry?.length, name).toBeGreaterThan(0);
      expect(state.Catch?.length, name).toBeGreaterThan(0);
    }
  });

  it('retries and catches only error names that Step Functions, Lambda or stepscale actually raise', async () => {
    // A misspelt or renamed error in ErrorEquals fails silently in AWS: the retry just never happens.
    const named = new Set(
      Object.values(stepscaleErrors)
        .filter((value) => typeof value === 'function' && value.prototype instanceof StepscaleError)
        .map((value) => (value as { name: string }).name),
    );
    const matched = new Set(
      flatten(JSON.parse(await definitionText()).States).flatMap(([, state]) =>
        [...(state.Retry ?? []), ...(state.Catch ?? [])].flatMap(
          (rule) => (rule as { ErrorEquals: string[] }).ErrorEquals,
        ),
      ),
    );
    const ours = [...matched].filter((name) => !/^(States|Lambda)\./.test(name));
    expect(ours.length).toBeGreaterThan(3);
    for (const name of ours) expect(named, `${name} in ErrorEquals`).toContain(name);
  });

  it('refuses to leave a placeholder unsubstituted', async () => {
    const text = await definitionText();
    expect(() => substitute(text, {})).toThrow(/No substitution for: .*MapConcurrency/);
  });
});

describe('the state machine on the embedded executor', () => {
  function setup() {
    const github = new FakeGitHub();
    github.jobsByRepo.set('api', queuedJobs(3));
    github.jobsByRepo.set('web', queuedJobs(2));
    github.jobsByRepo.set('docs', queuedJobs(1, ['ubuntu-latest']));
    return testDeps({ github });
  }

  it('retries a task that fails once and still counts demand exactly', async () => {
    // Prepare
    const { deps } = setup();
    let failures = 0;
    // Act
    const result = await runCycle({
      deps,
      cycleId: 'retry-once',
      wrapTask: (task, handler) => async (input) => {
        if (task === 'CollectRepositoryJobs' && failures === 0) {
          failures += 1;
          throw namedError('GitHubUnavailableError', '502 Bad Gateway');
        }
        return handler(input);
      },
    });
    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.events.filter((event) => event.type === 'StateRetried')).toHaveLength(1);
    expect(result.output.demand).toMatchObject({
      queuedByPool: { 'linux-x64': 5 },
      unmatched: 1,
      complete: true,
    });
    expect(result.output.scaleUp).toMatchObject({ launched: 5 });
  });

  it('never launches twice when ScaleUp is retried after its launch went through', async () => {
    // Prepare: the first attempt launches, then the invocation fails (as a Lambda timeout would).
    const { deps, fleet } = setup();
    let attempts = 0;
    // Act
    const result = await runCycle({
      deps,
      cycleId: 'retry-after-launch',
      wrapTask: (task, handler) => async (input) => {
        if (task !== 'ScaleUp') return handler(input);
        attempts += 1;
        const output = await handler(input);
        if (attempts === 1) throw namedError('Lambda.ServiceException');
        return output;
      },
    });
    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(attempts).toBe(2);
    expect(fleet.calls.filter((call) => call.method === 'launch')).toHaveLength(2);
    expect(fleet.live()).toHaveLength(5);
    expect(result.output.scaleUp).toMatchObject({ launched: 5 });
  });

  it('catches a ScaleUp that always fails, still runs ScaleDown, and ends failed for visibility', async () => {
    const { deps, fleet } = setup();
    const reached: string[] = [];
    const result = await runCycle({
      deps,
      cycleId: 'scale-up-down',
      wrapTask: (task, handler) => async (input) => {
        reached.push(task);
        if (task === 'ScaleUp') throw namedError('FleetThrottledError', 'RequestLimitExceeded');
        return handler(input);
      },
    });
    expect(result.status).toBe('FAILED');
    expect(result.error?.name).toBe('ScalingActionsFailed');
    expect(reached.filter((task) => task === 'ScaleUp')).toHaveLength(5); // 1 + MaxAttempts 4
    expect(reached).toContain('ScaleDown');
    expect(fleet.live()).toHaveLength(0);
  });

  it('catches a RegisterRunners that keeps failing, keeps what launched, and ends failed for visibility', async () => {
    const { deps, fleet } = setup();
    const reached: string[] = [];
    const result = await runCycle({
      deps,
      cycleId: 'registration-down',
      wrapTask: (task, handler) => async (input) => {
        reached.push(task);
        if (task === 'RegisterRunners') throw namedError('StateStoreUnavailableError', 'DynamoDB down');
        return handler(input);
      },
    });
    expect(result.status).toBe('FAILED');
    expect(result.error?.name).toBe('ScalingActionsFailed');
    expect(reached.filter((task) => task === 'RegisterRunners')).toHaveLength(3); // 1 + MaxAttempts 2
    // The instances stay: the next cycle finds them unregistered and registers them first.
    expect(fleet.live()).toHaveLength(5);
  });

  it('holds scale-down when a batch of repositories cannot be collected', async () => {
    // Prepare: an idle runner of ours that would otherwise be removed.
    const { github, fleet } = setup();
    const [instanceId] = (
      await fleet.launch({ pool: 'linux-x64', count: 1, clientToken: 'earlier', createdAt: launchCreatedAt })
    ).instanceIds;
    github.runners = [
      {
        id: 7,
        name: `stepscale-${instanceId}`,
        status: 'online',
        busy: false,
        labels: ['self-hosted', 'linux', 'x64'],
      },
    ];
    github.jobsByRepo = new Map([
      ['api', []],
      ['web', []],
      ['docs', []],
    ]);
    const later = testDeps({ github, fleet, now: () => new Date('2026-01-05T10:00:00Z') }).deps;
    // Act
    const result = await runCycle({
      deps: later,
      cycleId: 'partial',
      wrapTask: (task, handler) => async (input) => {
        const batch = (input as { repositories?: PackedBatch }).repositories;
        const repositories = batch && task === 'CollectRepositoryJobs' ? unpackBatch(batch) : [];
        if (repositories.includes('docs')) throw namedError('GitHubUnavailableError');
        return handler(input);
      },
    });
    // Assess
    expect(result.status).toBe('SUCCEEDED');
    // Batches are sorted names in twos: [api, docs] fails as a whole (after retries), [web] succeeds.
    expect(result.output.demand).toMatchObject({
      complete: false,
      repositories: 3,
      failedRepositories: 2,
      skippedRepositories: 0,
    });
    expect(result.output.plan).toMatchObject({ scaleDownHeld: true, removals: [] });
    expect(github.deleted).toEqual([]);
    // Without the failure the same idle runner is removed.
    github.jobsByRepo.set('docs', []);
    const clean = await runCycle({ deps: later, cycleId: 'complete' });
    expect(clean.output.scaleDown).toMatchObject({ terminated: 1, skipped: 0, failed: 0 });
    expect(github.deleted).toEqual([7]);
  });
});
