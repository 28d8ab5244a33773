/**
 * AWS faults through the real state machine: runCycle with the real handlers, the EC2 fleet adapter over
 * a stateful fake EC2 (aws-sdk-client-mock, so the SDK's own retries are out of the picture and every fault
 * reaches the adapter), and, where it matters, the SSM runner config store over a mocked SSM client.
 */
import { CreateFleetCommand, type CreateFleetCommandInput } from '@aws-sdk/client-ec2';
import {
  DeleteParameterCommand,
  GetParametersByPathCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { createSsmRunnerConfigStore } from '../functions/adapters/ssm-runner-configs.ts';
import { runCycle } from '../functions/executor/cycle-runner.ts';
import type { HandlerDeps } from '../functions/handlers/deps.ts';
import type { RunnerConfigStore } from '../functions/ports/runner-configs.ts';
import { ec2Error, FakeEc2 } from './support/fake-ec2.ts';
import { queuedJobs, testDeps, testPool } from './support/fakes.ts';

/** 5 queued x64 jobs; the pool falls back to on-demand (the config default, spelled out). */
function setup(ec2: FakeEc2, runnerConfigs?: RunnerConfigStore) {
  const base = testDeps({ config: { pools: [{ ...testPool, capacity: 'spot-with-fallback' }] } });
  base.github.jobsByRepo.set('api', queuedJobs(3));
  base.github.jobsByRepo.set('web', queuedJobs(2));
  const deps: HandlerDeps = {
    ...base.deps,
    fleet: ec2.fleetFor(base.deps.config),
    ...(runnerConfigs ? { runnerConfigs } : {}),
  };
  return { deps, github: base.github, clock: base.clock };
}

/** An SSM client whose every command the test scripts. */
function mockedSsm() {
  const ssmClient = new SSMClient({ region: 'eu-west-1' });
  return { ssmClient, ssm: mockClient(ssmClient) };
}

/** SSM's throttling error as the SDK throws it once its own retries are spent. */
const ssmThrottling = () =>
  Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });

/** The production runner config store over `client`, as the Lambdas build it. */
const ssmRunnerConfigs = (client: SSMClient) =>
  createSsmRunnerConfigStore({
    client,
    stack: 'stepscale',
    instanceArnPrefix: 'arn:aws:ec2:eu-west-1:123456789012:instance/',
  });

const createFleetInputs = (ec2: FakeEc2): CreateFleetCommandInput[] =>
  ec2.ec2.commandCalls(CreateFleetCommand).map((call) => call.args[0].input);

const retriesOf = (result: Awaited<ReturnType<typeof runCycle>>, state: string) =>
  result.events.filter((event) => event.type === 'StateRetried' && event.state.name === state);

describe('AWS faults through the state machine', () => {
  it.each([
    ['RequestLimitExceeded before anything launched', 'RequestLimitExceeded', 400, false],
    ['a timeout after the launch went through (answer lost)', 'TimeoutError', 500, true],
  ] as const)(
    'CreateFleet fails once (%s): Step Functions retries ScaleUp, one set of instances',
    async (_name, code, status, launchedFirst) => {
      // Prepare
      const ec2 = new FakeEc2();
      let calls = 0;
      ec2.ec2.on(CreateFleetCommand).callsFake((input: CreateFleetCommandInput) => {
        calls += 1;
        if (calls === 1) {
          if (launchedFirst) ec2.createFleet(input);
          throw ec2Error(code, status);
        }
        return ec2.createFleet(input);
      });
      const { deps, github } = setup(ec2);
      // Act
      const result = await runCycle({ deps, cycleId: 'c-throttled' });
      // Assess
      expect(result.status).toBe('SUCCEEDED');
      expect(retriesOf(result, 'ScaleUp')).toHaveLength(1);
      const inputs = createFleetInputs(ec2);
      expect(inputs).toHaveLength(2);
      expect(inputs[1]?.ClientToken).toBe(inputs[0]?.ClientToken);
      expect(ec2.fleetsLaunched).toHaveLength(1);
      expect(ec2.live()).toHaveLength(5);
      expect(result.output.scaleUp).toMatchObject({ launched: 5, missing: 0 });
      expect(result.output.registration).toMatchObject({ registered: 5, failed: 0, queue: [] });
      expect(github.runners.map((runner) => runner.name).sort()).toEqual(ec2.liveRunnerNames('stepscale'));
    },
  );

  it('launches on-demand for exactly the count spot lacked capacity for', async () => {
    const ec2 = new FakeEc2({ capacity: { spot: 2 } });
    const { deps } = setup(ec2);
    const result = await runCycle({ deps, cycleId: 'c-ice' });
    expect(result.status).toBe('SUCCEEDED');
    expect(
      createFleetInputs(ec2).map((input) => [
        input.TargetCapacitySpecification?.DefaultTargetCapacityType,
        input.TargetCapacitySpecification?.TotalTargetCapacity,
      ]),
    ).toEqual([
      ['spot', 5],
      ['on-demand', 3],
    ]);
    expect(ec2.live().map((instance) => instance.lifecycle)).toEqual([
      'spot',
      'spot',
      'on-demand',
      'on-demand',
      'on-demand',
    ]);
    expect(result.output.scaleUp).toMatchObject({ launched: 5, missing: 0 });
  });

  it('reports a partial launch as missing, and the next cycle asks for the missing count again', async () => {
    // Prepare: 2 spot and 1 on-demand instance left in the region.
    const ec2 = new FakeEc2({ capacity: { spot: 2, 'on-demand': 1 } });
    const { deps } = setup(ec2);
    // Act
    const first = await runCycle({ deps, cycleId: 'c-1' });
    const second = await runCycle({ deps, cycleId: 'c-2' });
    // Assess: the shortfall is an output, not a failure.
    expect(first.status).toBe('SUCCEEDED');
    expect(first.output.scaleUp).toMatchObject({ launched: 3, missing: 2 });
    expect(first.output.registration).toMatchObject({ registered: 3, failed: 0 });
    // The 3 launched count as booting; the 2 still wanted are asked for again (and are still missing).
    expect(second.output.plan).toMatchObject({
      launches: [{ pool: 'linux-x64', count: 2 }],
      pools: [expect.objectContaining({ queued: 5, booting: 3, launch: 2 })],
    });
    expect(second.output.scaleUp).toMatchObject({ launched: 0, missing: 2 });
    expect(ec2.live()).toHaveLength(3);
  });

  it('terminates the instance whose config SSM throttled, and the next cycle launches its replacement', async () => {
    // Prepare: the first PutParameter is throttled (past the SDK's retries), the rest succeed.
    const { ssmClient, ssm } = mockedSsm();
    ssm.on(PutParameterCommand).rejectsOnce(ssmThrottling()).resolves({ Version: 1 });
    ssm.on(GetParametersByPathCommand).resolves({ Parameters: [] });
    ssm.on(DeleteParameterCommand).resolves({});
    const ec2 = new FakeEc2();
    const { deps, clock } = setup(ec2, ssmRunnerConfigs(ssmClient));
    // Act
    const first = await runCycle({ deps, cycleId: 'c-1' });
    // Assess: one registration failed; its instance is terminated, not left to boot into nothing.
    expect(first.status).toBe('SUCCEEDED');
    expect(first.output.scaleUp).toMatchObject({ launched: 5, missing: 0 });
    expect(first.output.registration).toMatchObject({ registered: 4, failed: 1, queue: [] });
    expect(ec2.live()).toHaveLength(4);
    expect([...ec2.instances.values()].filter((instance) => instance.state === 'terminated')).toHaveLength(1);
    // No demand is lost: the next cycle sees 4 booting for 5 queued and launches the fifth. (One within a
    // minute would still count the terminated one as a launch EC2 may not list yet: core/recent-launches.ts.)
    clock.advance(60);
    const second = await runCycle({ deps, cycleId: 'c-2' });
    expect(second.output.plan).toMatchObject({ launches: [{ pool: 'linux-x64', count: 1 }] });
    expect(second.output.scaleUp).toMatchObject({ launched: 1 });
    expect(second.output.registration).toMatchObject({ registered: 1, failed: 0 });
    expect(ec2.live()).toHaveLength(5);
  });

  it('retries Decide when SSM throttles listing the runner configs (the error is named, so the ASL retries it)', async () => {
    // Prepare: the first GetParametersByPath is throttled (past the SDK's retries), then SSM answers.
    const { ssmClient, ssm } = mockedSsm();
    ssm.on(GetParametersByPathCommand).rejectsOnce(ssmThrottling()).resolves({ Parameters: [] });
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    const ec2 = new FakeEc2();
    const { deps } = setup(ec2, ssmRunnerConfigs(ssmClient));
    // Act
    const result = await runCycle({ deps, cycleId: 'c-ssm-throttled' });
    // Assess: one retry of Decide, and the cycle acts on the demand as if nothing had happened.
    expect(result.status).toBe('SUCCEEDED');
    const retries = retriesOf(result, 'Decide');
    expect(retries).toHaveLength(1);
    expect(result.output.scaleUp).toMatchObject({ launched: 5, missing: 0 });
    expect(result.output.registration).toMatchObject({ registered: 5, failed: 0 });
  });
});
