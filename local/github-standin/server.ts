/**
 * A local stand-in for GitHub's REST API, over real HTTP on 127.0.0.1, answering from the world's GitHub (a
 * {@link GitHubState}, local/world/github.ts).
 * It follows GitHub's documented wire behaviour where the scaler depends on it: the API is served both at
 * the root (api.github.com layout) and under a prefix (GHES's /api/v3), lists page with `per_page`/`page`
 * and RFC 5988 Link headers built from the request's own URL, responses carry rate-limit headers and weak
 * ETags honoured by If-None-Match, errors use GitHub's JSON shape, and GitHub's secondary rate limits are
 * enforced as GitHub answers them (403 with `retry-after`; secondary-limits.ts). Every request is recorded.
 */

import { createHash, createPublicKey, type KeyObject, randomBytes, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { readText } from '../http.ts';
import type { GitHubState, JobRecord, RepoRecord, RunnerRecord, RunRecord } from '../world/github.ts';
import { type ActionsStandinOptions, handleActionsRequest, isActionsServicePath } from './actions-service.ts';
import { type SecondaryLimitOptions, SecondaryLimits } from './secondary-limits.ts';

export interface RecordedRequest {
  readonly method: string;
  /** Without the configured prefix, so root and GHES layouts record alike. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** The API-contract headers the request carried (absent ones are left out). */
  readonly headers: Readonly<{ accept?: string; 'x-github-api-version'?: string }>;
  /** The status answered (304 when If-None-Match matched); undefined until the answer is sent. */
  readonly status?: number;
}

/**
 * A GitHub App installed on the organization. App routes (`/app/…`, `/orgs/{org}/installation`) want an
 * RS256 JWT signed by its private key (checked against `publicKey`); `POST /app/installations/{id}/access_tokens`
 * issues installation tokens valid for an hour, which every other route then accepts.
 */
export interface StandinApp {
  readonly appId: number;
  readonly installationId: number;
  /** PEM, or a key object; a private key works too (its public half is used). */
  readonly publicKey: string | KeyObject;
}

export interface FaultResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Defaults to GitHub's error JSON for the status. */
  readonly body?: string;
}

export interface GitHubStandinOptions {
  readonly state: GitHubState;
  /** GHES serves its API under `/api/v3`; the root stays served too. */
  readonly pathPrefix?: string;
  /** When set, requests must carry it (`token …` or `Bearer …`) or get 401. */
  readonly token?: string;
  readonly app?: StandinApp;
  /** Serve HTTPS with this key and certificate (PEM) instead of HTTP. */
  readonly tls?: { readonly key: string; readonly cert: string };
  /** Delay before every response. */
  readonly latencyMs?: number;
  /** Extra delay before one response (a hung request, in tests); added to {@link latencyMs}. */
  readonly latency?: (request: RecordedRequest) => number | undefined;
  /** Consulted before routing; a returned response is sent instead of the real one. */
  readonly faults?: (request: RecordedRequest) => FaultResponse | undefined;
  /**
   * GitHub's secondary limits (on by default, GitHub's numbers), judged on this clock (virtual in local
   * runs); `false` turns them off.
   */
  readonly secondaryLimits?: false | (SecondaryLimitOptions & { readonly now?: () => number });
  /**
   * Serve the Actions service behind runner scale sets (actions-service.ts) from the world's; without it,
   * `POST /actions/runner-registration` answers 404, as on a GitHub without scale sets.
   */
  readonly actions?: ActionsStandinOptions;
}

export interface GitHubStandin {
  /** The API base URL a client is configured with (includes the prefix, if any). */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** The secondary limits enforced (with their refusal counts); undefined when turned off. */
  readonly secondaryLimits: SecondaryLimits | undefined;
  /** The installation tokens issued so far (GitHub App), oldest first: secrets a test may look for. */
  issuedTokens(): string[];
  close(): Promise<void>;
}

const documentationUrl = 'https://docs.github.com/rest';
const rateLimit = 5000;
const defaultPerPage = 30;
const maxPerPage = 100;

export async function startGitHubStandin(options: GitHubStandinOptions): Promise<GitHubStandin> {
  const prefix = normalizePrefix(options.pathPrefix);
  const requests: RecordedRequest[] = [];
  const quota = new RateQuota();
  const installationTokens = new Map<string, number>();
  /** Runner registration tokens issued (`POST …/runners/registration-token`): what RemoteAuth accepts. */
  const registrationTokens = new Map<string, number>();
  const routes = [
    ...createRoutes(options.state, quota, registrationTokens),
    ...(options.app ? appRoutes(options.state, options.app, installationTokens) : []),
  ];
  const appKey = options.app ? createPublicKey(options.app.publicKey) : undefined;
  const limits = options.secondaryLimits === false ? undefined : new SecondaryLimits(options.secondaryLimits);
  const limitsNow =
    (options.secondaryLimits === false ? undefined : options.secondaryLimits?.now) ?? (() => Date.now());

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      // Only a bug in the stand-in lands here; answer like GitHub's 500 so the client's failure path runs.
      send(res, { status: 500, body: errorBody(500, String(error)) }, quota);
    });
  };
  const server = options.tls ? createHttpsServer(options.tls, listener) : createServer(listener);

  /** The 401 message for a request without valid credentials; undefined when it may pass. */
  function refusal(req: IncomingMessage, path: string): string | undefined {
    if (options.token === undefined && !options.app) return undefined;
    if (isAppRoute(path)) {
      return appKey && options.app && verifiesAsAppJwt(req.headers.authorization, options.app.appId, appKey)
        ? undefined
        : 'A JSON web token could not be decoded';
    }
    if (options.token !== undefined && carriesToken(req, options.token)) return undefined;
    const presented = /^(?:token|bearer)\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const expiresAt = presented === undefined ? undefined : installationTokens.get(presented);
    return expiresAt !== undefined && expiresAt > Date.now() ? undefined : 'Bad credentials';
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    const underPrefix = prefix !== '' && (url.pathname === prefix || url.pathname.startsWith(`${prefix}/`));
    const path = underPrefix ? url.pathname.slice(prefix.length) || '/' : url.pathname;
    const method = req.method ?? 'GET';
    const recorded: RecordedRequest = {
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      headers: contractHeaders(req),
    };
    requests.push(recorded);
    // The answer's status once it is sent; non-enumerable, so comparing whole requests stays about the ask.
    Object.defineProperty(recorded, 'status', { get: () => (res.headersSent ? res.statusCode : undefined) });
    // An injected fault stands for a failure in front of GitHub's limits: it is answered, not charged.
    const fault = options.faults?.(recorded);
    if (isActionsServicePath(path) || isActionsServicePath(url.pathname)) {
      await serveActions(req, res, url, isActionsServicePath(path) ? path : url.pathname, fault);
      return;
    }
    // GitHub judges a request when it arrives; it is in flight until it is answered.
    const admission = fault
      ? undefined
      : limits?.admit(endpointOf(routes, method, path), method, limitsNow());
    if (admission && !admission.admitted) {
      send(
        res,
        {
          status: 403,
          body: errorBody(
            403,
            'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
          ),
          headers: { 'retry-after': String(admission.retryAfterSeconds) },
        },
        quota,
      );
      return;
    }
    if (admission) {
      limits?.started();
      res.once('close', () => limits?.finished());
    }
    const text = await readText(req);
    const delayMs = (options.latencyMs ?? 0) + (options.latency?.(recorded) ?? 0);
    if (delayMs > 0) await sleep(delayMs);

    if (fault) {
      send(
        res,
        {
          status: fault.status,
          raw: fault.body ?? JSON.stringify(errorBody(fault.status)),
          headers: fault.headers,
        },
        quota,
      );
      return;
    }
    const refused = refusal(req, path);
    if (refused !== undefined) {
      send(res, { status: 401, body: errorBody(401, refused) }, quota);
      return;
    }
    const body = parseJson(text);
    if (body === unparsable) {
      send(res, { status: 400, body: errorBody(400, 'Problems parsing JSON') }, quota);
      return;
    }
    const reply = route(routes, method, path, {
      query: url.searchParams,
      body,
      selfUrl: new URL(`${url.origin}${underPrefix ? prefix : ''}${path}${url.search}`),
    });
    send(res, reply, quota, req.headers['if-none-match']);
  }

  /** The Actions service's routes: its own auth and errors, outside GitHub's REST rate limits. */
  async function serveActions(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    path: string,
    fault: FaultResponse | undefined,
  ): Promise<void> {
    const text = await readText(req);
    const delayMs =
      (options.latencyMs ?? 0) + (options.latency?.(requests[requests.length - 1] as RecordedRequest) ?? 0);
    if (delayMs > 0) await sleep(delayMs);
    if (fault) {
      res.writeHead(fault.status, { 'content-type': 'application/json; charset=utf-8', ...fault.headers });
      res.end(fault.body ?? JSON.stringify({ typeName: 'InjectedFault', message: 'injected' }));
      return;
    }
    const body = parseJson(text);
    if (!options.actions || body === unparsable) {
      res.writeHead(body === unparsable ? 400 : 404, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(errorBody(body === unparsable ? 400 : 404)));
      return;
    }
    const aborted = new AbortController();
    res.once('close', () => aborted.abort());
    const reply = await handleActionsRequest(options.actions, registrationTokens, {
      method: req.method ?? 'GET',
      path,
      query: url.searchParams,
      headers: Object.fromEntries(
        Object.entries(req.headers).map(([name, value]) => [name, Array.isArray(value) ? value[0] : value]),
      ),
      body,
      origin: url.origin,
      signal: aborted.signal,
    });
    if (res.destroyed) return;
    res.writeHead(reply.status, { ...reply.headers });
    res.end(reply.text);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}${prefix}`,
    requests,
    secondaryLimits: limits,
    issuedTokens: () => [...installationTokens.keys()],
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Clients keep connections alive; without this close() would wait for them to time out.
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------------------------------------- routing

interface Exchange {
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Parsed JSON request body; undefined when there was none. */
  readonly body: unknown;
  /** This request's absolute URL under the same host and prefix it arrived on, for Link headers. */
  readonly selfUrl: URL;
}

interface Reply {
  readonly status: number;
  /** Serialized as JSON; absent for 204. */
  readonly body?: unknown;
  /** Sent as is, instead of `body` (faults). */
  readonly raw?: string;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Does not count against the primary rate limit (GET /rate_limit). */
  readonly free?: boolean;
}

interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** `/orgs/{org}/repos`: `{name}` matches one path segment. */
  readonly pattern: string;
  readonly handle: (exchange: Exchange) => Reply;
}

/** Thrown by a handler to answer with GitHub's error JSON. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message?: string,
  ) {
    super(message ?? STATUS_CODES[status] ?? 'Error');
  }
}

function route(
  routes: readonly Route[],
  method: string,
  path: string,
  exchange: Omit<Exchange, 'params'>,
): Reply {
  const segments = path.split('/').filter(Boolean);
  for (const candidate of routes) {
    if (candidate.method !== method) continue;
    const params = matchPattern(candidate.pattern, segments);
    if (!params) continue;
    try {
      return candidate.handle({ ...exchange, params });
    } catch (error) {
      if (error instanceof HttpError)
        return { status: error.status, body: errorBody(error.status, error.message) };
      throw error;
    }
  }
  // GitHub answers an unknown path, and a known path with an unsupported method, with 404.
  return { status: 404, body: errorBody(404) };
}

/** `METHOD /path/{template}`: the REST endpoint a request counts against (its own path when unknown). */
function endpointOf(routes: readonly Route[], method: string, path: string): string {
  const segments = path.split('/').filter(Boolean);
  const matched = routes.find(
    (candidate) => candidate.method === method && matchPattern(candidate.pattern, segments),
  );
  return `${method} ${matched?.pattern ?? path}`;
}

function matchPattern(pattern: string, segments: readonly string[]): Record<string, string> | undefined {
  const parts = pattern.split('/').filter(Boolean);
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, part] of parts.entries()) {
    const segment = segments[index] ?? '';
    if (part.startsWith('{') && part.endsWith('}')) params[part.slice(1, -1)] = decodeURIComponent(segment);
    else if (part !== segment) return undefined;
  }
  return params;
}

// ----------------------------------------------------------------------------------------------- routes

const runStatusFilters = new Set(['queued', 'in_progress', 'completed', 'waiting', 'requested', 'pending']);
const runConclusionFilters = new Set([
  'success',
  'failure',
  'cancelled',
  'neutral',
  'skipped',
  'stale',
  'timed_out',
  'action_required',
]);

/** Runner registration tokens live an hour, as GitHub's do. */
const registrationTokenLifetimeMs = 3600_000;

function createRoutes(
  state: GitHubState,
  quota: RateQuota,
  registrationTokens: Map<string, number>,
): Route[] {
  const requireOrg = (exchange: Exchange) => {
    if (exchange.params.org?.toLowerCase() !== state.org.toLowerCase()) throw new HttpError(404, 'Not Found');
  };
  const requireRepo = (exchange: Exchange): RepoRecord => {
    const repo = exchange.params.repo === undefined ? undefined : state.getRepo(exchange.params.repo);
    if (exchange.params.owner?.toLowerCase() !== state.org.toLowerCase() || !repo) throw new HttpError(404);
    return repo;
  };
  const requireRunner = (exchange: Exchange): RunnerRecord => {
    requireOrg(exchange);
    const runner = state.getRunner(Number(exchange.params.runner_id));
    if (!runner) throw new HttpError(404);
    return runner;
  };

  return [
    {
      method: 'GET',
      pattern: '/rate_limit',
      handle: () => {
        const core = quota.resources();
        return { status: 200, free: true, body: { resources: { core }, rate: core } };
      },
    },
    {
      method: 'GET',
      pattern: '/orgs/{org}/repos',
      handle: (exchange) => {
        requireOrg(exchange);
        // GitHub's default order is `created` ascending, or `full_name` ascending when only the direction is
        // given; the stand-in knows creation order (ids are sequential) and names.
        const sort = exchange.query.get('sort') ?? 'created';
        const direction = exchange.query.get('direction') ?? (sort === 'full_name' ? 'asc' : 'desc');
        if (!['created', 'full_name'].includes(sort) || !['asc', 'desc'].includes(direction)) {
          throw new HttpError(422, 'Validation Failed');
        }
        const repos = state
          .listRepos()
          .sort((a, b) => (sort === 'created' ? a.id - b.id : a.name.localeCompare(b.name)))
          .map((repo) => repoJson(state.org, repo));
        if (direction === 'desc') repos.reverse();
        return paginate(exchange, repos);
      },
    },
    {
      method: 'GET',
      pattern: '/installation/repositories',
      handle: (exchange) => {
        const repos = state.listRepos().map((repo) => repoJson(state.org, repo));
        return paginate(exchange, repos, (page) => ({
          total_count: repos.length,
          repository_selection: 'all',
          repositories: page,
        }));
      },
    },
    {
      method: 'GET',
      pattern: '/repos/{owner}/{repo}/actions/runs',
      handle: (exchange) => {
        const repo = requireRepo(exchange);
        const status = exchange.query.get('status');
        if (status !== null && !runStatusFilters.has(status) && !runConclusionFilters.has(status)) {
          throw new HttpError(422, `Invalid request.\n\n"${status}" is not a valid run status.`);
        }
        const runs = state
          .listRuns(repo.name)
          .filter((run) => status === null || run.status === status || run.conclusion === status)
          // GitHub lists the newest run first.
          .sort((a, b) => b.id - a.id)
          .map((run) => runJson(state.org, repo, run));
        return paginate(exchange, runs, (page) => ({ total_count: runs.length, workflow_runs: page }));
      },
    },
    {
      method: 'GET',
      pattern: '/repos/{owner}/{repo}/actions/runs/{run_id}/jobs',
      handle: (exchange) => {
        const repo = requireRepo(exchange);
        const run = state.getRun(Number(exchange.params.run_id));
        if (!run || run.repo !== repo.name) throw new HttpError(404);
        const filter = exchange.query.get('filter') ?? 'latest';
        if (filter !== 'latest' && filter !== 'all') {
          throw new HttpError(422, `Invalid request.\n\n"${filter}" is not a member of ["latest", "all"].`);
        }
        const jobs = state.jobsOfRun(run.id, filter).map((job) => jobJson(state.org, repo, job));
        return paginate(exchange, jobs, (page) => ({ total_count: jobs.length, jobs: page }));
      },
    },
    {
      method: 'GET',
      pattern: '/orgs/{org}/actions/runners',
      handle: (exchange) => {
        requireOrg(exchange);
        const name = exchange.query.get('name');
        const runners = state
          .listRunners()
          .filter((runner) => name === null || runner.name === name)
          .map(runnerJson);
        return paginate(exchange, runners, (page) => ({ total_count: runners.length, runners: page }));
      },
    },
    {
      method: 'GET',
      pattern: '/orgs/{org}/actions/runners/{runner_id}',
      handle: (exchange) => ({ status: 200, body: runnerJson(requireRunner(exchange)) }),
    },
    {
      method: 'DELETE',
      pattern: '/orgs/{org}/actions/runners/{runner_id}',
      handle: (exchange) => {
        const runner = requireRunner(exchange);
        // GitHub refuses to remove a runner while it runs a job.
        if (runner.busy)
          throw new HttpError(422, `Bad request - Runner "${runner.name}" is still running a job"`);
        state.removeRunner(runner.id);
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      pattern: '/orgs/{org}/actions/runner-groups',
      handle: (exchange) => {
        requireOrg(exchange);
        const groups = state.listRunnerGroups().map((group) => ({
          id: group.id,
          name: group.name,
          visibility: 'all',
          default: group.isDefault,
          runners_url: `${exchange.selfUrl.origin}/orgs/${state.org}/actions/runner-groups/${group.id}/runners`,
          inherited: false,
          allows_public_repositories: false,
          restricted_to_workflows: false,
          selected_workflows: [],
        }));
        return paginate(exchange, groups, (page) => ({ total_count: groups.length, runner_groups: page }));
      },
    },
    {
      method: 'POST',
      pattern: '/orgs/{org}/actions/runners/registration-token',
      handle: (exchange) => {
        requireOrg(exchange);
        const token = `AREG${randomBytes(15).toString('hex').toUpperCase()}`;
        const expiresAt = Date.now() + registrationTokenLifetimeMs;
        registrationTokens.set(token, expiresAt);
        return {
          status: 201,
          body: { token, expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z') },
        };
      },
    },
    {
      method: 'POST',
      pattern: '/orgs/{org}/actions/runners/generate-jitconfig',
      handle: (exchange) => {
        requireOrg(exchange);
        const request = parseJitRequest(exchange.body);
        if (state.runnerByName(request.name))
          throw new HttpError(409, 'Already exists - A runner with the same name');
        if (!state.listRunnerGroups().some((group) => group.id === request.runnerGroupId))
          throw new HttpError(404, 'Runner group not found');
        const runner = state.registerRunner({ ...request, status: 'offline', ephemeral: true });
        // Opaque to clients, like GitHub's; only the runner binary reads it.
        const config = { runner_id: runner.id, name: runner.name, org: state.org };
        return {
          status: 201,
          body: {
            runner: runnerJson(runner),
            encoded_jit_config: Buffer.from(JSON.stringify(config)).toString('base64'),
          },
        };
      },
    },
  ];
}

// ------------------------------------------------------------------------------------------- GitHub App

const installationTokenLifetimeMs = 3600_000;

function isAppRoute(path: string): boolean {
  return /^\/app(?:\/|$)/.test(path) || /^\/orgs\/[^/]+\/installation$/.test(path);
}

function appRoutes(state: GitHubState, app: StandinApp, tokens: Map<string, number>): Route[] {
  const installationJson = (origin: string) => ({
    id: app.installationId,
    app_id: app.appId,
    account: { login: state.org, type: 'Organization' },
    target_type: 'Organization',
    repository_selection: 'all',
    access_tokens_url: `${origin}/app/installations/${app.installationId}/access_tokens`,
    permissions: { organization_self_hosted_runners: 'write', actions: 'read', metadata: 'read' },
  });
  return [
    {
      method: 'GET',
      pattern: '/orgs/{org}/installation',
      handle: (exchange) => {
        if (exchange.params.org?.toLowerCase() !== state.org.toLowerCase()) throw new HttpError(404);
        return { status: 200, body: installationJson(exchange.selfUrl.origin) };
      },
    },
    {
      method: 'POST',
      pattern: '/app/installations/{installation_id}/access_tokens',
      handle: (exchange) => {
        if (Number(exchange.params.installation_id) !== app.installationId) throw new HttpError(404);
        const token = `ghs_${randomBytes(18).toString('base64url')}`;
        const expiresAt = Date.now() + installationTokenLifetimeMs;
        tokens.set(token, expiresAt);
        return {
          status: 201,
          body: {
            token,
            expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
            permissions: installationJson(exchange.selfUrl.origin).permissions,
            repository_selection: 'all',
          },
        };
      },
    },
  ];
}

/**
 * Whether `authorization` carries a JWT GitHub would take from this App: RS256, signed by its key, issued by
 * its id, not expired, and at most 10 minutes long (GitHub's limit; a minute of slack for clock drift).
 */
function verifiesAsAppJwt(authorization: string | undefined, appId: number, key: KeyObject): boolean {
  const jwt = /^bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  const [header, payload, signature] = jwt?.split('.') ?? [];
  if (!header || !payload || !signature) return false;
  try {
    const { alg } = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: unknown };
    if (alg !== 'RS256') return false;
    const signed = Buffer.from(`${header}.${payload}`);
    if (!verify('RSA-SHA256', signed, key, Buffer.from(signature, 'base64url'))) return false;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const now = Math.floor(Date.now() / 1000);
    const { iat, exp, iss } = claims;
    return (
      String(iss) === String(appId) &&
      typeof iat === 'number' &&
      typeof exp === 'number' &&
      iat <= now + 60 &&
      exp > now &&
      exp - iat <= 660
    );
  } catch {
    return false;
  }
}

function parseJitRequest(body: unknown): { name: string; labels: string[]; runnerGroupId: number } {
  const { name, labels, runner_group_id: runnerGroupId } = (body ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof name !== 'string' || name === '') problems.push('name is required');
  if (typeof runnerGroupId !== 'number' || !Number.isInteger(runnerGroupId))
    problems.push('runner_group_id is required');
  const labelsValid =
    Array.isArray(labels) &&
    labels.length >= 1 &&
    labels.length <= 100 &&
    labels.every((l) => typeof l === 'string');
  if (!labelsValid) problems.push('labels must hold 1 to 100 strings');
  if (problems.length > 0) throw new HttpError(422, `Invalid request.\n\n${problems.join('\n')}`);
  return { name: name as string, labels: labels as string[], runnerGroupId: runnerGroupId as number };
}

// ----------------------------------------------------------------------------------------------- paging

/**
 * One page of `items`, with GitHub's Link header (prev, next, last, first; omitted when everything fits
 * on the first page). `per_page` beyond 100 is clamped, as GitHub does.
 */
function paginate<T>(exchange: Exchange, items: readonly T[], wrap?: (page: T[]) => unknown): Reply {
  const perPage = Math.min(maxPerPage, Math.max(1, intParam(exchange.query, 'per_page') ?? defaultPerPage));
  const page = Math.max(1, intParam(exchange.query, 'page') ?? 1);
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const link = linkHeader(exchange.selfUrl, page, lastPage);
  return { status: 200, body: wrap ? wrap(slice) : slice, headers: link ? { link } : undefined };
}

function linkHeader(selfUrl: URL, page: number, lastPage: number): string | undefined {
  const pageUrl = (target: number) => {
    const url = new URL(selfUrl);
    url.searchParams.set('page', String(target));
    return url.toString();
  };
  const links: [number, string][] = [];
  if (page > 1) links.push([page - 1, 'prev']);
  if (page < lastPage) links.push([page + 1, 'next'], [lastPage, 'last']);
  if (page > 1) links.push([1, 'first']);
  return links.length === 0
    ? undefined
    : links.map(([target, rel]) => `<${pageUrl(target)}>; rel="${rel}"`).join(', ');
}

function intParam(query: URLSearchParams, name: string): number | undefined {
  const value = Number.parseInt(query.get(name) ?? '', 10);
  return Number.isNaN(value) ? undefined : value;
}

// -------------------------------------------------------------------------------------------- responses

/** The primary-limit bookkeeping behind the x-ratelimit-* headers; 304s are free, as on GitHub. */
class RateQuota {
  private used = 0;
  private readonly reset = Math.floor(Date.now() / 1000) + 3600;

  spend(): void {
    this.used = Math.min(rateLimit, this.used + 1);
  }

  headers(): Record<string, string> {
    return {
      'x-ratelimit-limit': String(rateLimit),
      'x-ratelimit-remaining': String(rateLimit - this.used),
      'x-ratelimit-used': String(this.used),
      'x-ratelimit-reset': String(this.reset),
      'x-ratelimit-resource': 'core',
    };
  }

  resources(): Record<string, number> {
    return { limit: rateLimit, used: this.used, remaining: rateLimit - this.used, reset: this.reset };
  }
}

function send(res: ServerResponse, reply: Reply, quota: RateQuota, ifNoneMatch?: string): void {
  const text = reply.raw ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
  const etag = reply.status === 200 ? `W/"${createHash('sha256').update(text).digest('hex')}"` : undefined;
  const notModified = etag !== undefined && ifNoneMatch?.split(/\s*,\s*/).includes(etag) === true;
  if (!notModified && !reply.free) quota.spend();
  res.writeHead(notModified ? 304 : reply.status, {
    'content-type': 'application/json; charset=utf-8',
    ...quota.headers(),
    ...(etag ? { etag } : {}),
    ...reply.headers,
  });
  res.end(notModified ? undefined : text);
}

function errorBody(status: number, message = STATUS_CODES[status] ?? 'Error') {
  return { message, documentation_url: documentationUrl, status: String(status) };
}

function repoJson(org: string, repo: RepoRecord) {
  return {
    id: repo.id,
    name: repo.name,
    full_name: `${org}/${repo.name}`,
    owner: { login: org, type: 'Organization' },
    private: repo.private,
    archived: repo.archived,
    disabled: repo.disabled,
  };
}

function runJson(org: string, repo: RepoRecord, run: RunRecord) {
  return {
    id: run.id,
    name: 'CI',
    run_number: run.id,
    event: 'push',
    status: run.status,
    conclusion: run.conclusion,
    run_attempt: run.attempt,
    created_at: run.createdAt,
    repository: { id: repo.id, name: repo.name, full_name: `${org}/${repo.name}` },
  };
}

function jobJson(org: string, repo: RepoRecord, job: JobRecord) {
  return {
    id: job.id,
    run_id: job.runId,
    run_attempt: job.attempt,
    name: job.name,
    status: job.status,
    conclusion: job.conclusion,
    labels: job.labels,
    runner_id: job.runnerId ?? null,
    runner_name: job.runnerName ?? null,
    created_at: job.createdAt,
    started_at: job.startedAt ?? null,
    completed_at: job.completedAt ?? null,
    run_url: `/repos/${org}/${repo.name}/actions/runs/${job.runId}`,
  };
}

function runnerJson(runner: RunnerRecord) {
  return {
    id: runner.id,
    name: runner.name,
    os: runner.os,
    status: runner.status,
    busy: runner.busy,
    ephemeral: runner.ephemeral,
    runner_group_id: runner.runnerGroupId,
    labels: runner.labels,
  };
}

// ---------------------------------------------------------------------------------------------- helpers

function normalizePrefix(prefix = ''): string {
  const trimmed = prefix.replace(/\/+$/, '');
  return trimmed === '' || trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

function contractHeaders(req: IncomingMessage): RecordedRequest['headers'] {
  const headers: { accept?: string; 'x-github-api-version'?: string } = {};
  const { accept } = req.headers;
  const version = req.headers['x-github-api-version'];
  if (typeof accept === 'string') headers.accept = accept;
  if (typeof version === 'string') headers['x-github-api-version'] = version;
  return headers;
}

function carriesToken(req: IncomingMessage, token: string): boolean {
  const match = /^(?:token|bearer)\s+(.+)$/i.exec(req.headers.authorization ?? '');
  return match?.[1] === token;
}

const unparsable = Symbol('unparsable');

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return unparsable;
  }
}
