/**
 * Conditional requests for the list endpoints the scaler polls every cycle. GitHub answers a GET that carries
 * `If-None-Match: <the ETag it sent last time>` with 304 when nothing changed, and a 304 does not count
 * against the primary rate limit. Most repositories are idle most minutes, so most of a cycle's requests
 * become free. Octokit surfaces a 304 as a RequestError; the hook here catches it and hands the caller the
 * answer remembered from the last 200 (data and `link` header, so pagination goes on page by page).
 *
 * What is remembered lives in a {@link StateStore}, so it survives Lambda containers and cycles.
 *
 * Key layout: ONE store item per repository (`github/v1/{org}/repos/{repo}`), holding every cached page
 * of that repository (its runs listings and the job listings of its active runs), plus one item per
 * org-level listing (`github/v1/{org}/org/runners`, `…/org/repositories`). Not one item per URL: a collect
 * task reads its batch's repositories in a single `getMany` before it starts (see {@link prefetch}) and
 * writes back only the repositories whose answers changed, in a single `putMany` when it is done. Store
 * traffic is then O(repositories) per cycle, in O(batches) round trips, however many pages and runs
 * those repositories have. The org-level listings get an item each rather than one together because a
 * large organization's repositories alone approach DynamoDB's 400 KB item limit.
 *
 * Within an item, pages are keyed by their URL only (path and query, `page` included), not by the token:
 * an ETag describes the representation, which is the same for any token that sees the same repositories,
 * and an installation token rotates every hour, which would otherwise throw the cache away hourly. Should
 * GitHub ever answer 200 to a token change, the cost is one full request per page, never a wrong answer:
 * a 304 only ever confirms that the remembered answer is still the current one.
 *
 * Items stay small: only the fields the adapter reads are kept, projected per route (see {@link projections}),
 * and pages no longer asked for (runs that finished) are dropped when a repository's item is rewritten.
 * The projection is applied to fresh (200) answers too, so the adapter sees the same shape either way and a
 * field it starts to read that is not projected shows up in every test, not only in cached ones.
 */
import type { Octokit } from '@octokit/core';
import type { Log } from '../observability/logger.ts';
import type { StateStore } from '../ports/state-store.ts';

export interface ConditionalRequestsOptions {
  readonly store: StateStore;
  /** Namespaces the store keys (a table may outlive an organization rename). */
  readonly org: string;
  /** How long an unused answer is kept. Default one day. */
  readonly ttlSeconds?: number;
  /** Decides when an unchanged item is rewritten to outlive its TTL. */
  readonly now?: () => Date;
  /** Store failures are logged as warnings; they never fail a GitHub call. */
  readonly logger?: Pick<Log, 'debug' | 'warn'>;
}

/** Counters for tests, benchmarks and logs. */
export interface ConditionalStats {
  /** Requests sent with If-None-Match. */
  conditional: number;
  /** Answered 304 (free against the primary rate limit). */
  notModified: number;
  /** Store round trips. */
  storeReads: number;
  storeWrites: number;
}

export interface ConditionalRequests {
  /** Registers the request hook; pass to `Octokit.plugin(…)` after every other plugin (outermost). */
  readonly plugin: OctokitPlugin;
  /**
   * Runs `work` with its GET requests to the cached list endpoints answered conditionally from the item
   * `scope`. The item is read before the first request (reads of scopes entered together are batched) and
   * written back, if it changed, once nothing is running any more.
   */
  within<T>(scope: string, work: () => Promise<T>): Promise<T>;
  /**
   * Reads these scopes in one store round trip ahead of their use, e.g. a collect task's batch of
   * repositories. Their write-back waits until every one of them has been used and nothing is running,
   * so the batch costs one `getMany` and at most one `putMany`.
   */
  prefetch(scopes: readonly string[]): Promise<void>;
  readonly stats: ConditionalStats;
}

type OctokitPlugin = Parameters<typeof Octokit.plugin>[number];

export const defaultConditionalTtlSeconds = 24 * 3600;
/** An item larger than this is not written (DynamoDB refuses items over 400 KB). */
const maxItemBytes = 350_000;

export const conditionalScopes = {
  repository: (org: string, repository: string) =>
    `github/v1/${org.toLowerCase()}/repos/${repository.toLowerCase()}`,
  org: (org: string, listing: 'repositories' | 'runners') => `github/v1/${org.toLowerCase()}/org/${listing}`,
};

// --------------------------------------------------------------------------------------------- projection

type Json = Record<string, unknown>;
const pick = (value: unknown, keys: readonly string[]): Json => {
  const source = (value ?? {}) as Json;
  const picked: Json = {};
  for (const key of keys) if (key in source) picked[key] = source[key];
  return picked;
};
const each = (value: unknown, project: (item: unknown) => Json) =>
  Array.isArray(value) ? value.map(project) : value;
/** A wrapped listing (`{ total_count, <key>: [...] }`): octokit.paginate finds the array key by elimination. */
const wrapped =
  (key: string, project: (item: unknown) => Json, extra: readonly string[] = []) =>
  (data: unknown) => ({
    ...pick(data, ['total_count', ...extra]),
    [key]: each((data as Json | null)?.[key], project),
  });

const repo = (item: unknown) => pick(item, ['name', 'archived', 'disabled']);

/**
 * The routes answered conditionally, recognised by path (Link headers may use `/repositories/{id}/…` and
 * `/organizations/{id}/…` for later pages), each with the fields the adapter reads and the store item its
 * answers belong to: the repository's, or the org-level listing's.
 */
export const projections: readonly {
  readonly path: RegExp;
  readonly project: (data: unknown) => unknown;
  readonly item: 'repository' | 'repositories' | 'runners';
}[] = [
  {
    path: /\/actions\/runs$/,
    project: wrapped('workflow_runs', (run) => pick(run, ['id', 'status'])),
    item: 'repository',
  },
  {
    path: /\/actions\/runs\/\d+\/jobs$/,
    project: wrapped('jobs', (job) => pick(job, ['id', 'run_id', 'status', 'labels'])),
    item: 'repository',
  },
  {
    path: /\/(?:orgs|organizations)\/[^/]+\/repos$/,
    project: (data) => each(data, repo),
    item: 'repositories',
  },
  {
    path: /\/installation\/repositories$/,
    project: wrapped('repositories', repo, ['repository_selection']),
    item: 'repositories',
  },
  {
    path: /\/(?:orgs|organizations)\/[^/]+\/actions\/runners$/,
    item: 'runners',
    project: wrapped('runners', (runner) => ({
      ...pick(runner, ['id', 'name', 'status', 'busy']),
      labels: each((runner as Json)?.labels, (label) => pick(label, ['name'])),
    })),
  },
];

// ---------------------------------------------------------------------------------------------- the cache

/** One remembered answer: ETag, Link header, projected data. Short names: they are stored many times. */
interface StoredPage {
  readonly e: string;
  readonly l?: string;
  readonly d: unknown;
}
interface StoredScope {
  readonly v: 1;
  /** When it was written (epoch seconds): an unchanged item is rewritten after half its TTL, so it lives on. */
  readonly w: number;
  readonly p: Record<string, StoredPage>;
}

class Scope {
  /** As read from the store. */
  loaded: Record<string, StoredPage> = {};
  writtenAt = 0;
  /** Pages requested since it was read, with their current answer. */
  readonly used = new Map<string, StoredPage>();
  changed = false;
  failed = false;
  users = 0;
  ready: Promise<void> = Promise.resolve();

  constructor(readonly key: string) {}

  page(url: string): StoredPage | undefined {
    return this.used.get(url) ?? this.loaded[url];
  }

  remember(url: string, page: StoredPage): void {
    const before = this.page(url);
    if (before?.e !== page.e || before.l !== page.l) this.changed = true;
    this.used.set(url, page);
  }

  /** What to write back, or undefined when the stored item is still right (and not about to expire). */
  toStore(nowSeconds: number, refreshAfterSeconds: number): StoredScope | undefined {
    // After a failure some pages were not reached this time: keep them. Otherwise pages not asked for
    // any more (finished runs) are dropped.
    const pages = this.failed
      ? { ...this.loaded, ...Object.fromEntries(this.used) }
      : Object.fromEntries(this.used);
    const pruned = Object.keys(this.loaded).some((url) => !(url in pages));
    const ageing = this.used.size > 0 && nowSeconds - this.writtenAt >= refreshAfterSeconds;
    if (!this.changed && !pruned && !ageing) return undefined;
    return { v: 1, w: nowSeconds, p: pages };
  }
}

interface HttpFailure {
  readonly status?: number;
  readonly response?: { readonly url?: string; readonly headers?: Record<string, string | undefined> };
}

export function createConditionalRequests(options: ConditionalRequestsOptions): ConditionalRequests {
  const { store, logger } = options;
  const ttlSeconds = options.ttlSeconds ?? defaultConditionalTtlSeconds;
  const now = options.now ?? (() => new Date());
  const stats: ConditionalStats = { conditional: 0, notModified: 0, storeReads: 0, storeWrites: 0 };
  const scopes = new Map<string, Scope>();
  /** Repository ids seen in Link headers (`/repositories/{id}/…` pages), with their repository's item. */
  const itemOfRepositoryId = new Map<string, string>();
  /** Prefetched scopes not used yet: their batch is not done. */
  const awaited = new Set<string>();
  let active = 0;
  let loadQueue: { scopes: Map<string, Scope>; loaded: Promise<void> } | undefined;

  async function read(batch: readonly Scope[]): Promise<void> {
    if (batch.length === 0) return;
    stats.storeReads += 1;
    try {
      const found = await store.getMany<StoredScope>(batch.map((scope) => scope.key));
      for (const scope of batch) {
        const stored = found.get(scope.key);
        if (stored?.v === 1 && typeof stored.p === 'object' && stored.p !== null) {
          scope.loaded = stored.p;
          scope.writtenAt = typeof stored.w === 'number' ? stored.w : 0;
        }
      }
    } catch (error) {
      // Without the store every request is simply unconditional; the write-back will repopulate it.
      logger?.warn('Could not read cached GitHub answers', { error: error as Error, scopes: batch.length });
    }
  }

  /** Scopes entered together (e.g. by one handler's concurrent listings) are read in one round trip. */
  function scheduleLoad(scope: Scope): Promise<void> {
    if (!loadQueue) {
      const queue = new Map<string, Scope>();
      const loaded = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        loadQueue = undefined;
        return read([...queue.values()]);
      });
      loadQueue = { scopes: queue, loaded };
    }
    loadQueue.scopes.set(scope.key, scope);
    return loadQueue.loaded;
  }

  async function flush(): Promise<void> {
    const entries: { key: string; value: StoredScope }[] = [];
    const nowSeconds = Math.floor(now().getTime() / 1000);
    for (const [key, scope] of scopes) {
      if (scope.users > 0 || awaited.has(key)) continue;
      // Forgotten once written: the next cycle reads the store afresh (another container may have written).
      scopes.delete(key);
      const value = scope.toStore(nowSeconds, ttlSeconds / 2);
      if (!value) continue;
      const bytes = Buffer.byteLength(JSON.stringify(value));
      if (bytes > maxItemBytes) {
        logger?.warn('Cached GitHub answers too large to store', { scope: key, bytes });
        continue;
      }
      entries.push({ key, value });
    }
    if (entries.length === 0) return;
    stats.storeWrites += 1;
    try {
      await store.putMany(entries, ttlSeconds);
    } catch (error) {
      logger?.warn('Could not store cached GitHub answers', {
        error: error as Error,
        scopes: entries.length,
      });
    }
  }

  function acquire(key: string): Scope {
    let scope = scopes.get(key);
    if (!scope) {
      scope = new Scope(key);
      scopes.set(key, scope);
      scope.ready = scheduleLoad(scope);
    }
    scope.users += 1;
    awaited.delete(key);
    return scope;
  }

  /**
   * The item a cached route's answers belong to, from the request's URL. Found from the URL rather than
   * carried along with AsyncLocalStorage: its promise hooks made every promise of the process dearer, a
   * third of a 1,000-repository cycle's CPU, measured. A `/repositories/{id}/…` page belongs to the repository whose
   * earlier page linked to it; one never linked to is simply asked for unconditionally.
   */
  function itemOf(item: 'repository' | 'repositories' | 'runners', url: URL): string | undefined {
    if (item !== 'repository') return conditionalScopes.org(options.org, item);
    const byName = /\/repos\/[^/]+\/([^/]+)\/actions\//.exec(url.pathname)?.[1];
    if (byName !== undefined) return conditionalScopes.repository(options.org, decodeURIComponent(byName));
    const byId = /\/repositories\/(\d+)\/actions\//.exec(url.pathname)?.[1];
    return byId === undefined ? undefined : itemOfRepositoryId.get(byId);
  }

  function noteRepositoryIds(link: string | undefined, key: string): void {
    if (!link || !key.includes('/repos/')) return;
    for (const [, id] of link.matchAll(/\/repositories\/(\d+)\//g)) itemOfRepositoryId.set(id as string, key);
  }

  const plugin: OctokitPlugin = (octokit) => {
    octokit.hook.wrap('request', async (request, requestOptions) => {
      if (requestOptions.method !== 'GET') return request(requestOptions);
      const url = new URL(octokit.request.endpoint.parse(requestOptions).url);
      const projection = projections.find((candidate) => candidate.path.test(url.pathname));
      if (!projection) return request(requestOptions);
      const key = itemOf(projection.item, url);
      const scope = key === undefined ? undefined : scopes.get(key);
      // Only inside `within` (whose item has been read); anything else goes out unconditionally.
      if (!scope || scope.users === 0) return request(requestOptions);
      const pageKey = `${url.pathname}${url.search}`;
      const remembered = scope.page(pageKey);
      const conditional = remembered !== undefined && !mayHideANewPage(remembered, url);
      if (conditional) {
        requestOptions.headers = { ...requestOptions.headers, 'if-none-match': remembered.e };
        stats.conditional += 1;
      }
      try {
        const response = await request(requestOptions);
        if (typeof response.data !== 'object' || response.data === null) return response;
        const data = projection.project(response.data);
        const etag = response.headers.etag;
        if (typeof etag === 'string' && etag !== '') {
          const link = response.headers.link;
          noteRepositoryIds(link, scope.key);
          scope.remember(pageKey, { e: etag, ...(link ? { l: link } : {}), d: structuredClone(data) });
        }
        return { ...response, data };
      } catch (error) {
        const failure = error as HttpFailure;
        if (!conditional || failure.status !== 304) throw error;
        stats.notModified += 1;
        // GitHub may or may not repeat the Link header on a 304; a fresh one wins over the remembered one.
        const link = failure.response?.headers?.link ?? remembered.l;
        noteRepositoryIds(link, scope.key);
        scope.remember(pageKey, { e: remembered.e, ...(link ? { l: link } : {}), d: remembered.d });
        return {
          status: 200,
          url: failure.response?.url ?? url.toString(),
          headers: { ...failure.response?.headers, ...(link ? { link } : {}) },
          // A copy: octokit.paginate rewrites the data it is given.
          data: structuredClone(remembered.d),
        };
      }
    });
  };

  return {
    plugin,
    stats,

    async within<T>(key: string, work: () => Promise<T>): Promise<T> {
      active += 1;
      const scope = acquire(key);
      try {
        await scope.ready;
        return await work();
      } catch (error) {
        scope.failed = true;
        throw error;
      } finally {
        scope.users -= 1;
        active -= 1;
        // The last one out writes back, before its caller hears it is done (Lambda freezes after that).
        if (active === 0 && awaited.size === 0) await flush();
      }
    },

    async prefetch(keys: readonly string[]): Promise<void> {
      // Whatever an earlier batch left unwritten (some of its scopes were never used) goes first.
      awaited.clear();
      if (active === 0) await flush();
      const fresh: Scope[] = [];
      for (const key of new Set(keys)) {
        if ((scopes.get(key)?.users ?? 0) > 0) continue;
        awaited.add(key);
        // Left unwritten while others were running: keep what it has.
        if (scopes.has(key)) continue;
        const scope = new Scope(key);
        scopes.set(key, scope);
        fresh.push(scope);
      }
      const loaded = read(fresh);
      for (const scope of fresh) scope.ready = loaded;
      await loaded;
    },
  };
}

/**
 * A plain-array listing (`/orgs/{org}/repos`) has no total_count in its body, so a full last page keeps its
 * ETag when an item is added on a new page behind it; such a page is always asked for in full. Listed
 * newest first (`sort=created&direction=desc`, as the adapter does) an addition changes the first page
 * instead, and no page can hide one.
 */
function mayHideANewPage(page: StoredPage, url: URL): boolean {
  if (!Array.isArray(page.d)) return false;
  if (url.searchParams.get('sort') === 'created' && url.searchParams.get('direction') === 'desc')
    return false;
  const perPage = Number(url.searchParams.get('per_page') ?? 30);
  return page.d.length >= perPage && !/rel="next"/.test(page.l ?? '');
}
