/**
 * How the repository listing reads its pages (github-repositories.ts): all pages after the first at once when
 * the first names the last, else one after another by `next`; a 409 ends the listing as an empty page.
 * A stub Octokit answers by URL so each path is pinned exactly.
 */
import type { Octokit } from '@octokit/core';
import { describe, expect, it } from 'vitest';
import { listActiveRepositories } from '../functions/adapters/github-repositories.ts';

const base = 'https://api.github.com/orgs/acme/repos?sort=created&direction=desc&per_page=2';
const repo = (name: string, extra: object = {}) => ({ name, ...extra });
const link = (rels: Record<string, number>) =>
  Object.entries(rels)
    .map(([rel, page]) => `<${base}&page=${page}>; rel="${rel}"`)
    .join(', ');

/** An Octokit whose request returns page 1 for the route and the page a URL names for `{ url }`. */
function stubOctokit(pages: Record<number, { data?: unknown[]; link?: string; status?: number }>) {
  const asked: number[] = [];
  const answer = async (page: number) => {
    asked.push(page);
    const entry = pages[page];
    if (!entry) throw Object.assign(new Error(`no page ${page}`), { status: 404 });
    if (entry.status) throw Object.assign(new Error(`status ${entry.status}`), { status: entry.status });
    return { data: entry.data ?? [], headers: entry.link ? { link: entry.link } : {} };
  };
  const octokit = {
    request: (route: string | { url: string }) =>
      typeof route === 'string' ? answer(1) : answer(Number(new URL(route.url).searchParams.get('page'))),
  } as unknown as Octokit;
  return { octokit, asked };
}

const list = (octokit: Octokit) =>
  listActiveRepositories(octokit, { source: 'organization', org: 'acme', perPage: 2 });

describe('repository listing pages', () => {
  it('asks for every page the first page’s `last` link implies, and keeps active repositories once', async () => {
    const { octokit, asked } = stubOctokit({
      1: { data: [repo('e'), repo('d')], link: link({ next: 2, last: 3 }) },
      2: { data: [repo('d'), repo('c', { archived: true })], link: link({ prev: 1, next: 3, last: 3 }) },
      3: { data: [repo('b'), repo('a', { disabled: true })], link: link({ prev: 2, first: 1 }) },
    });
    expect(await list(octokit)).toEqual(['b', 'd', 'e']);
    expect(asked.sort()).toEqual([1, 2, 3]);
  });

  it('follows `next` one page at a time when there is no `last` link', async () => {
    const { octokit, asked } = stubOctokit({
      1: { data: [repo('c')], link: link({ next: 2 }) },
      2: { data: [repo('b')], link: link({ next: 3 }) },
      3: { data: [repo('a')] },
    });
    expect(await list(octokit)).toEqual(['a', 'b', 'c']);
    expect(asked).toEqual([1, 2, 3]);
  });

  it('reads a 409 as an empty page (an empty organization), as octokit.paginate does', async () => {
    expect(await list(stubOctokit({ 1: { status: 409 } }).octokit)).toEqual([]);
    const { octokit } = stubOctokit({
      1: { data: [repo('b')], link: link({ next: 2 }) },
      2: { status: 409 },
    });
    expect(await list(octokit)).toEqual(['b']);
  });

  it('fails the listing when any page fails otherwise: no partial list is taken for the organization', async () => {
    const { octokit } = stubOctokit({
      1: { data: [repo('c')], link: link({ next: 2, last: 3 }) },
      2: { status: 502 },
      3: { data: [repo('a')] },
    });
    await expect(list(octokit)).rejects.toMatchObject({ status: 502 });
  });
});
