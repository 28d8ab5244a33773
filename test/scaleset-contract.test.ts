import { RequestMeter } from '../bench/sim/requests.ts';
import { SimScaleSets } from '../bench/sim/scale-sets.ts';
import { startGitHubStandin } from '../local/github-standin/server.ts';
import { scaleSetContract } from './scaleset-contract.ts';
import { scaleSetClientFor } from './support/github-fixtures.ts';

scaleSetContract('HTTP client on the stand-in', async (world) => {
  const token = 'contract-token';
  const standin = await startGitHubStandin({
    state: world.github,
    token,
    secondaryLimits: false,
    pathPrefix: '/api/v3',
    // A short long poll: the cases poll until a message comes.
    actions: { service: world.actions, longPollMs: 50 },
  });
  const scaleSets = scaleSetClientFor(standin, token, world.agenda.now);
  return { scaleSets, world, close: () => standin.close() };
});

scaleSetContract('simulated port over the world', async (world) => {
  const meter = new RequestMeter(() => world.nowMs);
  return { scaleSets: new SimScaleSets(world, meter), world };
});
