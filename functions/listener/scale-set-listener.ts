/**
 * The runner scale set listener: what ARC's `ghalistener` does (actions/scaleset listener/listener.go), shaped
 * for Lambda and Step Functions. One listener serves every scale-set pool of the stack at once:
 *
 * - open: trade a registration token for the Actions service (404: this GitHub has no scale sets — recorded
 *   for `auto`, logged once); per pool take the listener lease (another listener holding it → that pool
 *   waits), find the pool's scale set by id, else by name, else create it (its id kept in the state store),
 *   notice labels the service dropped, and open the message session (409 for a session this stack's dead
 *   listener left → closed and opened again; anyone else's → wait);
 * - poll (one long poll of one pool's queue): renew the queue token before it expires; on a message take its
 *   statistics (newer than those held only), acquire the jobs offered, store the statistics with the message
 *   id, acknowledge it — once: a message seen before (repeated, or older than the last acknowledged) is
 *   neither counted nor acknowledged again; parts that can never parse are logged and skipped, the message
 *   still acknowledged. A poll without a message confirms the statistics (stored at least every minute). An
 *   evicted session is opened again; a scale set deleted on GitHub is created again. An unwell service
 *   (5xx, HTML, network) backs the pool off, 1 s doubling to 30 s; the other pools go on;
 * - starting cycles: when jobs are newly assigned to a pool's scale set (or its count grows), a scaling cycle is
 *   started for the scale-set pools whose statistics changed, at most one per `cycleStartGapSeconds` (later
 *   changes join the next start); a pool whose scale set stays short of runners for its jobs (an unfilled
 *   launch, a failed registration) has its statistics read again every few seconds and, still short, asks for
 *   another cycle;
 * - close: close the sessions, store the state, give the leases back when the listener stops for good.
 *
 * The scaling itself is the cycle's: the listener only learns demand and stores it (functions/core/
 * job-source.ts reads it back). The Lambda entry point (functions/handlers/listen.ts) drives polls in real
 * time; the simulator and `npm start` drive the same methods in virtual time.
 */
import {
  type Config,
  jobSourceOf,
  type PoolConfig,
  scaleSetNameOf,
  scaleSetPools,
} from '../config/config.ts';
import {
  type JobSourceSetting,
  listensFor,
  type ScaleSetState,
  scaleSetStateKey,
  storedStatistics,
} from '../core/job-source.ts';
import { labelsCover } from '../core/labels.ts';
import {
  ScaleSetAuthError,
  ScaleSetNotFoundError,
  ScaleSetSessionConflictError,
  ScaleSetSessionGoneError,
} from '../errors.ts';
import type { Log } from '../observability/logger.ts';
import type { CycleStarter } from '../ports/cycle-starter.ts';
import type {
  ScaleSetMessage,
  ScaleSetPort,
  ScaleSetSession,
  ScaleSetStatistics,
} from '../ports/scale-sets.ts';
import type { StateStore } from '../ports/state-store.ts';

/** The Actions-service calls the listener makes. */
export type ListenerScaleSets = Pick<
  ScaleSetPort,
  | 'probe'
  | 'runnerGroupId'
  | 'findScaleSet'
  | 'getScaleSet'
  | 'createScaleSet'
  | 'createSession'
  | 'refreshSession'
  | 'deleteSession'
  | 'getMessage'
  | 'deleteMessage'
  | 'acquireJobs'
>;

export interface ListenerDeps {
  readonly config: Config;
  readonly log: Log;
  readonly now: () => Date;
  readonly scaleSets: ListenerScaleSets;
  readonly stateStore: Pick<StateStore, 'getMany' | 'putMany' | 'acquireLease' | 'releaseLease'>;
  readonly cycleStarter: CycleStarter;
}

export interface ListenerOptions {
  /** Who listens: the execution's name (the lease holder). */
  readonly holder: string;
  /** When this listener stops polling (its leases last a minute longer). */
  readonly deadline: Date;
}

/** The state store keeps a pool's scale set state this long after its last write (the heartbeat renews it). */
export const scaleSetStateTtlSeconds = 30 * 86_400;
/** The listener lease of a pool. */
export function listenerLeaseKey(stack: string, pool: string): string {
  return `scaleset-listener:${stack}:${pool}`;
}
/** Confirm the statistics in the store at least this often while nothing changes. */
export const heartbeatSeconds = 60;
/** Renew the message-queue token when it has less than this left. */
const renewTokenBeforeMs = 60_000;
/** Leases outlast the deadline by this: the round's close and the next round's start fit in it. */
export const leaseMarginSeconds = 60;
/** How long a pool waits when another listener holds its session (the runner's own wait on a conflict). */
const conflictWaitSeconds = 30;
/** Message ids remembered to recognise a repeat within one listener's life. */
const rememberedMessages = 1000;
/** A pool short of runners has its statistics read again after this long (an unfilled launch is retried then). */
export const recheckShortSeconds = 5;

interface Listening {
  readonly pool: PoolConfig;
  readonly setting: JobSourceSetting;
  state: ScaleSetState;
  session?: ScaleSetSession;
  /** The last message id acknowledged (sent as lastMessageId). */
  lastMessageId: number;
  /** Messages up to this id were handled before this listener started. */
  readonly handledBefore: number;
  readonly processed: Set<number>;
  statistics?: ScaleSetStatistics;
  statisticsMessageId: number;
  lastStoredMs: number;
  /** The assigned jobs last seen: a rise asks for a cycle. */
  lastAssigned: number;
  /** While the statistics show fewer runners than wanted: when to look again (ms). */
  recheckAtMs?: number;
  failures: number;
  backoffUntilMs: number;
}

export interface OpenOutcome {
  /** Pools whose session is open (or being reopened). */
  readonly listening: string[];
  /** Pools another listener holds, and until when its lease runs. */
  readonly held: { readonly pool: string; readonly holder: string; readonly until: string }[];
  /** Set when this GitHub serves no scale sets. */
  readonly unavailable?: string;
  /** Pools that could not be prepared this time (logged); tried again next round. */
  readonly failed: string[];
}

export type PollOutcome =
  | { readonly kind: 'message'; readonly messageId: number; readonly repeated: boolean }
  | { readonly kind: 'empty' }
  | { readonly kind: 'backoff'; readonly untilMs: number }
  | { readonly kind: 'closed' };

export interface ListenerCounts {
  messages: number;
  repeated: number;
  jobsAvailable: number;
  jobsAssigned: number;
  jobsStarted: number;
  jobsCompleted: number;
  acquired: number;
  skippedParts: number;
  sessionsOpened: number;
  scaleSetsCreated: number;
  cyclesStarted: number;
  /** Times a pool was still short of runners when its statistics were read again. */
  shortRechecks: number;
  failures: number;
}

export class ScaleSetListener {
  readonly counts: ListenerCounts = {
    messages: 0,
    repeated: 0,
    jobsAvailable: 0,
    jobsAssigned: 0,
    jobsStarted: 0,
    jobsCompleted: 0,
    acquired: 0,
    skippedParts: 0,
    sessionsOpened: 0,
    scaleSetsCreated: 0,
    cyclesStarted: 0,
    shortRechecks: 0,
    failures: 0,
  };
  private readonly listening = new Map<string, Listening>();
  /** Pools whose assigned jobs rose since the last start, and when the last cycle was started. */
  private readonly pendingStart = new Set<string>();
  private lastStartMs = Number.NEGATIVE_INFINITY;
  private startSeq = 0;

  constructor(
    private readonly deps: ListenerDeps,
    private readonly options: ListenerOptions,
  ) {}

  /** The pools this listener serves now. */
  get pools(): string[] {
    return [...this.listening.keys()];
  }

  async open(): Promise<OpenOutcome> {
    const { config, stateStore, log } = this.deps;
    const candidates = scaleSetPools(config);
    if (candidates.length === 0) return { listening: [], held: [], failed: [] };
    const keys = candidates.map((pool) => scaleSetStateKey(config.stack, pool.name));
    const states = await stateStore.getMany<ScaleSetState>(keys);

    if (!(await this.deps.scaleSets.probe())) {
      const note = 'runner-registration answered 404: GitHub Enterprise Server before 3.9 has no scale sets';
      await this.store(
        candidates.map((pool) => ({
          ...states.get(scaleSetStateKey(config.stack, pool.name)),
          name: scaleSetNameOf(pool),
          available: false,
          note,
          updatedAt: this.deps.now().toISOString(),
        })),
        candidates,
      );
      const polled = candidates
        .filter((pool) => jobSourceOf(config, pool) === 'auto')
        .map((pool) => pool.name);
      log.warn(
        polled.length === candidates.length
          ? `Job source: this GitHub has no runner scale sets (${note}); polling for ${polled.join(', ')}`
          : `Job source: this GitHub has no runner scale sets (${note}); pools set to scaleset are not scaled`,
        { pools: candidates.map((pool) => pool.name), polled },
      );
      return { listening: [], held: [], unavailable: note, failed: [] };
    }

    const held: OpenOutcome['held'] = [];
    const failed: string[] = [];
    for (const pool of candidates) {
      const until = new Date(this.options.deadline.getTime() + leaseMarginSeconds * 1000);
      const lease = await stateStore.acquireLease(
        listenerLeaseKey(config.stack, pool.name),
        this.options.holder,
        until,
      );
      if (!lease.acquired) {
        held.push({ pool: pool.name, holder: lease.heldBy.holder, until: lease.heldBy.until });
        continue;
      }
      const setting = jobSourceOf(config, pool);
      const known = states.get(scaleSetStateKey(config.stack, pool.name));
      try {
        const state = await this.ensureScaleSet(pool, setting, known);
        if (!listensFor(setting, state)) {
          log.warn('Scale set keeps only its name as label: the pool is polled (jobSource auto)', {
            pool: pool.name,
            scaleSet: state.name,
          });
          continue;
        }
        const entry: Listening = {
          pool,
          setting,
          state,
          lastMessageId: state.lastMessageId ?? 0,
          handledBefore: state.lastMessageId ?? 0,
          processed: new Set(),
          statisticsMessageId: -1,
          lastStoredMs: Number.NEGATIVE_INFINITY,
          lastAssigned: state.statistics?.assignedJobs ?? 0,
          failures: 0,
          backoffUntilMs: Number.NEGATIVE_INFINITY,
        };
        this.listening.set(pool.name, entry);
        await this.openSession(entry);
      } catch (error) {
        this.counts.failures += 1;
        failed.push(pool.name);
        log.error('Scale set listener could not prepare the pool', {
          pool: pool.name,
          error: error as Error,
        });
      }
    }
    return { listening: this.pools, held, failed };
  }

  /**
   * One poll of a pool's queue. In production it blocks for the long poll (about 50 s without a message);
   * a pool backing off answers at once with when it may poll again.
   */
  async poll(poolName: string): Promise<PollOutcome> {
    const entry = this.listening.get(poolName);
    if (!entry) return { kind: 'closed' };
    const nowMs = this.deps.now().getTime();
    if (entry.backoffUntilMs > nowMs) return { kind: 'backoff', untilMs: entry.backoffUntilMs };
    try {
      if (!entry.session) await this.openSession(entry);
      if (!entry.session) return { kind: 'backoff', untilMs: entry.backoffUntilMs };
      await this.renewTokenIfDue(entry);
      const message = await this.deps.scaleSets.getMessage(
        entry.session,
        entry.lastMessageId,
        entry.pool.maxRunners,
      );
      entry.failures = 0;
      if (!message) {
        await this.heartbeat(entry);
        return { kind: 'empty' };
      }
      return await this.handle(entry, message);
    } catch (error) {
      return this.failed(entry, error);
    }
  }

  /**
   * Starts the cycle that is due, if any: at most one per `cycleStartGapSeconds`. First, a pool whose scale set
   * had fewer runners than its jobs want (a launch EC2 could not fill, a registration that failed) has its
   * statistics read again and, still short, asks for a cycle. Returns when the next start or look is due.
   */
  async flushCycleStart(): Promise<number | undefined> {
    const recheckAt = await this.recheckShortPools();
    const due = await this.startDueCycle();
    if (due === undefined) return recheckAt;
    return recheckAt === undefined ? due : Math.min(due, recheckAt);
  }

  private async startDueCycle(): Promise<number | undefined> {
    if (this.pendingStart.size === 0) return undefined;
    const nowMs = this.deps.now().getTime();
    const dueMs = this.lastStartMs + this.deps.config.scaleSets.cycleStartGapSeconds * 1000;
    if (nowMs < dueMs) return dueMs;
    const pools = [...this.pendingStart].sort();
    const name = `scaleset-${compactTime(this.deps.now())}-${++this.startSeq}`.slice(0, 80);
    try {
      await this.deps.cycleStarter.start({
        name,
        input: { cycleId: name, targets: { repositories: [], scaleSets: pools } },
      });
      this.pendingStart.clear();
      this.lastStartMs = nowMs;
      this.counts.cyclesStarted += 1;
      this.deps.log.info('Scale set listener started a cycle', { cycle: name, pools });
      return undefined;
    } catch (error) {
      // The statistics are stored: the next start (or the next scheduled cycle) acts on them.
      this.lastStartMs = nowMs;
      this.deps.log.warn('Scale set listener could not start a cycle; trying again', {
        cycle: name,
        error: error as Error,
      });
      return nowMs + this.deps.config.scaleSets.cycleStartGapSeconds * 1000;
    }
  }

  /** Closes every session and stores the state; with `release`, gives the leases back (the listener stops). */
  async close(release: boolean): Promise<void> {
    for (const entry of this.listening.values()) {
      if (entry.session) {
        try {
          await this.deps.scaleSets.deleteSession(entry.session);
        } catch (error) {
          this.deps.log.warn('Message session not closed; the service drops it by itself', {
            pool: entry.pool.name,
            error: error as Error,
          });
        }
        entry.session = undefined;
      }
      entry.state = without(entry.state, 'sessionId');
    }
    await this.storeAll().catch((error: unknown) =>
      this.deps.log.warn('Scale set state not stored at close', { error: error as Error }),
    );
    if (release) {
      for (const pool of this.listening.keys()) {
        await this.deps.stateStore
          .releaseLease(listenerLeaseKey(this.deps.config.stack, pool), this.options.holder)
          .catch(() => undefined);
      }
    }
    this.listening.clear();
  }

  // ── scale sets and sessions ──────────────────────────────────────────────────────────────────────────

  /** The pool's scale set: by the id kept, else by name, else created; its state stored. */
  private async ensureScaleSet(
    pool: PoolConfig,
    setting: JobSourceSetting,
    known: ScaleSetState | undefined,
    /** The kept id is known to be gone (its session said so): look for it no more. */
    knownGone = false,
  ): Promise<ScaleSetState> {
    const { scaleSets, log } = this.deps;
    const name = scaleSetNameOf(pool);
    const spec = { name, labels: pool.labels, runnerGroup: pool.runnerGroup };
    let scaleSet =
      known?.scaleSetId === undefined || knownGone
        ? undefined
        : await scaleSets.getScaleSet(known.scaleSetId);
    if (scaleSet && scaleSet.name !== name) scaleSet = undefined; // renamed in the config: a different one
    if (!scaleSet)
      scaleSet = await scaleSets.findScaleSet(await scaleSets.runnerGroupId(pool.runnerGroup), name);
    if (!scaleSet) {
      scaleSet = await scaleSets.createScaleSet(spec);
      this.counts.scaleSetsCreated += 1;
      log.info(
        known?.scaleSetId === undefined
          ? 'Created the runner scale set'
          : 'Created the runner scale set again (it was deleted on GitHub)',
        { pool: pool.name, scaleSet: name, scaleSetId: scaleSet.id, previousId: known?.scaleSetId },
      );
    }
    const labelsDropped = !labelsCover(scaleSet.labels, pool.labels);
    if (labelsDropped)
      log.warn(
        setting === 'auto'
          ? 'The scale set kept only its name as label (GHES before 3.18, or 3.18-3.20 without DistributedTask.AllowRunnerScaleSetCustomLabels): jobSource auto polls this pool'
          : `The scale set kept only its name as label (GHES before 3.18, or 3.18-3.20 without DistributedTask.AllowRunnerScaleSetCustomLabels): jobs reach it only with runs-on: ${name}`,
        { pool: pool.name, asked: pool.labels, kept: scaleSet.labels },
      );
    const state: ScaleSetState = {
      ...known,
      name,
      scaleSetId: scaleSet.id,
      available: true,
      labelsDropped,
      updatedAt: this.deps.now().toISOString(),
      ...(labelsDropped ? { note: `labels dropped: only runs-on: ${name} reaches it` } : {}),
    };
    // A new scale set's messages start from 1 again, and its statistics come with its session.
    const fresh = known?.scaleSetId !== scaleSet.id;
    const cleared = without(state, labelsDropped ? 'sessionId' : 'note');
    const stored = fresh ? { ...without(cleared, 'statistics'), lastMessageId: 0 } : cleared;
    await this.store([stored], [pool]);
    return stored;
  }

  private async openSession(entry: Listening): Promise<void> {
    const { scaleSets, config, log } = this.deps;
    const scaleSetId = entry.state.scaleSetId;
    if (scaleSetId === undefined) return;
    const owner = `${config.stack}/${this.options.holder}`.slice(0, 200);
    let session: ScaleSetSession;
    try {
      session = await scaleSets.createSession(scaleSetId, owner);
    } catch (error) {
      if (error instanceof ScaleSetNotFoundError) {
        // Deleted on GitHub since it was found: create it again and listen to the new one.
        entry.state = await this.ensureScaleSet(entry.pool, entry.setting, entry.state, true);
        entry.lastMessageId = 0;
        entry.processed.clear();
        return this.openSession(entry);
      }
      if (!(error instanceof ScaleSetSessionConflictError)) throw error;
      const left = entry.state.sessionId;
      if (left === undefined) {
        entry.backoffUntilMs = this.deps.now().getTime() + conflictWaitSeconds * 1000;
        log.warn('Another listener holds the scale set’s session: waiting', {
          pool: entry.pool.name,
          scaleSetId,
          retryInSeconds: conflictWaitSeconds,
        });
        return;
      }
      // This stack's listener died holding it: close that session and open ours.
      log.warn('Closing the message session a stopped listener left open', {
        pool: entry.pool.name,
        scaleSetId,
      });
      await scaleSets.deleteSession({ sessionId: left, scaleSetId, statistics: undefined });
      entry.state = without(entry.state, 'sessionId');
      session = await scaleSets.createSession(scaleSetId, owner);
    }
    entry.session = session;
    this.counts.sessionsOpened += 1;
    entry.state = { ...entry.state, sessionId: session.sessionId };
    if (session.statistics) this.takeStatistics(entry, session.statistics, 0, true);
    await this.store([this.snapshot(entry)], [entry.pool]);
    entry.lastStoredMs = this.deps.now().getTime();
    log.info('Listening to the scale set', {
      pool: entry.pool.name,
      scaleSetId,
      assignedJobs: session.statistics?.assignedJobs,
    });
  }

  private async renewTokenIfDue(entry: Listening): Promise<void> {
    const expiresAt = entry.session?.tokenExpiresAt;
    if (!entry.session || !expiresAt) return;
    if (Date.parse(expiresAt) - this.deps.now().getTime() > renewTokenBeforeMs) return;
    entry.session = await this.deps.scaleSets.refreshSession(entry.session);
  }

  // ── messages ─────────────────────────────────────────────────────────────────────────────────────────

  private async handle(entry: Listening, message: ScaleSetMessage): Promise<PollOutcome> {
    const { log } = this.deps;
    const id = message.messageId;
    if (entry.processed.has(id) || id <= entry.handledBefore) {
      // Seen before: counted and acknowledged then. Polling after the newest handled skips it from now on.
      this.counts.repeated += 1;
      entry.lastMessageId = Math.max(entry.lastMessageId, id);
      log.debug('Repeated message ignored', { pool: entry.pool.name, messageId: id });
      return { kind: 'message', messageId: id, repeated: true };
    }
    if (message.problems.length > 0) {
      this.counts.skippedParts += message.problems.length;
      log.warn('Message parts that can never be read were skipped; the message is acknowledged', {
        pool: entry.pool.name,
        messageId: id,
        problems: message.problems,
      });
    }
    const newlyAssigned = message.jobs.some((job) => job.type === 'JobAssigned');
    if (message.statistics) this.takeStatistics(entry, message.statistics, id, false, newlyAssigned);
    const offered = [
      ...new Set(message.jobs.filter((job) => job.type === 'JobAvailable').map((job) => job.runnerRequestId)),
    ];
    // Before the acknowledgement: should acquiring fail, the message comes again and is acquired then.
    if (offered.length > 0 && entry.session) {
      const acquired = await this.deps.scaleSets.acquireJobs(entry.session, offered);
      this.counts.acquired += acquired.length;
    }
    await this.store(
      [{ ...this.snapshot(entry), lastMessageId: Math.max(entry.lastMessageId, id) }],
      [entry.pool],
    );
    entry.lastStoredMs = this.deps.now().getTime();
    if (entry.session) await this.deps.scaleSets.deleteMessage(entry.session, id);
    entry.processed.add(id);
    if (entry.processed.size > rememberedMessages) entry.processed.delete(Math.min(...entry.processed));
    entry.lastMessageId = Math.max(entry.lastMessageId, id);
    this.counts.messages += 1;
    for (const job of message.jobs) {
      if (job.type === 'JobAvailable') this.counts.jobsAvailable += 1;
      else if (job.type === 'JobAssigned') this.counts.jobsAssigned += 1;
      else if (job.type === 'JobStarted') this.counts.jobsStarted += 1;
      else this.counts.jobsCompleted += 1;
    }
    log.info('Scale set message', {
      pool: entry.pool.name,
      messageId: id,
      jobs: summarize(message),
      assignedJobs: entry.statistics?.assignedJobs,
      runningJobs: entry.statistics?.runningJobs,
    });
    await this.flushCycleStart();
    return { kind: 'message', messageId: id, repeated: false };
  }

  /**
   * Statistics newer than those held replace them. A rise in assigned jobs, or jobs newly assigned (a job that
   * completed and one that came in the same message leave the count as it was, but the first one's runner is
   * gone), asks for a cycle.
   */
  private takeStatistics(
    entry: Listening,
    statistics: ScaleSetStatistics,
    messageId: number,
    initial: boolean,
    newlyAssigned = false,
  ): void {
    if (!initial && messageId < entry.statisticsMessageId) return;
    entry.statistics = statistics;
    entry.statisticsMessageId = messageId;
    entry.state = {
      ...entry.state,
      statistics: storedStatistics(statistics),
      statisticsAt: this.deps.now().toISOString(),
    };
    const assigned = statistics.assignedJobs;
    if (assigned > entry.lastAssigned || newlyAssigned || (initial && assigned > 0))
      this.pendingStart.add(entry.pool.name);
    entry.lastAssigned = assigned;
    const short = this.shortOf(entry, statistics) > 0;
    if (!short) entry.recheckAtMs = undefined;
    else entry.recheckAtMs ??= this.deps.now().getTime() + recheckShortSeconds * 1000;
  }

  /** Runners the scale set lacks for its assigned jobs and the pool's minIdle, within maxRunners. */
  private shortOf(entry: Listening, statistics: ScaleSetStatistics): number {
    const wanted = Math.min(statistics.assignedJobs + entry.pool.minIdle, entry.pool.maxRunners);
    return wanted - statistics.registeredRunners;
  }

  /**
   * Pools still short of runners after a while read their scale set's statistics afresh (the Actions service,
   * not GitHub's REST API) and ask for a cycle if they still are: no job waits for the next scheduled cycle
   * because EC2 had no capacity when its runner was launched.
   */
  private async recheckShortPools(): Promise<number | undefined> {
    let next: number | undefined;
    for (const entry of this.listening.values()) {
      if (entry.recheckAtMs === undefined || entry.state.scaleSetId === undefined) continue;
      const nowMs = this.deps.now().getTime();
      if (entry.recheckAtMs <= nowMs) {
        entry.recheckAtMs = nowMs + recheckShortSeconds * 1000;
        try {
          const fresh = await this.deps.scaleSets.getScaleSet(entry.state.scaleSetId);
          if (fresh?.statistics) {
            this.takeStatistics(entry, fresh.statistics, entry.lastMessageId, false);
            if (this.shortOf(entry, fresh.statistics) > 0) {
              this.pendingStart.add(entry.pool.name);
              this.counts.shortRechecks += 1;
            }
          }
        } catch (error) {
          this.deps.log.debug('Scale set statistics not read again; next time', {
            pool: entry.pool.name,
            error: error as Error,
          });
        }
      }
      if (entry.recheckAtMs !== undefined)
        next = Math.min(next ?? Number.POSITIVE_INFINITY, entry.recheckAtMs);
    }
    return next;
  }

  private async heartbeat(entry: Listening): Promise<void> {
    const nowMs = this.deps.now().getTime();
    entry.state = { ...entry.state, statisticsAt: new Date(nowMs).toISOString() };
    if (nowMs - entry.lastStoredMs < heartbeatSeconds * 1000) return;
    await this.store([this.snapshot(entry)], [entry.pool]);
    entry.lastStoredMs = nowMs;
  }

  private failed(entry: Listening, error: unknown): PollOutcome {
    const { log } = this.deps;
    if (error instanceof ScaleSetSessionGoneError) {
      // Evicted (or its scale set deleted): a new session next poll, the scale set checked then.
      entry.session = undefined;
      entry.state = without(entry.state, 'sessionId');
      log.warn('Message session gone; opening a new one', { pool: entry.pool.name });
      return { kind: 'empty' };
    }
    entry.failures += 1;
    this.counts.failures += 1;
    const seconds =
      error instanceof ScaleSetAuthError ? 60 : Math.min(30, 2 ** Math.min(5, entry.failures - 1));
    entry.backoffUntilMs = this.deps.now().getTime() + seconds * 1000;
    (entry.failures === 1 ? log.warn : log.debug)('Scale set poll failed; backing off', {
      pool: entry.pool.name,
      failures: entry.failures,
      retryInSeconds: seconds,
      error: error as Error,
    });
    return { kind: 'backoff', untilMs: entry.backoffUntilMs };
  }

  // ── the state store ──────────────────────────────────────────────────────────────────────────────────

  private snapshot(entry: Listening): ScaleSetState {
    return { ...entry.state, lastMessageId: entry.lastMessageId, updatedAt: this.deps.now().toISOString() };
  }

  private async storeAll(): Promise<void> {
    const entries = [...this.listening.values()];
    if (entries.length === 0) return;
    await this.store(
      entries.map((entry) => this.snapshot(entry)),
      entries.map((entry) => entry.pool),
    );
  }

  private async store(states: readonly ScaleSetState[], pools: readonly PoolConfig[]): Promise<void> {
    await this.deps.stateStore.putMany(
      states.map((state, index) => ({
        key: scaleSetStateKey(this.deps.config.stack, (pools[index] as PoolConfig).name),
        value: withoutUndefined(state),
      })),
      scaleSetStateTtlSeconds,
    );
  }
}

function summarize(message: ScaleSetMessage): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const job of message.jobs) counts[job.type] = (counts[job.type] ?? 0) + 1;
  return counts;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

/** The state without one of its optional fields. */
function without(
  state: ScaleSetState,
  key: 'sessionId' | 'note' | 'scaleSetId' | 'statistics',
): ScaleSetState {
  const copy = { ...state };
  delete copy[key];
  return copy;
}

/** `20260105T120000123Z`: a time fit for an execution name. */
function compactTime(at: Date): string {
  return at.toISOString().replace(/[-:.]/g, '');
}
