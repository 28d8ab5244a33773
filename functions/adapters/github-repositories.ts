/**
 * Which repositories are scanned for queued jobs. A GitHub App sees what its installation was granted
 * (`GET /installation/repositories`); a token lists the organization's (`GET /orgs/{org}/repos`). Archived and
 * disabled repositories never run workflows and are skipped either way. Config `github.repositories` narrows
 * the list further with glob patterns on the repository name (picomatch, case-insensitive): a repository is
 * kept when it matches an `include` pattern (or there is none) and no `exclude` pattern — exclude wins.
 */
import type { Octokit } from '@octokit/rest';
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
  octokit: Octokit,
  options: {
    readonly source: RepositorySource;
    readonly org: string;
    readonly filter?: RepositoryFilterOptions | undefined;
    readonly perPage: number;
  },
): Promise<string[]> {
  const repos =
    options.source === 'installation'
      ? await octokit.paginate(octokit.rest.apps.listReposAccessibleToInstallation, {
          per_page: options.perPage,
        })
      : await octokit.paginate(octokit.rest.repos.listForOrg, {
          org: options.org,
          // Newest first: a new repository changes the first page, so every page can be answered 304 on
          // an idle cycle (in creation order a full last page would hide a page added behind it).
          sort: 'created',
          direction: 'desc',
          per_page: options.perPage,
        });
  const keep = repositoryFilter(options.filter);
  return repos
    .filter((repo) => !repo.archived && !repo.disabled && keep(repo.name))
    .map((repo) => repo.name)
    .sort(); // one order whatever the source and its paging order
}
