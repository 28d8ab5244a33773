/**
 * What every GitHubPort must do, as one suite run against each implementation: the production adapter over
 * HTTP on the stand-in, and the simulated port the benchmark's strategies scale with. Both answer from the
 * world's GitHub (local/world/github.ts), and each case arranges what GitHub holds there, so a difference
 * between them is a difference of the ports, never of two models of GitHub.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { GitHubNotFoundError, GitHubRequestError } from '../functions/errors.ts';
import type { GitHubPort } from '../functions/ports/github.ts';
import type { GitHubState } from '../local/world/github.ts';

/** The organization every case arranges. */
export const contractOrg = 'acme';

/** A port plus the GitHub it answers from. */
export interface GitHubUnderTest {
  readonly github: GitHubPort;
  /** The organization {@link contractOrg} behind the port, to arrange what GitHub holds. */
  readonly state: GitHubState;
  close?(): Promise<void>;
}

const x64 = ['self-hosted', 'linux', 'x64'];

export function githubContract(name: string, make: () => Promise<GitHubUnderTest>): void {
  describe(`GitHubPort contract: ${name}`, () => {
    const opened: GitHubUnderTest[] = [];
    const open = async () => {
      const under = await make();
      opened.push(under);
      return under;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((under) => under.close?.()));
    });

    it('lists every repository that is neither archived nor disabled, across pages', async () => {
      // Prepare
      const { github, state } = await open();
      const active = Array.from({ length: 150 }, (_, i) => `repo-${i + 1}`);
      for (const repo of active) state.addRepo(repo);
      state.addRepo({ name: 'old', archived: true });
      state.addRepo({ name: 'off', disabled: true });

      // Act
      const names = await github.listRepositories();

      // Assess
      expect([...names].sort()).toEqual([...active].sort());
    });

    it('lists the queued jobs no runner was handed yet, of queued and in-progress runs, labels as given', async () => {
      // Prepare
      const { github, state } = await open();
      state.addRepo('app');
      const matrix = state.addRun('app', 'in_progress');
      state.addJob(matrix.id, { labels: x64, status: 'in_progress' });
      state.addJob(matrix.id, { labels: x64, status: 'completed' });
      const hidden = state.addJob(matrix.id, { labels: ['Self-Hosted', 'Linux', 'X64'] });
      state.addJob(matrix.id, { labels: x64, status: 'waiting' });
      // Given to a runner that has not started it: still `queued`, but its runner already counts as busy.
      const handedOver = state.addJob(matrix.id, { labels: x64 });
      state.handOver(handedOver.id, state.registerRunner({ name: 'r1', labels: x64 }).id);
      const fresh = state.addRun('app', 'queued');
      const gpu = state.addJob(fresh.id, { labels: ['self-hosted', 'GPU'] });
      const approval = state.addRun('app', 'waiting');
      state.addJob(approval.id, { labels: x64, status: 'waiting' });
      const done = state.addRun('app', 'completed');
      state.addJob(done.id, { labels: x64, status: 'completed' });

      // Act
      const seen: number[] = [];
      const jobs = await github.listQueuedJobs('app', ({ activeRuns }) => seen.push(activeRuns));

      // Assess
      expect(byId(jobs)).toEqual([
        { id: hidden.id, runId: matrix.id, labels: ['Self-Hosted', 'Linux', 'X64'] },
        { id: gpu.id, runId: fresh.id, labels: ['self-hosted', 'GPU'] },
      ]);
      // The runs whose jobs it listed: what the governor charges the jobs endpoint for.
      expect(seen).toEqual([2]);
    });

    it('lists the queued jobs of a run’s latest attempt only, and all of them across pages', async () => {
      // Prepare
      const { github, state } = await open();
      state.addRepo('app');
      const rerun = state.addRun('app');
      state.completeJob(state.addJob(rerun.id, { labels: x64 }).id, 'failure');
      const again = state.rerun(rerun.id);
      const matrix = state.addRun('app');
      const many = Array.from({ length: 150 }, () => state.addJob(matrix.id, { labels: x64 }));

      // Act
      const jobs = await github.listQueuedJobs('app');

      // Assess
      expect(byId(jobs).map((job) => job.id)).toEqual(byId([...again, ...many]).map((job) => job.id));
    });

    it('lists every runner with its status, busy flag and labels as registered, across pages', async () => {
      // Prepare
      const { github, state } = await open();
      const idle = state.registerRunner({ name: 'idle', labels: ['self-hosted', 'Linux', 'X64'] });
      const busy = state.registerRunner({ name: 'busy', labels: x64, busy: true });
      const offline = state.registerRunner({ name: 'offline', labels: x64, status: 'offline' });
      for (let i = 1; i <= 120; i += 1) state.registerRunner({ name: `more-${i}`, labels: x64 });

      // Act
      const runners = await github.listRunners();

      // Assess
      expect(runners).toHaveLength(123);
      expect(byId(runners).slice(0, 3)).toEqual([
        { id: idle.id, name: 'idle', status: 'online', busy: false, labels: ['self-hosted', 'Linux', 'X64'] },
        { id: busy.id, name: 'busy', status: 'online', busy: true, labels: x64 },
        { id: offline.id, name: 'offline', status: 'offline', busy: false, labels: x64 },
      ]);
    });

    it('reads one runner, and nothing for one that is gone', async () => {
      // Prepare
      const { github, state } = await open();
      const runner = state.registerRunner({ name: 'r1', labels: x64, busy: true });
      const gone = state.registerRunner({ name: 'r2', labels: x64 });
      state.removeRunner(gone.id);

      // Act
      const [read, missing] = [await github.getRunner(runner.id), await github.getRunner(gone.id)];

      // Assess
      expect(read).toEqual({ id: runner.id, name: 'r1', status: 'online', busy: true, labels: x64 });
      expect(missing).toBeUndefined();
    });

    it('deletes an idle runner, and counts one already gone as deleted', async () => {
      // Prepare
      const { github, state } = await open();
      const idle = state.registerRunner({ name: 'idle', labels: x64 });

      // Act
      await github.deleteRunner(idle.id);
      await github.deleteRunner(idle.id);

      // Assess
      expect(await github.getRunner(idle.id)).toBeUndefined();
      expect(await github.listRunners()).toEqual([]);
    });

    it('refuses to delete a runner while it runs a job', async () => {
      // Prepare
      const { github, state } = await open();
      state.addRepo('app');
      const job = state.addJob(state.addRun('app').id, { labels: x64 });
      const runner = state.registerRunner({ name: 'working', labels: x64 });
      state.assignJob(job.id, runner.id);

      // Act
      const deleting = github.deleteRunner(runner.id);

      // Assess
      await expect(deleting).rejects.toSatisfy(
        (error) => error instanceof GitHubRequestError && error.status === 422,
      );
      expect((await github.getRunner(runner.id))?.busy).toBe(true);
    });

    it('registers a just-in-time runner that exists at once, offline, with its labels', async () => {
      // Prepare
      const { github } = await open();

      // Act
      const jit = await github.createJitRunner({
        name: 'stepscale-i-1',
        labels: x64,
        runnerGroup: 'default',
      });

      // Assess
      if ('alreadyRegistered' in jit) throw new Error('a first registration cannot be a repeat');
      expect(jit.encodedJitConfig).toEqual(expect.any(String));
      expect(jit.encodedJitConfig).not.toBe('');
      const registered = {
        id: jit.runnerId,
        name: 'stepscale-i-1',
        status: 'offline',
        busy: false,
        labels: x64,
      };
      expect(await github.listRunners()).toEqual([registered]);
      expect(await github.getRunner(jit.runnerId)).toEqual(registered);
    });

    // GitHub answers 409; the registration wanted exists, so the port resolves instead of failing.
    it('answers a second registration under a name already taken as alreadyRegistered, adding none', async () => {
      // Prepare
      const { github } = await open();
      const request = { name: 'stepscale-i-1', labels: x64, runnerGroup: 'Default' };
      await github.createJitRunner(request);

      // Act
      const again = await github.createJitRunner(request);

      // Assess
      expect(again).toEqual({ alreadyRegistered: true });
      expect(await github.listRunners()).toHaveLength(1);
    });

    it('refuses to register into a runner group the organization does not have', async () => {
      // Prepare
      const { github } = await open();

      // Act
      const registering = github.createJitRunner({ name: 'r', labels: x64, runnerGroup: 'nowhere' });

      // Assess
      await expect(registering).rejects.toBeInstanceOf(GitHubNotFoundError);
      expect(await github.listRunners()).toEqual([]);
    });

    it('reports the primary rate limit without spending it, and what other requests spent', async () => {
      // Prepare
      const { github } = await open();

      // Act
      const first = await github.rateLimit();
      const second = await github.rateLimit();
      await github.listRunners();
      const third = await github.rateLimit();

      // Assess
      expect(first).toEqual({
        limit: expect.any(Number),
        remaining: expect.any(Number),
        resetAt: expect.any(String),
      });
      expect(first?.remaining).toBeLessThanOrEqual(first?.limit ?? 0);
      expect(Number.isNaN(Date.parse(first?.resetAt ?? ''))).toBe(false);
      expect(second?.remaining).toBe(first?.remaining);
      expect(third?.remaining).toBe((first?.remaining ?? 0) - 1);
    });
  });
}

function byId<T extends { readonly id: number }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => a.id - b.id);
}
