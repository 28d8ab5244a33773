import { SimGitHub } from '../bench/sim/ports.ts';
import { RequestMeter } from '../bench/sim/requests.ts';
import { createGitHubAdapter } from '../functions/adapters/github-octokit.ts';
import { startGitHubStandin } from '../local/github-standin/server.ts';
import { World } from '../local/world/world.ts';
import { contractOrg, githubContract } from './github-contract.ts';

function contractWorld(): World {
  return new World({
    org: contractOrg,
    stack: 'stepscale',
    start: '2026-01-05T09:00:00.000Z',
    seed: 1,
    bootSeconds: () => ({ mean: 45, jitter: 0 }),
  });
}

githubContract('Octokit adapter on the HTTP stand-in', async () => {
  const world = contractWorld();
  const token = 'contract-token';
  // The routes' answers, not GitHub's pacing of writes (the secondary limits have tests of their own).
  const standin = await startGitHubStandin({ state: world.github, token, secondaryLimits: false });
  const github = createGitHubAdapter({
    apiUrl: standin.url,
    org: contractOrg,
    token,
    minWriteIntervalMs: 0,
    retry: { retryAfterBaseValue: 1 },
  });
  return { github, state: world.github, close: () => standin.close() };
});

githubContract('simulated port over the world', async () => {
  const world = contractWorld();
  const meter = new RequestMeter(() => world.nowMs);
  const github = new SimGitHub(world, meter, { conditional: true, hourlyLimit: 5000 });
  return { github, state: world.github };
});
