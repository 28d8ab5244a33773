/**
 * Which repositories are scanned for queued jobs. A GitHub App sees what its installation was granted
 * (`GET /installation/repositories`); a token lists the organization's (`GET /orgs/{org}/repos`). Archived and
 * disabled repositories never run workflows and are skipped either way. Config `github.repositories` narrows
 * the list further with glob patterns on the repository name (picomatch, case-insensitive): a repository is
 * kept when it matches an `include` pattern (or there is none) and no `exclude` pattern — exclude wins.
 */
import type { Octokit } from '@octokit/core';
import picomatch from 'picomatch';

export interface RepositoryFilterOptions {
  readonly include?: readonly string[] | undefined;
  readonly exclude?: readonly string[] | undefined;
}

export type RepositorySource = 'installation' | 'organization';

/** A predicate on repository names from include/exclude globs; everything passes without a filter. */
export function repositoryFilter(filter: RepositoryFilterOptions | undefined): (name: string) => boolean {
  const options = { nocase: true, dot: true };
  const include = filter?.include?.length ? picomatch([...filter.include], options) : () => true;
  const exclude = filter?.exclude?.length ? picomatch([...filter.exclude], options) : () => false;
  return (name) => include(name) && !exclude(name);
}

/** Every active repository's name from `source`, all pages read, after `filter`, sorted. */
export async function listActiveRepositories(
  octokit: Pick<Octokit, 'request'>,
  options: {
    readonly source: RepositorySource;
    readonly org: string;
    readonly filter?: RepositoryFilterOptions | undefined;
    readonly perPage: number;
  },
): Promise<string[]> {
  const repos =
    options.source === 'installation'
      ? await readAllPages(
          octokit,
          () => octokit.request('GET /installation/repositories', { per_page: options.perPage }),
          (data) => (data as { repositories?: ListedRepository[] }).repositories ?? [],
        )
      : await readAllPages(
          octokit,
          () =>
            octokit.request('GET /orgs/{org}/repos', {
              org: options.org,
              // Newest first: a new repository changes the first page, so every page can be answered 304 on
              // an idle cycle (in creation order a full last page would hide a page added behind it).
              sort: 'created',
              direction: 'desc',
              per_page: options.perPage,
            }),
          (data) => (Array.isArray(data) ? (data as ListedRepository[]) : []),
        );
  const keep = repositoryFilter(options.filter);
  const names = repos
    .filter((repo) => !repo.archived && !repo.disabled && keep(repo.name))
    .map((repo) => repo.name);
  // One order whatever the source and its paging order; once each, should a repository created while the
  // pages were read have pushed another onto the next page.
  return [...new Set(names)].sort();
}

interface ListedRepository {
  readonly name: string;
  readonly archived?: boolean;
  readonly disabled?: boolean;
}

interface Page {
  readonly data: unknown;
  readonly headers: { readonly link?: string | undefined };
}

/**
 * Every item of a paged listing, in page order. The first page's Link header names the last page; the pages
 * between are then asked for at once (the client's concurrency limit bounds them) instead of one after another
 * by `next`: at 50 ms a request, a 1,000-repository organization's listing took half a second that way and a
 * 10,000-repository one's five. Without a `last` link the pages are followed by `next`, as octokit.paginate
 * does. A 409 reads as an empty page and the end of the listing, as it does for octokit.paginate.
 */
async function readAllPages<T>(
  octokit: Pick<Octokit, 'request'>,
  firstPage: () => Promise<Page>,
  items: (data: unknown) => T[],
): Promise<T[]> {
  const readPage = async (read: () => Promise<Page>): Promise<Page | undefined> => {
    try {
      return await read();
    } catch (error) {
      if ((error as { status?: unknown }).status === 409) return undefined;
      throw error;
    }
  };
  const byUrl = (url: string) => () => octokit.request({ method: 'GET', url }) as Promise<Page>;

  const first = await readPage(firstPage);
  if (!first) return [];
  const last = linkTarget(first.headers.link, 'last');
  const lastPage = last ? Number.parseInt(last.searchParams.get('page') ?? '', 10) : Number.NaN;
  if (last && Number.isInteger(lastPage)) {
    const rest = await Promise.all(
      Array.from({ length: Math.max(0, lastPage - 1) }, (_, index) => {
        const url = new URL(last);
        url.searchParams.set('page', String(index + 2));
        return readPage(byUrl(url.toString()));
      }),
    );
    return [first, ...rest].flatMap((page) => (page ? items(page.data) : []));
  }
  const all = [...items(first.data)];
  for (let next = linkTarget(first.headers.link, 'next'); next; ) {
    const page = await readPage(byUrl(next.toString()));
    if (!page) break;
    all.push(...items(page.data));
    next = linkTarget(page.headers.link, 'next');
  }
  return all;
}

/** The URL a Link header gives for `rel`, if any. */
export function linkTarget(link: string | undefined, rel: 'next' | 'last'): URL | undefined {
  const target = new RegExp(`<([^<>]+)>;\\s*rel="${rel}"`).exec(link ?? '')?.[1];
  return target === undefined ? undefined : new URL(target);
}
