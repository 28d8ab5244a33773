import {
  CreateFleetCommand,
  type CreateFleetCommandInput,
  CreateTagsCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  EC2Client,
  type Instance as Ec2Instance,
  RunInstancesCommand,
  StartInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { awsErrorCode, toFleetError } from '../functions/adapters/aws-errors.ts';
import { createEc2Fleet } from '../functions/adapters/ec2-fleet.ts';
import type { PoolConfig } from '../functions/config/config.ts';
import {
  FleetCapacityError,
  FleetRequestError,
  FleetThrottledError,
  FleetUnavailableError,
  StepscaleError,
} from '../functions/errors.ts';
import { ec2Error, FakeEc2 } from './support/fake-ec2.ts';
import { ec2Pool } from './support/fleet-fixtures.ts';

const stack = 'ci';
const createdAt = '2026-01-05T09:00:00.000Z';
/** The cycle start every launch request carries into the `stepscale:created-at` tag. */
const launchCreatedAt = createdAt;
const token = 'a'.repeat(40);

/** A launch request for `count` instances of `pool`, as ScaleUp sends it. */
function launchOf(pool: string, count: number) {
  return { pool, count, clientToken: token, createdAt: launchCreatedAt };
}

/** A fleet over a plain mock whose answers each test scripts. */
function setup(pool: PoolConfig = ec2Pool(), terminateBatchSize?: number) {
  const client = new EC2Client({ region: 'eu-west-1' });
  const ec2 = mockClient(client);
  const fleet = createEc2Fleet({
    client,
    stack,
    pools: [pool],
    ...(terminateBatchSize === undefined ? {} : { terminateBatchSize }),
  });
  return { ec2, fleet };
}

/** The CreateFleet input the adapter sends for `pool`, in full. */
function expectedCreateFleet(
  pool: PoolConfig,
  count: number,
  lifecycle: 'spot' | 'on-demand',
  clientToken: string,
): CreateFleetCommandInput {
  return {
    Type: 'instant',
    ClientToken: clientToken,
    LaunchTemplateConfigs: [
      {
        LaunchTemplateSpecification: pool.launchTemplate.startsWith('lt-')
          ? { LaunchTemplateId: pool.launchTemplate, Version: '$Latest' }
          : { LaunchTemplateName: pool.launchTemplate, Version: '$Latest' },
        Overrides: [
          { InstanceType: 'm7i.large', SubnetId: 'subnet-0a' },
          { InstanceType: 'm7i.large', SubnetId: 'subnet-0b' },
          { InstanceType: 'm6i.large', SubnetId: 'subnet-0a' },
          { InstanceType: 'm6i.large', SubnetId: 'subnet-0b' },
        ],
      },
    ],
    TargetCapacitySpecification: { TotalTargetCapacity: count, DefaultTargetCapacityType: lifecycle },
    SpotOptions: { AllocationStrategy: 'price-capacity-optimized' },
    OnDemandOptions: { AllocationStrategy: 'lowest-price' },
    TagSpecifications: [
      {
        ResourceType: 'instance',
        Tags: [
          { Key: 'stepscale:stack', Value: stack },
          { Key: 'stepscale:pool', Value: pool.name },
          { Key: 'stepscale:created-at', Value: createdAt },
        ],
      },
    ],
  };
}

const ids = (...numbers: number[]) => numbers.map((n) => `i-${n.toString(16).padStart(17, '0')}`);

function fleetAnswer(
  instanceIds: string[],
  errorCodes: string[] = [],
  lifecycle: 'spot' | 'on-demand' = 'spot',
) {
  return {
    FleetId: 'fleet-1',
    Instances: instanceIds.length > 0 ? [{ InstanceIds: instanceIds, Lifecycle: lifecycle }] : [],
    Errors: errorCodes.map((ErrorCode) => ({ ErrorCode, ErrorMessage: ErrorCode, Lifecycle: lifecycle })),
  };
}

const createFleetInputs = (ec2: ReturnType<typeof setup>['ec2']) =>
  ec2.commandCalls(CreateFleetCommand).map((call) => call.args[0].input);

describe('EC2 fleet: launching', () => {
  it('launches a spot pool with one instant CreateFleet over every instance type and subnet', async () => {
    // Prepare
    const pool = ec2Pool({ capacity: 'spot' });
    const { ec2, fleet } = setup(pool);
    ec2.on(CreateFleetCommand).resolves(fleetAnswer(ids(1, 2, 3)));

    // Act
    const result = await fleet.launch(launchOf(pool.name, 3));

    // Assess
    expect(createFleetInputs(ec2)).toEqual([expectedCreateFleet(pool, 3, 'spot', `${token}-spot`)]);
    expect(result).toEqual({ instanceIds: ids(1, 2, 3), missing: 0, errors: [] });
  });

  it('launches an on-demand pool by launch template id, with the on-demand token suffix', async () => {
    // Prepare
    const pool = ec2Pool({ capacity: 'on-demand', launchTemplate: 'lt-0123456789abcdef0' });
    const { ec2, fleet } = setup(pool);
    ec2.on(CreateFleetCommand).resolves(fleetAnswer(ids(1, 2), [], 'on-demand'));

    // Act
    const result = await fleet.launch(launchOf(pool.name, 2));

    // Assess
    expect(createFleetInputs(ec2)).toEqual([expectedCreateFleet(pool, 2, 'on-demand', `${token}-od`)]);
    expect(result).toEqual({ instanceIds: ids(1, 2), missing: 0, errors: [] });
  });

  it('falls back to on-demand for only the missing count when spot lacks capacity', async () => {
    // Prepare
    const pool = ec2Pool({ capacity: 'spot-with-fallback' });
    const { ec2, fleet } = setup(pool);
    ec2
      .on(CreateFleetCommand)
      .resolvesOnce(
        fleetAnswer(ids(1, 2, 3), ['InsufficientInstanceCapacity', 'InsufficientInstanceCapacity']),
      )
      .resolvesOnce(fleetAnswer(ids(4, 5), [], 'on-demand'));

    // Act
    const result = await fleet.launch(launchOf(pool.name, 5));

    // Assess
    expect(createFleetInputs(ec2)).toEqual([
      expectedCreateFleet(pool, 5, 'spot', `${token}-spot`),
      expectedCreateFleet(pool, 2, 'on-demand', `${token}-od`),
    ]);
    // Filled, but the spot shortage is still reported.
    expect(result).toEqual({
      instanceIds: ids(1, 2, 3, 4, 5),
      missing: 0,
      errors: ['InsufficientInstanceCapacity'],
    });
  });

  it('falls back to on-demand when the spot call is refused outright for capacity', async () => {
    // Prepare
    const pool = ec2Pool({ capacity: 'spot-with-fallback' });
    const { ec2, fleet } = setup(pool);
    ec2
      .on(CreateFleetCommand)
      .rejectsOnce(ec2Error('MaxSpotInstanceCountExceeded'))
      .resolvesOnce(fleetAnswer(ids(1, 2), [], 'on-demand'));

    // Act
    const result = await fleet.launch(launchOf(pool.name, 2));

    // Assess
    expect(createFleetInputs(ec2)).toEqual([
      expectedCreateFleet(pool, 2, 'spot', `${token}-spot`),
      expectedCreateFleet(pool, 2, 'on-demand', `${token}-od`),
    ]);
    expect(result).toEqual({ instanceIds: ids(1, 2), missing: 0, errors: ['MaxSpotInstanceCountExceeded'] });
  });

  it('reports what neither spot nor on-demand could launch as missing', async () => {
    // Prepare
    const pool = ec2Pool({ capacity: 'spot-with-fallback' });
    const { ec2, fleet } = setup(pool);
    ec2
      .on(CreateFleetCommand)
      .resolvesOnce(fleetAnswer(ids(1), ['UnfulfillableCapacity']))
      .resolvesOnce(fleetAnswer(ids(2), ['InsufficientInstanceCapacity'], 'on-demand'));

    // Act
    const result = await fleet.launch(launchOf(pool.name, 4));

    // Assess
    expect(createFleetInputs(ec2).map((input) => input.TargetCapacitySpecification)).toEqual([
      { TotalTargetCapacity: 4, DefaultTargetCapacityType: 'spot' },
      { TotalTargetCapacity: 3, DefaultTargetCapacityType: 'on-demand' },
    ]);
    expect(result).toEqual({
      instanceIds: ids(1, 2),
      missing: 2,
      errors: ['UnfulfillableCapacity', 'InsufficientInstanceCapacity'],
    });
  });

  it.each([
    {
      case: 'reports a partial spot launch of a spot-only pool without trying on-demand',
      capacity: 'spot',
      count: 3,
      error: 'InsufficientInstanceCapacity',
      missing: 2,
    },
    {
      case: 'does not try on-demand when spot failed for a reason other than capacity',
      capacity: 'spot-with-fallback',
      count: 2,
      error: 'InvalidFleetConfiguration',
      missing: 1,
    },
  ] as const)('$case', async ({ capacity, count, error, missing }) => {
    // Prepare
    const pool = ec2Pool({ capacity });
    const { ec2, fleet } = setup(pool);
    ec2.on(CreateFleetCommand).resolves(fleetAnswer(ids(1), [error]));

    // Act
    const result = await fleet.launch(launchOf(pool.name, count));

    // Assess
    expect(createFleetInputs(ec2)).toHaveLength(1);
    expect(result).toEqual({ instanceIds: ids(1), missing, errors: [error] });
  });

  it('fails with FleetRequestError when nothing launched and no error was about capacity', async () => {
    // Prepare
    const pool = ec2Pool({ capacity: 'spot-with-fallback' });
    const { ec2, fleet } = setup(pool);
    ec2.on(CreateFleetCommand).resolves(fleetAnswer([], ['InvalidParameterValue', 'InvalidParameterValue']));

    // Act
    const launching = fleet.launch(launchOf(pool.name, 2));

    // Assess
    await expect(launching).rejects.toThrow(FleetRequestError);
    await expect(launching).rejects.toMatchObject({
      name: 'FleetRequestError',
      code: 'InvalidParameterValue',
    });
    expect(createFleetInputs(ec2)).toHaveLength(1);
  });

  it('sends identical requests on a retry, so EC2 returns the first launch instead of launching again', async () => {
    // Prepare: the fake EC2 dedupes by ClientToken; spot runs short so the on-demand follow-up is retried too.
    const ec2 = new FakeEc2({ capacity: { spot: 2 } });
    const pool = ec2Pool({ capacity: 'spot-with-fallback' });
    const fleet = createEc2Fleet({ client: ec2.client, stack, pools: [pool] });
    const request = launchOf(pool.name, 3);
    const first = await fleet.launch(request);

    // Act
    const retry = await fleet.launch(request);

    // Assess
    const inputs = ec2.ec2.commandCalls(CreateFleetCommand).map((call) => call.args[0].input);
    expect(inputs).toHaveLength(4);
    expect(inputs[2]).toEqual(inputs[0]);
    expect(inputs[3]).toEqual(inputs[1]);
    expect(inputs.map((input) => input.ClientToken)).toEqual([
      `${token}-spot`,
      `${token}-od`,
      `${token}-spot`,
      `${token}-od`,
    ]);
    expect(ec2.fleetsLaunched).toHaveLength(2);
    expect(retry).toEqual(first);
    expect(new Set([...first.instanceIds, ...retry.instanceIds]).size).toBe(3);
    expect(ec2.live()).toHaveLength(3);
  });

  it('sends the same parameters from another process (a retry in a fresh Lambda), so EC2 dedupes it', async () => {
    // Prepare: EC2 refuses a reused token whose parameters changed; the created-at tag comes from the request.
    const ec2 = new FakeEc2();
    const pool = ec2Pool({ capacity: 'spot' });
    const request = launchOf(pool.name, 2);
    const newProcess = () => createEc2Fleet({ client: ec2.client, stack, pools: [pool] });
    const first = await newProcess().launch(request);

    // Act
    const retry = await newProcess().launch(request);

    // Assess
    expect(retry).toEqual(first);
    expect(ec2.live()).toHaveLength(2);
  });

  it('is refused by EC2, launching nothing, when a reused token comes with other parameters', async () => {
    const ec2 = new FakeEc2();
    const pool = ec2Pool({ capacity: 'spot' });
    const fleet = createEc2Fleet({ client: ec2.client, stack, pools: [pool] });
    await fleet.launch(launchOf(pool.name, 2));
    const changed = fleet.launch({ ...launchOf(pool.name, 2), createdAt: '2026-01-05T09:01:00.000Z' });
    await expect(changed).rejects.toMatchObject({
      name: 'FleetRequestError',
      code: 'IdempotentParameterMismatch',
    });
    expect(ec2.live()).toHaveLength(2);
  });

  it('sends nothing for a launch of zero instances', async () => {
    // Prepare
    const { ec2, fleet } = setup();

    // Act
    const result = await fleet.launch(launchOf('linux-x64', 0));

    // Assess
    expect(result).toEqual({ instanceIds: [], missing: 0, errors: [] });
    expect(ec2.calls()).toHaveLength(0);
  });

  it.each([
    {
      case: 'an unknown pool',
      request: launchOf('gpu', 1),
    },
    {
      case: 'a client token too long to suffix',
      request: { ...launchOf('linux-x64', 1), clientToken: 'x'.repeat(49) },
    },
    {
      case: 'a non-ASCII client token',
      request: { ...launchOf('linux-x64', 1), clientToken: 'zyklus-ä' },
    },
  ])('refuses $case with FleetRequestError before calling EC2', async ({ request }) => {
    // Prepare
    const { ec2, fleet } = setup();

    // Act
    const launching = fleet.launch(request);

    // Assess
    await expect(launching).rejects.toThrow(FleetRequestError);
    expect(ec2.calls()).toHaveLength(0);
  });
});

/** The tags of one of this stack's linux-x64 instances, as DescribeInstances lists them. */
function stackTags(extra: Record<string, string> = {}) {
  return Object.entries({ 'stepscale:stack': stack, 'stepscale:pool': 'linux-x64', ...extra }).map(
    ([Key, Value]) => ({ Key, Value }),
  );
}

/** A DescribeInstances page of one reservation, with the token of the next page if there is one. */
function page(instances: Ec2Instance[], nextToken?: string) {
  return { Reservations: [{ Instances: instances }], ...(nextToken ? { NextToken: nextToken } : {}) };
}

describe('EC2 fleet: listing instances', () => {
  it('reads every DescribeInstances page, filtered by stack tag and the states of instances that exist', async () => {
    // Prepare
    const { ec2, fleet } = setup();
    const launchTime = new Date('2026-01-05T08:55:00Z');
    const [a, b, c, d] = ids(1, 2, 3, 4);
    const pages = [
      page(
        [{ InstanceId: a, State: { Name: 'pending' }, LaunchTime: launchTime, Tags: stackTags() }],
        'page-2',
      ),
      page(
        [
          {
            InstanceId: b,
            State: { Name: 'running' },
            LaunchTime: launchTime,
            Tags: stackTags({ 'stepscale:orphaned-since': '2026-01-05T09:01:00.000Z' }),
          },
          // No pool tag: not attributable, so not counted.
          { InstanceId: c, State: { Name: 'running' }, LaunchTime: launchTime, Tags: [] },
        ],
        'page-3',
      ),
      page([
        {
          InstanceId: d,
          State: { Name: 'running' },
          LaunchTime: launchTime,
          Tags: stackTags({ 'stepscale:runner-name': 'custom-name' }),
        },
      ]),
    ];
    // The SDK paginator reuses one input object across pages, so each call's input is copied when sent.
    const sent: unknown[] = [];
    ec2.on(DescribeInstancesCommand).callsFake((input) => {
      sent.push(structuredClone(input));
      return pages[sent.length - 1];
    });

    // Act
    const instances = await fleet.listInstances();

    // Assess
    const filters = [
      { Name: 'tag:stepscale:stack', Values: [stack] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ];
    expect(sent).toEqual([
      { Filters: filters, MaxResults: 1000 },
      { Filters: filters, MaxResults: 1000, NextToken: 'page-2' },
      { Filters: filters, MaxResults: 1000, NextToken: 'page-3' },
    ]);
    const launchedAt = launchTime.toISOString();
    expect(instances).toEqual([
      { id: a, pool: 'linux-x64', state: 'pending', launchedAt, runnerName: `${stack}-${a}` },
      {
        id: b,
        pool: 'linux-x64',
        state: 'running',
        launchedAt,
        runnerName: `${stack}-${b}`,
        orphanedSince: '2026-01-05T09:01:00.000Z',
      },
      { id: d, pool: 'linux-x64', state: 'running', launchedAt, runnerName: 'custom-name' },
    ]);
  });

  it('fails with FleetUnavailableError when DescribeInstances is unavailable', async () => {
    // Prepare
    const { ec2, fleet } = setup();
    ec2.on(DescribeInstancesCommand).rejects(ec2Error('Unavailable', 503));

    // Act
    const listing = fleet.listInstances();

    // Assess
    await expect(listing).rejects.toThrow(FleetUnavailableError);
  });
});

describe('EC2 fleet: terminating', () => {
  it('terminates in batches of 500 ids by default', async () => {
    // Prepare
    const { ec2, fleet } = setup();
    ec2.on(TerminateInstancesCommand).resolves({});
    const all = ids(...Array.from({ length: 1201 }, (_, i) => i + 1));

    // Act
    await fleet.terminate(all);

    // Assess
    expect(ec2.commandCalls(TerminateInstancesCommand).map((call) => call.args[0].input)).toEqual([
      { InstanceIds: all.slice(0, 500) },
      { InstanceIds: all.slice(500, 1000) },
      { InstanceIds: all.slice(1000) },
    ]);
  });

  it('terminates each instance once, in batches of the configured size', async () => {
    // Prepare
    const { ec2, fleet } = setup(ec2Pool(), 2);
    ec2.on(TerminateInstancesCommand).resolves({});
    const [a, b, c] = ids(1, 2, 3);

    // Act
    await fleet.terminate([a, b, a, c] as string[]);

    // Assess
    expect(ec2.commandCalls(TerminateInstancesCommand).map((call) => call.args[0].input)).toEqual([
      { InstanceIds: [a, b] },
      { InstanceIds: [c] },
    ]);
  });

  it('sends nothing when there is nothing to terminate', async () => {
    // Prepare
    const { ec2, fleet } = setup();

    // Act
    await fleet.terminate([]);

    // Assess
    expect(ec2.calls()).toHaveLength(0);
  });

  it('fails with FleetThrottledError when TerminateInstances stays throttled', async () => {
    // Prepare
    const { ec2, fleet } = setup();
    ec2.on(TerminateInstancesCommand).rejects(ec2Error('RequestLimitExceeded', 503));

    // Act
    const terminating = fleet.terminate(ids(1));

    // Assess
    await expect(terminating).rejects.toThrow(FleetThrottledError);
  });

  it.each([0, 1001, 1.5])('refuses a batch size of %s', (size) => {
    // Prepare
    const client = new EC2Client({ region: 'eu-west-1' });

    // Act
    const creating = () => createEc2Fleet({ client, stack, pools: [ec2Pool()], terminateBatchSize: size });

    // Assess
    expect(creating).toThrow(RangeError);
  });
});

describe('EC2 fleet: marking orphans', () => {
  it('tags orphans with the time, in batches', async () => {
    // Prepare
    const { ec2, fleet } = setup(ec2Pool(), 2);
    ec2.on(CreateTagsCommand).resolves({});
    const [a, b, c] = ids(1, 2, 3) as [string, string, string];
    const at = new Date('2026-01-05T09:06:00Z');

    // Act
    await fleet.markOrphaned([a, b, c], at);
    await fleet.markOrphaned([], at);

    // Assess
    const Tags = [{ Key: 'stepscale:orphaned-since', Value: '2026-01-05T09:06:00.000Z' }];
    expect(ec2.commandCalls(CreateTagsCommand).map((call) => call.args[0].input)).toEqual([
      { Resources: [a, b], Tags },
      { Resources: [c], Tags },
    ]);
  });
});

describe('EC2 fleet: error classification', () => {
  const networkError = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  const timeout = Object.assign(new Error('Request timed out'), { name: 'TimeoutError' });

  it.each(
    [
      { error: ec2Error('Throttling'), expected: FleetThrottledError },
      { error: ec2Error('ThrottlingException'), expected: FleetThrottledError },
      { error: ec2Error('RequestLimitExceeded', 503), expected: FleetThrottledError },
      { error: ec2Error('TooManyRequestsException', 429), expected: FleetThrottledError },
      { error: ec2Error('ServiceUnavailable', 503), expected: FleetUnavailableError },
      { error: ec2Error('Unavailable', 503), expected: FleetUnavailableError },
      { error: ec2Error('InternalError', 500), expected: FleetUnavailableError },
      { error: ec2Error('InternalFailure', 500), expected: FleetUnavailableError },
      { error: ec2Error('SomethingNew', 502), expected: FleetUnavailableError },
      { error: networkError, expected: FleetUnavailableError },
      { error: timeout, expected: FleetUnavailableError },
      { error: ec2Error('InsufficientInstanceCapacity'), expected: FleetCapacityError },
      { error: ec2Error('UnfulfillableCapacity'), expected: FleetCapacityError },
      { error: ec2Error('InvalidLaunchTemplateId.NotFound'), expected: FleetRequestError },
      { error: ec2Error('InvalidLaunchTemplateId.Malformed'), expected: FleetRequestError },
      { error: ec2Error('UnauthorizedOperation', 403), expected: FleetRequestError },
      { error: ec2Error('IdempotentParameterMismatch'), expected: FleetRequestError },
      { error: new TypeError('x is undefined'), expected: FleetRequestError },
      { error: 'a string', expected: FleetRequestError },
    ].map((row) => ({ ...row, label: awsErrorCode(row.error) ?? String(row.error) })),
  )('classifies $label as $expected.name', ({ error, expected }) => {
    // Act
    const classified = toFleetError(error, 'doing something');

    // Assess
    expect(classified).toBeInstanceOf(expected);
    expect(classified.name).toBe(expected.name);
    expect(classified).toBeInstanceOf(StepscaleError);
    expect(classified.cause).toBe(error);
    expect(classified.message).toMatch(/^doing something failed/);
  });

  it('passes a StepscaleError through unchanged', () => {
    // Prepare
    const error = new FleetThrottledError('already classified', 'Throttling');

    // Act
    const classified = toFleetError(error);

    // Assess
    expect(classified).toBe(error);
  });

  it.each([
    { code: 'RequestLimitExceeded', status: 503, expected: 'FleetThrottledError' },
    { code: 'InternalError', status: 500, expected: 'FleetUnavailableError' },
    { code: 'InvalidLaunchTemplateId.NotFound', status: 400, expected: 'FleetRequestError' },
    { code: 'UnauthorizedOperation', status: 403, expected: 'FleetRequestError' },
  ])(
    'fails a launch refused with $code as $expected, the name the state machine matches',
    async ({ code, status, expected }) => {
      // Prepare
      const { ec2, fleet } = setup(ec2Pool({ capacity: 'spot-with-fallback' }));
      ec2.on(CreateFleetCommand).rejects(ec2Error(code, status));

      // Act
      const launching = fleet.launch(launchOf('linux-x64', 1));

      // Assess
      await expect(launching).rejects.toMatchObject({ name: expected, code });
      // A failure that is not about capacity is never retried on-demand.
      expect(createFleetInputs(ec2)).toHaveLength(1);
    },
  );
});

describe('EC2 fleet: warm pools', () => {
  const prepareRequest = { pool: 'linux-x64', count: 3, clientToken: token, createdAt, templateVersion: 4 };

  it('prepares with one RunInstances: on-demand, shutdown behaviour stop, tagged preparing with its template version', async () => {
    // Prepare
    const { ec2, fleet } = setup(ec2Pool({ launchTemplate: 'lt-0abc', capacity: 'spot' }));
    ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-1' }, { InstanceId: 'i-2' }] });

    // Act
    const result = await fleet.prepare(prepareRequest);

    // Assess: a spot pool's warm instances are on-demand all the same (no InstanceMarketOptions).
    expect(result).toEqual({ instanceIds: ['i-1', 'i-2'], missing: 1, errors: [] });
    const calls = ec2.commandCalls(RunInstancesCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input).toEqual({
      ClientToken: `${token}-warm`,
      MinCount: 1,
      MaxCount: 3,
      LaunchTemplate: { LaunchTemplateId: 'lt-0abc', Version: '4' },
      InstanceType: expect.stringMatching(/^m[76]i\.large$/),
      SubnetId: expect.stringMatching(/^subnet-0[ab]$/),
      InstanceInitiatedShutdownBehavior: 'stop',
      TagSpecifications: [
        {
          ResourceType: 'instance',
          Tags: [
            { Key: 'stepscale:stack', Value: stack },
            { Key: 'stepscale:pool', Value: 'linux-x64' },
            { Key: 'stepscale:created-at', Value: createdAt },
            { Key: 'stepscale:warm', Value: 'preparing' },
            { Key: 'stepscale:template-version', Value: '4' },
          ],
        },
      ],
    });
    expect(input).not.toHaveProperty('InstanceMarketOptions');
  });

  it('prepares from $Latest, without a version tag, when the version is unknown; the same request on a retry', async () => {
    // Prepare
    const { ec2, fleet } = setup();
    ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-1' }] });
    const { templateVersion: _, ...request } = prepareRequest;

    // Act
    await fleet.prepare(request);
    await fleet.prepare(request);

    // Assess
    const [first, retry] = ec2.commandCalls(RunInstancesCommand).map((call) => call.args[0].input);
    expect(first?.LaunchTemplate).toEqual({ LaunchTemplateName: 'runner-template', Version: '$Latest' });
    expect(first?.TagSpecifications?.[0]?.Tags?.map((tag) => tag.Key)).not.toContain(
      'stepscale:template-version',
    );
    expect(retry).toEqual(first);
  });

  it('tries another instance type and subnet on another cycle', async () => {
    const { ec2, fleet } = setup();
    ec2.on(RunInstancesCommand).resolves({ Instances: [] });
    const pairs = new Set<string>();
    for (let cycle = 0; cycle < 40; cycle += 1) {
      await fleet.prepare({ ...prepareRequest, clientToken: `cycle-${cycle}` });
    }
    for (const call of ec2.commandCalls(RunInstancesCommand))
      pairs.add(`${call.args[0].input.InstanceType}/${call.args[0].input.SubnetId}`);
    expect(pairs.size).toBe(4);
  });

  it('reports a prepare refused for capacity as missing, and fails on any other refusal or throttling', async () => {
    const { ec2, fleet } = setup();
    // One chain: each `on()` starts its own call count, so a second `rejectsOnce` there would never apply.
    ec2
      .on(RunInstancesCommand)
      .rejectsOnce(ec2Error('InsufficientInstanceCapacity', 500))
      .rejectsOnce(ec2Error('InvalidLaunchTemplateId.VersionNotFound'))
      .rejectsOnce(ec2Error('RequestLimitExceeded', 503));
    expect(await fleet.prepare(prepareRequest)).toEqual({
      instanceIds: [],
      missing: 3,
      errors: ['InsufficientInstanceCapacity'],
    });
    await expect(fleet.prepare(prepareRequest)).rejects.toThrow(/InvalidLaunchTemplateId.VersionNotFound/);
    await expect(fleet.prepare(prepareRequest)).rejects.toThrow(FleetThrottledError);
  });

  it('starts each instance with its own StartInstances, tagged started (CreateTags) right before', async () => {
    // Prepare
    const { ec2, fleet } = setup();
    const sent: string[] = [];
    ec2.on(CreateTagsCommand).callsFake((input) => {
      sent.push(`tag ${input.Resources.join(',')} ${JSON.stringify(input.Tags)}`);
      return {};
    });
    ec2.on(StartInstancesCommand).callsFake((input) => {
      sent.push(`start ${input.InstanceIds.join(',')}`);
      return { StartingInstances: [] };
    });

    // Act
    const result = await fleet.start(['i-1', 'i-2', 'i-1']);

    // Assess
    expect(result).toEqual({ started: ['i-1', 'i-2'], failed: [] });
    const started = '[{"Key":"stepscale:warm","Value":"started"}]';
    for (const id of ['i-1', 'i-2']) {
      const tagAt = sent.indexOf(`tag ${id} ${started}`);
      expect(tagAt).toBeGreaterThanOrEqual(0);
      expect(sent.indexOf(`start ${id}`)).toBeGreaterThan(tagAt);
    }
    expect(sent).toHaveLength(4);
  });

  it('reports a start refused for capacity or state per instance, and starts the others', async () => {
    // Prepare
    const { ec2, fleet } = setup();
    ec2.on(CreateTagsCommand).resolves({});
    ec2
      .on(StartInstancesCommand, { InstanceIds: ['i-full'] })
      .rejects(ec2Error('InsufficientInstanceCapacity', 500));
    ec2
      .on(StartInstancesCommand, { InstanceIds: ['i-stopping'] })
      .rejects(ec2Error('IncorrectInstanceState'));
    ec2.on(StartInstancesCommand, { InstanceIds: ['i-ok'] }).resolves({});

    // Act
    const result = await fleet.start(['i-full', 'i-stopping', 'i-ok']);

    // Assess
    expect(result).toEqual({
      started: ['i-ok'],
      failed: [
        { instanceId: 'i-full', code: 'InsufficientInstanceCapacity', capacity: true },
        { instanceId: 'i-stopping', code: 'IncorrectInstanceState', capacity: false },
      ],
    });
  });

  it('does not start an instance it could not tag started, and fails the task when EC2 throttles', async () => {
    const { ec2, fleet } = setup();
    ec2.on(CreateTagsCommand, { Resources: ['i-gone'] }).rejects(ec2Error('InvalidInstanceID.NotFound'));
    ec2.on(CreateTagsCommand, { Resources: ['i-ok'] }).resolves({});
    ec2.on(StartInstancesCommand).resolves({});
    expect(await fleet.start(['i-gone', 'i-ok'])).toEqual({
      started: ['i-ok'],
      failed: [{ instanceId: 'i-gone', code: 'InvalidInstanceID.NotFound', capacity: false }],
    });
    expect(ec2.commandCalls(StartInstancesCommand).map((call) => call.args[0].input.InstanceIds)).toEqual([
      ['i-ok'],
    ]);
    ec2.on(StartInstancesCommand).rejects(ec2Error('RequestLimitExceeded', 503));
    await expect(fleet.start(['i-ok'])).rejects.toThrow(FleetThrottledError);
  });

  it('lists stopped instances with why they stopped, and warm ones with their tag, prepare time and version', async () => {
    // Prepare
    const { ec2, fleet } = setup();
    const launchTime = new Date('2026-01-05T08:55:00Z');
    const warmTags = {
      'stepscale:warm': 'preparing',
      'stepscale:created-at': createdAt,
      'stepscale:template-version': '4',
    };
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: 'i-ready',
              State: { Name: 'stopped' },
              StateReason: { Code: 'Client.InstanceInitiatedShutdown', Message: '…' },
              LaunchTime: launchTime,
              Tags: stackTags(warmTags),
            },
            {
              InstanceId: 'i-stopped-by-someone',
              State: { Name: 'stopped' },
              StateReason: { Code: 'Client.UserInitiatedShutdown', Message: '…' },
              LaunchTime: launchTime,
              Tags: stackTags({}),
            },
            {
              InstanceId: 'i-no-capacity',
              State: { Name: 'stopping' },
              StateReason: { Code: 'Server.InsufficientInstanceCapacity', Message: '…' },
              LaunchTime: launchTime,
              Tags: stackTags({ ...warmTags, 'stepscale:warm': 'started' }),
            },
            {
              InstanceId: 'i-gone',
              State: { Name: 'terminated' },
              LaunchTime: launchTime,
              Tags: stackTags({}),
            },
          ],
        },
      ],
    });

    // Act
    const instances = await fleet.listInstances();

    // Assess
    const launchedAt = launchTime.toISOString();
    const base = { pool: 'linux-x64', launchedAt };
    expect(instances).toEqual([
      {
        ...base,
        id: 'i-ready',
        runnerName: `${stack}-i-ready`,
        state: 'stopped',
        stopReason: 'instance',
        warm: { stage: 'preparing', preparedAt: createdAt, templateVersion: 4 },
      },
      {
        ...base,
        id: 'i-stopped-by-someone',
        runnerName: `${stack}-i-stopped-by-someone`,
        state: 'stopped',
        stopReason: 'api',
      },
      {
        ...base,
        id: 'i-no-capacity',
        runnerName: `${stack}-i-no-capacity`,
        state: 'stopping',
        stopReason: 'other',
        warm: { stage: 'started', preparedAt: createdAt, templateVersion: 4 },
      },
    ]);
  });

  it('reads the latest version of each template by id or name, one call each, leaving out one that is gone', async () => {
    // Prepare
    const client = new EC2Client({ region: 'eu-west-1' });
    const ec2 = mockClient(client);
    const fleet = createEc2Fleet({
      client,
      stack,
      pools: [
        ec2Pool({ name: 'by-id', launchTemplate: 'lt-0abc' }),
        ec2Pool({ name: 'by-name', launchTemplate: 'runners' }),
        ec2Pool({ name: 'gone', launchTemplate: 'lt-0gone' }),
      ],
    });
    ec2.on(DescribeLaunchTemplatesCommand, { LaunchTemplateIds: ['lt-0abc'] }).resolves({
      LaunchTemplates: [{ LaunchTemplateId: 'lt-0abc', LatestVersionNumber: 7 }],
    });
    ec2.on(DescribeLaunchTemplatesCommand, { LaunchTemplateNames: ['runners'] }).resolves({
      LaunchTemplates: [{ LaunchTemplateName: 'runners', LatestVersionNumber: 2 }],
    });
    ec2
      .on(DescribeLaunchTemplatesCommand, { LaunchTemplateIds: ['lt-0gone'] })
      .rejects(ec2Error('InvalidLaunchTemplateId.NotFound'));

    // Act
    const versions = await fleet.templateVersions(['by-id', 'by-name', 'gone', 'unknown']);

    // Assess
    expect(versions).toEqual({ 'by-id': 7, 'by-name': 2 });
    expect(ec2.commandCalls(DescribeLaunchTemplatesCommand)).toHaveLength(3);
    ec2.on(DescribeLaunchTemplatesCommand).rejects(ec2Error('RequestLimitExceeded', 503));
    await expect(fleet.templateVersions(['by-id'])).rejects.toThrow(FleetThrottledError);
  });
});
