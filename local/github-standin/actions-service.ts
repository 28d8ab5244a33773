/**
 * The stand-in's Actions service: the runner scale set protocol over HTTP, as `actions/scaleset` speaks it
 * (client.go, session_client.go, types.go), answering from the world's {@link ActionsService}.
 *
 * - `POST {api}/actions/runner-registration` (`Authorization: RemoteAuth <registration token>`, body
 *   `{url, runner_event: "register"}`) → `{url, token}`: the service's URL and an admin token (JWT-shaped, with
 *   `exp`); 404 where the deployment has no scale sets.
 * - `{service}/_apis/…` with `Authorization: Bearer <admin token>` and `api-version=6.0-preview`: runner groups,
 *   scale sets (get, list, create, update, delete), sessions (create, refresh, delete; 409 for a second one),
 *   `acquirejobs` (with the session's message-queue token), `generatejitconfig`, and runners
 *   (`distributedtask/pools/0/agents`).
 * - The message queue, `GET {messageQueueUrl}?lastMessageId=N` with `X-ScaleSetMaxCapacity` and the queue token:
 *   200 with `{messageId, messageType: "RunnerScaleSetJobMessages", body: "<JSON array of job messages>",
 *   statistics}`, or 202 after the long poll; 401 for an expired or unknown token; `DELETE …/{messageId}` acks.
 * Errors carry the service's `{typeName, message}` body.
 */
import type {
  ActionsService,
  QueueMessage,
  ScaleSetRecord,
  SessionRecord,
} from '../world/actions-service.ts';
import { ActionsServiceError } from '../world/actions-service.ts';

export interface ActionsStandinOptions {
  readonly service: ActionsService;
  /** How long a message poll waits for a message before 202 (real time). Default 50,000 ms. */
  readonly longPollMs?: number;
  /** Prefix every JSON answer with a UTF-8 byte order mark, as the service sometimes does. */
  readonly byteOrderMark?: boolean;
}

export interface ActionsRequest {
  readonly method: string;
  /** The path below the API prefix (for runner-registration) or the whole path (service routes). */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: unknown;
  /** `http://127.0.0.1:PORT`: where the service URLs point. */
  readonly origin: string;
  /** The request was aborted by the client (a long poll given up). */
  readonly signal: AbortSignal;
}

export interface ActionsReply {
  readonly status: number;
  readonly text?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Paths the Actions service answers (the rest are GitHub's REST API). */
export function isActionsServicePath(path: string): boolean {
  return path === '/actions/runner-registration' || path.startsWith('/_services/');
}

const servicePrefix = '/_services/pipelines/';
const brokerPrefix = '/_services/broker/';

/**
 * Handles one Actions-service request. `registrationTokens` are the tokens the REST API issued
 * (`POST /orgs/{org}/actions/runners/registration-token`), by token, with their expiry (epoch ms).
 */
export async function handleActionsRequest(
  options: ActionsStandinOptions,
  registrationTokens: ReadonlyMap<string, number>,
  request: ActionsRequest,
): Promise<ActionsReply> {
  const { service } = options;
  const json = (status: number, value: unknown): ActionsReply => ({
    status,
    text: `${options.byteOrderMark ? '\uFEFF' : ''}${JSON.stringify(value)}`,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
  const failure = (status: number, typeName: string, message: string) => json(status, { typeName, message });
  try {
    if (request.path === '/actions/runner-registration') {
      if (request.method !== 'POST') return failure(404, 'NotFound', 'Not Found');
      if (!service.scaleSetsAvailable) return { status: 404, text: '{"message":"Not Found"}' };
      const presented = /^RemoteAuth\s+(\S+)$/.exec(request.headers.authorization ?? '')?.[1];
      const expiresAt = presented === undefined ? undefined : registrationTokens.get(presented);
      if (expiresAt === undefined || expiresAt <= Date.now())
        return failure(401, 'UnauthorizedException', 'Invalid registration token');
      const body = request.body as { url?: unknown; runner_event?: unknown } | undefined;
      if (typeof body?.url !== 'string' || body.runner_event !== 'register')
        return failure(400, 'ArgumentException', 'url and runner_event "register" are required');
      const { token } = service.issueAdminToken();
      return json(201, { url: `${request.origin}${servicePrefix}`, token });
    }

    if (request.path.startsWith(brokerPrefix)) return await brokerRequest(options, request, json, failure);

    if (!request.path.startsWith(`${servicePrefix}_apis/`)) return failure(404, 'NotFound', 'Not Found');
    if (request.query.get('api-version') !== '6.0-preview')
      return failure(400, 'VssVersionOutOfRangeException', 'api-version 6.0-preview is required');
    const route = request.path.slice(servicePrefix.length).split('/').filter(Boolean);
    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];

    // acquirejobs is authorized by the session's message-queue token, the rest by the admin token.
    if (route[2] === 'runnerscalesets' && route[4] === 'acquirejobs' && request.method === 'POST') {
      const found = bearer === undefined ? undefined : service.sessionByToken(bearer);
      if (!found || found.expired)
        return failure(401, 'UnauthorizedException', 'Message queue token expired');
      if (found.session.scaleSetId !== Number(route[3]))
        return failure(403, 'AccessDeniedException', 'Token of another scale set');
      const ids = request.body;
      if (!Array.isArray(ids) || !ids.every((id) => Number.isInteger(id)))
        return failure(400, 'ArgumentException', 'A JSON array of runner request ids is required');
      const acquired = service.acquireJobs(found.session, ids as number[]);
      return json(200, { count: acquired.length, value: acquired });
    }
    if (bearer === undefined || !service.adminTokenValid(bearer))
      return failure(401, 'UnauthorizedException', 'The admin token is missing or expired');

    const [apis, area, resource, id, sub, subId] = route;
    if (apis !== '_apis') return failure(404, 'NotFound', 'Not Found');
    if (area === 'runtime' && resource === 'runnergroups' && request.method === 'GET') {
      const name = request.query.get('groupName');
      const groups = name === null ? [] : [service.runnerGroupByName(name)].filter((group) => group);
      return json(200, {
        count: groups.length,
        value: groups.map((group) => ({
          id: group?.id,
          name: group?.name,
          size: 0,
          isDefaultGroup: group?.isDefault,
        })),
      });
    }
    if (area === 'runtime' && resource === 'runnerscalesets') {
      if (id === undefined) {
        if (request.method === 'GET') {
          const runnerGroupId = request.query.get('runnerGroupId');
          const name = request.query.get('name');
          const sets = service.listScaleSets({
            ...(runnerGroupId === null ? {} : { runnerGroupId: Number(runnerGroupId) }),
            ...(name === null ? {} : { name }),
          });
          return json(200, { count: sets.length, value: sets.map((set) => scaleSetJson(service, set)) });
        }
        if (request.method === 'POST') {
          const body = request.body as {
            name?: unknown;
            runnerGroupId?: unknown;
            labels?: unknown;
          };
          const labels = Array.isArray(body?.labels)
            ? (body.labels as { name?: unknown }[]).map((label) => String(label?.name ?? ''))
            : [];
          const created = service.createScaleSet({
            name: typeof body?.name === 'string' ? body.name : '',
            ...(typeof body?.runnerGroupId === 'number' ? { runnerGroupId: body.runnerGroupId } : {}),
            labels,
          });
          return json(200, scaleSetJson(service, created));
        }
        return failure(405, 'NotSupported', 'Method not allowed');
      }
      const scaleSetId = Number(id);
      if (sub === undefined) {
        if (request.method === 'GET') {
          const set = service.getScaleSet(scaleSetId);
          return set
            ? json(200, scaleSetJson(service, set))
            : failure(404, 'RunnerScaleSetNotFoundException', `No runner scale set ${id}`);
        }
        if (request.method === 'PATCH') {
          const body = request.body as { name?: unknown; labels?: unknown };
          const updated = service.updateScaleSet(scaleSetId, {
            ...(typeof body?.name === 'string' ? { name: body.name } : {}),
            ...(Array.isArray(body?.labels)
              ? { labels: (body.labels as { name?: unknown }[]).map((label) => String(label?.name ?? '')) }
              : {}),
          });
          return json(200, scaleSetJson(service, updated));
        }
        if (request.method === 'DELETE') {
          return service.deleteScaleSet(scaleSetId)
            ? { status: 204 }
            : failure(404, 'RunnerScaleSetNotFoundException', `No runner scale set ${id}`);
        }
      }
      if (sub === 'sessions') {
        if (subId === undefined && request.method === 'POST') {
          const owner = (request.body as { ownerName?: unknown } | undefined)?.ownerName;
          const session = service.createSession(scaleSetId, typeof owner === 'string' ? owner : '');
          return json(200, sessionJson(service, session, request.origin));
        }
        if (subId !== undefined && request.method === 'PATCH') {
          const session = service.refreshSession(scaleSetId, subId);
          return json(200, sessionJson(service, session, request.origin));
        }
        if (subId !== undefined && request.method === 'DELETE') {
          return service.deleteSession(scaleSetId, subId)
            ? { status: 204 }
            : failure(404, 'TaskAgentSessionNotFoundException', `No session ${subId}`);
        }
      }
      if (sub === 'generatejitconfig' && request.method === 'POST') {
        const body = request.body as { name?: unknown } | undefined;
        const runner = service.generateJitConfig(scaleSetId, typeof body?.name === 'string' ? body.name : '');
        // Opaque to clients, like the service's; only the runner binary reads it.
        const config = { runner_id: runner.id, name: runner.name, scale_set_id: scaleSetId };
        return json(200, {
          runner: { id: runner.id, name: runner.name, runnerScaleSetId: scaleSetId },
          encodedJITConfig: Buffer.from(JSON.stringify(config)).toString('base64'),
        });
      }
    }
    if (area === 'distributedtask' && resource === 'pools' && id === '0' && sub === 'agents') {
      const runnerJson = (runner: { id: number; name: string; scaleSetId?: number }) => ({
        id: runner.id,
        name: runner.name,
        runnerScaleSetId: runner.scaleSetId ?? 0,
      });
      const { github } = service;
      if (subId === undefined && request.method === 'GET') {
        const name = request.query.get('agentName');
        const runners = name === null ? [] : [github.runnerByName(name)].filter((runner) => runner);
        return json(200, {
          count: runners.length,
          value: runners.map((runner) => runnerJson(runner as never)),
        });
      }
      if (subId !== undefined && request.method === 'GET') {
        const runner = github.getRunner(Number(subId));
        return runner
          ? json(200, runnerJson(runner))
          : failure(404, 'AgentNotFoundException', `No runner ${subId}`);
      }
      if (subId !== undefined && request.method === 'DELETE') {
        return service.removeRunner(Number(subId))
          ? { status: 204 }
          : failure(404, 'AgentNotFoundException', `No runner ${subId}`);
      }
    }
    return failure(404, 'NotFound', 'Not Found');
  } catch (error) {
    if (error instanceof ActionsServiceError) return failure(error.status, error.exception, error.message);
    throw error;
  }
}

async function brokerRequest(
  options: ActionsStandinOptions,
  request: ActionsRequest,
  json: (status: number, value: unknown) => ActionsReply,
  failure: (status: number, typeName: string, message: string) => ActionsReply,
): Promise<ActionsReply> {
  const { service } = options;
  const [scaleSetId, messages, messageId] = request.path.slice(brokerPrefix.length).split('/');
  if (messages !== 'messages') return failure(404, 'NotFound', 'Not Found');
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
  const found = bearer === undefined ? undefined : service.sessionByToken(bearer);
  // An evicted session's token is unknown, an old one expired: both are 401, as the library expects.
  if (!found || found.expired || found.session.scaleSetId !== Number(scaleSetId))
    return failure(401, 'UnauthorizedException', 'Message queue token expired or unknown');
  const { session } = found;

  if (request.method === 'DELETE' && messageId !== undefined) {
    service.deleteMessage(session, Number(messageId));
    return { status: 204 };
  }
  if (request.method !== 'GET' || messageId !== undefined) return failure(404, 'NotFound', 'Not Found');
  if (!/api-version=6\.0-preview/.test(request.headers.accept ?? ''))
    return failure(400, 'VssVersionOutOfRangeException', 'Accept must name api-version 6.0-preview');
  const lastMessageId = Number(request.query.get('lastMessageId') ?? 0);
  const capacityHeader = request.headers['x-scalesetmaxcapacity'];
  const capacity = capacityHeader === undefined ? undefined : Number(capacityHeader);
  if (capacity !== undefined && (!Number.isInteger(capacity) || capacity < 0))
    return failure(400, 'ArgumentException', 'X-ScaleSetMaxCapacity must be a non-negative integer');

  const read = () => {
    const current = service.sessionByToken(bearer as string);
    if (!current || current.expired) return 'gone' as const;
    return service.nextMessage(current.session, lastMessageId, capacity);
  };
  let next = read();
  if (next === undefined) {
    next = await new Promise<ReturnType<typeof read>>((resolve) => {
      const done = (value: ReturnType<typeof read>) => {
        clearTimeout(timer);
        unsubscribe();
        request.signal.removeEventListener('abort', aborted);
        resolve(value);
      };
      const timer = setTimeout(() => done(undefined), options.longPollMs ?? 50_000);
      const unsubscribe = service.onChange(() => {
        const value = read();
        if (value !== undefined) done(value);
      });
      const aborted = () => done(undefined);
      request.signal.addEventListener('abort', aborted);
    });
  }
  if (next === 'gone') return failure(401, 'UnauthorizedException', 'Message queue token expired or unknown');
  if (next === undefined) return { status: 202 };
  return json(200, messageJson(next.message, next.statistics));
}

function messageJson(message: QueueMessage, statistics: unknown) {
  return {
    messageId: message.messageId,
    messageType: 'RunnerScaleSetJobMessages',
    body: JSON.stringify(message.jobs),
    statistics,
  };
}

function scaleSetJson(service: ActionsService, set: ScaleSetRecord) {
  return {
    id: set.id,
    name: set.name,
    runnerGroupId: set.runnerGroupId,
    runnerGroupName: service.runnerGroupName(set.runnerGroupId),
    labels: set.labels.map((name) => ({ type: 'System', name })),
    RunnerSetting: { disableUpdate: set.disableUpdate },
    createdOn: set.createdOn,
    runnerJitConfigUrl: '',
    statistics: service.statistics(set.id),
  };
}

function sessionJson(service: ActionsService, session: SessionRecord, origin: string) {
  const set = service.getScaleSet(session.scaleSetId);
  return {
    sessionId: session.sessionId,
    ownerName: session.ownerName,
    runnerScaleSet: set ? scaleSetJson(service, set) : null,
    messageQueueUrl: `${origin}${brokerPrefix}${session.scaleSetId}/messages`,
    messageQueueAccessToken: session.token,
    statistics: service.statistics(session.scaleSetId),
  };
}
