import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type GitHubAuth,
  githubAuthFor,
  privateKeyFromSecret,
  readLocalGitHubAuth,
} from '../functions/adapters/github-auth.ts';
import { createGitHubAdapter, type GitHubClientOptions } from '../functions/adapters/github-octokit.ts';
import { createRegistrationTokenSource } from '../functions/adapters/github-registration-token.ts';
import { repositoryFilter } from '../functions/adapters/github-repositories.ts';
import { ConfigError, GitHubAuthError, GitHubWriteRefusedError } from '../functions/errors.ts';
import { credentialFromSecret } from '../functions/lambda/wiring/github.ts';
import type { GitHubPort } from '../functions/ports/github.ts';
import {
  type GitHubStandin,
  type GitHubStandinOptions,
  startGitHubStandin,
} from '../local/github-standin/server.ts';
import { GitHubState } from '../local/world/github.ts';

/** A GitHub App key made for this run, PKCS#1 like the .pem GitHub hands out; no key file is committed. */
const appKey = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const otherKey = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const appId = 4242;
const installationId = 777;
const pat = 'ghp_pat_for_auth_tests';
const started: GitHubStandin[] = [];

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(started.splice(0).map((standin) => standin.close()));
});

function orgWithRepos(): GitHubState {
  const state = new GitHubState({ org: 'acme' });
  for (const name of ['api', 'Web-App', 'web-docs', 'infra', 'sandbox-1', 'old']) {
    state.addRepo({ name, archived: name === 'old', disabled: name === 'infra' });
  }
  return state;
}

async function serve(
  state: GitHubState,
  options: Partial<GitHubStandinOptions> = {},
): Promise<GitHubStandin> {
  const standin = await startGitHubStandin({
    state,
    token: pat,
    app: { appId, installationId, publicKey: appKey.publicKey },
    ...options,
  });
  started.push(standin);
  return standin;
}

function appAuth(overrides: Partial<Extract<GitHubAuth, { type: 'app' }>> = {}): GitHubAuth {
  return { type: 'app', appId, privateKey: appKey.privateKey, installationId, ...overrides };
}

function adapter(standin: GitHubStandin, options: Partial<GitHubClientOptions>): GitHubPort {
  return createGitHubAdapter({
    apiUrl: standin.url,
    org: 'acme',
    minWriteIntervalMs: 0,
    retry: { retryAfterBaseValue: 1 },
    ...options,
  });
}

const tokenCreations = (standin: GitHubStandin) =>
  standin.requests.filter(
    (r) => r.method === 'POST' && /^\/app\/installations\/\d+\/access_tokens$/.test(r.path),
  );
const pathsOf = (standin: GitHubStandin) => standin.requests.map((r) => `${r.method} ${r.path}`);

describe('GitHub App authentication', () => {
  it('creates one installation token and reuses it across calls within the hour', async () => {
    // Prepare
    const standin = await serve(orgWithRepos(), { pathPrefix: '/api/v3' });
    const github = adapter(standin, { auth: appAuth() });

    // Act
    const repositories = await github.listRepositories();
    await github.listRunners();
    await github.listRepositories();

    // Assess
    expect(repositories).toEqual(['Web-App', 'api', 'sandbox-1', 'web-docs']); // sorted, whatever the source
    expect(tokenCreations(standin)).toHaveLength(1);
    expect(tokenCreations(standin)[0]?.path).toBe(`/app/installations/${installationId}/access_tokens`);
    expect(pathsOf(standin)).toEqual([
      `POST /app/installations/${installationId}/access_tokens`,
      'GET /installation/repositories',
      'GET /orgs/acme/actions/runners',
      'GET /installation/repositories',
    ]);
  });

  it('shares one token creation between concurrent first requests', async () => {
    const standin = await serve(orgWithRepos());
    const github = adapter(standin, { auth: appAuth() });

    await Promise.all([github.listRepositories(), github.listRunners(), github.rateLimit()]);

    expect(tokenCreations(standin)).toHaveLength(1);
  });

  it('creates a fresh token before the old one expires (after 59 minutes)', async () => {
    // Prepare: only Date is faked, so sockets and timers run as usual while the clock jumps.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-03-01T10:00:00Z'));
    const standin = await serve(orgWithRepos());
    const github = adapter(standin, { auth: appAuth() });
    await github.listRunners();

    // Act
    vi.setSystemTime(new Date('2026-03-01T10:58:00Z'));
    await github.listRunners();
    const afterOneToken = tokenCreations(standin).length;
    vi.setSystemTime(new Date('2026-03-01T10:59:30Z'));
    await github.listRunners();

    // Assess
    expect(afterOneToken).toBe(1);
    expect(tokenCreations(standin)).toHaveLength(2);
  });

  it('looks the installation up by organization when no installation id is configured, once', async () => {
    const standin = await serve(orgWithRepos());
    const github = adapter(standin, { auth: appAuth({ installationId: undefined }) });

    await github.listRepositories();
    await github.listRunners();

    expect(pathsOf(standin)).toEqual([
      'GET /orgs/acme/installation',
      `POST /app/installations/${installationId}/access_tokens`,
      'GET /installation/repositories',
      'GET /orgs/acme/actions/runners',
    ]);
  });

  it('lets a read-only client (stepscale plan) create its installation token, and nothing else', async () => {
    const standin = await serve(orgWithRepos());
    const github = adapter(standin, { auth: appAuth({ installationId: undefined }), readOnly: true });

    expect(await github.listRepositories()).toHaveLength(4);
    await expect(github.deleteRunner(1)).rejects.toBeInstanceOf(GitHubWriteRefusedError);
    expect(standin.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
  });

  it('reports a key GitHub does not know as GitHubAuthError', async () => {
    const standin = await serve(orgWithRepos());
    const github = adapter(standin, { auth: appAuth({ privateKey: otherKey.privateKey }) });

    await expect(github.listRunners()).rejects.toBeInstanceOf(GitHubAuthError);
    expect(standin.requests.every((r) => r.path.startsWith('/app/'))).toBe(true);
  });

  it('refuses an installation token on app routes and a JWT-less request on the others (stand-in)', async () => {
    const standin = await serve(orgWithRepos());
    const patOnAppRoute = await fetch(`${standin.url}/orgs/acme/installation`, {
      headers: { authorization: `token ${pat}` },
    });
    const nothing = await fetch(`${standin.url}/orgs/acme/repos`);
    expect(patOnAppRoute.status).toBe(401);
    expect(nothing.status).toBe(401);
  });
});

describe('runner registration token: the scale sets’ first call, with the stack’s credentials', () => {
  it.each([
    ['the App’s installation token', appAuth(), 1],
    ['the PAT', { type: 'token', token: pat } as GitHubAuth, 0],
  ])('is asked with %s', async (_credentials, auth, installationTokens) => {
    // Write pacing off: the installation token and the registration token are two POSTs a moment apart, which
    // the transport would space a second apart (its retry waits are shrunk here); this is about credentials.
    const standin = await serve(orgWithRepos(), { secondaryLimits: false });
    const registrationToken = createRegistrationTokenSource({
      apiUrl: standin.url,
      org: 'acme',
      auth,
      retryAfterBaseValue: 1,
    });

    const issued = await registrationToken();

    expect(issued.token.length).toBeGreaterThan(0);
    expect(Date.parse(issued.expiresAt ?? '')).toBeGreaterThan(Date.now());
    expect(
      pathsOf(standin).filter((path) => path === 'POST /orgs/acme/actions/runners/registration-token'),
    ).toHaveLength(1);
    // An App trades its JWT for an installation token first (the stand-in refuses the call without one).
    expect(tokenCreations(standin)).toHaveLength(installationTokens);
  });

  it('reports an App key GitHub does not know as GitHubAuthError, asking for no registration token', async () => {
    const standin = await serve(orgWithRepos());
    const registrationToken = createRegistrationTokenSource({
      apiUrl: standin.url,
      org: 'acme',
      auth: appAuth({ privateKey: otherKey.privateKey }),
      retryAfterBaseValue: 1,
    });

    await expect(registrationToken()).rejects.toBeInstanceOf(GitHubAuthError);
    expect(pathsOf(standin).some((path) => path.includes('registration-token'))).toBe(false);
  });
});

describe('repositories: source and include/exclude', () => {
  it('lists the organization with a token, and the installation with an App, both filtered', async () => {
    const standin = await serve(orgWithRepos());
    const filter = { include: ['web-*', 'API', 'sandbox-*'], exclude: ['*-docs'] };

    const withToken = await adapter(standin, { token: pat, repositories: filter }).listRepositories();
    const withApp = await adapter(standin, { auth: appAuth(), repositories: filter }).listRepositories();

    expect(withToken).toEqual(['Web-App', 'api', 'sandbox-1']); // sorted, whatever the source
    expect(withApp).toEqual(['Web-App', 'api', 'sandbox-1']);
    const listings = standin.requests.filter((r) => r.method === 'GET').map((r) => r.path);
    expect(listings).toEqual(['/orgs/acme/repos', '/installation/repositories']);
  });

  it('reads every page of the installation’s repositories', async () => {
    const state = new GitHubState({ org: 'acme' });
    for (let i = 0; i < 230; i += 1) state.addRepo({ name: `r-${i}`, archived: i % 100 === 5 });
    const standin = await serve(state);

    const names = await adapter(standin, { auth: appAuth() }).listRepositories();

    expect(names).toHaveLength(227);
    expect(
      standin.requests.filter((r) => r.path === '/installation/repositories').map((r) => r.query),
    ).toEqual([{ per_page: '100' }, { per_page: '100', page: '2' }, { per_page: '100', page: '3' }]);
  });

  it.each([
    { filter: undefined, name: 'anything', kept: true },
    { filter: { include: ['web-*'] }, name: 'WEB-app', kept: true },
    { filter: { include: ['web-*'] }, name: 'api', kept: false },
    { filter: { exclude: ['*-archive', 'tmp?'] }, name: 'tmp1', kept: false },
    { filter: { exclude: ['*-archive'] }, name: 'api', kept: true },
    { filter: { include: ['*'], exclude: ['secret'] }, name: 'Secret', kept: false },
    { filter: { include: ['{api,web}'] }, name: 'web', kept: true },
    { filter: { include: ['.github'] }, name: '.github', kept: true },
  ])('$name with $filter is kept: $kept', ({ filter, name, kept }) => {
    expect(repositoryFilter(filter)(name)).toBe(kept);
  });
});

describe('where the credentials come from', () => {
  const appConfig = { type: 'app', appId, installationId } as const;

  it('reads GITHUB_TOKEN for pat', async () => {
    expect(await readLocalGitHubAuth({ type: 'pat' }, { GITHUB_TOKEN: ` ${pat}\n` })).toEqual({
      type: 'token',
      token: pat,
    });
  });

  it('reads the App key from GITHUB_APP_PRIVATE_KEY (with \\n escapes) or GITHUB_APP_PRIVATE_KEY_FILE', async () => {
    const escaped = appKey.privateKey.trim().replaceAll('\n', '\\n');
    const dir = await mkdtemp(join(tmpdir(), 'stepscale-auth-'));
    const file = join(dir, 'app.pem');
    await writeFile(file, appKey.privateKey);

    const inline = await readLocalGitHubAuth(appConfig, { GITHUB_APP_PRIVATE_KEY: escaped });
    const fromFile = await readLocalGitHubAuth(
      { type: 'app', appId },
      { GITHUB_APP_PRIVATE_KEY_FILE: file, GITHUB_TOKEN: 'ignored' },
    );

    expect(inline).toEqual({ type: 'app', appId, installationId, privateKey: appKey.privateKey });
    expect(fromFile).toEqual({ type: 'app', appId, privateKey: appKey.privateKey });
  });

  it('names each missing or broken App key source without echoing the secret', async () => {
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{}, /GITHUB_APP_PRIVATE_KEY_FILE: is not set/],
      [{ GITHUB_APP_PRIVATE_KEY: 'x', GITHUB_APP_PRIVATE_KEY_FILE: '/x' }, /exactly one/],
      [{ GITHUB_APP_PRIVATE_KEY_FILE: '/nonexistent/app.pem' }, /cannot be read \(ENOENT\)/],
      [{ GITHUB_APP_PRIVATE_KEY: 'secret-not-a-key' }, /is not a PEM private key/],
      [
        {
          GITHUB_APP_PRIVATE_KEY:
            '-----BEGIN RSA PRIVATE KEY-----\nsecretgarbage\n-----END RSA PRIVATE KEY-----',
        },
        /does not parse/,
      ],
    ];
    for (const [env, message] of cases) {
      const failure = await readLocalGitHubAuth(appConfig, env).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(ConfigError);
      expect((failure as Error).message).toMatch(message);
      expect((failure as Error).message).not.toMatch(/secret-not-a-key|secretgarbage/);
    }
  });

  it('takes the App key from the Lambda secret as PEM or {"privateKey"}, the token as before', () => {
    const asJson = JSON.stringify({ privateKey: appKey.privateKey });
    expect(privateKeyFromSecret(appKey.privateKey, 'S')).toBe(appKey.privateKey);
    expect(privateKeyFromSecret(new TextEncoder().encode(asJson), 'S')).toBe(appKey.privateKey);
    expect(credentialFromSecret(asJson, appConfig, 'S')).toBe(appKey.privateKey);
    expect(credentialFromSecret('{"token":"ghp_x"}', { type: 'pat' }, 'S')).toBe('ghp_x');
    for (const bad of ['{"token":"ghp_secret"}', 'ghp_secret', '{ghp_secret', '']) {
      expect(() => credentialFromSecret(bad, appConfig, 'S')).toThrow(ConfigError);
      try {
        credentialFromSecret(bad, appConfig, 'S');
      } catch (error) {
        expect((error as Error).message).not.toContain('ghp_secret');
      }
    }
    expect(githubAuthFor(appConfig, 'KEY')).toEqual({
      type: 'app',
      appId,
      installationId,
      privateKey: 'KEY',
    });
    expect(githubAuthFor({ type: 'pat' }, 'T')).toEqual({ type: 'token', token: 'T' });
  });
});
