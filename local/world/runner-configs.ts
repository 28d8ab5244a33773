/**
 * The world's SSM Parameter Store, as far as runner configs go: ScaleUp writes one per instance through the
 * RunnerConfigStore port, and the instance's bootstrap (world.ts) takes it once its machine is up.
 */
import type { RunnerConfigStore, StoredRunnerConfig } from '../../functions/ports/runner-configs.ts';

export class MemoryRunnerConfigStore implements RunnerConfigStore {
  private readonly configs = new Map<string, { value: string; storedAt: string }>();

  constructor(private readonly now: () => Date) {}

  async put(instanceId: string, encodedJitConfig: string): Promise<void> {
    this.configs.set(instanceId, { value: encodedJitConfig, storedAt: this.now().toISOString() });
  }

  async remove(instanceId: string): Promise<void> {
    this.configs.delete(instanceId);
  }

  async list(): Promise<StoredRunnerConfig[]> {
    return [...this.configs].map(([instanceId, { storedAt }]) => ({ instanceId, storedAt }));
  }

  has(instanceId: string): boolean {
    return this.configs.has(instanceId);
  }

  /** What an instance's bootstrap does: read its config once and delete it. Undefined when there is none. */
  take(instanceId: string): string | undefined {
    const config = this.configs.get(instanceId);
    this.configs.delete(instanceId);
    return config?.value;
  }
}
