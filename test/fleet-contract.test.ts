import { createEc2Fleet } from '../functions/adapters/ec2-fleet.ts';
import { MemoryFleet } from '../local/world/fleet.ts';
import { fleetContract } from './fleet-contract.ts';
import { FakeEc2 } from './support/fake-ec2.ts';
import { ec2Pool } from './support/fleet-fixtures.ts';

fleetContract(
  'MemoryFleet',
  ({ stack, pool, now, capacity, templateVersion }) => {
    const fleet = new MemoryFleet({
      stack,
      now,
      ...(capacity === undefined ? {} : { capacityByPool: { [pool]: capacity } }),
    });
    fleet.setTemplateVersion(pool, templateVersion);
    return {
      fleet,
      markRunning: (id) => fleet.markRunning(id),
      powerOff: (id) => {
        fleet.shutDown(id);
        fleet.markStopped(id);
      },
      stopByUser: (id) => {
        fleet.stopInstance(id, 'api');
        fleet.markStopped(id);
      },
      setStartCapacity: (count) => fleet.setStartCapacity(pool, count),
    };
  },
  { foreignInstances: false },
);

fleetContract(
  'EC2 adapter over a fake EC2',
  ({ stack, pool, now, capacity, templateVersion }) => {
    // Spot runs out first and on-demand has nothing either, so the fallback is exercised and still short.
    // Two instances per page, so every listing with more than two instances crosses pages.
    const ec2 = new FakeEc2({
      now,
      pageSize: 2,
      templates: { 'lt-0123456789abcdef0': templateVersion },
      ...(capacity === undefined ? {} : { capacity: { spot: capacity, 'on-demand': 0 } }),
    });
    const poolConfig = ec2Pool({
      name: pool,
      launchTemplate: 'lt-0123456789abcdef0',
      capacity: 'spot-with-fallback',
    });
    const fleet = createEc2Fleet({ client: ec2.client, stack, pools: [poolConfig] });
    return {
      fleet,
      markRunning: (id) => ec2.markRunning(id),
      powerOff: (id) => ec2.powerOff(id),
      stopByUser: (id) => ec2.stopByUser(id),
      setStartCapacity: (count) => {
        ec2.startCapacity = count;
      },
      addForeignInstance: () => {
        ec2.addInstance({ 'stepscale:stack': 'other-stack', 'stepscale:pool': pool });
        ec2.addInstance({ Name: 'not-stepscale' });
      },
    };
  },
  { foreignInstances: true },
);
