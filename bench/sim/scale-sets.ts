/**
 * The production ScaleSetPort over the simulated world's Actions service (local/world/actions-service.ts),
 * metered: what the `stepscale-scaleset` strategy (and the contract suite) scale with. It answers as the
 * HTTP adapter does over the stand-in (test/scaleset-contract.ts holds both to it): messages go through the
 * adapter's own reader (scaleset-messages.ts) as the wire JSON, refusals through the adapter's error mapping.
 *
 * Requests are metered as the Actions service's (`actions`), apart from GitHub's REST API, except the runner
 * registration token, a REST POST (about once an hour). A message poll is a long poll: it is held open until a
 * message comes or 50 s pass, and counts once however many times the strategy looks at it meanwhile.
 */
import { type Answer, errorOf, jwtExpiryMs } from '../../functions/adapters/scaleset-client.ts';
import { readMessage, statisticsSchema } from '../../functions/adapters/scaleset-messages.ts';
import { ScaleSetNotFoundError, ScaleSetSessionGoneError } from '../../functions/errors.ts';
import type {
  ScaleSet,
  ScaleSetJitConfig,
  ScaleSetMessage,
  ScaleSetPort,
  ScaleSetRunner,
  ScaleSetSession,
  ScaleSetSpec,
} from '../../functions/ports/scale-sets.ts';
import {
  ActionsServiceError,
  type ScaleSetRecord,
  type SessionRecord,
} from '../../local/world/actions-service.ts';
import type { World } from '../../local/world/world.ts';
import type { RequestMeter } from './requests.ts';

/** The service answers a poll within about this long when no message comes (HTTP 202). */
export const longPollMs = 50_000;
/** An admin token is renewed this long before it expires, as the adapter does. */
const renewBeforeMs = 60_000;

export class SimScaleSets implements ScaleSetPort {
  private readonly tokens = new Map<string, string>();
  /** Per session, since when a long poll is held open (no message yet). */
  private readonly heldPolls = new Map<string, number>();
  private adminExpiresAtMs = 0;

  constructor(
    private readonly world: World,
    private readonly meter: RequestMeter,
  ) {}

  private get service() {
    return this.world.actions;
  }

  async probe(): Promise<boolean> {
    if (!this.service.scaleSetsAvailable) {
      this.meter.record('POST /orgs/{org}/actions/runners/registration-token', 'write');
      this.meter.record('POST /actions/runner-registration', 'actions-service');
      return false;
    }
    this.adminExpiresAtMs = 0;
    this.admin();
    return true;
  }

  async runnerGroupId(name: string): Promise<number> {
    this.call('GET runnergroups');
    const group = this.service.runnerGroupByName(name);
    if (group) return group.id;
    if (name.toLowerCase() === 'default') return 1;
    throw new ScaleSetNotFoundError(`Runner group "${name}" does not exist`);
  }

  async findScaleSet(runnerGroupId: number, name: string): Promise<ScaleSet | undefined> {
    this.call('GET runnerscalesets');
    const found = this.service.listScaleSets({ runnerGroupId, name })[0];
    return found ? this.withStatistics(found) : undefined;
  }

  async getScaleSet(scaleSetId: number): Promise<ScaleSet | undefined> {
    this.call('GET runnerscalesets/{id}');
    const found = this.service.getScaleSet(scaleSetId);
    return found ? this.withStatistics(found) : undefined;
  }

  async createScaleSet(spec: ScaleSetSpec): Promise<ScaleSet> {
    const runnerGroupId = await this.runnerGroupId(spec.runnerGroup);
    this.call('POST runnerscalesets');
    return this.withStatistics(
      this.answer(`creating scale set ${spec.name}`, () =>
        this.service.createScaleSet({ name: spec.name, runnerGroupId, labels: spec.labels }),
      ),
    );
  }

  async deleteScaleSet(scaleSetId: number): Promise<void> {
    this.call('DELETE runnerscalesets/{id}');
    this.service.deleteScaleSet(scaleSetId);
  }

  async createSession(scaleSetId: number, owner: string): Promise<ScaleSetSession> {
    this.call('POST sessions');
    if (!this.service.getScaleSet(scaleSetId))
      throw new ScaleSetNotFoundError(`Scale set ${scaleSetId} does not exist (deleted on GitHub?)`);
    return this.handleOf(
      this.answer(`opening a message session of scale set ${scaleSetId}`, () =>
        this.service.createSession(scaleSetId, owner),
      ),
    );
  }

  async refreshSession(session: ScaleSetSession): Promise<ScaleSetSession> {
    this.call('PATCH sessions/{id}');
    try {
      return this.handleOf(this.service.refreshSession(session.scaleSetId, session.sessionId));
    } catch (error) {
      if (error instanceof ActionsServiceError && error.status === 404) {
        this.tokens.delete(session.sessionId);
        throw new ScaleSetSessionGoneError(
          `The message session of scale set ${session.scaleSetId} is gone (evicted, or its scale set deleted)`,
        );
      }
      throw error;
    }
  }

  async deleteSession(session: ScaleSetSession): Promise<void> {
    this.call('DELETE sessions/{id}');
    this.tokens.delete(session.sessionId);
    this.heldPolls.delete(session.sessionId);
    this.service.deleteSession(session.scaleSetId, session.sessionId);
  }

  async getMessage(
    session: ScaleSetSession,
    lastMessageId: number,
    maxCapacity: number,
  ): Promise<ScaleSetMessage | undefined> {
    const record = await this.queueSession(session, () => this.holdPoll(session));
    const read = this.service.nextMessage(record, lastMessageId, Math.max(0, Math.floor(maxCapacity)));
    if (!read) return undefined;
    this.heldPolls.delete(session.sessionId);
    const wire = JSON.stringify({
      messageId: read.message.messageId,
      messageType: 'RunnerScaleSetJobMessages',
      body: JSON.stringify(read.message.jobs),
      statistics: read.statistics,
    });
    const parsed = readMessage(wire);
    if (!parsed.ok) throw new Error(`The world's message did not read: ${parsed.reason}`);
    return parsed.message;
  }

  async deleteMessage(session: ScaleSetSession, messageId: number): Promise<void> {
    const record = await this.queueSession(session, () => this.call('DELETE messages/{id}'));
    this.service.deleteMessage(record, messageId);
  }

  async acquireJobs(session: ScaleSetSession, runnerRequestIds: readonly number[]): Promise<number[]> {
    if (runnerRequestIds.length === 0) return [];
    const record = await this.queueSession(session, () => this.call('POST acquirejobs'));
    return this.service.acquireJobs(record, runnerRequestIds);
  }

  async generateJitConfig(scaleSetId: number, name: string): Promise<ScaleSetJitConfig> {
    this.call('POST generatejitconfig');
    if (!this.service.getScaleSet(scaleSetId))
      throw new ScaleSetNotFoundError(`Scale set ${scaleSetId} does not exist (deleted on GitHub?)`);
    const runner = this.answer(`registering runner ${name}`, () =>
      this.service.generateJitConfig(scaleSetId, name),
    );
    return {
      runner: { id: runner.id, name: runner.name, scaleSetId },
      encodedJitConfig: `jit:${name}`,
    };
  }

  async getRunner(runnerId: number): Promise<ScaleSetRunner | undefined> {
    this.call('GET agents/{id}');
    const runner = this.world.github.getRunner(runnerId);
    return runner ? { id: runner.id, name: runner.name, scaleSetId: runner.scaleSetId ?? 0 } : undefined;
  }

  async removeRunner(runnerId: number): Promise<void> {
    this.call('DELETE agents/{id}');
    this.answer(`removing runner ${runnerId}`, () => this.service.removeRunner(runnerId));
  }

  // ── helpers ──────────────────────────────────────────────────────────────────────────────────────────

  /** A scale set as the service sends it: with its statistics. */
  private withStatistics(record: ScaleSetRecord): ScaleSet {
    return { ...toScaleSet(record), statistics: statisticsSchema.parse(this.service.statistics(record.id)) };
  }

  /** An admin call: the admin token is renewed first when it is about to expire (one REST call, one trade). */
  private call(endpoint: string): void {
    this.admin();
    this.meter.record(`actions ${endpoint}`, 'actions-service');
  }

  private admin(): void {
    if (this.adminExpiresAtMs - renewBeforeMs > this.world.nowMs + this.epochMs()) return;
    this.meter.record('POST /orgs/{org}/actions/runners/registration-token', 'write');
    this.meter.record('POST /actions/runner-registration', 'actions-service');
    this.adminExpiresAtMs = this.service.issueAdminToken().expiresAtMs;
  }

  private epochMs(): number {
    return this.world.agenda.now().getTime() - this.world.nowMs;
  }

  /** Counts a long poll once: when it opens, and again each time it would have timed out (202) and reopened. */
  private holdPoll(session: ScaleSetSession): void {
    const since = this.heldPolls.get(session.sessionId);
    const nowMs = this.world.nowMs;
    if (since !== undefined && nowMs - since < longPollMs) return;
    this.heldPolls.set(session.sessionId, nowMs);
    this.meter.record('actions GET messages', 'actions-service');
  }

  /**
   * The session behind a message-queue call: an expired token is refreshed and the call made once more, as the
   * adapter does on a 401; a session the service no longer knows is gone.
   */
  private async queueSession(session: ScaleSetSession, count: () => void): Promise<SessionRecord> {
    const token = this.tokens.get(session.sessionId);
    if (token === undefined)
      throw new ScaleSetSessionGoneError(`Session ${session.sessionId} is not open here`);
    count();
    const found = this.service.sessionByToken(token);
    if (found && !found.expired) return found.session;
    await this.refreshSession(session);
    count();
    const again = this.service.sessionByToken(this.tokens.get(session.sessionId) ?? '');
    if (!again || again.expired)
      throw new ScaleSetSessionGoneError(
        `The message queue of scale set ${session.scaleSetId} refused a fresh token: the session is gone`,
      );
    return again.session;
  }

  private handleOf(record: SessionRecord): ScaleSetSession {
    this.tokens.set(record.sessionId, record.token);
    const expiresAtMs = jwtExpiryMs(record.token);
    return {
      sessionId: record.sessionId,
      scaleSetId: record.scaleSetId,
      statistics: statisticsSchema.parse(this.service.statistics(record.scaleSetId)),
      ...(expiresAtMs === undefined ? {} : { tokenExpiresAt: new Date(expiresAtMs).toISOString() }),
    };
  }

  /** The world's refusal as the adapter names it (the same mapping from status and exception name). */
  private answer<T>(action: string, work: () => T): T {
    try {
      return work();
    } catch (error) {
      if (!(error instanceof ActionsServiceError)) throw error;
      const answer: Answer = {
        status: error.status,
        text: JSON.stringify({ typeName: error.exception, message: error.message }),
        contentType: 'application/json',
      };
      throw errorOf(answer, action);
    }
  }
}

function toScaleSet(record: ScaleSetRecord): ScaleSet {
  return {
    id: record.id,
    name: record.name,
    runnerGroupId: record.runnerGroupId,
    labels: [...record.labels],
  };
}
