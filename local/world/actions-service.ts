/**
 * The world's Actions service: GitHub's runner scale sets as `actions/scaleset` (client.go, session_client.go,
 * types.go, listener/listener.go) speaks to them. The HTTP stand-in serves it with the library's wire shapes
 * (local/github-standin/actions-service.ts); the simulated port reads it directly (bench/sim/scale-sets.ts).
 * Like the rest of the world it has no clock of its own: the world (world.ts) tells it what happens to jobs.
 *
 * - A scale set has a name, a runner group and labels; without the multi-label feature (GitHub Enterprise
 *   Server before 3.18, or 3.18-3.20 without its flag) it keeps its name as its only label, silently.
 * - A queued self-hosted job whose labels a scale set's labels cover is routed to that scale set (the lowest id
 *   when several do) and offered on its queue (JobAvailable). Once the scale set's listener acquires it, it is
 *   assigned (JobAssigned) and only that scale set's runners may take it; a scale set's runners take nothing
 *   else. Started and finished jobs are told as JobStarted and JobCompleted.
 * - Messages: job events batch into the newest message not read yet, at most 50 per message; a read seals it.
 *   A read returns the oldest message after `lastMessageId` (earlier ones count as acknowledged), with the
 *   statistics of that moment; deleting a message acknowledges it.
 * - One session per scale set (a second is refused with a conflict); its message-queue token expires and is
 *   renewed by refreshing the session; an evicted session is gone.
 * - Acquiring respects the capacity the listener last sent (`X-ScaleSetMaxCapacity`): jobs beyond it stay
 *   offered and are offered again when an assigned job of the scale set ends.
 */
import { labelsCover, normalizeLabels } from '../../functions/core/labels.ts';
import { defaultRunnerGroupId, type GitHubState, type JobRecord, type RunnerRecord } from './github.ts';

export type ServiceJobMessageType = 'JobAvailable' | 'JobAssigned' | 'JobStarted' | 'JobCompleted';

/** One job event as the library's types.go shapes it (JobMessageBase and its variants). */
export interface ServiceJobMessage {
  readonly messageType: ServiceJobMessageType;
  readonly runnerRequestId: number;
  readonly repositoryName: string;
  readonly ownerName: string;
  readonly jobId: string;
  readonly jobWorkflowRef: string;
  readonly jobDisplayName: string;
  readonly workflowRunId: number;
  readonly eventName: string;
  readonly requestLabels: readonly string[];
  readonly queueTime: string;
  readonly scaleSetAssignTime?: string;
  readonly runnerAssignTime?: string;
  readonly finishTime?: string;
  readonly acquireJobUrl?: string;
  readonly runnerId?: number;
  readonly runnerName?: string;
  readonly result?: string;
}

export interface ServiceStatistics {
  readonly totalAvailableJobs: number;
  readonly totalAcquiredJobs: number;
  readonly totalAssignedJobs: number;
  readonly totalRunningJobs: number;
  readonly totalRegisteredRunners: number;
  readonly totalBusyRunners: number;
  readonly totalIdleRunners: number;
}

export interface ScaleSetRecord {
  readonly id: number;
  name: string;
  runnerGroupId: number;
  /** As kept: the name first, then the other labels (or the name alone without the multi-label feature). */
  labels: string[];
  readonly createdOn: string;
  disableUpdate: boolean;
}

export interface SessionRecord {
  readonly sessionId: string;
  readonly scaleSetId: number;
  readonly ownerName: string;
  token: string;
  tokenExpiresAtMs: number;
  /** The capacity the listener last sent with a poll; unlimited until it sends one. */
  maxCapacity: number;
}

export interface QueueMessage {
  readonly messageId: number;
  readonly jobs: ServiceJobMessage[];
  /** Read at least once: later events go into a new message. */
  sealed: boolean;
}

interface RoutedJob {
  readonly job: JobRecord;
  readonly runnerRequestId: number;
  readonly scaleSetId: number;
  state: 'available' | 'acquired' | 'running';
  /** An acquisition was refused for the capacity: offered again when the scale set has room. */
  refused?: boolean;
}

export class ActionsServiceError extends Error {
  override readonly name = 'ActionsServiceError';

  constructor(
    /** The HTTP status the stand-in answers with. */
    readonly status: number,
    /** The exception name (`typeName`) the service puts in its error body. */
    readonly exception: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ActionsServiceOptions {
  readonly now: () => Date;
  /** False: this GitHub has no scale sets (runner-registration answers 404, GHES before 3.9). Default true. */
  readonly scaleSets?: boolean;
  /** False: a scale set keeps only its name as label (GHES < 3.18, or 3.18-3.20 without the flag). Default true. */
  readonly multipleLabels?: boolean;
  /** Lifetime of a message-queue access token. Default 3600. */
  readonly messageTokenSeconds?: number;
  /** Lifetime of an admin token (runner-registration). Default 3600. */
  readonly adminTokenSeconds?: number;
}

const maxJobsPerMessage = 50;

export class ActionsService {
  readonly scaleSetsAvailable: boolean;
  readonly multipleLabels: boolean;
  private readonly now: () => Date;
  private readonly messageTokenMs: number;
  private readonly adminTokenMs: number;
  private readonly scaleSets = new Map<number, ScaleSetRecord>();
  private readonly sessions = new Map<number, SessionRecord>();
  private readonly queues = new Map<number, QueueMessage[]>();
  private readonly nextMessageIds = new Map<number, number>();
  private readonly routed = new Map<number, RoutedJob>();
  private readonly adminTokens = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private readonly next = { scaleSet: 1, session: 1, request: 1, token: 1 };
  /** The world's hooks: a routing change or an acquisition may let a runner take a job. */
  onRoutingChanged: () => void = () => {};
  onAcquired: () => void = () => {};

  constructor(
    readonly github: GitHubState,
    options: ActionsServiceOptions,
  ) {
    this.now = options.now;
    this.scaleSetsAvailable = options.scaleSets ?? true;
    this.multipleLabels = options.multipleLabels ?? true;
    this.messageTokenMs = (options.messageTokenSeconds ?? 3600) * 1000;
    this.adminTokenMs = (options.adminTokenSeconds ?? 3600) * 1000;
  }

  // ── tokens ───────────────────────────────────────────────────────────────────────────────────────────

  /** An admin token for the Actions service (what runner-registration hands out), JWT-shaped with `exp`. */
  issueAdminToken(): { token: string; expiresAtMs: number } {
    const expiresAtMs = this.nowMs() + this.adminTokenMs;
    const token = jwtShaped({ exp: Math.floor(expiresAtMs / 1000), jti: `admin-${this.next.token++}` });
    this.adminTokens.set(token, expiresAtMs);
    return { token, expiresAtMs };
  }

  adminTokenValid(token: string): boolean {
    const expiresAtMs = this.adminTokens.get(token);
    return expiresAtMs !== undefined && expiresAtMs > this.nowMs();
  }

  /** Test hook: every admin token expires now. */
  expireAdminTokens(): void {
    for (const token of this.adminTokens.keys()) this.adminTokens.set(token, 0);
  }

  // ── runner groups and scale sets ─────────────────────────────────────────────────────────────────────

  runnerGroupByName(name: string): { id: number; name: string; isDefault: boolean } | undefined {
    const group = this.github
      .listRunnerGroups()
      .find((candidate) => candidate.name.toLowerCase() === name.toLowerCase());
    return group ? { id: group.id, name: group.name, isDefault: group.isDefault } : undefined;
  }

  runnerGroupName(id: number): string | undefined {
    return this.github.listRunnerGroups().find((group) => group.id === id)?.name;
  }

  listScaleSets(filter: { runnerGroupId?: number; name?: string } = {}): ScaleSetRecord[] {
    return [...this.scaleSets.values()].filter(
      (set) =>
        (filter.runnerGroupId === undefined || set.runnerGroupId === filter.runnerGroupId) &&
        (filter.name === undefined || set.name === filter.name),
    );
  }

  getScaleSet(id: number): ScaleSetRecord | undefined {
    return this.scaleSets.get(id);
  }

  createScaleSet(spec: { name: string; runnerGroupId?: number; labels?: readonly string[] }): ScaleSetRecord {
    const runnerGroupId = spec.runnerGroupId ?? defaultRunnerGroupId;
    if (!spec.name) throw new ActionsServiceError(400, 'ArgumentException', 'A scale set needs a name');
    if (!this.github.listRunnerGroups().some((group) => group.id === runnerGroupId))
      throw new ActionsServiceError(404, 'RunnerGroupNotFoundException', `No runner group ${runnerGroupId}`);
    if (this.listScaleSets({ runnerGroupId, name: spec.name }).length > 0)
      throw new ActionsServiceError(
        409,
        'RunnerScaleSetExistsException',
        `A runner scale set named ${spec.name} exists in runner group ${runnerGroupId}`,
      );
    const record: ScaleSetRecord = {
      id: this.next.scaleSet++,
      name: spec.name,
      runnerGroupId,
      labels: this.keptLabels(spec.name, spec.labels ?? []),
      createdOn: this.now().toISOString(),
      disableUpdate: true,
    };
    this.scaleSets.set(record.id, record);
    this.queues.set(record.id, []);
    this.onRoutingChanged();
    return record;
  }

  updateScaleSet(id: number, spec: { name?: string; labels?: readonly string[] }): ScaleSetRecord {
    const record = this.requireScaleSet(id);
    if (spec.name) record.name = spec.name;
    if (spec.labels) record.labels = this.keptLabels(record.name, spec.labels);
    this.onRoutingChanged();
    return record;
  }

  /**
   * Deletes a scale set: its session and queue go, the jobs routed to it that no runner started are routed
   * anew. Its runners stay registered but take no job any more.
   */
  deleteScaleSet(id: number): boolean {
    if (!this.scaleSets.delete(id)) return false;
    this.sessions.delete(id);
    this.queues.delete(id);
    for (const [jobId, routed] of this.routed) {
      if (routed.scaleSetId === id && routed.state !== 'running') this.routed.delete(jobId);
    }
    this.onRoutingChanged();
    this.wake();
    return true;
  }

  // ── GitHub's side: routing jobs, their lives ─────────────────────────────────────────────────────────

  /** The scale set a queued self-hosted job goes to (routing it on first ask), if one's labels cover it. */
  routeOf(job: JobRecord, wanted: readonly string[]): RoutedJob | undefined {
    const known = this.routed.get(job.id);
    if (known) return known;
    if (job.status !== 'queued' || job.runnerId !== undefined) return undefined;
    const scaleSet = [...this.scaleSets.values()].find((set) => labelsCover(set.labels, wanted));
    if (!scaleSet) return undefined;
    const routed: RoutedJob = {
      job,
      runnerRequestId: this.next.request++,
      scaleSetId: scaleSet.id,
      state: 'available',
    };
    this.routed.set(job.id, routed);
    this.push(scaleSet.id, this.jobMessage('JobAvailable', routed));
    return routed;
  }

  /** Whether GitHub would hand this job to this runner, as far as scale sets decide it. */
  mayTake(runner: RunnerRecord, job: JobRecord, wanted: readonly string[]): boolean {
    const routed = this.routeOf(job, wanted);
    if (routed) return runner.scaleSetId === routed.scaleSetId && routed.state === 'acquired';
    return runner.scaleSetId === undefined;
  }

  jobStarted(job: JobRecord, runner: RunnerRecord): void {
    const routed = this.routed.get(job.id);
    if (!routed) return;
    routed.state = 'running';
    this.push(routed.scaleSetId, {
      ...this.jobMessage('JobStarted', routed),
      runnerId: runner.id,
      runnerName: runner.name,
      runnerAssignTime: this.now().toISOString(),
    });
  }

  /** The job ended (`succeeded`, `failed`, `canceled`): told to its scale set, whose capacity frees. */
  jobFinished(job: JobRecord, result: string, runner?: RunnerRecord): void {
    const routed = this.routed.get(job.id);
    if (!routed) return;
    this.routed.delete(job.id);
    if (!this.scaleSets.has(routed.scaleSetId)) return;
    this.push(routed.scaleSetId, {
      ...this.jobMessage('JobCompleted', routed),
      result,
      finishTime: this.now().toISOString(),
      ...(runner ? { runnerId: runner.id, runnerName: runner.name } : {}),
    });
    if (routed.state !== 'available') this.offerAgain(routed.scaleSetId);
  }

  // ── sessions and the message queue ───────────────────────────────────────────────────────────────────

  createSession(scaleSetId: number, ownerName: string): SessionRecord {
    this.requireScaleSet(scaleSetId);
    const existing = this.sessions.get(scaleSetId);
    if (existing)
      throw new ActionsServiceError(
        409,
        'TaskAgentSessionConflictException',
        `The scale set ${scaleSetId} already has a session (owner ${existing.ownerName})`,
      );
    const session: SessionRecord = {
      sessionId: sessionUuid(this.next.session++),
      scaleSetId,
      ownerName,
      token: '',
      tokenExpiresAtMs: 0,
      maxCapacity: Number.POSITIVE_INFINITY,
    };
    this.renewToken(session);
    this.sessions.set(scaleSetId, session);
    return session;
  }

  refreshSession(scaleSetId: number, sessionId: string): SessionRecord {
    const session = this.sessions.get(scaleSetId);
    if (!session || session.sessionId !== sessionId)
      throw new ActionsServiceError(404, 'TaskAgentSessionNotFoundException', `No session ${sessionId}`);
    this.renewToken(session);
    return session;
  }

  deleteSession(scaleSetId: number, sessionId: string): boolean {
    const session = this.sessions.get(scaleSetId);
    if (!session || session.sessionId !== sessionId) return false;
    this.sessions.delete(scaleSetId);
    this.wake();
    return true;
  }

  /** The service drops a session (as it does after long inactivity); its token stops working. */
  evictSession(scaleSetId: number): void {
    this.sessions.delete(scaleSetId);
    this.wake();
  }

  /** Test hook: the session's message-queue token expires now. */
  expireSessionToken(scaleSetId: number): void {
    const session = this.sessions.get(scaleSetId);
    if (session) session.tokenExpiresAtMs = this.nowMs();
  }

  sessionOf(scaleSetId: number): SessionRecord | undefined {
    return this.sessions.get(scaleSetId);
  }

  /** The session a message-queue token belongs to: `expired` when it is known but past its time. */
  sessionByToken(token: string): { session: SessionRecord; expired: boolean } | undefined {
    for (const session of this.sessions.values()) {
      if (session.token === token) return { session, expired: session.tokenExpiresAtMs <= this.nowMs() };
    }
    return undefined;
  }

  /**
   * The oldest message after `lastMessageId` (sealed by the read), with the statistics of now; undefined when
   * the queue has none. Messages up to `lastMessageId` count as acknowledged.
   */
  nextMessage(
    session: SessionRecord,
    lastMessageId: number,
    maxCapacity?: number,
  ): { message: QueueMessage; statistics: ServiceStatistics } | undefined {
    if (maxCapacity !== undefined && Number.isFinite(maxCapacity)) session.maxCapacity = maxCapacity;
    const queue = this.queues.get(session.scaleSetId) ?? [];
    while (queue.length > 0 && (queue[0] as QueueMessage).messageId <= lastMessageId) queue.shift();
    const message = queue[0];
    if (!message) return undefined;
    message.sealed = true;
    return { message, statistics: this.statistics(session.scaleSetId) };
  }

  /** Whether a read would return a message now. */
  hasMessage(scaleSetId: number, lastMessageId: number): boolean {
    return (this.queues.get(scaleSetId) ?? []).some((message) => message.messageId > lastMessageId);
  }

  deleteMessage(session: SessionRecord, messageId: number): void {
    const queue = this.queues.get(session.scaleSetId) ?? [];
    const index = queue.findIndex((message) => message.messageId === messageId);
    if (index >= 0) queue.splice(index, 1);
  }

  /** Acquires offered jobs of the session's scale set within its capacity; the request ids it got. */
  acquireJobs(session: SessionRecord, runnerRequestIds: readonly number[]): number[] {
    const acquired: number[] = [];
    let room = session.maxCapacity - this.count(session.scaleSetId, ['acquired', 'running']);
    for (const requestId of runnerRequestIds) {
      const routed = [...this.routed.values()].find(
        (candidate) =>
          candidate.runnerRequestId === requestId &&
          candidate.scaleSetId === session.scaleSetId &&
          candidate.state === 'available',
      );
      if (!routed) continue;
      if (room <= 0) {
        routed.refused = true;
        continue;
      }
      routed.refused = false;
      routed.state = 'acquired';
      room -= 1;
      acquired.push(requestId);
      this.push(session.scaleSetId, {
        ...this.jobMessage('JobAssigned', routed),
        scaleSetAssignTime: this.now().toISOString(),
      });
    }
    if (acquired.length > 0) this.onAcquired();
    return acquired;
  }

  statistics(scaleSetId: number): ServiceStatistics {
    let registered = 0;
    let busy = 0;
    let idle = 0;
    for (const runner of this.github.allRunners()) {
      if (runner.scaleSetId !== scaleSetId) continue;
      registered += 1;
      if (runner.busy) busy += 1;
      else if (runner.status === 'online') idle += 1;
    }
    const acquired = this.count(scaleSetId, ['acquired']);
    const running = this.count(scaleSetId, ['running']);
    return {
      totalAvailableJobs: this.count(scaleSetId, ['available']),
      totalAcquiredJobs: acquired,
      totalAssignedJobs: acquired + running,
      totalRunningJobs: running,
      totalRegisteredRunners: registered,
      totalBusyRunners: busy,
      totalIdleRunners: idle,
    };
  }

  /** Called whenever a message may have arrived or a session gone (the stand-in's long polls wait on it). */
  onChange(waiter: () => void): () => void {
    this.waiters.add(waiter);
    return () => this.waiters.delete(waiter);
  }

  // ── runners ──────────────────────────────────────────────────────────────────────────────────────────

  /** Registers a just-in-time runner of the scale set (offline until its machine starts it). */
  generateJitConfig(scaleSetId: number, name: string): RunnerRecord {
    const scaleSet = this.requireScaleSet(scaleSetId);
    if (!name) throw new ActionsServiceError(400, 'ArgumentException', 'A runner needs a name');
    if (this.github.runnerByName(name))
      throw new ActionsServiceError(409, 'AgentExistsException', `A runner named ${name} exists`);
    return this.github.registerRunner({
      name,
      labels: scaleSet.labels,
      status: 'offline',
      ephemeral: true,
      runnerGroupId: scaleSet.runnerGroupId,
      scaleSetId,
    });
  }

  /** Removes a runner; refused while it runs (or was handed) a job. False when there was none. */
  removeRunner(runnerId: number): boolean {
    const runner = this.github.getRunner(runnerId);
    if (!runner) return false;
    if (runner.busy)
      throw new ActionsServiceError(
        409,
        'JobStillRunningException',
        `Runner ${runner.name} is still running a job`,
      );
    return this.github.removeRunner(runnerId);
  }

  // ── helpers ──────────────────────────────────────────────────────────────────────────────────────────

  private keptLabels(name: string, labels: readonly string[]): string[] {
    if (!this.multipleLabels) return [name];
    const kept = [name];
    const seen = new Set(normalizeLabels([name]));
    for (const label of labels) {
      const key = label.trim().toLowerCase();
      if (key === '' || seen.has(key)) continue;
      seen.add(key);
      kept.push(label.trim());
    }
    return kept;
  }

  /** Jobs whose acquisition was refused for the capacity are offered once more (each once per refusal). */
  private offerAgain(scaleSetId: number): void {
    for (const routed of this.routed.values()) {
      if (routed.scaleSetId !== scaleSetId || routed.state !== 'available' || !routed.refused) continue;
      routed.refused = false;
      this.push(scaleSetId, this.jobMessage('JobAvailable', routed));
    }
  }

  private count(scaleSetId: number, states: readonly RoutedJob['state'][]): number {
    let n = 0;
    for (const routed of this.routed.values())
      if (routed.scaleSetId === scaleSetId && states.includes(routed.state)) n += 1;
    return n;
  }

  private push(scaleSetId: number, event: ServiceJobMessage): void {
    const queue = this.queues.get(scaleSetId);
    if (!queue) return;
    const open = queue[queue.length - 1];
    if (open && !open.sealed && open.jobs.length < maxJobsPerMessage) {
      open.jobs.push(event);
    } else {
      const messageId = (this.nextMessageIds.get(scaleSetId) ?? 0) + 1;
      this.nextMessageIds.set(scaleSetId, messageId);
      queue.push({ messageId, jobs: [event], sealed: false });
    }
    this.wake();
  }

  private jobMessage(type: ServiceJobMessageType, routed: RoutedJob): ServiceJobMessage {
    const { job } = routed;
    const run = this.github.getRun(job.runId);
    return {
      messageType: type,
      runnerRequestId: routed.runnerRequestId,
      repositoryName: run?.repo ?? '',
      ownerName: this.github.org,
      jobId: String(job.id),
      jobWorkflowRef: `${this.github.org}/${run?.repo ?? ''}/.github/workflows/ci.yml@refs/heads/main`,
      jobDisplayName: job.name,
      workflowRunId: job.runId,
      eventName: 'push',
      requestLabels: [...job.labels],
      queueTime: job.createdAt,
      ...(type === 'JobAvailable'
        ? { acquireJobUrl: `acquirejobs/${routed.scaleSetId}/${routed.runnerRequestId}` }
        : {}),
    };
  }

  private renewToken(session: SessionRecord): void {
    session.tokenExpiresAtMs = this.nowMs() + this.messageTokenMs;
    session.token = jwtShaped({
      exp: Math.floor(session.tokenExpiresAtMs / 1000),
      jti: `queue-${this.next.token++}`,
    });
  }

  private requireScaleSet(id: number): ScaleSetRecord {
    const scaleSet = this.scaleSets.get(id);
    if (!scaleSet)
      throw new ActionsServiceError(404, 'RunnerScaleSetNotFoundException', `No runner scale set ${id}`);
    return scaleSet;
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private nowMs(): number {
    return this.now().getTime();
  }
}

/** A token shaped like the service's JWTs (header.payload.signature), whose `exp` a client can read. */
function jwtShaped(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.${part('standin')}`;
}

/** Session ids are UUIDs on the service; sequential ones here keep runs reproducible. */
function sessionUuid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}
