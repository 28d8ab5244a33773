/**
 * A tiny stateful EC2 behind `aws-sdk-client-mock`: just enough of CreateFleet (instant, client-token
 * dedupe, capacity per lifecycle), RunInstances (client-token dedupe, shutdown behaviour, MinCount/MaxCount),
 * StartInstances (state rules, start capacity, LaunchTime is the last start), DescribeInstances (tag and state
 * filters, NextToken pages, StateReason), DescribeLaunchTemplates, TerminateInstances and CreateTags for the
 * EC2 fleet adapter to be tested against behaviour, not only against recorded inputs.
 */
import {
  CreateFleetCommand,
  type CreateFleetCommandInput,
  type CreateFleetCommandOutput,
  CreateTagsCommand,
  type CreateTagsCommandInput,
  DescribeInstancesCommand,
  type DescribeInstancesCommandInput,
  type DescribeInstancesCommandOutput,
  DescribeLaunchTemplatesCommand,
  type DescribeLaunchTemplatesCommandInput,
  EC2Client,
  EC2ServiceException,
  type Instance as Ec2Instance,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  type RunInstancesCommandOutput,
  StartInstancesCommand,
  type StartInstancesCommandInput,
  type TagSpecification,
  TerminateInstancesCommand,
  type TerminateInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { createEc2Fleet } from '../../functions/adapters/ec2-fleet.ts';
import type { Config } from '../../functions/config/config.ts';
import { runnerNameFor } from '../../functions/core/model.ts';
import type { FleetPort } from '../../functions/ports/fleet.ts';

type Lifecycle = 'spot' | 'on-demand';
type State = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

export interface FakeInstance {
  readonly id: string;
  readonly reservationId: string;
  state: State;
  readonly lifecycle: Lifecycle;
  launchTime: Date;
  /** What a shutdown from inside does (RunInstances' InstanceInitiatedShutdownBehavior, default stop). */
  readonly shutdownBehavior: 'stop' | 'terminate';
  stateReasonCode?: string;
  readonly instanceType: string;
  readonly subnetId: string;
  readonly tags: Map<string, string>;
}

export interface FakeEc2Options {
  readonly now?: () => Date;
  /** Instances EC2 can still launch per lifecycle (default unlimited). */
  readonly capacity?: Partial<Record<Lifecycle, number>>;
  /** Most instances per DescribeInstances page, whatever MaxResults asks (EC2 may return fewer too). */
  readonly pageSize?: number;
  /** Launch templates by id and by name → latest version (default: every template is at version 1). */
  readonly templates?: Readonly<Record<string, number>>;
}

/** An SDK-shaped EC2 error, as the client would throw it. */
export function ec2Error(code: string, status = 400, message = `${code} (fake)`): EC2ServiceException {
  return new EC2ServiceException({
    name: code,
    message,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });
}

/** First answers by client token, with the parameters they were given (as JSON) to detect a changed retry. */
type ByToken<Output> = Map<string, { input: string; output: Output }>;

/**
 * EC2's idempotency: the same token with the same parameters answers with the first call's result; with
 * different parameters it refuses. Undefined when the token is new (or there is none).
 */
function replay<Output>(
  byToken: ByToken<Output>,
  token: string | undefined,
  input: unknown,
): Output | undefined {
  if (token === undefined) return undefined;
  if (token.length > 64) throw ec2Error('InvalidParameterValue', 400, 'ClientToken longer than 64');
  const previous = byToken.get(token);
  if (previous && previous.input !== JSON.stringify(input)) throw ec2Error('IdempotentParameterMismatch');
  return previous ? structuredClone(previous.output) : undefined;
}

function remember<Output>(
  byToken: ByToken<Output>,
  token: string | undefined,
  input: unknown,
  output: Output,
): void {
  if (token !== undefined)
    byToken.set(token, { input: JSON.stringify(input), output: structuredClone(output) });
}

export class FakeEc2 {
  readonly instances = new Map<string, FakeInstance>();
  /** CreateFleet calls that launched (token seen for the first time). */
  readonly fleetsLaunched: CreateFleetCommandInput[] = [];
  readonly ec2: AwsClientStub<EC2Client>;
  readonly client = new EC2Client({ region: 'eu-west-1' });
  private readonly fleetsByToken: ByToken<CreateFleetCommandOutput> = new Map();
  private readonly runsByToken: ByToken<RunInstancesCommandOutput> = new Map();
  /** RunInstances calls that launched (token seen for the first time). */
  readonly runsLaunched: RunInstancesCommandInput[] = [];
  /** Stopped instances EC2 can still start (default unlimited). */
  startCapacity = Number.POSITIVE_INFINITY;
  private readonly capacity: Record<Lifecycle, number>;
  private readonly templates?: Readonly<Record<string, number>>;
  private readonly now: () => Date;
  private readonly pageSize: number;
  private nextId = 0x1000;

  constructor(options: FakeEc2Options = {}) {
    this.now = options.now ?? (() => new Date('2026-01-05T09:00:00Z'));
    this.pageSize = options.pageSize ?? 1000;
    if (options.templates) this.templates = options.templates;
    this.capacity = {
      spot: options.capacity?.spot ?? Number.POSITIVE_INFINITY,
      'on-demand': options.capacity?.['on-demand'] ?? Number.POSITIVE_INFINITY,
    };
    // mockClient on the instance, not the class, so parallel fakes in one file do not share behaviour.
    this.ec2 = mockClient(this.client);
    this.ec2.on(CreateFleetCommand).callsFake((input) => this.createFleet(input));
    this.ec2.on(DescribeInstancesCommand).callsFake((input) => this.describeInstances(input));
    this.ec2.on(TerminateInstancesCommand).callsFake((input) => this.terminateInstances(input));
    this.ec2.on(CreateTagsCommand).callsFake((input) => this.createTags(input));
    this.ec2.on(RunInstancesCommand).callsFake((input) => this.runInstances(input));
    this.ec2.on(StartInstancesCommand).callsFake((input) => this.startInstances(input));
    this.ec2.on(DescribeLaunchTemplatesCommand).callsFake((input) => this.describeLaunchTemplates(input));
  }

  /** The production fleet adapter for this stack's pools, over this fake EC2. */
  fleetFor(config: Pick<Config, 'stack' | 'pools'>): FleetPort {
    return createEc2Fleet({ client: this.client, stack: config.stack, pools: config.pools });
  }

  /** World side: an instance EC2 holds that none of these calls launched (e.g. another stack's). */
  addInstance(tags: Record<string, string>, state: State = 'running'): string {
    const id = this.newId();
    this.instances.set(id, {
      id,
      reservationId: `r-${id.slice(2)}`,
      state,
      lifecycle: 'on-demand',
      launchTime: this.now(),
      shutdownBehavior: 'stop',
      instanceType: 'm7i.large',
      subnetId: 'subnet-0a',
      tags: new Map(Object.entries(tags)),
    });
    return id;
  }

  /** World side: the instance finished booting. */
  markRunning(id: string): void {
    const instance = this.instances.get(id);
    if (instance?.state === 'pending') instance.state = 'running';
  }

  /**
   * World side: the instance shuts down from inside (its user data's `poweroff`): it stops or terminates as
   * its shutdown behaviour says, with StateReason Client.InstanceInitiatedShutdown.
   */
  powerOff(id: string): void {
    const instance = this.instances.get(id);
    if (!instance || (instance.state !== 'running' && instance.state !== 'pending')) return;
    instance.state = instance.shutdownBehavior === 'stop' ? 'stopped' : 'terminated';
    instance.stateReasonCode = 'Client.InstanceInitiatedShutdown';
  }

  /** World side: someone stops the instance through the API (StateReason Client.UserInitiatedShutdown). */
  stopByUser(id: string): void {
    const instance = this.instances.get(id);
    if (!instance || (instance.state !== 'running' && instance.state !== 'pending')) return;
    instance.state = 'stopped';
    instance.stateReasonCode = 'Client.UserInitiatedShutdown';
  }

  /** Instances not yet terminated. */
  live(): FakeInstance[] {
    return [...this.instances.values()].filter(
      (instance) => instance.state === 'pending' || instance.state === 'running',
    );
  }

  /** The runner names of the instances not yet terminated (`<stack>-<instance id>`), sorted. */
  liveRunnerNames(stack: string): string[] {
    return this.live()
      .map((instance) => runnerNameFor(stack, instance.id))
      .sort();
  }

  createFleet(input: CreateFleetCommandInput): CreateFleetCommandOutput {
    if (input.Type !== 'instant') throw ec2Error('InvalidParameterValue');
    const replayed = replay(this.fleetsByToken, input.ClientToken, input);
    if (replayed) return replayed;
    const lifecycle = (input.TargetCapacitySpecification?.DefaultTargetCapacityType ??
      'on-demand') as Lifecycle;
    const requested = input.TargetCapacitySpecification?.TotalTargetCapacity ?? 0;
    const granted = Math.min(requested, this.capacity[lifecycle]);
    this.capacity[lifecycle] -= granted;
    const override = input.LaunchTemplateConfigs?.[0]?.Overrides?.[0] ?? {};
    const { reservationId, ids } = this.launchPending(granted, {
      lifecycle,
      // CreateFleet cannot set it: the launch template's (the example's is terminate).
      shutdownBehavior: 'terminate',
      instanceType: override.InstanceType,
      subnetId: override.SubnetId,
      tagSpecifications: input.TagSpecifications,
    });
    const output: CreateFleetCommandOutput = {
      $metadata: {},
      FleetId: `fleet-${reservationId.slice(2)}`,
      Instances:
        ids.length > 0
          ? [{ InstanceIds: ids, InstanceType: override.InstanceType, Lifecycle: lifecycle }]
          : [],
      Errors:
        granted < requested
          ? [
              {
                ErrorCode: 'InsufficientInstanceCapacity',
                ErrorMessage:
                  'We currently do not have sufficient capacity in the Availability Zone you requested.',
                Lifecycle: lifecycle,
                LaunchTemplateAndOverrides: { Overrides: override },
              },
            ]
          : [],
    };
    this.fleetsLaunched.push(input);
    remember(this.fleetsByToken, input.ClientToken, input, output);
    return output;
  }

  describeInstances(input: DescribeInstancesCommandInput): DescribeInstancesCommandOutput {
    const matching = [...this.instances.values()].filter((instance) =>
      (input.Filters ?? []).every((filter) => {
        const values = filter.Values ?? [];
        if (filter.Name === 'instance-state-name') return values.includes(instance.state);
        if (filter.Name?.startsWith('tag:'))
          return values.includes(instance.tags.get(filter.Name.slice(4)) ?? '');
        throw ec2Error('InvalidParameterValue', 400, `fake EC2 does not know filter ${filter.Name}`);
      }),
    );
    const size = Math.min(input.MaxResults ?? 1000, this.pageSize);
    const start = input.NextToken ? Number(input.NextToken) : 0;
    const page = matching.slice(start, start + size);
    const byReservation = new Map<string, Ec2Instance[]>();
    for (const instance of page) {
      const group = byReservation.get(instance.reservationId) ?? [];
      group.push({
        InstanceId: instance.id,
        State: { Name: instance.state },
        ...(instance.stateReasonCode
          ? {
              StateReason: { Code: instance.stateReasonCode, Message: `${instance.stateReasonCode}: (fake)` },
            }
          : {}),
        LaunchTime: instance.launchTime,
        InstanceType: instance.instanceType as Ec2Instance['InstanceType'],
        SubnetId: instance.subnetId,
        Tags: [...instance.tags].map(([Key, Value]) => ({ Key, Value })),
      });
      byReservation.set(instance.reservationId, group);
    }
    return {
      $metadata: {},
      Reservations: [...byReservation].map(([ReservationId, Instances]) => ({ ReservationId, Instances })),
      ...(start + size < matching.length ? { NextToken: String(start + size) } : {}),
    };
  }

  terminateInstances(input: TerminateInstancesCommandInput) {
    const ids = input.InstanceIds ?? [];
    if (ids.length === 0 || ids.length > 1000) throw ec2Error('InvalidParameterValue');
    this.assertKnown(ids);
    const TerminatingInstances = ids.map((id) => {
      const instance = this.instances.get(id) as FakeInstance;
      const previous = instance.state;
      instance.state = 'terminated';
      return { InstanceId: id, PreviousState: { Name: previous }, CurrentState: { Name: instance.state } };
    });
    return { $metadata: {}, TerminatingInstances };
  }

  createTags(input: CreateTagsCommandInput) {
    const ids = input.Resources ?? [];
    if (ids.length === 0 || ids.length > 1000) throw ec2Error('InvalidParameterValue');
    this.assertKnown(ids);
    for (const id of ids) {
      const instance = this.instances.get(id) as FakeInstance;
      for (const tag of input.Tags ?? []) instance.tags.set(tag.Key ?? '', tag.Value ?? '');
    }
    return { $metadata: {} };
  }

  runInstances(input: RunInstancesCommandInput): RunInstancesCommandOutput {
    const replayed = replay(this.runsByToken, input.ClientToken, input);
    if (replayed) return replayed;
    const min = input.MinCount ?? 1;
    const max = input.MaxCount ?? 1;
    if (min < 1 || max < min) throw ec2Error('InvalidParameterValue');
    const lifecycle: Lifecycle = input.InstanceMarketOptions?.MarketType === 'spot' ? 'spot' : 'on-demand';
    const granted = Math.min(max, this.capacity[lifecycle]);
    // Fewer than MinCount: nothing at all, and the call fails.
    if (granted < min) throw ec2Error('InsufficientInstanceCapacity', 500);
    this.capacity[lifecycle] -= granted;
    const { reservationId, ids } = this.launchPending(granted, {
      lifecycle,
      shutdownBehavior: input.InstanceInitiatedShutdownBehavior === 'terminate' ? 'terminate' : 'stop',
      instanceType: input.InstanceType,
      subnetId: input.SubnetId,
      tagSpecifications: input.TagSpecifications,
    });
    const output: RunInstancesCommandOutput = {
      $metadata: {},
      ReservationId: reservationId,
      Instances: ids.map((id) => ({ InstanceId: id, State: { Name: 'pending' } })),
    };
    this.runsLaunched.push(input);
    remember(this.runsByToken, input.ClientToken, input, output);
    return output;
  }

  startInstances(input: StartInstancesCommandInput) {
    const ids = input.InstanceIds ?? [];
    if (ids.length === 0) throw ec2Error('InvalidParameterValue');
    this.assertKnown(ids);
    for (const id of ids) {
      const state = this.instances.get(id)?.state;
      if (state !== 'stopped' && state !== 'pending' && state !== 'running')
        throw ec2Error(
          'IncorrectInstanceState',
          400,
          `The instance '${id}' is not in a state from which it can be started.`,
        );
    }
    const toStart = ids.filter((id) => this.instances.get(id)?.state === 'stopped');
    if (toStart.length > this.startCapacity) throw ec2Error('InsufficientInstanceCapacity', 500);
    this.startCapacity -= toStart.length;
    const StartingInstances = ids.map((id) => {
      const instance = this.instances.get(id) as FakeInstance;
      const previous = instance.state;
      if (previous === 'stopped') {
        instance.state = 'pending';
        instance.launchTime = this.now();
        delete instance.stateReasonCode;
      }
      return { InstanceId: id, PreviousState: { Name: previous }, CurrentState: { Name: instance.state } };
    });
    return { $metadata: {}, StartingInstances };
  }

  describeLaunchTemplates(input: DescribeLaunchTemplatesCommandInput) {
    const names = [...(input.LaunchTemplateIds ?? []), ...(input.LaunchTemplateNames ?? [])];
    const LaunchTemplates = names.map((name) => {
      const latest = this.templates ? this.templates[name] : 1;
      if (latest === undefined)
        throw ec2Error(
          name.startsWith('lt-')
            ? 'InvalidLaunchTemplateId.NotFound'
            : 'InvalidLaunchTemplateName.NotFoundException',
        );
      return {
        ...(name.startsWith('lt-') ? { LaunchTemplateId: name } : { LaunchTemplateName: name }),
        LatestVersionNumber: latest,
        DefaultVersionNumber: 1,
      };
    });
    return { $metadata: {}, LaunchTemplates };
  }

  /** `count` pending instances in one new reservation, as one launch call makes them. */
  private launchPending(
    count: number,
    launch: {
      lifecycle: Lifecycle;
      shutdownBehavior: FakeInstance['shutdownBehavior'];
      instanceType: string | undefined;
      subnetId: string | undefined;
      tagSpecifications: readonly TagSpecification[] | undefined;
    },
  ): { reservationId: string; ids: string[] } {
    const tags = launch.tagSpecifications?.find((spec) => spec.ResourceType === 'instance')?.Tags ?? [];
    const reservationId = `r-${(this.nextId + 1).toString(16).padStart(17, '0')}`;
    const ids: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const id = this.newId();
      ids.push(id);
      this.instances.set(id, {
        id,
        reservationId,
        state: 'pending',
        lifecycle: launch.lifecycle,
        launchTime: this.now(),
        shutdownBehavior: launch.shutdownBehavior,
        instanceType: launch.instanceType ?? 'm7i.large',
        subnetId: launch.subnetId ?? 'subnet-0a',
        tags: new Map(tags.map((tag) => [tag.Key ?? '', tag.Value ?? ''])),
      });
    }
    return { reservationId, ids };
  }

  /** One unknown id fails the whole call, as in EC2. */
  private assertKnown(ids: readonly string[]): void {
    const unknown = ids.find((id) => !this.instances.has(id));
    if (unknown)
      throw ec2Error('InvalidInstanceID.NotFound', 400, `The instance ID '${unknown}' does not exist`);
  }

  private newId(): string {
    this.nextId += 1;
    return `i-${this.nextId.toString(16).padStart(17, '0')}`;
  }
}
