import { afterEach } from 'vitest';
import { createGitHubAdapter, type GitHubClientOptions } from '../../functions/adapters/github-octokit.ts';
import { createRegistrationTokenSource } from '../../functions/adapters/github-registration-token.ts';
import { createScaleSetClient } from '../../functions/adapters/scaleset-client.ts';
import type { GitHubPort } from '../../functions/ports/github.ts';
import type { ScaleSetPort } from '../../functions/ports/scale-sets.ts';
import {
  type GitHubStandin,
  type GitHubStandinOptions,
  startGitHubStandin,
} from '../../local/github-standin/server.ts';
import type { GitHubState } from '../../local/world/github.ts';

/** Retry waits shrink from seconds to milliseconds. */
export const fastRetry = { retryAfterBaseValue: 1 };

export interface GitHubStandins {
  /** A stand-in serving `state` to holders of the token, closed once the test ends. */
  serve(state: GitHubState, options?: Partial<GitHubStandinOptions>): Promise<GitHubStandin>;
  /** The production adapter for org `acme` over `standin`, with the token and fast retries. */
  adapterFor(standin: GitHubStandin, options?: Partial<GitHubClientOptions>): GitHubPort;
}

/**
 * Stand-ins for the tests of one file, all asking for `token`, each closed after its test. Call it at the
 * top of the file: it registers the afterEach that closes them. `defaults` go to every stand-in.
 */
export function githubStandins(token: string, defaults: Partial<GitHubStandinOptions> = {}): GitHubStandins {
  const started: GitHubStandin[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((standin) => standin.close()));
  });
  return {
    serve: async (state, options = {}) => {
      const standin = await startGitHubStandin({ state, token, ...defaults, ...options });
      started.push(standin);
      return standin;
    },
    adapterFor: (standin, options = {}) =>
      createGitHubAdapter({ apiUrl: standin.url, org: 'acme', token, retry: fastRetry, ...options }),
  };
}

/**
 * The production Actions-service client for org `acme` over `standin`, trading `token` for registration
 * tokens. Its config URL is GitHub's web address: the API's, without GHES's `/api/v3`.
 */
export function scaleSetClientFor(standin: GitHubStandin, token: string, now: () => Date): ScaleSetPort {
  return createScaleSetClient({
    apiUrl: standin.url,
    configUrl: `${standin.url.replace(/\/api\/v3$/, '')}/acme`,
    registrationToken: createRegistrationTokenSource({
      apiUrl: standin.url,
      org: 'acme',
      auth: { type: 'token', token },
    }),
    now,
    retryBaseMs: 1,
  });
}
