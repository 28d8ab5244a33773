/**
 * Reading this stack's instances from EC2. Instances are found by the stack tag only, so stepscale never
 * counts (or, later, touches) an instance it did not launch. Launch and terminate arrive with the fleet adapter.
 */
import { type EC2Client, type Instance as Ec2Instance, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import type { Instance } from '../core/model.ts';
import { runnerNameFor } from '../core/model.ts';
import type { FleetPort } from '../ports/fleet.ts';

export const tagKeys = {
  stack: 'stepscale:stack',
  pool: 'stepscale:pool',
  runnerName: 'stepscale:runner-name',
  createdAt: 'stepscale:created-at',
} as const;

export type InstanceLister = Pick<FleetPort, 'listInstances'>;

export function createEc2InstanceLister(client: EC2Client, stack: string): InstanceLister {
  return {
    async listInstances() {
      const instances: Instance[] = [];
      const pages = paginateDescribeInstances(
        { client, pageSize: 1000 },
        {
          Filters: [
            { Name: `tag:${tagKeys.stack}`, Values: [stack] },
            { Name: 'instance-state-name', Values: ['pending', 'running'] },
          ],
        },
      );
      for await (const page of pages) {
        for (const reservation of page.Reservations ?? []) {
          for (const ec2Instance of reservation.Instances ?? []) {
            const instance = toInstance(ec2Instance);
            if (instance) instances.push(instance);
          }
        }
      }
      return instances;
    },
  };
}

function toInstance(ec2Instance: Ec2Instance): Instance | undefined {
  const id = ec2Instance.InstanceId;
  const state = ec2Instance.State?.Name;
  const tags = new Map((ec2Instance.Tags ?? []).map((tag) => [tag.Key, tag.Value]));
  const pool = tags.get(tagKeys.pool);
  // Without a pool tag an instance cannot be attributed; it is not one stepscale launched correctly.
  if (!id || !pool || (state !== 'pending' && state !== 'running')) return undefined;
  return {
    id,
    pool,
    state,
    launchedAt: (ec2Instance.LaunchTime ?? new Date(0)).toISOString(),
    runnerName: tags.get(tagKeys.runnerName) ?? runnerNameFor(id),
  };
}
