import type { QueuedJob, Runner } from '../core/model.ts';

/** The slice of GitHub that the scaler needs, defined by the scaler. */
export interface GitHubPort {
  /** Names (not full names) of the organization's repositories, all pages. */
  listRepositories(): Promise<string[]>;
  /** Jobs with status `queued` in the repository's queued and in-progress runs (latest attempt), all pages. */
  listQueuedJobs(repository: string): Promise<QueuedJob[]>;
  /** The organization's self-hosted runners, all pages. */
  listRunners(): Promise<Runner[]>;
  /** One runner re-read fresh (the list's `busy` lags); undefined when it no longer exists. */
  getRunner(runnerId: number): Promise<Runner | undefined>;
  /** Deregister a runner. Resolves when it is gone (already gone counts as gone). */
  deleteRunner(runnerId: number): Promise<void>;
}
