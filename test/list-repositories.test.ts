/**
 * ListRepositories and the webhook inbox (handlers/list-repositories.ts): what deliveries posted is taken only
 * by an attempt that goes on to scan it, so an attempt that fails leaves it for its retry or the next cycle.
 */
import { describe, expect, it } from 'vitest';
import { MemoryWebhookInbox } from '../functions/adapters/memory-webhook-inbox.ts';
import { GitHubUnavailableError } from '../functions/errors.ts';
import { listRepositories } from '../functions/handlers/list-repositories.ts';
import { unpackBatch } from '../functions/handlers/repository-batches.ts';
import type { RateLimit } from '../functions/ports/github.ts';
import { FakeGitHub, testDeps } from './support/fakes.ts';
import { ManualClock } from './support/manual-clock.ts';

class FlakyRateLimit extends FakeGitHub {
  failures = 1;
  override async rateLimit(): Promise<RateLimit | undefined> {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new GitHubUnavailableError('GET /rate_limit: 502 Bad Gateway');
    }
    return super.rateLimit();
  }
}

/** Just above the reserve: budget for a couple of scans. */
class ScarceRateLimit extends FakeGitHub {
  override async rateLimit(): Promise<RateLimit | undefined> {
    return { limit: 5000, remaining: 206, resetAt: '2026-01-05T09:30:00Z' };
  }
}

const cycle = { id: 'webhook-1', startedAt: '2026-01-05T09:00:00.000Z', mapConcurrency: 4 };

describe('ListRepositories: the webhook inbox', () => {
  it('a targeted cycle that fails before scanning leaves what other deliveries posted for its retry', async () => {
    const clock = new ManualClock('2026-01-05T09:00:00Z');
    const inbox = new MemoryWebhookInbox(clock.now);
    await inbox.post('web', new Date('2026-01-05T09:00:30Z'));
    await inbox.post('docs', new Date('2026-01-05T09:00:30Z'));
    const github = new FlakyRateLimit();
    for (const repository of ['api', 'docs', 'web']) github.jobsByRepo.set(repository, []);
    const { deps } = testDeps({ github, webhookInbox: inbox, clock });
    const task = listRepositories(deps);
    // Started by a delivery for api; web and docs were posted by deliveries that joined it.
    const event = { cycle, targets: { repositories: ['api'], scaleSets: [] } };

    await expect(task(event)).rejects.toBeInstanceOf(GitHubUnavailableError);
    const retried = await task(event);

    const scanned = retried.batches.flatMap(unpackBatch);
    expect(scanned.sort()).toEqual(['api', 'docs', 'web']);
    expect(await inbox.take()).toEqual([]);
  });
});

describe('ListRepositories: what the budget leaves out', () => {
  it('puts back the repositories deliveries named that the rate-limit budget leaves out of this cycle', async () => {
    const clock = new ManualClock('2026-01-05T09:00:00Z');
    const inbox = new MemoryWebhookInbox(clock.now);
    const named = ['api', 'auth', 'billing', 'docs', 'web'];
    for (const repository of named.slice(1)) await inbox.post(repository, new Date('2026-01-05T09:00:30Z'));
    const github = new ScarceRateLimit();
    for (const repository of [...named, 'tools']) github.jobsByRepo.set(repository, []);
    const { deps } = testDeps({ github, webhookInbox: inbox, clock });

    const output = await listRepositories(deps)({
      cycle,
      targets: { repositories: ['api'], scaleSets: [] },
    });

    const scanned = output.batches.flatMap(unpackBatch);
    expect(scanned.length).toBeGreaterThan(0);
    expect(scanned.length).toBeLessThan(named.length);
    const left = await inbox.take();
    expect([...scanned, ...left].sort()).toEqual(named);
    // Putting back starts nothing: the next delivery still starts an execution.
    expect(await inbox.post('tools', new Date('2026-01-05T09:00:30Z'))).toBe(true);
  });
});
