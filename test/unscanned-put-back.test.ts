/**
 * Through the real state machine: a collect batch that fails after its retries does not lose its repositories.
 * Those a webhook delivery posted were taken from the inbox by the targeted cycle; they go back in
 * (RecordBatchFailure → AggregateDemand), and the next cycle scans them first.
 */
import { describe, expect, it } from 'vitest';
import { MemoryWebhookInbox } from '../functions/adapters/memory-webhook-inbox.ts';
import { runCycle } from '../functions/executor/cycle-runner.ts';
import { type PackedBatch, unpackBatch } from '../functions/handlers/repository-batches.ts';
import { FakeGitHub, namedError, queuedJobs, testDeps } from './support/fakes.ts';
import { ManualClock } from './support/manual-clock.ts';

describe('a targeted cycle whose collect batch fails', () => {
  it('puts the batch’s repositories back in the inbox, and the next cycle finds their jobs', async () => {
    const clock = new ManualClock('2026-01-05T09:00:00Z');
    const inbox = new MemoryWebhookInbox(clock.now);
    const github = new FakeGitHub();
    for (const repository of ['api', 'docs', 'web']) github.jobsByRepo.set(repository, []);
    github.jobsByRepo.set('web', queuedJobs(2));
    const { deps } = testDeps({ github, webhookInbox: inbox, clock });
    // Deliveries for web and docs joined an execution started for api.
    await inbox.post('api', new Date('2026-01-05T09:00:30Z'));
    await inbox.post('docs', new Date('2026-01-05T09:00:30Z'));
    await inbox.post('web', new Date('2026-01-05T09:00:30Z'));
    let failing = true;

    const targeted = await runCycle({
      deps,
      cycleId: 'webhook-1',
      targets: { repositories: ['api'] },
      wrapTask: (task, handler) => async (input) => {
        const batch = (input as { repositories?: PackedBatch }).repositories;
        const names = batch && task === 'CollectRepositoryJobs' ? unpackBatch(batch) : [];
        if (failing && names.includes('web')) throw namedError('GitHubUnavailableError', '502 Bad Gateway');
        return handler(input);
      },
    });

    expect(targeted.status).toBe('SUCCEEDED');
    // Batches of two, sorted: [api, docs] answered, [web] failed after its retries.
    expect(targeted.output.demand).toMatchObject({ failedRepositories: 1, queuedByPool: { 'linux-x64': 0 } });
    failing = false;
    const next = await runCycle({ deps, cycleId: 'webhook-2', targets: { repositories: ['api'] } });
    expect(next.output.demand).toMatchObject({ failedRepositories: 0, queuedByPool: { 'linux-x64': 2 } });
    expect(next.output.scaleUp).toMatchObject({ launched: 2 });
    expect(await inbox.take()).toEqual([]);
  });
});
