/**
 * Reading this stack's instances from EC2. Instances are found by the stack tag only, so stepscale never
 * counts (or touches) an instance it did not launch. The fleet adapter (ec2-fleet.ts) uses this lister for
 * its read side; `stepscale plan` uses it alone, with read-only credentials.
 */
import { type EC2Client, type Instance as Ec2Instance, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import type { Instance } from '../core/model.ts';
import { runnerNameFor } from '../core/model.ts';
import type { FleetPort } from '../ports/fleet.ts';
import { toFleetError } from './aws-errors.ts';

/** The tags stepscale writes on its instances; the stack tag is the only ownership test. */
export const tagKeys = {
  stack: 'stepscale:stack',
  pool: 'stepscale:pool',
  runnerName: 'stepscale:runner-name',
  createdAt: 'stepscale:created-at',
  orphanedSince: 'stepscale:orphaned-since',
} as const;

export type InstanceLister = Pick<FleetPort, 'listInstances'>;

/**
 * DescribeInstances page size: EC2's maximum, so even a large fleet is listed in a few calls (DescribeInstances
 * is among the most throttled EC2 APIs).
 */
const describePageSize = 1000;

/** Lists the stack's pending and running instances; failures leave as Fleet*Error (see aws-errors.ts). */
export function createEc2InstanceLister(client: EC2Client, stack: string): InstanceLister {
  return {
    async listInstances() {
      const instances: Instance[] = [];
      const pages = paginateDescribeInstances(
        { client, pageSize: describePageSize },
        {
          Filters: [
            { Name: `tag:${tagKeys.stack}`, Values: [stack] },
            { Name: 'instance-state-name', Values: ['pending', 'running'] },
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
  // The state is re-checked because the filter is the only thing keeping stopping/terminated ones out.
  if (!id || !pool || (state !== 'pending' && state !== 'running')) return undefined;
  const orphanedSince = tags.get(tagKeys.orphanedSince);
  return {
    id,
    pool,
    state,
    launchedAt: (ec2Instance.LaunchTime ?? new Date(0)).toISOString(),
    runnerName: tags.get(tagKeys.runnerName) ?? runnerNameFor(stack, id),
    ...(orphanedSince ? { orphanedSince } : {}),
  };
}
