/**
 * The FleetPort on EC2: launches with instant `CreateFleet`, lists by the stack tag, terminates and marks
 * orphans in batches. Every instance it creates carries the stack and pool tags, and every read and write
 * is scoped by them, so stepscale never touches an instance it did not launch.
 *
 * Warm pools: a prepare launch is a `RunInstances` with `InstanceInitiatedShutdownBehavior: stop`, which
 * overrides the launch template's `terminate` (RunInstances: "any additional parameters that you specify for
 * the new instance overwrite the corresponding parameters included in the launch template"); CreateFleet cannot
 * do it, its launch template overrides take instance type, subnet, zone, AMI, weight, priority and price only.
 * A start tags the instance `started` (CreateTags) before `StartInstances`, one instance per call so that a
 * capacity failure is known per instance.
 */

import { createHash } from 'node:crypto';
import {
  type _InstanceType,
  CreateFleetCommand,
  type CreateFleetCommandInput,
  type CreateFleetCommandOutput,
  CreateTagsCommand,
  type DefaultTargetCapacityType,
  type EC2Client,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  StartInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import pLimit from 'p-limit';
import type { PoolConfig } from '../config/config.ts';
import { chunks } from '../core/chunks.ts';
import { FleetCapacityError, FleetRequestError } from '../errors.ts';
import type { FleetPort, LaunchRequest, LaunchResult, PrepareRequest, StartResult } from '../ports/fleet.ts';
import { awsErrorCode, awsFailureKind, isCapacityErrorCode, toFleetError } from './aws-errors.ts';
import { createEc2InstanceLister, tagKeys } from './ec2-instances.ts';

export interface Ec2FleetOptions {
  readonly client: EC2Client;
  /** The stack tag every instance gets and every call is scoped by. */
  readonly stack: string;
  readonly pools: readonly PoolConfig[];
  /** Instance ids per TerminateInstances and CreateTags call, 1–1000 (default {@link defaultBatchSize}). */
  readonly terminateBatchSize?: number;
}

/**
 * Ids per TerminateInstances/CreateTags call. EC2 takes up to 1000 but recommends smaller batches, and one
 * bad id (e.g. not yet visible, EC2 being eventually consistent) fails its whole batch: 500 halves that blast
 * radius while a realistic scale-down (tens to a few hundred instances) still takes one call, which matters
 * more, as these APIs are rate-limited per account.
 */
export const defaultBatchSize = 500;
const maxBatchSize = 1000;

/**
 * `LaunchRequest.clientToken` is at most 48 ASCII characters (EC2 allows 64); the adapter appends one of
 * these per CreateFleet call it makes for the request, so the spot attempt and the on-demand follow-up
 * are each idempotent on their own.
 */
const tokenSuffix = { spot: '-spot', 'on-demand': '-od' } as const satisfies Record<Lifecycle, string>;
const maxRequestTokenLength = 48;

type Lifecycle = Extract<DefaultTargetCapacityType, 'spot' | 'on-demand'>;

/** What one CreateFleet call produced: EC2 reports capacity it could not find in `Errors`, not by throwing. */
interface Attempt {
  readonly instanceIds: string[];
  readonly errorCodes: string[];
}

/**
 * Creates the EC2 fleet adapter. Failures leave as the Fleet*Error classes (functions/errors.ts, classified in
 * aws-errors.ts); capacity shortfalls do not fail: they come back in {@link LaunchResult.missing} and
 * {@link LaunchResult.errors}.
 *
 * Idempotency: a launch sends `ClientToken` = request token + `-spot`/`-od`. Retrying a request (a Step
 * Functions retry of ScaleUp, or a duplicated cycle) sends the same tokens, and EC2 answers with the first
 * call's fleet and instances instead of launching again. That is the whole guard: results are not cached
 * in process, because a retry usually runs in a fresh Lambda invocation and only EC2 knows what the first
 * attempt launched. EC2 refuses a repeated token whose parameters changed (IdempotentParameterMismatch),
 * and a tag is a parameter: so the `created-at` tag comes from the request (the cycle's start time), not
 * from a clock here, and a retry in any container sends exactly the first call's parameters.
 */
export function createEc2Fleet(options: Ec2FleetOptions): FleetPort {
  const { client, stack } = options;
  const batchSize = options.terminateBatchSize ?? defaultBatchSize;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > maxBatchSize) {
    throw new RangeError(`terminateBatchSize must be an integer from 1 to ${maxBatchSize}, got ${batchSize}`);
  }
  const pools = new Map(options.pools.map((pool) => [pool.name, pool]));
  const lister = createEc2InstanceLister(client, stack, options.pools);

  async function createFleet(
    pool: PoolConfig,
    count: number,
    lifecycle: Lifecycle,
    clientToken: string,
    createdAt: string,
  ): Promise<Attempt> {
    const input = createFleetInput({ stack, pool, count, lifecycle, clientToken, createdAt });
    let output: CreateFleetCommandOutput;
    try {
      output = await client.send(new CreateFleetCommand(input));
    } catch (error) {
      const failure = toFleetError(
        error,
        `launching ${count} ${lifecycle} instance(s) for pool "${pool.name}"`,
      );
      // A call refused outright for capacity launched nothing: that is a shortfall to report (and maybe to
      // fill on-demand), not a failure of the task.
      if (failure instanceof FleetCapacityError && failure.code)
        return { instanceIds: [], errorCodes: [failure.code] };
      throw failure;
    }
    return {
      instanceIds: (output.Instances ?? []).flatMap((launched) => launched.InstanceIds ?? []),
      errorCodes: (output.Errors ?? []).map((error) => error.ErrorCode ?? 'UnknownError'),
    };
  }

  /** Tags one stopped warm instance `started`, then starts it; a per-instance refusal is its own outcome. */
  async function startOne(
    instanceId: string,
  ): Promise<{ ok: true } | { ok: false; code: string; capacity: boolean }> {
    try {
      await client.send(
        new CreateTagsCommand({ Resources: [instanceId], Tags: [{ Key: tagKeys.warm, Value: 'started' }] }),
      );
      await client.send(new StartInstancesCommand({ InstanceIds: [instanceId] }));
      return { ok: true };
    } catch (error) {
      const code = awsErrorCode(error) ?? 'UnknownError';
      // Capacity first: EC2 may answer InsufficientInstanceCapacity with a 500.
      if (isCapacityErrorCode(code)) return { ok: false, code, capacity: true };
      // Throttling and outages fail the task (Step Functions retries it: tagging and starting again is
      // harmless); a refusal (gone, wrong state, not allowed) is this instance's alone.
      if (awsFailureKind(error) !== 'refused') throw toFleetError(error, `starting instance ${instanceId}`);
      return { ok: false, code, capacity: false };
    }
  }

  /**
   * The pool a launch or prepare request is for, after checking the request: an unknown pool or a bad client
   * token is refused; undefined when it asks for nothing (no call to EC2).
   */
  function checkedRequest(
    doing: 'launching' | 'preparing',
    request: { readonly pool: string; readonly count: number; readonly clientToken: string },
  ): PoolConfig | undefined {
    const pool = pools.get(request.pool);
    if (!pool) throw new FleetRequestError(`${doing}: unknown pool "${request.pool}"`, undefined);
    checkClientToken(request.clientToken);
    return request.count > 0 ? pool : undefined;
  }

  return {
    listInstances: () => lister.listInstances(),
    templateVersions: (poolNames) => lister.templateVersions(poolNames),

    async prepare(request: PrepareRequest): Promise<LaunchResult> {
      const pool = checkedRequest('preparing', request);
      if (!pool) return { instanceIds: [], missing: 0, errors: [] };
      const input = prepareInput({ stack, pool, request });
      let instanceIds: string[] = [];
      let errors: string[] = [];
      try {
        const output = await client.send(new RunInstancesCommand(input));
        instanceIds = (output.Instances ?? []).flatMap((instance) => instance.InstanceId ?? []);
      } catch (error) {
        const failure = toFleetError(
          error,
          `preparing ${request.count} warm instance(s) for pool "${pool.name}"`,
        );
        if (!(failure instanceof FleetCapacityError && failure.code)) throw failure;
        errors = [failure.code];
      }
      return { instanceIds, missing: Math.max(0, request.count - instanceIds.length), errors };
    },

    async start(instanceIds: readonly string[]): Promise<StartResult> {
      const limit = pLimit(4);
      const unique = [...new Set(instanceIds)];
      const outcomes = await Promise.all(unique.map((id) => limit(() => startOne(id))));
      const result: StartResult = { started: [], failed: [] };
      outcomes.forEach((outcome, index) => {
        const instanceId = unique[index] as string;
        if (outcome.ok) result.started.push(instanceId);
        else result.failed.push({ instanceId, code: outcome.code, capacity: outcome.capacity });
      });
      return result;
    },

    async launch(request: LaunchRequest): Promise<LaunchResult> {
      const pool = checkedRequest('launching', request);
      if (!pool) return { instanceIds: [], missing: 0, errors: [] };
      const { createdAt } = request;

      const lifecycle: Lifecycle = pool.capacity === 'on-demand' ? 'on-demand' : 'spot';
      const firstToken = `${request.clientToken}${tokenSuffix[lifecycle]}`;
      const first = await createFleet(pool, request.count, lifecycle, firstToken, createdAt);
      const attempts = [first];
      const shortfall = request.count - first.instanceIds.length;
      // Only capacity is worth another try on-demand: any other error (a bad override, a permission) would
      // fail the same way. The follow-up asks for the missing count only, so the pool's total stays bounded,
      // and on a retry it asks for the same count again (the spot answer is replayed), keeping its token valid.
      if (
        pool.capacity === 'spot-with-fallback' &&
        shortfall > 0 &&
        first.errorCodes.some(isCapacityErrorCode)
      ) {
        const fallbackToken = `${request.clientToken}${tokenSuffix['on-demand']}`;
        attempts.push(await createFleet(pool, shortfall, 'on-demand', fallbackToken, createdAt));
      }

      const instanceIds = attempts.flatMap((attempt) => attempt.instanceIds);
      const errors = [...new Set(attempts.flatMap((attempt) => attempt.errorCodes))];
      // Nothing launched and no capacity in sight: the request itself is wrong (e.g. every override invalid).
      // Failing loudly beats reporting it as a shortfall that the next cycle would repeat forever.
      if (instanceIds.length === 0 && errors.length > 0 && !errors.some(isCapacityErrorCode)) {
        throw new FleetRequestError(
          `launching ${request.count} instance(s) for pool "${pool.name}" failed: ${errors.join(', ')}`,
          errors[0],
        );
      }
      return { instanceIds, missing: Math.max(0, request.count - instanceIds.length), errors };
    },

    async terminate(instanceIds: readonly string[]): Promise<void> {
      for (const batch of batches(instanceIds, batchSize)) {
        try {
          await client.send(new TerminateInstancesCommand({ InstanceIds: batch }));
        } catch (error) {
          throw toFleetError(error, `terminating ${batch.length} instance(s)`);
        }
      }
    },

    async markOrphaned(instanceIds: readonly string[], at: Date): Promise<void> {
      const Tags = [{ Key: tagKeys.orphanedSince, Value: at.toISOString() }];
      for (const batch of batches(instanceIds, batchSize)) {
        try {
          await client.send(new CreateTagsCommand({ Resources: batch, Tags }));
        } catch (error) {
          throw toFleetError(error, `tagging ${batch.length} orphaned instance(s)`);
        }
      }
    },
  };
}

/**
 * One instant CreateFleet request. Instant CreateFleet rather than RunInstances because one call covers
 * every instance type × subnet of the pool (EC2 picks where capacity is, instead of us looping over
 * RunInstances per type and subnet), spot and on-demand go through the same API, and a partial launch is
 * reported in `Errors` next to the instances it did get, instead of an all-or-nothing failure.
 */
export function createFleetInput(args: {
  stack: string;
  pool: PoolConfig;
  count: number;
  lifecycle: Lifecycle;
  clientToken: string;
  createdAt: string;
}): CreateFleetCommandInput {
  const { stack, pool, count, lifecycle, clientToken, createdAt } = args;
  return {
    Type: 'instant',
    ClientToken: clientToken,
    LaunchTemplateConfigs: [
      {
        LaunchTemplateSpecification: { ...launchTemplateOf(pool), Version: '$Latest' },
        // The SDK's instance-type union lags new EC2 types; config has already checked the shape.
        Overrides: pool.instanceTypes.flatMap((instanceType) =>
          pool.subnets.map((SubnetId) => ({ InstanceType: instanceType as _InstanceType, SubnetId })),
        ),
      },
    ],
    TargetCapacitySpecification: { TotalTargetCapacity: count, DefaultTargetCapacityType: lifecycle },
    // Spot: the pools least likely to be interrupted among the cheapest. On-demand: cheapest first.
    SpotOptions: { AllocationStrategy: 'price-capacity-optimized' },
    OnDemandOptions: { AllocationStrategy: 'lowest-price' },
    // Instant fleets accept `instance` (and `fleet`) here, not `volume`: volume tags belong in the launch
    // template. The stack tag is what every later read and write filters on.
    TagSpecifications: [
      {
        ResourceType: 'instance',
        Tags: instanceTags(stack, pool, createdAt),
      },
    ],
  };
}

/** A pool's launch template as EC2 names it: an `lt-` id, or else a name. */
function launchTemplateOf(pool: PoolConfig) {
  return pool.launchTemplate.startsWith('lt-')
    ? { LaunchTemplateId: pool.launchTemplate }
    : { LaunchTemplateName: pool.launchTemplate };
}

/** The tags every instance of this stack is launched with: what every later read and write filters on. */
function instanceTags(stack: string, pool: PoolConfig, createdAt: string) {
  return [
    { Key: tagKeys.stack, Value: stack },
    { Key: tagKeys.pool, Value: pool.name },
    { Key: tagKeys.createdAt, Value: createdAt },
  ];
}

/**
 * One RunInstances for a prepare launch: on-demand (a one-time spot instance cannot be stopped), shutdown
 * behaviour `stop`, tagged preparing. MinCount 1 and MaxCount the count: EC2 launches as many as it can above
 * the minimum and the shortfall is reported. One instance type and subnet per call: the pool's pairs in turn,
 * chosen by the client token, so successive cycles try them all and a retry sends exactly the same request.
 */
export function prepareInput(args: {
  stack: string;
  pool: PoolConfig;
  request: PrepareRequest;
}): RunInstancesCommandInput {
  const { stack, pool, request } = args;
  const overrides = pool.instanceTypes.flatMap((instanceType) =>
    pool.subnets.map((subnet) => ({ instanceType, subnet })),
  );
  const pick = createHash('sha256').update(request.clientToken).digest().readUInt32BE(0) % overrides.length;
  const { instanceType, subnet } = overrides[pick] ?? {
    instanceType: pool.instanceTypes[0],
    subnet: pool.subnets[0],
  };
  return {
    ClientToken: `${request.clientToken}-warm`,
    MinCount: 1,
    MaxCount: request.count,
    LaunchTemplate: {
      ...launchTemplateOf(pool),
      Version: request.templateVersion === undefined ? '$Latest' : String(request.templateVersion),
    },
    InstanceType: instanceType as _InstanceType,
    SubnetId: subnet,
    InstanceInitiatedShutdownBehavior: 'stop',
    TagSpecifications: [
      {
        ResourceType: 'instance',
        Tags: [
          ...instanceTags(stack, pool, request.createdAt),
          { Key: tagKeys.warm, Value: 'preparing' },
          ...(request.templateVersion === undefined
            ? []
            : [{ Key: tagKeys.templateVersion, Value: String(request.templateVersion) }]),
        ],
      },
    ],
  };
}

function checkClientToken(token: string): void {
  // EC2 tokens are printable ASCII; the port promises at most 48 so the suffixes fit EC2's 64.
  if (!/^[\x21-\x7e]+$/.test(token) || token.length > maxRequestTokenLength) {
    throw new FleetRequestError(
      `launching: client token must be 1-${maxRequestTokenLength} printable ASCII characters, got "${token}"`,
      undefined,
    );
  }
}

/** Unique ids in batches of `size`; nothing for an empty list, so no empty (invalid) call is ever sent. */
export function batches(ids: readonly string[], size: number): string[][] {
  return chunks([...new Set(ids)], size);
}
