/**
 * Where a new instance finds its just-in-time runner config: a secret written by ScaleUp, read once and
 * deleted by the instance's bootstrap. SSM Parameter Store (SecureString) in production.
 */
export interface StoredRunnerConfig {
  readonly instanceId: string;
  /** ISO-8601 time the config was written. */
  readonly storedAt: string;
}

export interface RunnerConfigStore {
  put(instanceId: string, encodedJitConfig: string): Promise<void>;
  /** Already gone counts as removed. */
  remove(instanceId: string): Promise<void>;
  /** Configs not yet consumed (names and times only, never the secret). */
  list(): Promise<StoredRunnerConfig[]>;
}
