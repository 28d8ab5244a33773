/**
 * The world's EC2, behind the same FleetPort the EC2 adapter implements. It keeps instances with their pool
 * and launch time, honours client tokens like EC2 (same token → the first launch's instances), and can run
 * out of capacity (a fixed amount per pool, or a seeded spot miss per instance), so local runs, the
 * benchmark and tests exercise the paths production has. The world (world.ts) boots what is launched.
 *
 * Stopped instances (warm pools) are modelled as EC2 has them: a prepare launch carries the warm tag and the
 * shutdown behaviour `stop`; an instance that shuts itself down then stops (reason `instance`) instead of
 * terminating, one stopped through the API stops with reason `api`; starting one tags it started first, may
 * find no capacity, and makes its launch time the start's (EC2's LaunchTime is the last launch). Stopped
 * instances are listed, and count toward nothing billed by the hour.
 */
import type { Instance, StopReason, WarmTag } from '../../functions/core/model.ts';
import { runnerNameFor } from '../../functions/core/model.ts';
import type {
  FleetPort,
  LaunchRequest,
  LaunchResult,
  PrepareRequest,
  StartResult,
} from '../../functions/ports/fleet.ts';

export interface MemoryInstance extends Instance {
  /** Set once the instance is terminated (it then no longer lists). */
  readonly terminatedAt?: string;
  /** What a shutdown from inside does: `terminate` (the launch template's, for runners) or `stop` (prepare mode). */
  readonly shutdownBehavior: 'terminate' | 'stop';
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
  /** Whether starting one stopped instance finds no capacity in its zone (a seeded draw); never by default. */
  readonly startMiss?: () => boolean;
  /** Told of every launch that was not a repeated client token, whoever asked for it. */
  readonly onLaunched?: (pool: string, instances: readonly MemoryInstance[], missing: number) => void;
  /** Told of every stopped instance that was started. */
  readonly onStarted?: (instance: MemoryInstance) => void;
  /** Told when an instance stops running (stopping, whatever the reason): whatever ran on it is gone. */
  readonly onStopping?: (instance: MemoryInstance) => void;
  /** Told of every instance that goes away: terminated by a scaler or shut down from inside. */
  readonly onTerminated?: (instance: MemoryInstance) => void;
}

type Method =
  | 'launch'
  | 'prepare'
  | 'start'
  | 'terminate'
  | 'listInstances'
  | 'markOrphaned'
  | 'templateVersions';

export class MemoryFleet implements FleetPort {
  private readonly instances = new Map<string, InstanceRecord>();
  /** The ones that exist, in launch order: what a listing reads, without walking every instance ever launched. */
  private readonly liveById = new Map<string, InstanceRecord>();
  private readonly launchesByToken = new Map<string, LaunchResult>();
  private readonly capacity: Map<string, number>;
  private readonly versions = new Map<string, number>();
  private readonly startCapacity = new Map<string, number>();
  private nextId = 1;
  /** Every call, for tests that count launches. */
  readonly calls: { method: Method; detail?: unknown }[] = [];

  constructor(private readonly options: MemoryFleetOptions) {
    this.capacity = new Map(Object.entries(options.capacityByPool ?? {}));
  }

  async listInstances(): Promise<Instance[]> {
    this.calls.push({ method: 'listInstances' });
    return this.live().map(({ terminatedAt: _, shutdownBehavior: __, ...instance }) => instance);
  }

  async launch(request: LaunchRequest): Promise<LaunchResult> {
    this.calls.push({ method: 'launch', detail: request });
    return this.create(request, 'terminate');
  }

  async prepare(request: PrepareRequest): Promise<LaunchResult> {
    this.calls.push({ method: 'prepare', detail: request });
    const warm: WarmTag = {
      stage: 'preparing',
      preparedAt: request.createdAt,
      ...(request.templateVersion === undefined ? {} : { templateVersion: request.templateVersion }),
    };
    return this.create(request, 'stop', warm);
  }

  async start(instanceIds: readonly string[]): Promise<StartResult> {
    this.calls.push({ method: 'start', detail: [...instanceIds] });
    const result: StartResult = { started: [], failed: [] };
    for (const id of instanceIds) {
      const instance = this.liveById.get(id);
      if (!instance) {
        result.failed.push({ instanceId: id, code: 'InvalidInstanceID.NotFound', capacity: false });
        continue;
      }
      // Tagged first, as the EC2 adapter does: whatever happens next, it is never counted ready again.
      if (instance.warm) instance.warm = { ...instance.warm, stage: 'started' };
      if (instance.state === 'pending' || instance.state === 'running') {
        result.started.push(id); // EC2 answers a start of a running instance with its state
        continue;
      }
      if (instance.state === 'stopping') {
        result.failed.push({ instanceId: id, code: 'IncorrectInstanceState', capacity: false });
        continue;
      }
      const left = this.startCapacity.get(instance.pool) ?? Number.POSITIVE_INFINITY;
      if (left <= 0 || this.options.startMiss?.()) {
        result.failed.push({ instanceId: id, code: 'InsufficientInstanceCapacity', capacity: true });
        continue;
      }
      if (Number.isFinite(left)) this.startCapacity.set(instance.pool, left - 1);
      instance.state = 'pending';
      instance.launchedAt = this.options.now().toISOString();
      delete instance.stopReason;
      result.started.push(id);
      this.options.onStarted?.(instance);
    }
    return result;
  }

  async templateVersions(pools: readonly string[]): Promise<Record<string, number>> {
    this.calls.push({ method: 'templateVersions', detail: [...pools] });
    // Like a pool whose template EC2 does not know: a pool given no version is left out.
    return Object.fromEntries(
      pools.flatMap((pool) => {
        const version = this.versions.get(pool);
        return version === undefined ? [] : [[pool, version]];
      }),
    );
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

  private create(
    request: LaunchRequest,
    shutdownBehavior: 'terminate' | 'stop',
    warm?: WarmTag,
  ): LaunchResult {
    const previous = this.launchesByToken.get(request.clientToken);
    if (previous) return previous;

    const launched: InstanceRecord[] = [];
    let missing = 0;
    for (let i = 0; i < request.count; i += 1) {
      const available = this.capacity.get(request.pool) ?? Number.POSITIVE_INFINITY;
      // Prepare launches are on-demand: a spot miss does not touch them.
      if (available <= 0 || (!warm && this.options.spotMiss?.())) {
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
        shutdownBehavior,
        ...(warm ? { warm } : {}),
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

  // ── World side ──────────────────────────────────────────────────────────────────────────────────────────

  /** The instance finished booting (after a launch or a start). */
  markRunning(instanceId: string): void {
    const instance = this.liveById.get(instanceId);
    if (instance?.state === 'pending') instance.state = 'running';
  }

  /**
   * A shutdown from inside the instance (its job is done, its warm-up is done, its bootstrap gave up): it
   * terminates or stops as its shutdown behaviour says. Stopping ends with {@link markStopped}.
   */
  shutDown(instanceId: string): void {
    const instance = this.liveById.get(instanceId);
    if (!instance || (instance.state !== 'pending' && instance.state !== 'running')) return;
    if (instance.shutdownBehavior === 'terminate') this.markTerminated(instanceId);
    else this.beginStopping(instance, 'instance');
  }

  /** Someone stops the instance through the API (StopInstances), or EC2 does (`other`). */
  stopInstance(instanceId: string, reason: Exclude<StopReason, 'instance'> = 'api'): void {
    const instance = this.liveById.get(instanceId);
    if (!instance || (instance.state !== 'pending' && instance.state !== 'running')) return;
    this.beginStopping(instance, reason);
  }

  /** A stopping instance has stopped. */
  markStopped(instanceId: string): void {
    const instance = this.liveById.get(instanceId);
    if (instance?.state === 'stopping') instance.state = 'stopped';
  }

  /** The instance is terminated (by a scaler or from inside): it no longer lists. */
  markTerminated(instanceId: string): void {
    const instance = this.liveById.get(instanceId);
    if (!instance) return;
    const wasRunning = instance.state === 'pending' || instance.state === 'running';
    instance.terminatedAt = this.options.now().toISOString();
    this.liveById.delete(instanceId);
    if (wasRunning) this.options.onStopping?.(instance);
    this.options.onTerminated?.(instance);
  }

  /** A new version of the pool's launch template (EC2 would answer it as the latest). */
  setTemplateVersion(pool: string, version: number): void {
    this.versions.set(pool, version);
  }

  /** How many more stopped instances of the pool can be started before EC2 reports insufficient capacity. */
  setStartCapacity(pool: string, count: number): void {
    this.startCapacity.set(pool, count);
  }

  private beginStopping(instance: InstanceRecord, reason: StopReason): void {
    instance.state = 'stopping';
    instance.stopReason = reason;
    this.options.onStopping?.(instance);
  }

  /** The instances that exist (any state but terminated), in launch order. */
  live(): MemoryInstance[] {
    return [...this.liveById.values()];
  }

  /** How many instances exist (in one pool, when given): every one counts toward maxRunners. */
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
