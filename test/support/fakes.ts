import { MemoryCycleStarter } from '../../functions/adapters/memory-cycle-starter.ts';
import { MemoryStateStore } from '../../functions/adapters/memory-state-store.ts';
import { MemoryWebhookInbox } from '../../functions/adapters/memory-webhook-inbox.ts';
import { MemoryWriteBudget } from '../../functions/adapters/memory-write-budget.ts';
import { noScaleSets } from '../../functions/adapters/no-scale-sets.ts';
import { parseConfig, scalingPolicyOf, writeIntervalMs } from '../../functions/config/config.ts';
import type { QueuedJob, Runner } from '../../functions/core/model.ts';
import type { HandlerDeps } from '../../functions/handlers/deps.ts';
import { silentLog } from '../../functions/observability/logger.ts';
import { MemoryMetrics } from '../../functions/observability/metrics.ts';
import type { CycleStarter } from '../../functions/ports/cycle-starter.ts';
import type {
  GitHubPort,
  JitRegistration,
  JitRunnerRequest,
  ListingObservation,
  RateLimit,
} from '../../functions/ports/github.ts';
import type { ScaleSetPort } from '../../functions/ports/scale-sets.ts';
import { MemoryFleet } from '../../local/world/fleet.ts';
import { MemoryRunnerConfigStore } from '../../local/world/runner-configs.ts';
import { ManualClock } from './manual-clock.ts';

/** An in-memory GitHubPort for handler and state machine tests that do not need HTTP. */
export class FakeGitHub implements GitHubPort {
  jobsByRepo = new Map<string, QueuedJob[]>();
  runners: Runner[] = [];
  deleted: number[] = [];
  /** Every registration asked for, by runner name, in order (names already registered included). */
  registrationAttempts: string[] = [];

  async listRepositories(): Promise<string[]> {
    return [...this.jobsByRepo.keys()];
  }
  async listQueuedJobs(
    repository: string,
    observe?: (seen: ListingObservation) => void,
  ): Promise<QueuedJob[]> {
    const jobs = this.jobsByRepo.get(repository) ?? [];
    // As the adapter: one job listing per active run (here, the runs its queued jobs belong to).
    observe?.({ activeRuns: new Set(jobs.map((job) => job.runId)).size });
    return jobs;
  }
  async listRunners(): Promise<Runner[]> {
    return this.runners.map((runner) => ({ ...runner }));
  }
  async getRunner(runnerId: number): Promise<Runner | undefined> {
    return this.runners.find((runner) => runner.id === runnerId);
  }
  async deleteRunner(runnerId: number): Promise<void> {
    this.deleted.push(runnerId);
    this.runners = this.runners.filter((runner) => runner.id !== runnerId);
  }
  async rateLimit(): Promise<RateLimit | undefined> {
    return undefined; // as on GitHub Enterprise Server with rate limiting off
  }
  /** Like the adapter: a second runner with a name already taken (GitHub's 409) is `alreadyRegistered`. */
  async createJitRunner(request: JitRunnerRequest): Promise<JitRegistration> {
    this.registrationAttempts.push(request.name);
    if (this.runners.some((runner) => runner.name === request.name)) return { alreadyRegistered: true };
    const runnerId = Math.max(0, ...this.runners.map((runner) => runner.id)) + 1;
    this.runners.push({
      id: runnerId,
      name: request.name,
      status: 'offline',
      busy: false,
      labels: [...request.labels],
    });
    return { runnerId, encodedJitConfig: `jit-secret-for-${request.name}` };
  }
}

export const testPool = {
  name: 'linux-x64',
  labels: ['self-hosted', 'linux', 'x64'],
  maxRunners: 10,
  minIdle: 0,
  instanceTypes: ['m7i.large'],
  launchTemplate: 'lt-0123',
  subnets: ['subnet-0a'],
};

export function testDeps<G extends GitHubPort = FakeGitHub>(
  overrides: {
    github?: G;
    fleet?: MemoryFleet;
    runnerConfigs?: MemoryRunnerConfigStore;
    stateStore?: MemoryStateStore;
    writeBudget?: MemoryWriteBudget;
    webhookInbox?: MemoryWebhookInbox;
    scaleSets?: ScaleSetPort;
    cycleStarter?: CycleStarter;
    /** A clock of the test's own: then waiting for a write slot takes no time (and the clock does not move). */
    now?: () => Date;
    /** The clock that waiting for a write slot moves (shared with a stand-in judging GitHub's limits). */
    clock?: ManualClock;
    config?: object;
    metrics?: MemoryMetrics;
  } = {},
) {
  const clock = overrides.clock ?? new ManualClock('2026-01-05T09:00:00Z');
  const now = overrides.now ?? clock.now;
  const sleepUntil = overrides.now ? async () => {} : clock.sleepUntil;
  const config = parseConfig({
    github: { url: 'https://github.com', org: 'acme' },
    pools: [testPool],
    collection: { repositoriesPerBatch: 2 },
    ...overrides.config,
  });
  const github = (overrides.github ?? new FakeGitHub()) as G;
  const fleet = overrides.fleet ?? new MemoryFleet({ now, stack: config.stack });
  const runnerConfigs = overrides.runnerConfigs ?? new MemoryRunnerConfigStore(now);
  const stateStore = overrides.stateStore ?? new MemoryStateStore(now);
  const metrics = overrides.metrics ?? new MemoryMetrics();
  const deps: HandlerDeps = {
    config,
    policy: scalingPolicyOf(config),
    github,
    fleet,
    runnerConfigs,
    stateStore,
    writeBudget: overrides.writeBudget ?? new MemoryWriteBudget(writeIntervalMs(config), now),
    webhookInbox: overrides.webhookInbox ?? new MemoryWebhookInbox(now),
    scaleSets: overrides.scaleSets ?? noScaleSets,
    cycleStarter: overrides.cycleStarter ?? new MemoryCycleStarter(),
    log: silentLog,
    now,
    sleepUntil,
    metrics,
  };
  return { deps, metrics, github, fleet, runnerConfigs, stateStore, clock };
}

export function queuedJobs(count: number, labels: string[] = ['self-hosted', 'linux', 'x64']): QueuedJob[] {
  return Array.from({ length: count }, (_, i) => ({ id: i + 1, runId: 1, labels }));
}

export function namedError(name: string, message = name): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}
