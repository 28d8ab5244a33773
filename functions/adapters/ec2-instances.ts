/**
 * Reading this stack's instances from EC2. Instances are found by the stack tag only, so stepscale never
 * counts (or touches) an instance it did not launch. The fleet adapter (ec2-fleet.ts) uses this reader for
 * its read side; `stepscale plan` uses it alone, with read-only credentials.
 *
 * Stopped and stopping instances are listed too (warm pools, and anything of the stack someone stopped), with
 * why they stopped from EC2's `StateReason` code: `Client.InstanceInitiatedShutdown` (the instance powered
 * itself off) and `Client.UserInitiatedShutdown` (the StopInstances API) — the codes the EC2 API reference
 * lists for StateReason. Launch template versions come from DescribeLaunchTemplates (`LatestVersionNumber`).
 */
import {
  DescribeLaunchTemplatesCommand,
  type EC2Client,
  type Instance as Ec2Instance,
  paginateDescribeInstances,
} from '@aws-sdk/client-ec2';
import type { PoolConfig } from '../config/config.ts';
import type { Instance, StopReason, WarmTag } from '../core/model.ts';
import { runnerNameFor } from '../core/model.ts';
import type { FleetPort } from '../ports/fleet.ts';
import { awsFailureKind, toFleetError } from './aws-errors.ts';

/** The tags stepscale writes on its instances; the stack tag is the only ownership test. */
export const tagKeys = {
  stack: 'stepscale:stack',
  pool: 'stepscale:pool',
  runnerName: 'stepscale:runner-name',
  createdAt: 'stepscale:created-at',
  orphanedSince: 'stepscale:orphaned-since',
  /** `preparing` (launched into the warm pool) or `started` (started from it for a job). */
  warm: 'stepscale:warm',
  /** The launch template version a warm instance was launched from. */
  templateVersion: 'stepscale:template-version',
} as const;

export type InstanceLister = Pick<FleetPort, 'listInstances' | 'templateVersions'>;

/** The states of instances that still exist: everything but shutting-down and terminated. */
const listedStates = ['pending', 'running', 'stopping', 'stopped'] as const;
type ListedState = (typeof listedStates)[number];

/**
 * DescribeInstances page size: EC2's maximum, so even a large fleet is listed in a few calls (DescribeInstances
 * is among the most throttled EC2 APIs).
 */
const describePageSize = 1000;

/**
 * Lists the stack's instances and reads the pools' launch template versions; failures leave as Fleet*Error
 * (see aws-errors.ts).
 */
export function createEc2InstanceLister(
  client: EC2Client,
  stack: string,
  pools: readonly Pick<PoolConfig, 'name' | 'launchTemplate'>[] = [],
): InstanceLister {
  const templates = new Map(pools.map((pool) => [pool.name, pool.launchTemplate]));
  return {
    async templateVersions(poolNames) {
      const versions: Record<string, number> = {};
      // One call per template: a template that is gone (or not readable) fails its own call only.
      for (const pool of poolNames) {
        const template = templates.get(pool);
        if (!template) continue;
        try {
          const output = await client.send(
            new DescribeLaunchTemplatesCommand(
              template.startsWith('lt-')
                ? { LaunchTemplateIds: [template] }
                : { LaunchTemplateNames: [template] },
            ),
          );
          const latest = output.LaunchTemplates?.[0]?.LatestVersionNumber;
          if (typeof latest === 'number') versions[pool] = latest;
        } catch (error) {
          if (awsFailureKind(error) === 'refused') continue;
          throw toFleetError(error, `reading launch template ${template} (DescribeLaunchTemplates)`);
        }
      }
      return versions;
    },
    async listInstances() {
      const instances: Instance[] = [];
      const pages = paginateDescribeInstances(
        { client, pageSize: describePageSize },
        {
          Filters: [
            { Name: `tag:${tagKeys.stack}`, Values: [stack] },
            { Name: 'instance-state-name', Values: [...listedStates] },
          ],
        },
      );
      try {
        for await (const page of pages) {
          for (const reservation of page.Reservations ?? []) {
            for (const ec2Instance of reservation.Instances ?? []) {
              const instance = toInstance(stack, ec2Instance);
              if (instance) instances.push(instance);
            }
          }
        }
      } catch (error) {
        throw toFleetError(error, 'listing instances (DescribeInstances)');
      }
      return instances;
    },
  };
}

function toInstance(stack: string, ec2Instance: Ec2Instance): Instance | undefined {
  const id = ec2Instance.InstanceId;
  const state = ec2Instance.State?.Name;
  const tags = new Map((ec2Instance.Tags ?? []).map((tag) => [tag.Key, tag.Value]));
  const pool = tags.get(tagKeys.pool);
  // Without a pool tag an instance cannot be attributed; it is not one stepscale launched correctly.
  // The state is re-checked because the filter is the only thing keeping terminated ones out.
  if (!id || !pool || !isListedState(state)) return undefined;
  const orphanedSince = tags.get(tagKeys.orphanedSince);
  const launchedAt = (ec2Instance.LaunchTime ?? new Date(0)).toISOString();
  const warm = warmTagOf(tags, launchedAt);
  const stopped = state === 'stopping' || state === 'stopped';
  return {
    id,
    pool,
    state,
    launchedAt,
    runnerName: tags.get(tagKeys.runnerName) ?? runnerNameFor(stack, id),
    ...(orphanedSince ? { orphanedSince } : {}),
    ...(warm ? { warm } : {}),
    ...(stopped ? { stopReason: stopReasonOf(ec2Instance.StateReason?.Code) } : {}),
  };
}

function isListedState(state: string | undefined): state is ListedState {
  return (listedStates as readonly string[]).includes(state ?? '');
}

function warmTagOf(
  tags: ReadonlyMap<string | undefined, string | undefined>,
  launchedAt: string,
): WarmTag | undefined {
  const stage = tags.get(tagKeys.warm);
  if (stage !== 'preparing' && stage !== 'started') return undefined;
  const version = Number(tags.get(tagKeys.templateVersion));
  return {
    stage,
    preparedAt: tags.get(tagKeys.createdAt) ?? launchedAt,
    ...(Number.isInteger(version) && version > 0 ? { templateVersion: version } : {}),
  };
}

export function stopReasonOf(code: string | undefined): StopReason {
  if (code === 'Client.InstanceInitiatedShutdown') return 'instance';
  if (code === 'Client.UserInitiatedShutdown') return 'api';
  return 'other';
}
