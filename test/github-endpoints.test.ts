import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubAdapter } from '../functions/adapters/github-octokit.ts';
import { configuredCaBundle, trustProcessWide } from '../functions/adapters/github-tls.ts';
import { main } from '../functions/cli/stepscale.ts';
import { apiUrlFor } from '../functions/config/github-url.ts';
import { GitHubTlsError } from '../functions/errors.ts';
import { type GitHubStandin, startGitHubStandin } from '../local/github-standin/server.ts';
import { GitHubState } from '../local/world/github.ts';

const appKey = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

/** A fetch that answers like GitHub from canned bodies and records every URL asked for. */
function recordingFetch(urls: string[]): typeof fetch {
  return (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const url = String(input instanceof Request ? input.url : input);
    urls.push(`${init?.method ?? 'GET'} ${url}`);
    const { pathname } = new URL(url);
    const json = (status: number, body: unknown) => {
      const response = new Response(JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json' },
      });
      // A real fetch reports the URL it answered; Octokit's pagination reads it.
      return Object.defineProperty(response, 'url', { value: url });
    };
    if (pathname.endsWith('/access_tokens'))
      return json(201, { token: 'ghs_x', expires_at: new Date(Date.now() + 3600_000).toISOString() });
    if (pathname.endsWith('/installation')) return json(200, { id: 9 });
    if (pathname.endsWith('/installation/repositories'))
      return json(200, { total_count: 1, repositories: [{ name: 'app', archived: false, disabled: false }] });
    if (pathname.endsWith('/repos')) return json(200, [{ name: 'app', archived: false, disabled: false }]);
    if (pathname.endsWith('/actions/runners')) return json(200, { total_count: 0, runners: [] });
    return json(404, { message: 'Not Found' });
  }) as typeof fetch;
}

describe('GitHub adapter: base URL forms', () => {
  it.each([
    { web: 'https://github.com', api: 'https://api.github.com' },
    { web: 'https://acme.ghe.com', api: 'https://api.acme.ghe.com' },
    { web: 'https://github.example.com', api: 'https://github.example.com/api/v3' },
    { web: 'https://example.com:8443/github/', api: 'https://example.com:8443/github/api/v3' },
  ])('sends $web requests under $api', async ({ web, api }) => {
    // Prepare
    const urls: string[] = [];
    const options = { apiUrl: apiUrlFor(web), org: 'acme', request: { fetch: recordingFetch(urls) } };

    // Act
    await createGitHubAdapter({ ...options, token: 'ghp_x' }).listRepositories();
    await createGitHubAdapter({
      ...options,
      minWriteIntervalMs: 0,
      auth: { type: 'app', appId: 1, privateKey: appKey.privateKey },
    }).listRunners();

    // Assess
    expect(urls).toEqual([
      `GET ${api}/orgs/acme/repos?sort=created&direction=desc&per_page=100`,
      `GET ${api}/orgs/acme/installation`,
      `POST ${api}/app/installations/9/access_tokens`,
      `GET ${api}/orgs/acme/actions/runners?per_page=100`,
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------

const openssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!openssl)('GitHub Enterprise Server with a self-signed certificate (needs openssl)', () => {
  let standin: GitHubStandin;
  let cert: string;
  let certFile: string;
  let dir: string;

  beforeAll(async () => {
    // A certificate made for this run (nothing committed), for the address the stand-in listens on.
    dir = await mkdtemp(join(tmpdir(), 'stepscale-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-subj',
        '/CN=ghes.test',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    certFile = join(dir, 'cert.pem');
    cert = await readFile(certFile, 'utf8');
    const state = new GitHubState({ org: 'acme' });
    state.addRepo('app');
    standin = await startGitHubStandin({
      state,
      token: 'ghp_tls',
      pathPrefix: '/api/v3',
      tls: { key: await readFile(join(dir, 'key.pem'), 'utf8'), cert },
    });
  });
  afterAll(() => standin?.close());

  const adapter = (caBundle?: string) =>
    createGitHubAdapter({
      apiUrl: standin.url,
      org: 'acme',
      token: 'ghp_tls',
      retry: { retryAfterBaseValue: 1 },
      ...(caBundle ? { caBundle } : {}),
    });

  it('fails without the CA with a GitHubTlsError that says how to fix it', async () => {
    expect(standin.url).toMatch(/^https:\/\//);
    const failure = await adapter()
      .listRepositories()
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(GitHubTlsError);
    expect((failure as Error).message).toMatch(/DEPTH_ZERO_SELF_SIGNED_CERT/);
    expect((failure as Error).message).toMatch(/github\.caBundleFile/);
  });

  it('succeeds with the CA bundle, without turning certificate checks off', async () => {
    expect(await adapter(cert).listRepositories()).toEqual(['app']);
    expect(process.env.NODE_TLS_REJECT_UNAUTHORIZED).toBeUndefined();
  });

  it('adds the bundle to the process default CAs once where Node can, and says when it cannot', () => {
    const set: string[][] = [];
    const api = {
      getCACertificates: () => ['public-root'],
      setDefaultCACertificates: (c: string[]) => set.push(c),
    };
    expect(trustProcessWide('private-ca-a', api)).toBe(true);
    expect(trustProcessWide('private-ca-a', api)).toBe(true);
    expect(set).toEqual([['public-root', 'private-ca-a']]);
    // Node 20 has no such API: the adapter then takes undici's fetch for GitHub's connections only.
    expect(trustProcessWide('private-ca-b', {})).toBe(false);
  });

  it('stepscale plan reads github.caBundleFile', async () => {
    const configPath = join(dir, 'config.json');
    await writeFile(
      configPath,
      JSON.stringify({
        github: { url: standin.url.replace(/\/api\/v3$/, ''), org: 'acme', caBundleFile: certFile },
        pools: [
          {
            name: 'linux',
            labels: ['self-hosted', 'linux'],
            maxRunners: 2,
            instanceTypes: ['m7i.large'],
            launchTemplate: 'lt-1',
            subnets: ['subnet-0a'],
          },
        ],
      }),
    );
    let stdout = '';
    let stderr = '';
    const code = await main(['plan', '--config', configPath, '--no-ec2', '--json'], {
      env: { GITHUB_TOKEN: 'ghp_tls' },
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ unmatched: 0 });
  });
});

describe('github.caBundleFile, read', () => {
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

  it('once per process: the GitHub and scale-set ports of one function share the read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stepscale-ca-'));
    const path = join(dir, 'ca.pem');
    await writeFile(path, pem);
    expect(await configuredCaBundle({ caBundleFile: path })).toBe(pem);
    await rm(path);
    expect(await configuredCaBundle({ caBundleFile: path })).toBe(pem);
    expect(await configuredCaBundle({})).toBeUndefined();
  });

  it('again after a failed read, which names the setting', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stepscale-ca-'));
    const path = join(dir, 'late.pem');
    await expect(configuredCaBundle({ caBundleFile: path })).rejects.toThrow(/github\.caBundleFile/);
    await writeFile(path, pem);
    expect(await configuredCaBundle({ caBundleFile: path })).toBe(pem);
  });
});
