import { readFile } from 'node:fs/promises';
import validator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { runCycle } from '../functions/executor/cycle-runner.ts';
import { type TaskName, taskHandlers } from '../functions/handlers/index.ts';
import { type PackedBatch, unpackBatch } from '../functions/handlers/repository-batches.ts';
import { scalingLeaseKey } from '../functions/handlers/scaling-lease.ts';
import { definitionPath, placeholdersIn, substitute } from '../functions/statemachine-definition.ts';
import { isOurErrorName, stepscaleErrorNames } from './support/asl-errors.ts';
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
    const named = stepscaleErrorNames();
    const matched = new Set(
      flatten(JSON.parse(await definitionText()).States).flatMap(([, state]) =>
        [...(state.Retry ?? []), ...(state.Catch ?? [])].flatMap(
          (rule) => (rule as { ErrorEquals: string[] }).ErrorEquals,
        ),
      ),
    );
    const ours = [...matched].filter(isOurErrorName);
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

  /** A task that throws on every attempt: how often it is tried, what else runs, how many instances stay. */
  const alwaysFailing = [
    {
      title: 'catches a ScaleUp that always fails, still runs ScaleDown, and ends failed for visibility',
      cycleId: 'scale-up-down',
      task: 'ScaleUp' as TaskName,
      error: 'FleetThrottledError',
      message: 'RequestLimitExceeded',
      attempts: 5, // 1 + MaxAttempts 4
      reachedToo: ['ScaleDown'],
      liveAfter: 0,
    },
    {
      title:
        'catches a RegisterRunners that keeps failing, keeps what launched, and ends failed for visibility',
      cycleId: 'registration-down',
      task: 'RegisterRunners' as TaskName,
      error: 'StateStoreUnavailableError',
      message: 'DynamoDB down',
      attempts: 3, // 1 + MaxAttempts 2
      reachedToo: [],
      // The instances stay: the next cycle finds them unregistered and registers them first.
      liveAfter: 5,
    },
  ];
  for (const {
    title,
    cycleId,
    task: failing,
    error,
    message,
    attempts,
    reachedToo,
    liveAfter,
  } of alwaysFailing)
    it(title, async () => {
      const { deps, fleet } = setup();
      const reached: string[] = [];
      const result = await runCycle({
        deps,
        cycleId,
        wrapTask: (task, handler) => async (input) => {
          reached.push(task);
          if (task === failing) throw namedError(error, message);
          return handler(input);
        },
      });
      expect(result.status).toBe('FAILED');
      expect(result.error?.name).toBe('ScalingActionsFailed');
      expect(reached.filter((task) => task === failing)).toHaveLength(attempts);
      for (const task of reachedToo) expect(reached).toContain(task);
      expect(fleet.live()).toHaveLength(liveAfter);
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

describe('how a cycle starts', () => {
  function configured(result: Awaited<ReturnType<typeof runCycle>>) {
    const exited = result.events.find(
      (event) => event.type === 'StateExited' && event.state.name === 'Configure',
    );
    return exited && 'state' in exited
      ? (exited.state.output as { cycle: { id: string }; targets: unknown })
      : undefined;
  }

  it.each([
    {
      case: 'the schedule (its time, no targets)',
      input: { cycleId: '2026-01-05T09:00:00Z', targets: { repositories: [] } },
      id: '2026-01-05T09:00:00Z',
      targets: [],
    },
    {
      case: 'a webhook delivery (its id, one repository)',
      input: { cycleId: 'delivery-1', targets: { repositories: ['api'] } },
      id: 'delivery-1',
      targets: ['api'],
    },
    { case: 'a manual start with an id only', input: { cycleId: 'by-hand' }, id: 'by-hand', targets: [] },
    {
      case: 'a manual start with targets only',
      input: { targets: { repositories: ['web'] } },
      id: 'manual-execution',
      targets: ['web'],
    },
    { case: 'a manual start with nothing', input: {}, id: 'manual-execution', targets: [] },
  ])('$case → cycle $id, targets $targets', async ({ input, id, targets }) => {
    // Prepare
    const github = new FakeGitHub();
    github.jobsByRepo.set('api', queuedJobs(1));
    github.jobsByRepo.set('web', queuedJobs(1));
    const { deps } = testDeps({ github });
    // Act
    const result = await runCycle({ deps, cycleId: 'unused', input, executionName: 'manual-execution' });
    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(configured(result)).toMatchObject({ cycle: { id }, targets: { repositories: targets } });
    expect(result.output.demand).toMatchObject({
      queuedByPool: { 'linux-x64': targets.length === 1 ? 1 : 2 },
    });
  });
});

describe('a cycle that meets the scaling lease held', () => {
  const held = () => {
    const github = new FakeGitHub();
    github.jobsByRepo.set('api', queuedJobs(2));
    return testDeps({ github });
  };

  it('waits, decides again once the holder lets go, and launches', async () => {
    // Prepare: another cycle holds the lease until this one's second Decide.
    const { deps, fleet } = held();
    const until = new Date(deps.now().getTime() + 90_000);
    await deps.stateStore.acquireLease(scalingLeaseKey, 'other-cycle', until);
    let decides = 0;
    // Act
    const result = await runCycle({
      deps,
      cycleId: 'waiting',
      wrapTask: (task, handler) => async (input) => {
        if (task === 'Decide' && ++decides === 2)
          await deps.stateStore.releaseLease(scalingLeaseKey, 'other-cycle');
        return handler(input);
      },
    });
    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(decides).toBe(2);
    const entered = result.events
      .filter((event) => event.type === 'StateEntered')
      .map((event) => event.state.name);
    expect(entered.filter((name) => name === 'WaitForLease')).toHaveLength(1);
    expect(result.output.lease).toEqual({ waits: 1 });
    expect(result.output.scaleUp).toMatchObject({ launched: 2 });
    expect(fleet.live()).toHaveLength(2);
  });

  it('gives up after six waits: nothing launched, the cycle still succeeds, the next one acts', async () => {
    // Prepare
    const { deps, fleet } = held();
    await deps.stateStore.acquireLease(
      scalingLeaseKey,
      'other-cycle',
      new Date(deps.now().getTime() + 900_000),
    );
    let decides = 0;
    // Act
    const result = await runCycle({
      deps,
      cycleId: 'giving-up',
      wrapTask: (task, handler) => async (input) => {
        if (task === 'Decide') decides += 1;
        return handler(input);
      },
    });
    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(decides).toBe(7);
    expect(result.output.plan).toMatchObject({ leaseHeldBy: 'other-cycle', launches: [] });
    expect(fleet.live()).toHaveLength(0);
  });

  it('pays for no extra state when the lease is free', async () => {
    const { deps } = held();
    const result = await runCycle({ deps, cycleId: 'free' });
    const entered = result.events
      .filter((event) => event.type === 'StateEntered')
      .map((event) => event.state.name);
    expect(entered).not.toContain('FirstLeaseWait');
    expect(result.output.lease).toBeUndefined();
  });
});

describe('a scheduled and a webhook cycle at once', () => {
  it('both have their demand launched for, once: the later one waits for the lease and decides again', async () => {
    // Prepare: jobs queued in two repositories; a webhook names `web` while the scheduled cycle is launching.
    const github = new FakeGitHub();
    github.jobsByRepo.set('api', queuedJobs(3));
    const { deps, fleet } = testDeps({ github });
    let releaseScheduled: () => void = () => {};
    const scheduledLaunching = new Promise<void>((resolve) => {
      releaseScheduled = resolve;
    });
    let scheduledDecided: () => void = () => {};
    const decided = new Promise<void>((resolve) => {
      scheduledDecided = resolve;
    });
    const decides: string[] = [];
    // Act
    const scheduled = runCycle({
      deps,
      cycleId: 'scheduled',
      wrapTask: (task, handler) => async (input) => {
        const output = await handler(input);
        if (task === 'Decide') {
          decides.push('scheduled');
          scheduledDecided();
          await scheduledLaunching; // ScaleUp, ScaleDown and the lease release come later
        }
        return output;
      },
    });
    await decided;
    // The webhook's job is queued after the scheduled cycle listed `web` (it saw nothing there).
    github.jobsByRepo.set(
      'web',
      queuedJobs(2).map((job) => ({ ...job, id: job.id + 100 })),
    );
    const webhook = runCycle({
      deps,
      cycleId: 'webhook-d1',
      targets: { repositories: ['web'] },
      waitMs: { WaitForLease: 5 },
      wrapTask: (task, handler) => async (input) => {
        const output = (await handler(input)) as { leaseHeldBy?: string };
        if (task === 'Decide') {
          decides.push(output.leaseHeldBy ? 'webhook (held)' : 'webhook');
          if (output.leaseHeldBy) releaseScheduled();
        }
        return output;
      },
    });
    const [first, second] = await Promise.all([scheduled, webhook]);
    // Assess
    expect(first.status).toBe('SUCCEEDED');
    expect(second.status).toBe('SUCCEEDED');
    expect(decides[0]).toBe('scheduled');
    expect(decides).toContain('webhook (held)');
    expect(decides.at(-1)).toBe('webhook');
    expect(first.output.scaleUp).toMatchObject({ launched: 3 });
    // The webhook cycle counts the scheduled cycle's three as booting: it launches only for `web`.
    expect(second.output.scaleUp).toMatchObject({ launched: 2 });
    expect(fleet.live()).toHaveLength(5);
  });
});
