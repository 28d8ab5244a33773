import { describe, expect, it } from 'vitest';
import { scenarioSchema } from '../local/scenario.ts';
import { Narration, worldForScenario } from '../local/scenario-world.ts';

const x64 = ['self-hosted', 'x64'];
const scenario = scenarioSchema.parse({
  description: 'one build, cancelled while it runs',
  org: 'acme',
  start: '2026-01-05T09:00:00Z',
  repositories: ['api'],
  bootSeconds: { x64: 20 },
  cycles: [0],
  config: {},
  events: [
    {
      type: 'run',
      at: 0,
      key: 'build',
      repo: 'api',
      jobs: [
        { labels: x64, durationSeconds: 30 },
        { labels: ['ubuntu-latest'], durationSeconds: 10 },
      ],
    },
    { type: 'cancel', at: 40, run: 'build' },
  ],
});

describe('Function: worldForScenario', () => {
  it('plays the scenario’s runs and cancellations on the world, and narrates what happened', async () => {
    // Prepare: two instances launched at the start; only the first gets a registration and a config.
    const world = worldForScenario(scenario, 'stepscale');
    const narration = new Narration(world);
    world.advanceTo(0);
    const { instanceIds } = await world.fleet.launch({
      pool: 'x64',
      count: 2,
      clientToken: 't',
      createdAt: '',
    });
    const [configured, forgotten] = instanceIds as [string, string];
    const runnerName = `stepscale-${configured}`;
    world.github.registerRunner({ name: runnerName, labels: x64, status: 'offline', ephemeral: true });
    await world.runnerConfigs.put(configured, 'jit');

    // Act
    world.advanceTo(400_000);

    // Assess
    expect(narration.drain()).toEqual([
      '+0s api: run 1 (queued) with 1 queued [self-hosted, x64], 1 queued [ubuntu-latest]',
      `+20s ${runnerName} online (x64)`,
      `+20s job 1 started on ${runnerName} after 20s in the queue`,
      '+40s run 1 cancelled by a user',
      `+300s ${forgotten} found no runner config within 300s of its launch and shut down`,
    ]);
    // The hosted job ran on GitHub's capacity; the cancelled job's runner left and took its machine along.
    expect(world.github.getJob(2)).toMatchObject({ status: 'completed', conclusion: 'success' });
    expect(world.github.getJob(1)).toMatchObject({ status: 'completed', conclusion: 'cancelled' });
    expect(world.github.listRunners()).toEqual([]);
    expect(world.fleet.live()).toEqual([]);
  });
});
