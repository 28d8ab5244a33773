/**
 * The organization `npm run bench:github` measures against, in the world's GitHub (local/world/github.ts):
 * `size` repositories, each with 2 completed runs of history (one completed job each); `makeBusy` gives 5% of
 * them a queued run with 2 queued jobs. Nothing lives in it between cycles, so no agenda drives it.
 */
import { repositoryNames } from '../../local/repository-names.ts';
import { GitHubState } from '../../local/world/github.ts';

export const benchOrg = 'bench';
export const benchLabels = ['self-hosted', 'linux', 'x64'];
export const busyShare = 0.05;

export interface BenchOrganization {
  readonly state: GitHubState;
  readonly names: string[];
  makeBusy(): void;
}

export function seedOrganization(size: number): BenchOrganization {
  const state = new GitHubState({ org: benchOrg });
  const names = repositoryNames(size);
  for (const name of names) {
    state.addRepo(name);
    for (let i = 0; i < 2; i += 1) {
      const run = state.addRun(name, 'completed');
      state.addJob(run.id, { labels: benchLabels, status: 'completed' });
    }
  }
  const makeBusy = () => {
    const every = Math.round(1 / busyShare);
    names.forEach((name, index) => {
      if (index % every !== 0) return;
      const run = state.addRun(name, 'queued');
      state.addJob(run.id, { labels: benchLabels });
      state.addJob(run.id, { labels: benchLabels });
    });
  };
  return { state, names, makeBusy };
}

/** What the naive poller costs over the whole organization, and the queued jobs it would find. */
export interface NaiveTotals {
  /** Repository pages + one run listing per repository + one job listing per run (every list fits a page). */
  readonly requests: number;
  readonly queued: number;
}

export function naiveTotals(organization: BenchOrganization): NaiveTotals {
  const { state, names } = organization;
  return {
    requests:
      Math.ceil(names.length / 100) +
      names.length +
      names.reduce((n, name) => n + state.listRuns(name).length, 0),
    queued: names.reduce(
      (n, name) =>
        n +
        state
          .listRuns(name)
          .flatMap((run) => state.jobsOfRun(run.id, 'latest'))
          .filter((job) => job.status === 'queued').length,
      0,
    ),
  };
}
