/**
 * A tiny stateful EC2 behind `aws-sdk-client-mock`: just enough of CreateFleet (instant, client-token
 * dedupe, capacity per lifecycle), DescribeInstances (tag and state filters, NextToken pages),
 * TerminateInstances and CreateTags for the EC2 fleet adapter to be tested against behaviour, not only
 * against recorded inputs.
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
  EC2Client,
  EC2ServiceException,
  type Instance as Ec2Instance,
  TerminateInstancesCommand,
  type TerminateInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { createEc2Fleet } from '../../functions/adapters/ec2-fleet.ts';
import type { Config } from '../../functions/config/config.ts';
import type { FleetPort } from '../../functions/ports/fleet.ts';

type Lifecycle = 'spot' | 'on-demand';
type State = 'pending' | 'running' | 'shutting-down' | 'terminated';

export interface FakeInstance {
  readonly id: string;
  readonly reservationId: string;
  state: State;
  readonly lifecycle: Lifecycle;
  readonly launchTime: Date;
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

export class FakeEc2 {
  readonly instances = new Map<string, FakeInstance>();
  /** CreateFleet calls that launched (token seen for the first time). */
  readonly fleetsLaunched: CreateFleetCommandInput[] = [];
  readonly ec2: AwsClientStub<EC2Client>;
  readonly client = new EC2Client({ region: 'eu-west-1' });
  private readonly fleetsByToken = new Map<string, { input: string; output: CreateFleetCommandOutput }>();
  private readonly capacity: Record<Lifecycle, number>;
  private readonly now: () => Date;
  private readonly pageSize: number;
  private nextId = 0x1000;

  constructor(options: FakeEc2Options = {}) {
    this.now = options.now ?? (() => new Date('2026-01-05T09:00:00Z'));
    this.pageSize = options.pageSize ?? 1000;
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

  /** Instances not yet terminated. */
  live(): FakeInstance[] {
    return [...this.instances.values()].filter(
      (instance) => instance.state === 'pending' || instance.state === 'running',
    );
  }

  createFleet(input: CreateFleetCommandInput): CreateFleetCommandOutput {
    if (input.Type !== 'instant') throw ec2Error('InvalidParameterValue');
    const token = input.ClientToken;
    if (token !== undefined) {
      if (token.length > 64) throw ec2Error('InvalidParameterValue', 400, 'ClientToken longer than 64');
      const previous = this.fleetsByToken.get(token);
      // EC2's idempotency: the same token with the same parameters answers with the first call's result;
      // with different parameters it refuses.
      if (previous && previous.input !== JSON.stringify(input)) throw ec2Error('IdempotentParameterMismatch');
      if (previous) return structuredClone(previous.output);
    }
    const lifecycle = (input.TargetCapacitySpecification?.DefaultTargetCapacityType ??
      'on-demand') as Lifecycle;
    const requested = input.TargetCapacitySpecification?.TotalTargetCapacity ?? 0;
    const granted = Math.min(requested, this.capacity[lifecycle]);
    this.capacity[lifecycle] -= granted;
    const override = input.LaunchTemplateConfigs?.[0]?.Overrides?.[0] ?? {};
    const tags = input.TagSpecifications?.find((spec) => spec.ResourceType === 'instance')?.Tags ?? [];
    const reservationId = `r-${(this.nextId + 1).toString(16).padStart(17, '0')}`;
    const ids: string[] = [];
    for (let i = 0; i < granted; i += 1) {
      const id = this.newId();
      ids.push(id);
      this.instances.set(id, {
        id,
        reservationId,
        state: 'pending',
        lifecycle,
        launchTime: this.now(),
        instanceType: override.InstanceType ?? 'm7i.large',
        subnetId: override.SubnetId ?? 'subnet-0a',
        tags: new Map(tags.map((tag) => [tag.Key ?? '', tag.Value ?? ''])),
      });
    }
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
    if (token !== undefined) {
      this.fleetsByToken.set(token, { input: JSON.stringify(input), output: structuredClone(output) });
    }
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
    // One unknown id fails the whole call, as in EC2.
    const unknown = ids.find((id) => !this.instances.has(id));
    if (unknown)
      throw ec2Error('InvalidInstanceID.NotFound', 400, `The instance ID '${unknown}' does not exist`);
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
    const unknown = ids.find((id) => !this.instances.has(id));
    if (unknown)
      throw ec2Error('InvalidInstanceID.NotFound', 400, `The instance ID '${unknown}' does not exist`);
    for (const id of ids) {
      const instance = this.instances.get(id) as FakeInstance;
      for (const tag of input.Tags ?? []) instance.tags.set(tag.Key ?? '', tag.Value ?? '');
    }
    return { $metadata: {} };
  }

  private newId(): string {
    this.nextId += 1;
    return `i-${this.nextId.toString(16).padStart(17, '0')}`;
  }
}
