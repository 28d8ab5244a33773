/**
 * An in-memory EC2 stand-in behind the same FleetPort the EC2 adapter implements. It keeps instances with
 * their pool and launch time, honours client tokens like EC2 (same token → the first launch's instances),
 * and can refuse capacity, so local runs and tests exercise the same paths production does.
 */
import type { Instance } from '../../functions/core/model.ts';
import { runnerNameFor } from '../../functions/core/model.ts';
import type { FleetPort, LaunchRequest, LaunchResult } from '../../functions/ports/fleet.ts';

export interface MemoryInstance extends Instance {
  /** Set once the instance is terminated (it then no longer lists). */
  readonly terminatedAt?: string;
}

export interface MemoryFleetOptions {
  readonly now: () => Date;
  /** Names the runners `<stack>-<instance-id>`, as the EC2 adapter does. */
  readonly stack: string;
  /** How many more instances a pool can get before EC2 reports insufficient capacity (default unlimited). */
  readonly capacityByPool?: Readonly<Record<string, number>>;
}

export class MemoryFleet implements FleetPort {
  private readonly instances = new Map<string, MemoryInstance>();
  private readonly launchesByToken = new Map<string, LaunchResult>();
  private readonly capacity: Map<string, number>;
  private nextId = 1;
  /** Every call, for tests that count launches. */
  readonly calls: { method: 'launch' | 'terminate' | 'listInstances' | 'markOrphaned'; detail?: unknown }[] =
    [];

  constructor(private readonly options: MemoryFleetOptions) {
    this.capacity = new Map(Object.entries(options.capacityByPool ?? {}));
  }

  async listInstances(): Promise<Instance[]> {
    this.calls.push({ method: 'listInstances' });
    return this.live().map(({ terminatedAt: _, ...instance }) => instance);
  }

  async launch(request: LaunchRequest): Promise<LaunchResult> {
    this.calls.push({ method: 'launch', detail: request });
    const previous = this.launchesByToken.get(request.clientToken);
    if (previous) return previous;

    const available = this.capacity.get(request.pool) ?? Number.POSITIVE_INFINITY;
    const count = Math.min(request.count, available);
    if (Number.isFinite(available)) this.capacity.set(request.pool, available - count);
    const instanceIds: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const id = `i-${(this.nextId++).toString(16).padStart(17, '0')}`;
      this.instances.set(id, {
        id,
        pool: request.pool,
        state: 'pending',
        launchedAt: this.options.now().toISOString(),
        runnerName: runnerNameFor(this.options.stack, id),
      });
      instanceIds.push(id);
    }
    const missing = request.count - count;
    const result = { instanceIds, missing, errors: missing > 0 ? ['InsufficientInstanceCapacity'] : [] };
    this.launchesByToken.set(request.clientToken, result);
    return result;
  }

  async terminate(instanceIds: readonly string[]): Promise<void> {
    this.calls.push({ method: 'terminate', detail: [...instanceIds] });
    for (const id of instanceIds) this.markTerminated(id);
  }

  async markOrphaned(instanceIds: readonly string[], at: Date): Promise<void> {
    this.calls.push({ method: 'markOrphaned', detail: [...instanceIds] });
    for (const id of instanceIds) {
      const instance = this.instances.get(id);
      // Like CreateTags on a terminated instance: harmless, and it never lists again anyway.
      if (instance && !instance.terminatedAt) {
        this.instances.set(id, { ...instance, orphanedSince: at.toISOString() });
      }
    }
  }

  /** World side: the instance finished booting. */
  markRunning(instanceId: string): void {
    const instance = this.instances.get(instanceId);
    if (instance && !instance.terminatedAt) this.instances.set(instanceId, { ...instance, state: 'running' });
  }

  /** World side: the instance shut itself down (ephemeral runner finished) or was terminated. */
  markTerminated(instanceId: string): void {
    const instance = this.instances.get(instanceId);
    if (instance && !instance.terminatedAt) {
      this.instances.set(instanceId, { ...instance, terminatedAt: this.options.now().toISOString() });
    }
  }

  live(): MemoryInstance[] {
    return [...this.instances.values()].filter((instance) => !instance.terminatedAt);
  }

  get(instanceId: string): MemoryInstance | undefined {
    return this.instances.get(instanceId);
  }
}
