/**
 * The production ScaleSetPort: the Actions service behind GitHub's runner scale sets over HTTP, following
 * `actions/scaleset` (client.go, session_client.go) request for request:
 *
 * 1. a registration token (`POST {api}/orgs/{org}/actions/runners/registration-token`, REST, with the PAT or
 *    the App's installation token: `registrationToken` below) is traded at `POST {api}/actions/runner-registration`
 *    (`Authorization: RemoteAuth <token>`, `{url, runner_event: "register"}`) for the service's URL and an admin
 *    token (a JWT), renewed a minute before its `exp`; that call is retried on 401/403, as the library does
 *    (a fresh registration token takes a moment to be honoured);
 * 2. every service call goes to `{service}_apis/…?api-version=6.0-preview` with `Authorization: Bearer <admin>`;
 * 3. a session's message queue is polled at its own URL with its own token (`X-ScaleSetMaxCapacity`,
 *    `Accept: application/json; api-version=6.0-preview`); 202 is "no message"; on 401 the session is refreshed
 *    (PATCH) and the call sent once more, as the library does for GetMessage, DeleteMessage and AcquireJobs.
 *
 * Failures leave as the named errors of functions/errors.ts: 5xx, network failures, timeouts and answers that
 * are not the service's JSON (an HTML page from a proxy) as ScaleSetUnavailableError, after bounded retries
 * for everything but the long poll (the listener paces those itself); the service's exception names
 * (`typeName`) pick the rest. A UTF-8 byte order mark before a JSON answer is ignored, as the library does.
 * Tokens and JIT configs appear in no error message and no log line.
 */
import * as z from 'zod';
import {
  ScaleSetAuthError,
  ScaleSetNotFoundError,
  ScaleSetRequestError,
  ScaleSetRunnerBusyError,
  ScaleSetRunnerExistsError,
  ScaleSetSessionConflictError,
  ScaleSetSessionGoneError,
  ScaleSetsUnsupportedError,
  ScaleSetUnavailableError,
  ScaleSetWriteRefusedError,
} from '../errors.ts';
import type { Log } from '../observability/logger.ts';
import type {
  ScaleSet,
  ScaleSetJitConfig,
  ScaleSetMessage,
  ScaleSetPort,
  ScaleSetRunner,
  ScaleSetSession,
  ScaleSetSpec,
} from '../ports/scale-sets.ts';
import { describe, readMessage, statisticsSchema, withoutByteOrderMark } from './scaleset-messages.ts';

export interface RegistrationToken {
  readonly token: string;
  readonly expiresAt?: string;
}

export interface ScaleSetClientOptions {
  /** REST API base URL (https://api.github.com, https://api.SUB.ghe.com, https://HOST/api/v3). */
  readonly apiUrl: string;
  /** Where the scale sets are registered: the organization's web URL (`https://github.com/ORG`). */
  readonly configUrl: string;
  /** A fresh runner registration token (REST, with the stack's GitHub credentials). */
  readonly registrationToken: () => Promise<RegistrationToken>;
  readonly fetch?: typeof fetch;
  /** The clock token expiries are judged on. */
  readonly now?: () => Date;
  readonly logger?: Pick<Log, 'debug' | 'info' | 'warn'>;
  /** Bound on one attempt of a call (not the long poll). Default 30,000 ms. */
  readonly attemptTimeoutMs?: number;
  /** Bound on one long poll; the service answers within about 50 s. Default 70,000 ms. */
  readonly pollTimeoutMs?: number;
  /** Retries of a 5xx, network failure or timeout (not the long poll). Default 3. */
  readonly retries?: number;
  /** Milliseconds per second of the retry waits (1, 4, 9 s). Default 1000; tests shrink it. */
  readonly retryBaseMs?: number;
  /**
   * Refuse every call that changes something (`stepscale plan`): creating and deleting scale sets, sessions,
   * runners; reading (and trading a registration token for an admin token, which changes nothing) still works.
   */
  readonly readOnly?: boolean;
  readonly userAgent?: string;
}

const apiVersion = '6.0-preview';
const scaleSetsPath = '_apis/runtime/runnerscalesets';
const agentsPath = '_apis/distributedtask/pools/0/agents';
/** Renew the admin token this long before it expires (the library's minute). */
const renewBeforeMs = 60_000;

// Wire shapes (types.go), as far as the scaler reads them.
const labelSchema = z.object({ name: z.string() });
const scaleSetSchema = z.object({
  id: z.int().positive(),
  name: z.string(),
  runnerGroupId: z.int().default(0),
  labels: z.array(labelSchema).nullish(),
  statistics: z.unknown(),
});
const scaleSetListSchema = z.object({ count: z.int(), value: z.array(scaleSetSchema).nullish() });
const runnerGroupListSchema = z.object({
  count: z.int(),
  value: z.array(z.object({ id: z.int(), name: z.string() })).nullish(),
});
const sessionSchema = z.object({
  sessionId: z.string().min(1),
  messageQueueUrl: z.string().min(1),
  messageQueueAccessToken: z.string().min(1),
  statistics: z.unknown(),
});
const runnerSchema = z.object({ id: z.int(), name: z.string(), runnerScaleSetId: z.int().default(0) });
const jitSchema = z.object({ runner: runnerSchema, encodedJITConfig: z.string().min(1) });
const acquiredSchema = z.object({ count: z.int(), value: z.array(z.int()).nullish() });
const adminSchema = z.object({ url: z.string().min(1), token: z.string().min(1) });

interface SessionInternals {
  queueUrl: string;
  token: string;
}

export interface Answer {
  readonly status: number;
  readonly text: string;
  readonly contentType: string;
}

export function createScaleSetClient(options: ScaleSetClientOptions): ScaleSetPort {
  const send = options.fetch ?? fetch;
  const now = options.now ?? (() => new Date());
  const retries = options.retries ?? 3;
  const retryBaseMs = options.retryBaseMs ?? 1000;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 30_000;
  const userAgent = options.userAgent ?? 'stepscale';
  const apiUrl = options.apiUrl.replace(/\/+$/, '');
  const sessions = new Map<string, SessionInternals>();
  let admin: { serviceUrl: string; token: string; expiresAtMs: number } | undefined;
  let adminPending: Promise<typeof admin> | undefined;

  // ── transport ────────────────────────────────────────────────────────────────────────────────────────

  async function attempt(url: string, init: RequestInit, timeoutMs: number): Promise<Answer> {
    let response: Response;
    try {
      response = await send(url, {
        ...init,
        headers: { 'user-agent': userAgent, ...(init.headers as Record<string, string>) },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new ScaleSetUnavailableError(`${init.method ?? 'GET'} ${redact(url)} failed: ${reason(error)}`, {
        cause: error,
      });
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new ScaleSetUnavailableError(`${init.method ?? 'GET'} ${redact(url)}: the answer broke off`, {
        cause: error,
      });
    }
    return { status: response.status, text, contentType: response.headers.get('content-type') ?? '' };
  }

  /** One call with retries of outages (5xx, 429, network failures, timeouts). */
  async function call(url: string, init: RequestInit, action: string): Promise<Answer> {
    for (let retry = 0; ; retry += 1) {
      let answer: Answer | undefined;
      let failure: unknown;
      try {
        answer = await attempt(url, init, attemptTimeoutMs);
      } catch (error) {
        failure = error;
      }
      const outage = failure !== undefined || (answer !== undefined && isOutage(answer.status));
      if (!outage && answer) return answer;
      if (retry >= retries) {
        if (failure) throw failure;
        throw errorOf(answer as Answer, action);
      }
      options.logger?.debug(`Actions service: ${action} retried`, { retry: retry + 1 });
      await new Promise((resolve) => setTimeout(resolve, (retry + 1) ** 2 * retryBaseMs));
    }
  }

  // ── admin connection ─────────────────────────────────────────────────────────────────────────────────

  async function adminConnection(force = false) {
    const current = admin;
    if (!force && current && current.expiresAtMs - renewBeforeMs > now().getTime()) return current;
    adminPending ??= (async () => {
      const registration = await options.registrationToken();
      const url = `${apiUrl}/actions/runner-registration`;
      const init: RequestInit = {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `RemoteAuth ${registration.token}`,
        },
        body: JSON.stringify({ url: options.configUrl, runner_event: 'register' }),
      };
      // A registration token just issued may not be honoured yet: the library retries 401 and 403 here.
      let answer = await call(url, init, 'trading the registration token');
      for (let retry = 0; (answer.status === 401 || answer.status === 403) && retry < 2; retry += 1) {
        await new Promise((resolve) => setTimeout(resolve, (retry + 1) * retryBaseMs));
        answer = await call(url, init, 'trading the registration token');
      }
      if (answer.status === 404)
        throw new ScaleSetsUnsupportedError(
          `${redact(url)} answered 404: this GitHub has no runner scale sets (GitHub Enterprise Server 3.9 or later has them)`,
        );
      if (!ok(answer.status)) throw errorOf(answer, 'trading the registration token for an admin token');
      const connection = parse(adminSchema, answer, 'the runner registration');
      const serviceUrl = connection.url.endsWith('/') ? connection.url : `${connection.url}/`;
      const expiresAtMs = jwtExpiryMs(connection.token) ?? now().getTime() + 55 * 60_000;
      admin = { serviceUrl, token: connection.token, expiresAtMs };
      options.logger?.debug('Actions service admin token renewed', {
        expiresAt: new Date(expiresAtMs).toISOString(),
      });
      return admin;
    })().finally(() => {
      adminPending = undefined;
    });
    const renewed = await adminPending;
    if (!renewed) throw new ScaleSetUnavailableError('No admin connection');
    return renewed;
  }

  /** A service call with the admin token; a 401 renews the token and sends the call once more. */
  async function service(
    method: string,
    path: string,
    action: string,
    options2: { body?: unknown; query?: Record<string, string>; bearer?: string } = {},
  ): Promise<Answer> {
    if (options.readOnly && method !== 'GET')
      throw new ScaleSetWriteRefusedError(`Read-only client refused ${action}`);
    for (let attemptNo = 0; ; attemptNo += 1) {
      const connection = await adminConnection(attemptNo > 0);
      const url = new URL(path, connection.serviceUrl);
      for (const [key, value] of Object.entries(options2.query ?? {})) url.searchParams.set(key, value);
      url.searchParams.set('api-version', apiVersion);
      const answer = await call(
        url.toString(),
        {
          method,
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${options2.bearer ?? connection.token}`,
          },
          ...(options2.body === undefined ? {} : { body: JSON.stringify(options2.body) }),
        },
        action,
      );
      if (answer.status === 401 && options2.bearer === undefined && attemptNo === 0) continue;
      return answer;
    }
  }

  // ── sessions ─────────────────────────────────────────────────────────────────────────────────────────

  function handleOf(
    scaleSetId: number,
    wire: z.output<typeof sessionSchema>,
    action: string,
  ): ScaleSetSession {
    sessions.set(wire.sessionId, { queueUrl: wire.messageQueueUrl, token: wire.messageQueueAccessToken });
    const statistics = statisticsSchema.safeParse(wire.statistics);
    const expiresAtMs = jwtExpiryMs(wire.messageQueueAccessToken);
    if (!statistics.success) options.logger?.warn(`Actions service: ${action} came without statistics`);
    return {
      sessionId: wire.sessionId,
      scaleSetId,
      statistics: statistics.success ? statistics.data : undefined,
      ...(expiresAtMs === undefined ? {} : { tokenExpiresAt: new Date(expiresAtMs).toISOString() }),
    };
  }

  function internalsOf(session: ScaleSetSession): SessionInternals {
    const internals = sessions.get(session.sessionId);
    if (!internals) throw new ScaleSetSessionGoneError(`Session ${session.sessionId} is not open here`);
    return internals;
  }

  async function refresh(session: ScaleSetSession): Promise<ScaleSetSession> {
    const answer = await service(
      'PATCH',
      `${scaleSetsPath}/${session.scaleSetId}/sessions/${session.sessionId}`,
      'refreshing the message session',
    );
    if (answer.status === 404) {
      sessions.delete(session.sessionId);
      throw new ScaleSetSessionGoneError(
        `The message session of scale set ${session.scaleSetId} is gone (evicted, or its scale set deleted)`,
      );
    }
    if (!ok(answer.status)) throw errorOf(answer, 'refreshing the message session');
    return handleOf(session.scaleSetId, parse(sessionSchema, answer, 'the session'), 'the session refresh');
  }

  /** A message-queue call with the session's token; a 401 refreshes the session and sends it once more. */
  async function queued(
    session: ScaleSetSession,
    send2: (internals: SessionInternals) => Promise<Answer>,
  ): Promise<Answer> {
    let answer = await send2(internalsOf(session));
    if (answer.status !== 401) return answer;
    await refresh(session);
    answer = await send2(internalsOf(session));
    if (answer.status === 401)
      throw new ScaleSetSessionGoneError(
        `The message queue of scale set ${session.scaleSetId} refused a fresh token: the session is gone`,
      );
    return answer;
  }

  function toScaleSet(wire: z.output<typeof scaleSetSchema>): ScaleSet {
    const statistics = statisticsSchema.safeParse(wire.statistics);
    return {
      id: wire.id,
      name: wire.name,
      runnerGroupId: wire.runnerGroupId,
      labels: (wire.labels ?? []).map((label) => label.name),
      ...(statistics.success ? { statistics: statistics.data } : {}),
    };
  }

  async function runnerGroupId(name: string): Promise<number> {
    const answer = await service('GET', '_apis/runtime/runnergroups/', `finding runner group ${name}`, {
      query: { groupName: name },
    });
    if (!ok(answer.status)) throw errorOf(answer, `finding runner group ${name}`);
    const groups = parse(runnerGroupListSchema, answer, 'the runner group list').value ?? [];
    const group = groups.find((candidate) => candidate.name.toLowerCase() === name.toLowerCase());
    if (group) return group.id;
    // GitHub's default group is id 1 even where it is not listed by that name (the library's rule).
    if (name.toLowerCase() === 'default') return 1;
    throw new ScaleSetNotFoundError(`Runner group "${name}" does not exist`);
  }

  return {
    runnerGroupId,

    async probe() {
      try {
        await adminConnection(true);
        return true;
      } catch (error) {
        if (error instanceof ScaleSetsUnsupportedError) return false;
        throw error;
      }
    },

    async findScaleSet(runnerGroupId, name) {
      const answer = await service('GET', scaleSetsPath, `finding scale set ${name}`, {
        query: { runnerGroupId: String(runnerGroupId), name },
      });
      if (!ok(answer.status)) throw errorOf(answer, `finding scale set ${name}`);
      const list = parse(scaleSetListSchema, answer, 'the scale set list').value ?? [];
      const found = list.filter((set) => set.name === name);
      if (found.length > 1)
        throw new ScaleSetRequestError(
          `Several scale sets are named ${name} in runner group ${runnerGroupId}`,
          200,
        );
      return found[0] ? toScaleSet(found[0]) : undefined;
    },

    async getScaleSet(scaleSetId) {
      const answer = await service(
        'GET',
        `${scaleSetsPath}/${scaleSetId}`,
        `reading scale set ${scaleSetId}`,
      );
      if (answer.status === 404) return undefined;
      if (!ok(answer.status)) throw errorOf(answer, `reading scale set ${scaleSetId}`);
      return toScaleSet(parse(scaleSetSchema, answer, 'the scale set'));
    },

    async createScaleSet(spec: ScaleSetSpec) {
      const groupId = await runnerGroupId(spec.runnerGroup);
      const labels = [
        spec.name,
        ...spec.labels.filter((label) => label.toLowerCase() !== spec.name.toLowerCase()),
      ];
      const answer = await service('POST', scaleSetsPath, `creating scale set ${spec.name}`, {
        body: {
          name: spec.name,
          runnerGroupId: groupId,
          labels: labels.map((name) => ({ type: 'System', name })),
          RunnerSetting: { disableUpdate: true },
        },
      });
      if (!ok(answer.status)) throw errorOf(answer, `creating scale set ${spec.name}`);
      return toScaleSet(parse(scaleSetSchema, answer, 'the created scale set'));
    },

    async deleteScaleSet(scaleSetId) {
      const answer = await service(
        'DELETE',
        `${scaleSetsPath}/${scaleSetId}`,
        `deleting scale set ${scaleSetId}`,
      );
      if (answer.status === 404 || ok(answer.status)) return;
      throw errorOf(answer, `deleting scale set ${scaleSetId}`);
    },

    async createSession(scaleSetId, owner) {
      const answer = await service(
        'POST',
        `${scaleSetsPath}/${scaleSetId}/sessions`,
        'opening a message session',
        {
          body: { ownerName: owner },
        },
      );
      if (answer.status === 404)
        throw new ScaleSetNotFoundError(`Scale set ${scaleSetId} does not exist (deleted on GitHub?)`);
      if (!ok(answer.status)) throw errorOf(answer, `opening a message session of scale set ${scaleSetId}`);
      return handleOf(scaleSetId, parse(sessionSchema, answer, 'the session'), 'the new session');
    },

    refreshSession: refresh,

    async deleteSession(session) {
      sessions.delete(session.sessionId);
      const answer = await service(
        'DELETE',
        `${scaleSetsPath}/${session.scaleSetId}/sessions/${session.sessionId}`,
        'closing the message session',
      );
      if (answer.status === 404 || ok(answer.status)) return;
      throw errorOf(answer, 'closing the message session');
    },

    async getMessage(session, lastMessageId, maxCapacity): Promise<ScaleSetMessage | undefined> {
      const answer = await queued(session, ({ queueUrl, token }) => {
        const url = new URL(queueUrl);
        if (lastMessageId > 0) url.searchParams.set('lastMessageId', String(lastMessageId));
        return attempt(
          url.toString(),
          {
            method: 'GET',
            headers: {
              accept: `application/json; api-version=${apiVersion}`,
              authorization: `Bearer ${token}`,
              'x-scalesetmaxcapacity': String(Math.max(0, Math.floor(maxCapacity))),
            },
          },
          options.pollTimeoutMs ?? 70_000,
        );
      });
      if (answer.status === 202) return undefined;
      if (answer.status === 404)
        throw new ScaleSetSessionGoneError(`The message queue of scale set ${session.scaleSetId} is gone`);
      if (answer.status !== 200) throw errorOf(answer, 'polling the message queue');
      const read = readMessage(answer.text);
      if (!read.ok)
        throw new ScaleSetUnavailableError(`The message queue answered something unreadable: ${read.reason}`);
      return read.message;
    },

    async deleteMessage(session, messageId) {
      const answer = await queued(session, ({ queueUrl, token }) => {
        const url = new URL(queueUrl);
        url.pathname = `${url.pathname.replace(/\/+$/, '')}/${messageId}`;
        return call(
          url.toString(),
          {
            method: 'DELETE',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          },
          'acknowledging a message',
        );
      });
      // Gone already is what acknowledging wants.
      if (answer.status === 404 || ok(answer.status)) return;
      throw errorOf(answer, `acknowledging message ${messageId}`);
    },

    async acquireJobs(session, runnerRequestIds) {
      if (runnerRequestIds.length === 0) return [];
      const answer = await queued(session, ({ token }) =>
        service('POST', `${scaleSetsPath}/${session.scaleSetId}/acquirejobs`, 'acquiring jobs', {
          body: [...runnerRequestIds],
          bearer: token,
        }),
      );
      if (!ok(answer.status)) throw errorOf(answer, 'acquiring jobs');
      return parse(acquiredSchema, answer, 'the acquired jobs').value ?? [];
    },

    async generateJitConfig(scaleSetId, name): Promise<ScaleSetJitConfig> {
      const answer = await service(
        'POST',
        `${scaleSetsPath}/${scaleSetId}/generatejitconfig`,
        `registering runner ${name}`,
        { body: { name, workFolder: '_work' } },
      );
      if (answer.status === 404)
        throw new ScaleSetNotFoundError(`Scale set ${scaleSetId} does not exist (deleted on GitHub?)`);
      if (!ok(answer.status)) throw errorOf(answer, `registering runner ${name}`);
      const jit = parse(jitSchema, answer, 'the JIT config');
      return { runner: toRunner(jit.runner, scaleSetId), encodedJitConfig: jit.encodedJITConfig };
    },

    async getRunner(runnerId): Promise<ScaleSetRunner | undefined> {
      const answer = await service('GET', `${agentsPath}/${runnerId}`, `reading runner ${runnerId}`);
      if (answer.status === 404) return undefined;
      if (!ok(answer.status)) throw errorOf(answer, `reading runner ${runnerId}`);
      return toRunner(parse(runnerSchema, answer, 'the runner'));
    },

    async removeRunner(runnerId) {
      const answer = await service('DELETE', `${agentsPath}/${runnerId}`, `removing runner ${runnerId}`);
      if (answer.status === 404 || ok(answer.status)) return;
      throw errorOf(answer, `removing runner ${runnerId}`);
    },
  };
}

function toRunner(wire: z.output<typeof runnerSchema>, scaleSetId?: number): ScaleSetRunner {
  return { id: wire.id, name: wire.name, scaleSetId: wire.runnerScaleSetId || (scaleSetId ?? 0) };
}

function ok(status: number): boolean {
  return status >= 200 && status < 300;
}

/** 5xx and 429 are the service being unwell; 4xx are its answers. */
function isOutage(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/** The JSON of an answer, checked against its wire shape; anything else is the service being unwell. */
function parse<S extends z.ZodType>(schema: S, answer: Answer, what: string): z.output<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(withoutByteOrderMark(answer.text));
  } catch {
    throw new ScaleSetUnavailableError(
      `The Actions service answered ${what} with ${describe(answer.text)} (HTTP ${answer.status}), not JSON`,
    );
  }
  const result = schema.safeParse(raw);
  if (!result.success)
    throw new ScaleSetUnavailableError(
      `The Actions service answered ${what} in an unexpected shape (HTTP ${answer.status}): ${result.error.issues
        .slice(0, 3)
        .map((issue) => `${issue.path.join('.') || '(answer)'}: ${issue.message}`)
        .join('; ')}`,
    );
  return result.data;
}

/**
 * One of the named errors for a refused call, picked by status and the service's exception name (the simulated
 * port maps the world's refusals with it too, so both ports fail alike).
 */
export function errorOf(answer: Answer, action: string): Error {
  let exception: { typeName?: string; message?: string } = {};
  try {
    const raw = JSON.parse(withoutByteOrderMark(answer.text)) as unknown;
    if (raw && typeof raw === 'object') exception = raw as typeof exception;
  } catch {
    // Not the service's JSON: described below.
  }
  const name = typeof exception.typeName === 'string' ? exception.typeName : undefined;
  const detail =
    typeof exception.message === 'string'
      ? `${name ? `${name}: ` : ''}${exception.message}`
      : /html/i.test(answer.contentType) || answer.text.trimStart().startsWith('<')
        ? 'an HTML page'
        : describe(answer.text);
  const message = `${action} failed (HTTP ${answer.status}): ${detail}`;
  if (isOutage(answer.status)) return new ScaleSetUnavailableError(message);
  if (name?.includes('TaskAgentSessionConflictException')) return new ScaleSetSessionConflictError(message);
  if (name?.includes('AgentExistsException')) return new ScaleSetRunnerExistsError(message);
  if (name?.includes('JobStillRunningException')) return new ScaleSetRunnerBusyError(message);
  if (answer.status === 401 || answer.status === 403) return new ScaleSetAuthError(message);
  if (answer.status === 404) return new ScaleSetNotFoundError(message);
  if (ok(answer.status)) return new ScaleSetUnavailableError(message);
  return new ScaleSetRequestError(message, answer.status, name);
}

/** The `exp` of a JWT (read, not verified: the service checks it), in epoch milliseconds. */
export function jwtExpiryMs(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** A URL without its query (session ids and tokens never travel there, but be sure). */
function redact(url: string): string {
  return url.split('?')[0] ?? url;
}

function reason(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out';
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error);
}
