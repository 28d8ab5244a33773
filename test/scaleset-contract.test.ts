import { RequestMeter } from '../bench/sim/requests.ts';
import { SimScaleSets } from '../bench/sim/scale-sets.ts';
import { createRegistrationTokenSource } from '../functions/adapters/github-registration-token.ts';
import { createScaleSetClient } from '../functions/adapters/scaleset-client.ts';
import { startGitHubStandin } from '../local/github-standin/server.ts';
import { scaleSetContract } from './scaleset-contract.ts';

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
  const scaleSets = createScaleSetClient({
    apiUrl: standin.url,
    configUrl: `${standin.url.replace(/\/api\/v3$/, '')}/acme`,
    registrationToken: createRegistrationTokenSource({
      apiUrl: standin.url,
      org: 'acme',
      auth: { type: 'token', token },
    }),
    now: world.agenda.now,
    retryBaseMs: 1,
  });
  return { scaleSets, world, close: () => standin.close() };
});

scaleSetContract('simulated port over the world', async (world) => {
  const meter = new RequestMeter(() => world.nowMs);
  return { scaleSets: new SimScaleSets(world, meter), world };
});
