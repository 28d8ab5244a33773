import type { PoolConfig } from '../../functions/config/config.ts';

/**
 * A linux-x64 pool as the EC2 adapter launches it: two instance types over two subnets, so every CreateFleet
 * carries four overrides.
 */
export function ec2Pool(overrides: Partial<PoolConfig> = {}): PoolConfig {
  return {
    name: 'linux-x64',
    labels: ['self-hosted', 'linux', 'x64'],
    maxRunners: 10,
    minIdle: 0,
    instanceTypes: ['m7i.large', 'm6i.large'],
    launchTemplate: 'runner-template',
    subnets: ['subnet-0a', 'subnet-0b'],
    capacity: 'spot',
    runnerGroup: 'Default',
    ...overrides,
  };
}
