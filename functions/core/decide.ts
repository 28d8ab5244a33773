/**
 * The scaling decision: a pure function of what was observed, the policy and the time.
 *
 * Per pool whose demand was polled (queued jobs, REST):
 *   need      = max(0, queued + minIdle − idle − booting)
 *   start     = min(need, ready warm instances)                  (stopped, pre-booted: seconds to a runner)
 *   launch    = clamp(need − start, 0, maxRunners − current)
 *   prepare   = the warm pool's refill within what maxRunners leaves (warm-pool.ts)
 *   terminate = the oldest removable idle runners beyond queued + minIdle (or beyond maxRunners)
 * Per pool whose demand is its runner scale set's statistics (assigned = jobs assigned to it, waiting or
 * running; ARC's rule, with what is booting counted as on its way):
 *   need      = clamp(min(assigned + minIdle, maxRunners) − have, 0, …), started and launched as above
 *   have      = max(idle + busy + booting, registered + booting unregistered)
 * where registered is the scale set's own count from the same statistics as assigned: a runner that just
 * left with its finished job is gone from the runner list before the statistics say its job ended, and the
 * larger of the two views launches nothing for it.
 *   terminate = the oldest removable idle runners beyond assigned + minIdle − busy (or beyond maxRunners)
 * A pool whose demand this cycle did not observe starts, launches and removes nothing.
 * `current` counts every runner and instance the pool already has, stopped ones included. Booting instances
 * count as capacity, so a cycle never launches for jobs that runners already on their way will take. A scale
 * set's jobs go to its own runners only, so other self-hosted runners never count as a scale-set pool's
 * capacity; its registrations and removals go to the Actions service, not to GitHub's paced REST writes.
 *
 * Per-cycle budgets are shared max-min fairly among the pools that ask (fair-share.ts), never handed out
 * in config order: starts and launches (queued jobs before minIdle top-ups) within the instance cap and the
 * room left in the registration backlog, then warm refills within what the instance cap has left; GitHub
 * writes (registrations first, then removals, then ghost deletions)
 * within what the stack's write pacing can still send this cycle; removals within their cap.
 *
 * Clean-up, across pools: instances past the boot timeout without an online runner are marked orphaned,
 * and terminated by a later cycle if still unregistered; offline registrations of this stack whose
 * instance is gone (ghosts) are deleted; stopped instances that can no longer serve, and the warm pool's
 * surplus, are retired (warm-pool.ts). No runner is removed at all when the cycle's view was incomplete; a
 * retirement touches no runner and no job, so it does not wait for a complete view.
 */
import { type Ask, fairShares, tieredFairShares } from './fair-share.ts';
import { runnerServesPool } from './labels.ts';
import { type Instance, instanceIdOfRunner, type Runner } from './model.ts';
import type { PoolPolicy, ScalingPolicy } from './policy.ts';
import {
  byPreparedAt,
  type Retirement,
  roleOf,
  startedWithin,
  type WarmWants,
  warmWants,
} from './warm-pool.ts';

export interface Snapshot {
  readonly queuedByPool: Readonly<Record<string, number>>;
  /**
   * Pools whose demand is their runner scale set's statistics: jobs assigned to the scale set, waiting for a
   * runner or running (`totalAssignedJobs`). Such a pool's `queuedByPool` entry is not read.
   */
  readonly assignedByPool?: Readonly<Record<string, number>>;
  /**
   * For the same pools, the runners registered in the scale set by the same statistics (taken at the same
   * moment as the assigned jobs, so the two agree even when the runner list is newer or older than both).
   */
  readonly registeredByPool?: Readonly<Record<string, number>>;
  /** Pools whose demand this cycle did not observe: nothing is launched or removed for them. */
  readonly unobservedPools?: readonly string[];
  /**
   * Pools whose runners are registered through their scale set: only those runners serve them, and their
   * registrations and removals take no GitHub REST write slot.
   */
  readonly scaleSetPools?: readonly string[];
  /** The organization's self-hosted runners (ours and others). */
  readonly runners: readonly Runner[];
  /** This stack's live instances. */
  readonly instances: readonly Instance[];
  /** False when any repository or runner listing failed: nothing is removed on partial knowledge. */
  readonly collectionComplete: boolean;
  /** Runner configs waiting in the store for an instance to pick them up. */
  readonly storedRunnerConfigs?: readonly { readonly instanceId: string; readonly storedAt: string }[];
  /**
   * GitHub writes the stack's shared pacing budget can still make this cycle (registrations and deletions
   * of every cycle draw on it); undefined: not limited.
   */
  readonly writeSlots?: number;
  /** The current launch template version per pool (warm pools only): stopped instances of older ones are replaced. */
  readonly templateVersions?: Readonly<Record<string, number>>;
}

export interface RunnerRemoval {
  readonly runnerId: number;
  readonly runnerName: string;
  readonly instanceId: string;
}

export type DemandSource = 'poll' | 'scaleset' | 'none';

export interface PoolPlan {
  readonly pool: string;
  /** How the pool's demand was learned this cycle. */
  readonly source: DemandSource;
  /** Jobs waiting for a runner: queued (polled), or assigned to the scale set beyond its busy runners. */
  readonly queued: number;
  /** Scale-set pools: jobs assigned to the scale set, waiting or running. */
  readonly assigned?: number;
  readonly idle: number;
  readonly busy: number;
  /** Launched instances whose runner is not online yet (within the boot timeout). */
  readonly booting: number;
  /** Instances past the boot timeout without an online runner: capacity that will not come. */
  readonly orphaned: number;
  /** Fresh instances to launch. */
  readonly launch: number;
  /** Ready stopped instances to start for the demand, before any fresh launch, oldest first. */
  readonly start: readonly string[];
  /** Instances to launch in prepare mode: the warm pool's refill. */
  readonly prepare: number;
  /** The warm pool, for pools that have one (or still have warm instances). */
  readonly warm?: WarmSummary;
  readonly terminate: readonly RunnerRemoval[];
  /**
   * Booting instances whose runner is not registered yet (no registration, no stored config), oldest first:
   * launching is not registering, and these wait for a paced GitHub write.
   */
  readonly unregistered: readonly string[];
}

export interface WarmSummary {
  /** Stopped instances the schedule asks for now. */
  readonly target: number;
  /** Kept beyond target: the replacements of instances started within replaceAheadSeconds. */
  readonly ahead: number;
  readonly ready: number;
  readonly preparing: number;
}

/** How the cycle's budgets were spent, so a plan says what it held back and why. */
export interface Budgets {
  /**
   * Starts and launches all pools asked for, and the cap they were shared under (instance cap, registration
   * room); both make a runner to register.
   */
  readonly launches: { readonly asked: number; readonly allowed: number; readonly cap: number | null };
  /** Warm refills asked for and allowed (what the instance cap left after starts and launches). */
  readonly prepares: { readonly asked: number; readonly allowed: number };
  /**
   * GitHub writes: what the pacing budget had left this cycle (null: unlimited), and what registrations
   * (of instances waiting and of this cycle's launches), removals and ghost deletions asked; `deferred`
   * writes wait for a later cycle.
   */
  readonly writes: {
    readonly slots: number | null;
    readonly registrations: number;
    readonly removals: number;
    readonly ghosts: number;
    readonly deferred: number;
  };
}

export interface GhostRunner {
  readonly runnerId: number;
  readonly runnerName: string;
}

export interface Plan {
  readonly pools: readonly PoolPlan[];
  /** True when scale-down was held back because collection was incomplete. */
  readonly scaleDownHeld: boolean;
  /** Orphaned instances seen for the first time: mark them, terminate on a later cycle. */
  readonly orphansToMark: readonly string[];
  /** Instances marked orphaned by an earlier cycle and still without an online runner. */
  readonly orphansToTerminate: readonly string[];
  /** Offline registrations of this stack whose instance is gone. */
  readonly ghosts: readonly GhostRunner[];
  /** Stored runner configs whose instance is gone and that are older than the boot timeout. */
  readonly staleRunnerConfigs: readonly string[];
  /** Instances to terminate that hold no runner: stopped ones that cannot serve, the warm pool's surplus. */
  readonly retire: readonly Retirement[];
  readonly budgets: Budgets;
}

interface PoolInventory {
  idle: Runner[];
  busy: number;
  booting: number;
  orphaned: number;
  orphans: Instance[];
  /** Idle runners that are ours (paired with an instance) and old enough to remove, oldest first. */
  removable: RunnerRemoval[];
  /** Booting instances of ours with no registration and no stored config yet, oldest first. */
  unregistered: { id: string; launchedMs: number }[];
  /** The warm pool's ready (stopped) instances, oldest prepared first. */
  ready: Instance[];
  preparing: number;
  /** Instances started from the warm pool within its replaceAheadSeconds. */
  startedRecently: number;
  /** Instances that are no runner but count toward maxRunners: ready, preparing, stopping, to retire. */
  held: number;
  /** Whether the pool has warm instances (or a warm policy): its plan then shows the warm pool. */
  warm: boolean;
  retire: Retirement[];
}

export function decide(snapshot: Snapshot, policy: ScalingPolicy, now: Date): Plan {
  const scaleSetPools = new Set(snapshot.scaleSetPools ?? []);
  const unobserved = new Set(snapshot.unobservedPools ?? []);
  const inventories = takeInventory(snapshot, policy, now.getTime(), scaleSetPools);
  const scaleDownHeld = !snapshot.collectionComplete;
  const wants = policy.pools.map((pool, rank) => {
    const inventory = inventories.get(pool.name) ?? emptyInventory();
    const demand = demandOf(snapshot, pool.name, unobserved);
    const paced = !scaleSetPools.has(pool.name);
    return { pool, rank, inventory, demand, paced, ...wantsOf(pool, demand, inventory, scaleDownHeld) };
  });
  const paced = wants.filter((want) => want.paced);
  const direct = wants.filter((want) => !want.paced);

  // Only registrations through GitHub's REST API are paced, so only they count against the backlog the
  // stack's write pacing can take; a scale set's runners are registered at the Actions service.
  const unregistered = paced.reduce((sum, want) => sum + want.inventory.unregistered.length, 0);
  const maxLaunches = policy.maxLaunchesPerCycle ?? Number.POSITIVE_INFINITY;
  const launchCap = Math.min(
    maxLaunches,
    Math.max(0, (policy.maxPendingRegistrations ?? Number.POSITIVE_INFINITY) - unregistered),
  );
  // Starts and fresh launches both make a runner to register: one budget, queued jobs first. Only paced
  // (REST) registrations count against the registration backlog; a scale set's runners draw on the cap alone.
  const tiersOf = (group: typeof wants) => [
    group.map((want) => ask(want.pool.name, want.forQueued, want.rank)),
    group.map((want) => ask(want.pool.name, want.runners - want.forQueued, want.rank)),
  ];
  const pacedMade = tieredFairShares(tiersOf(paced), launchCap);
  const madePaced = sum(pacedMade.values());
  const directMade = tieredFairShares(tiersOf(direct), Math.max(0, maxLaunches - madePaced));
  const runnersMade = new Map([...pacedMade, ...directMade]);
  const made = sum(runnersMade.values());
  const split = wants.map((want) => {
    const allowed = runnersMade.get(want.pool.name) ?? 0;
    const start = Math.min(allowed, want.inventory.ready.length);
    const launch = allowed - start;
    const { idle, busy, booting, orphaned, held, retire } = want.inventory;
    const kept = idle.length + busy + booting + orphaned + held - retire.length + launch;
    const warm = warmWants({
      pool: want.pool,
      ready: want.inventory.ready.length,
      preparing: want.inventory.preparing,
      startedRecently: want.inventory.startedRecently,
      start,
      room: want.headroom - launch,
      excess: Math.max(0, kept - want.pool.maxRunners),
      now,
    });
    return { ...want, start, launch, warm };
  });
  // Refills wait for no job: they get what the instance cap left after starts and launches.
  const prepares = fairShares(
    split.map((want) => ask(want.pool.name, want.warm.prepare, want.rank)),
    Math.max(0, maxLaunches - made),
  );

  // Registrations of waiting instances and of this cycle's starts and launches come first; what the write
  // budget has left goes to removals, then to ghost deletions. A scale set's removals take no write slot.
  const slots = snapshot.writeSlots;
  const writesLeft = Math.max(0, (slots ?? Number.POSITIVE_INFINITY) - unregistered - madePaced);
  const maxRemovals = policy.maxRemovalsPerCycle ?? Number.POSITIVE_INFINITY;
  const pacedRemovals = fairShares(
    paced.map((want) => ask(want.pool.name, want.removals, want.rank)),
    Math.min(maxRemovals, writesLeft),
  );
  const removedPaced = sum(pacedRemovals.values());
  const directRemovals = fairShares(
    direct.map((want) => ask(want.pool.name, want.removals, want.rank)),
    Math.max(0, maxRemovals - removedPaced),
  );
  const removals = new Map([...pacedRemovals, ...directRemovals]);

  const pools = split.map(({ pool, demand, inventory, start, launch, warm }): PoolPlan => {
    const ready = inventory.ready;
    return {
      pool: pool.name,
      source: demand.source,
      queued: waitingOf(demand, inventory),
      ...(demand.source === 'scaleset' ? { assigned: demand.count } : {}),
      idle: inventory.idle.length,
      busy: inventory.busy,
      booting: inventory.booting,
      orphaned: inventory.orphaned,
      launch,
      start: ready.slice(0, start).map((instance) => instance.id),
      prepare: prepares.get(pool.name) ?? 0,
      ...(inventory.warm || pool.warm ? { warm: warmSummary(warm, inventory) } : {}),
      terminate: inventory.removable.slice(0, removals.get(pool.name) ?? 0),
      unregistered: inventory.unregistered.map((instance) => instance.id),
    };
  });
  const retire = split.flatMap(({ pool, inventory, start, warm }) => [
    ...inventory.retire,
    // The surplus: the oldest of the ready ones this cycle does not start.
    ...inventory.ready
      .slice(start, start + warm.surplus)
      .map((instance) => ({ instanceId: instance.id, pool: pool.name, reason: 'surplus' as const })),
  ]);
  const orphans = [...inventories.values()].flatMap((inventory) => inventory.orphans);
  const ghosts = scaleDownHeld ? [] : findGhosts(snapshot, policy.stack);
  const ghostsNow = ghosts.slice(0, Math.max(0, writesLeft - removedPaced));
  const askedRemovals = Math.min(
    paced.reduce((total, want) => total + want.removals, 0),
    maxRemovals,
  );
  const askedWrites = unregistered + madePaced + askedRemovals + ghosts.length;
  return {
    pools,
    scaleDownHeld,
    orphansToMark: scaleDownHeld
      ? []
      : orphans
          .filter((o) => !o.orphanedSince)
          .map((o) => o.id)
          .sort(),
    orphansToTerminate: scaleDownHeld
      ? []
      : orphans
          .filter((o) => o.orphanedSince)
          .map((o) => o.id)
          .sort(),
    ghosts: ghostsNow,
    staleRunnerConfigs: findStaleConfigs(snapshot, policy.bootTimeoutSeconds, now.getTime()),
    retire: retire.sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0)),
    budgets: {
      launches: {
        asked: wants.reduce((total, want) => total + want.runners, 0),
        allowed: made,
        cap: Number.isFinite(launchCap) ? launchCap : null,
      },
      prepares: {
        asked: split.reduce((total, want) => total + want.warm.prepare, 0),
        allowed: sum(prepares.values()),
      },
      writes: {
        slots: slots === undefined ? null : Math.max(0, Math.floor(slots)),
        registrations: unregistered + madePaced,
        removals: askedRemovals,
        ghosts: ghosts.length,
        deferred: slots === undefined ? 0 : Math.max(0, askedWrites - Math.max(0, Math.floor(slots))),
      },
    },
  };
}

function warmSummary(warm: WarmWants, inventory: PoolInventory): WarmSummary {
  return {
    target: warm.target,
    ahead: warm.ahead,
    ready: inventory.ready.length,
    preparing: inventory.preparing,
  };
}

/**
 * What one pool would do with no per-cycle budget: make runners (starts of ready warm instances first, then
 * fresh launches within the headroom) for its queued jobs (forQueued) and its minIdle top-up (the rest), and
 * remove its surplus idle runners.
 */
function wantsOf(pool: PoolPolicy, demand: PoolDemand, inventory: PoolInventory, scaleDownHeld: boolean) {
  const idle = inventory.idle.length;
  const { busy, booting, orphaned, held } = inventory;
  const runnerCount = idle + busy + booting + orphaned;
  const headroom = Math.max(0, pool.maxRunners - runnerCount - held);
  if (demand.source === 'none') return { runners: 0, forQueued: 0, removals: 0, headroom };
  // What the pool must have for its jobs alone, and with its idle margin: a polled job waits for a runner
  // beyond those busy already; a scale set's assigned jobs include the running ones (their runners are busy).
  const have =
    demand.source === 'scaleset'
      ? Math.max(idle + busy + booting, (demand.registered ?? 0) + inventory.unregistered.length)
      : idle + booting;
  const forJobs = demand.source === 'scaleset' ? Math.min(demand.count, pool.maxRunners) : demand.count;
  const wanted =
    demand.source === 'scaleset'
      ? Math.min(demand.count + pool.minIdle, pool.maxRunners)
      : demand.count + pool.minIdle;
  // A start turns a held instance into a runner: it needs no headroom.
  const runners = clamp(wanted - have, 0, inventory.ready.length + headroom);
  const forQueued = clamp(forJobs - have, 0, runners);
  const surplusIdle = demand.source === 'scaleset' ? idle + busy - wanted : idle - wanted;
  // Runners beyond maxRunners; instances held outside the runner count are the warm pool's to retire.
  const overMax = runnerCount - pool.maxRunners;
  const removals = scaleDownHeld
    ? 0
    : Math.min(Math.max(0, surplusIdle, overMax), inventory.removable.length);
  return { runners, forQueued, removals, headroom };
}

interface PoolDemand {
  readonly source: DemandSource;
  /** Queued jobs (poll) or jobs assigned to the scale set (scaleset); 0 when not observed. */
  readonly count: number;
  /** Scale-set pools: the runners its statistics count. */
  readonly registered?: number;
}

function demandOf(snapshot: Snapshot, pool: string, unobserved: ReadonlySet<string>): PoolDemand {
  if (unobserved.has(pool)) return { source: 'none', count: 0 };
  const assigned = snapshot.assignedByPool?.[pool];
  const registered = snapshot.registeredByPool?.[pool];
  if (assigned !== undefined)
    return {
      source: 'scaleset',
      count: Math.max(0, Math.floor(assigned)),
      ...(registered === undefined ? {} : { registered: Math.max(0, Math.floor(registered)) }),
    };
  return { source: 'poll', count: Math.max(0, Math.floor(snapshot.queuedByPool[pool] ?? 0)) };
}

/** Jobs waiting for a runner: the queued ones, or the scale set's assigned ones its busy runners do not run. */
function waitingOf(demand: PoolDemand, inventory: PoolInventory): number {
  return demand.source === 'scaleset' ? Math.max(0, demand.count - inventory.busy) : demand.count;
}

function ask(key: string, units: number, rank: number): Ask {
  return { key, ask: units, rank };
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

/**
 * Configs no instance will read. Young ones are kept: EC2's listing is eventually consistent, so an instance
 * launched seconds ago may not be listed yet. Removing a config destroys nothing, so this needs no hold.
 */
function findStaleConfigs(snapshot: Snapshot, bootTimeoutSeconds: number, nowMs: number): string[] {
  const live = new Set(snapshot.instances.map((instance) => instance.id));
  return (snapshot.storedRunnerConfigs ?? [])
    .filter((config) => !live.has(config.instanceId))
    .filter((config) => nowMs - Date.parse(config.storedAt) >= bootTimeoutSeconds * 1000)
    .map((config) => config.instanceId)
    .sort();
}

/**
 * Offline runners named like this stack's whose instance is not live. A registration of an instance that
 * is still booting is offline too, but its instance is live, so it is never taken for a ghost.
 */
function findGhosts(snapshot: Snapshot, stack: string): GhostRunner[] {
  const liveRunnerNames = new Set(snapshot.instances.map((instance) => instance.runnerName));
  return snapshot.runners
    .filter(
      (runner) =>
        runner.status === 'offline' &&
        !runner.busy &&
        instanceIdOfRunner(stack, runner.name) !== undefined &&
        !liveRunnerNames.has(runner.name),
    )
    .map((runner) => ({ runnerId: runner.id, runnerName: runner.name }))
    .sort((a, b) => a.runnerId - b.runnerId);
}

function takeInventory(
  snapshot: Snapshot,
  policy: ScalingPolicy,
  nowMs: number,
  scaleSetPools: ReadonlySet<string>,
): Map<string, PoolInventory> {
  const inventories = new Map(policy.pools.map((pool) => [pool.name, emptyInventory()]));
  const runnersByName = new Map(snapshot.runners.map((runner) => [runner.name, runner]));
  const pairedRunnerNames = new Set<string>();
  const storedConfigs = new Set((snapshot.storedRunnerConfigs ?? []).map((config) => config.instanceId));
  const removableByPool = new Map<string, { removal: RunnerRemoval; launchedMs: number }[]>();

  const pools = new Map(policy.pools.map((pool) => [pool.name, pool]));
  for (const instance of snapshot.instances) {
    const inventory = inventories.get(instance.pool);
    const pool = pools.get(instance.pool);
    if (!inventory || !pool) continue; // an instance of a pool no longer configured: not ours to count here
    if (instance.warm) inventory.warm = true;
    if (startedWithin(instance, pool.warm?.replaceAheadSeconds ?? 0, nowMs)) inventory.startedRecently += 1;
    const role = roleOf(instance, pool, snapshot.templateVersions?.[pool.name], nowMs);
    if (role.role !== 'runner') {
      inventory.held += 1;
      if (role.role === 'ready') inventory.ready.push(instance);
      else if (role.role === 'preparing') inventory.preparing += 1;
      else if (role.role === 'retire')
        inventory.retire.push({ instanceId: instance.id, pool: pool.name, reason: role.reason });
      continue;
    }
    const paired = runnersByName.get(instance.runnerName);
    // A busy runner counts as busy even if GitHub shows it offline for a moment: never an orphan.
    const runner = paired && (paired.status === 'online' || paired.busy) ? paired : undefined;
    const launchedMs = Date.parse(instance.launchedAt);
    const ageSeconds = Number.isNaN(launchedMs) ? 0 : (nowMs - launchedMs) / 1000;
    if (!runner) {
      if (ageSeconds >= policy.bootTimeoutSeconds) {
        inventory.orphaned += 1;
        inventory.orphans.push(instance);
      } else {
        inventory.booting += 1;
        // Registered (an offline registration exists) or its config is waiting: only a boot is missing.
        if (!paired && !storedConfigs.has(instance.id)) {
          inventory.unregistered.push({
            id: instance.id,
            launchedMs: Number.isNaN(launchedMs) ? 0 : launchedMs,
          });
        }
      }
      continue;
    }
    pairedRunnerNames.add(runner.name);
    if (runner.busy) {
      inventory.busy += 1;
      continue;
    }
    inventory.idle.push(runner);
    if (ageSeconds >= policy.minRunningSeconds) {
      const list = removableByPool.get(instance.pool) ?? [];
      list.push({
        removal: { runnerId: runner.id, runnerName: runner.name, instanceId: instance.id },
        launchedMs,
      });
      removableByPool.set(instance.pool, list);
    }
  }

  // Runners that are not ours still take jobs: count them as capacity of the first pool they serve. A scale
  // set's jobs go to its own runners only, so no other runner is capacity of a scale-set pool.
  for (const runner of snapshot.runners) {
    if (runner.status !== 'online' || pairedRunnerNames.has(runner.name)) continue;
    const pool = policy.pools.find(
      (candidate) => !scaleSetPools.has(candidate.name) && runnerServesPool(runner.labels, candidate),
    );
    const inventory = pool && inventories.get(pool.name);
    if (!inventory) continue;
    if (runner.busy) inventory.busy += 1;
    else inventory.idle.push(runner);
  }

  for (const inventory of inventories.values()) {
    inventory.unregistered.sort((a, b) => a.launchedMs - b.launchedMs || (a.id < b.id ? -1 : 1));
    inventory.ready.sort(byPreparedAt);
  }
  for (const [poolName, list] of removableByPool) {
    list.sort((a, b) => a.launchedMs - b.launchedMs || a.removal.runnerId - b.removal.runnerId);
    const inventory = inventories.get(poolName);
    if (inventory) inventory.removable = list.map((entry) => entry.removal);
  }
  return inventories;
}

function emptyInventory(): PoolInventory {
  return {
    idle: [],
    busy: 0,
    booting: 0,
    orphaned: 0,
    orphans: [],
    removable: [],
    unregistered: [],
    ready: [],
    preparing: 0,
    startedRecently: 0,
    held: 0,
    warm: false,
    retire: [],
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
