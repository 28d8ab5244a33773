/** The fleet inside Lambda: EC2 (CreateFleet, DescribeInstances, TerminateInstances, CreateTags). */
import { EC2Client } from '@aws-sdk/client-ec2';
import { createEc2Fleet } from '../../adapters/ec2-fleet.ts';
import type { FleetPort } from '../../ports/fleet.ts';
import type { WiringContext } from './context.ts';

export function lambdaFleet({ config }: WiringContext): FleetPort {
  return createEc2Fleet({ client: new EC2Client({}), stack: config.stack, pools: config.pools });
}
