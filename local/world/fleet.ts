/**
 * The world's EC2, behind the same FleetPort the EC2 adapter implements. It keeps instances with their pool
 * and launch time, honours client tokens like EC2 (same token → the first launch's instances), and can run
 * out of capacity (a fixed amount per pool, or a seeded spot miss per instance), so local runs, the
 * benchmark and tests exercise the paths production has. The world (world.ts) boots what is launched.
 */
import type { Instance } from '../../functions/core/model.ts';
import { runnerNameFor } from '../../functions/core/model.ts';
import type { FleetPort, LaunchRequest, LaunchResult } from '../../functions/ports/fleet.ts';

export interface MemoryInstance extends Instance {
  /** Set once the instance is terminated (it then no longer lists). */
  readonly terminatedAt?: string;
}

type InstanceRecord = { -readonly [K in keyof MemoryInstance]: MemoryInstance[K] };

export interface MemoryFleetOptions {
  readonly now: () => Date;
  /** Names the runners `<stack>-<instance-id>`, as the EC2 adapter does. */
  readonly stack: string;
  /** How many more instances a pool can get before EC2 reports insufficient capacity (default unlimited). */
  readonly capacityByPool?: Readonly<Record<string, number>>;
  /** Whether one requested instance finds no spot capacity (a seeded draw in the world); never by default. */
  readonly spotMiss?: () => boolean;
  /** Told of every launch that was not a repeated client token, whoever asked for it. */
  readonly onLaunched?: (pool: string, instances: readonly MemoryInstance[], missing: number) => void;
  /** Told of every instance that stops: terminated by a scaler or shut down from inside. */
  readonly onTerminated?: (instance: MemoryInstance) => void;
}

export class MemoryFleet implements FleetPort {
  private readonly instances = new Map<string, InstanceRecord>();
  /** The live ones, in launch order: what a listing reads, without walking every instance ever launched. */
  private readonly liveById = new Map<string, InstanceRecord>();
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

    const launched: InstanceRecord[] = [];
    let missing = 0;
    for (let i = 0; i < request.count; i += 1) {
      const available = this.capacity.get(request.pool) ?? Number.POSITIVE_INFINITY;
      if (available <= 0 || this.options.spotMiss?.()) {
        missing += 1;
        continue;
      }
      if (Number.isFinite(available)) this.capacity.set(request.pool, available - 1);
      const id = `i-${(this.nextId++).toString(16).padStart(17, '0')}`;
      const instance: InstanceRecord = {
        id,
        pool: request.pool,
        state: 'pending',
        launchedAt: this.options.now().toISOString(),
        runnerName: runnerNameFor(this.options.stack, id),
      };
      this.instances.set(id, instance);
      this.liveById.set(id, instance);
      launched.push(instance);
    }
    const result = {
      instanceIds: launched.map((instance) => instance.id),
      missing,
      errors: missing > 0 ? ['InsufficientInstanceCapacity'] : [],
    };
    this.launchesByToken.set(request.clientToken, result);
    this.options.onLaunched?.(request.pool, launched, missing);
    return result;
  }

  async terminate(instanceIds: readonly string[]): Promise<void> {
    this.calls.push({ method: 'terminate', detail: [...instanceIds] });
    for (const id of instanceIds) this.markTerminated(id);
  }

  async markOrphaned(instanceIds: readonly string[], at: Date): Promise<void> {
    this.calls.push({ method: 'markOrphaned', detail: [...instanceIds] });
    for (const id of instanceIds) {
      // Like CreateTags on a terminated instance: harmless, and it never lists again anyway.
      const instance = this.liveById.get(id);
      if (instance) instance.orphanedSince = at.toISOString();
    }
  }

  /** World side: the instance finished booting. */
  markRunning(instanceId: string): void {
    const instance = this.liveById.get(instanceId);
    if (instance) instance.state = 'running';
  }

  /** World side: the instance shut itself down (ephemeral runner finished) or was terminated. */
  markTerminated(instanceId: string): void {
    const instance = this.liveById.get(instanceId);
    if (!instance) return;
    instance.terminatedAt = this.options.now().toISOString();
    this.liveById.delete(instanceId);
    this.options.onTerminated?.(instance);
  }

  live(): MemoryInstance[] {
    return [...this.liveById.values()];
  }

  /** How many instances are live (in one pool, when given). */
  liveCount(pool?: string): number {
    if (pool === undefined) return this.liveById.size;
    let count = 0;
    for (const instance of this.liveById.values()) if (instance.pool === pool) count += 1;
    return count;
  }

  get(instanceId: string): MemoryInstance | undefined {
    return this.instances.get(instanceId);
  }
}
