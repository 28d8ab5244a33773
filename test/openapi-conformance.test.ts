/**
 * Every request the project sends is an operation of GitHub's official OpenAPI descriptions
 * (npm `@octokit/openapi`): github.com, Enterprise Cloud, and every GHES release the package ships, with
 * declared query parameters, allowed enum values, well-typed path parameters and per_page ≤ 100. The requests
 * are not listed by hand: they are what the stand-in recorded while the real code ran — the local demo
 * (`npm start`), `stepscale plan`, and every GitHubPort method with App and with token authentication.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GitHubAuth } from '../functions/adapters/github-auth.ts';
import { createGitHubAdapter } from '../functions/adapters/github-octokit.ts';
import {
  type GitHubStandin,
  type RecordedRequest,
  startGitHubStandin,
} from '../local/github-standin/server.ts';
import { runLocal } from '../local/local-run.ts';
import { GitHubState } from '../local/world/github.ts';
import { linuxX64Pool, runStepscale, writeConfigFile } from './support/cli-fixtures.ts';

// ------------------------------------------------------------------------------------------ descriptions

type Json = Record<string, unknown>;
interface Parameter {
  readonly name: string;
  readonly in: string;
  readonly schema?: Json;
}
interface Description {
  readonly name: string;
  readonly document: { paths: Record<string, Record<string, Json>>; components: Json };
  /** Path templates split into segments, for matching. */
  readonly templates: { template: string; segments: string[] }[];
}

const generated = join(
  dirname(createRequire(import.meta.url).resolve('@octokit/openapi/package.json')),
  'generated',
);
const minor = (file: string) => Number(/^ghes-3\.(\d+)\.json$/.exec(file)?.[1]);
const ghesFiles = readdirSync(generated)
  .filter((file) => /^ghes-3\.\d+\.json$/.test(file))
  .sort((a, b) => minor(a) - minor(b));

/** Each description is parsed once, when first asked for (they are 10-15 MB each). */
const loaded = new Map<string, Description>();
function description(file: string): Description {
  let found = loaded.get(file);
  if (!found) {
    const document = JSON.parse(readFileSync(join(generated, file), 'utf8')) as Description['document'];
    const templates = Object.keys(document.paths).map((template) => ({
      template,
      segments: template.split('/').filter(Boolean),
    }));
    found = { name: file.replace(/\.json$/, ''), document, templates };
    loaded.set(file, found);
  }
  return found;
}

function resolve<T>(document: Description['document'], value: unknown): T {
  const ref = (value as { $ref?: string } | undefined)?.$ref;
  if (!ref) return value as T;
  const target = ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>((node, key) => (node as Json)[key], document);
  return resolve<T>(document, target);
}

/** The path template a concrete path instantiates; literal segments win over `{param}` ones. */
function findTemplate(spec: Description, path: string, method: string) {
  const segments = path.split('/').filter(Boolean);
  const candidates = spec.templates
    .filter(({ template, segments: parts }) => {
      if (parts.length !== segments.length) return false;
      if (!spec.document.paths[template]?.[method]) return false;
      return parts.every((part, i) => part.startsWith('{') || part === segments[i]);
    })
    .map((candidate) => ({
      ...candidate,
      literal: candidate.segments.filter((part) => !part.startsWith('{')).length,
    }))
    .sort((a, b) => b.literal - a.literal);
  return candidates[0];
}

/** What is wrong with `request` against `spec`; empty when it conforms. */
function problemsOf(spec: Description, request: RecordedRequest): string[] {
  const method = request.method.toLowerCase();
  const found = findTemplate(spec, request.path, method);
  if (!found) return [`${spec.name}: no operation ${request.method} ${request.path}`];
  const pathItem = spec.document.paths[found.template] ?? {};
  const operation = pathItem[method] as { parameters?: unknown[] };
  const parameters = [
    ...((pathItem.parameters as unknown as unknown[] | undefined) ?? []),
    ...(operation.parameters ?? []),
  ].map((p) => resolve<Parameter>(spec.document, p));
  const where = `${spec.name} ${request.method} ${found.template}`;
  const problems: string[] = [];

  const segments = request.path.split('/').filter(Boolean);
  found.segments.forEach((part, i) => {
    if (!part.startsWith('{')) return;
    const name = part.slice(1, -1);
    const declared = parameters.find((p) => p.in === 'path' && p.name === name);
    if (!declared) problems.push(`${where}: path parameter ${name} is not declared`);
    const schema = resolve<Json>(spec.document, declared?.schema);
    if (schema?.type === 'integer' && !/^\d+$/.test(segments[i] ?? ''))
      problems.push(`${where}: ${name}=${segments[i]} is not an integer`);
  });

  for (const [name, value] of Object.entries(request.query)) {
    const declared = parameters.find((p) => p.in === 'query' && p.name === name);
    if (!declared) {
      problems.push(`${where}: query parameter ${name} is not declared`);
      continue;
    }
    const schema = resolve<Json>(spec.document, declared.schema) ?? {};
    const allowed = schema.enum as unknown[] | undefined;
    if (allowed && !allowed.includes(value))
      problems.push(`${where}: ${name}=${value} is not one of ${allowed.join(', ')}`);
    if (schema.type === 'integer' && !/^\d+$/.test(value))
      problems.push(`${where}: ${name}=${value} is not an integer`);
  }
  const perPage = request.query.per_page;
  if (perPage !== undefined && Number(perPage) > 100) problems.push(`${where}: per_page ${perPage} > 100`);
  return problems;
}

// -------------------------------------------------------------------------------------------- requests

const appKey = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const token = 'ghp_conformance';
const x64 = ['self-hosted', 'linux', 'x64'];

function busyOrg(): GitHubState {
  const state = new GitHubState({ org: 'acme' });
  state.addRepo('api');
  state.addRepo({ name: 'old', archived: true });
  const run = state.addRun('api', 'in_progress');
  state.addJob(run.id, { labels: x64 });
  state.addJob(run.id, { labels: x64, status: 'in_progress' });
  state.registerRunner({ name: 'idle-1', labels: x64 });
  return state;
}

/** Every GitHubPort method, as the handlers call them. */
async function exercisePort(standin: GitHubStandin, auth: GitHubAuth): Promise<void> {
  const github = createGitHubAdapter({ apiUrl: standin.url, org: 'acme', auth, minWriteIntervalMs: 0 });
  const repositories = await github.listRepositories();
  for (const repository of repositories) await github.listQueuedJobs(repository);
  const [runner] = await github.listRunners();
  if (runner) await github.getRunner(runner.id);
  const registered = await github.createJitRunner({
    name: `jit-${auth.type}`,
    labels: x64,
    runnerGroup: 'Default',
  });
  if (registered.alreadyRegistered) throw new Error(`jit-${auth.type} was registered already`);
  await github.deleteRunner(registered.runnerId);
  await github.rateLimit();
}

async function planAgainst(standin: GitHubStandin): Promise<void> {
  const configPath = await writeConfigFile('stepscale-openapi-', {
    github: { url: standin.url.replace(/\/api\/v3$/, ''), org: 'acme' },
    pools: [linuxX64Pool({ maxRunners: 5, minIdle: 1 })],
  });
  const { code, stdout, stderr } = await runStepscale(
    ['plan', '--config', configPath, '--no-ec2', '--json'],
    token,
  );
  if (code !== 0) throw new Error(`stepscale plan failed: ${stdout}${stderr}`);
}

// ------------------------------------------------------------------------------------------------ tests

describe('GitHub OpenAPI conformance of every request the project sends', () => {
  const recorded: { source: string; request: RecordedRequest }[] = [];
  const standins: GitHubStandin[] = [];

  beforeAll(async () => {
    const demo = await runLocal({
      webhooks: false,
      scenarioPath: fileURLToPath(new URL('../local/scenarios/demo.json', import.meta.url)),
      print: () => {},
    });
    for (const request of demo.requests)
      recorded.push({ source: 'npm start', request: request as RecordedRequest });

    const serve = async (options: { app?: boolean }) => {
      const standin = await startGitHubStandin({
        state: busyOrg(),
        token,
        pathPrefix: '/api/v3',
        ...(options.app ? { app: { appId: 11, installationId: 22, publicKey: appKey.publicKey } } : {}),
      });
      standins.push(standin);
      return standin;
    };
    const forPlan = await serve({});
    await planAgainst(forPlan);
    const withToken = await serve({});
    await exercisePort(withToken, { type: 'token', token });
    const withApp = await serve({ app: true });
    await exercisePort(withApp, { type: 'app', appId: 11, privateKey: appKey.privateKey });
    for (const [source, standin] of [
      ['stepscale plan', forPlan],
      ['adapter (token)', withToken],
      ['adapter (app)', withApp],
    ] as const) {
      for (const request of standin.requests) recorded.push({ source, request });
    }
  }, 120_000);

  afterAll(() => Promise.all(standins.map((standin) => standin.close())));

  /** One of each method + path shape + query, so each is checked once. */
  const distinct = () => {
    const seen = new Map<string, { source: string; request: RecordedRequest }>();
    for (const entry of recorded) {
      const { method, path, query } = entry.request;
      const shape = path.replace(/\/\d+(?=\/|$)/g, '/N');
      seen.set(
        `${method} ${shape} ${JSON.stringify(Object.keys(query).sort())} ${JSON.stringify(query.status ?? query.filter ?? '')}`,
        entry,
      );
    }
    return [...seen.values()];
  };

  it('covers the listings, JIT registration, runner-group lookup and App token creation', () => {
    const operations = new Set(
      recorded.map(({ request }) => `${request.method} ${request.path.replace(/\/\d+(?=\/|$)/g, '/N')}`),
    );
    for (const expected of [
      'GET /orgs/acme/repos',
      'GET /installation/repositories',
      'GET /repos/acme/api/actions/runs',
      'GET /repos/acme/api/actions/runs/N/jobs',
      'GET /orgs/acme/actions/runners',
      'GET /orgs/acme/actions/runners/N',
      'DELETE /orgs/acme/actions/runners/N',
      'GET /orgs/acme/actions/runner-groups',
      'POST /orgs/acme/actions/runners/generate-jitconfig',
      'GET /rate_limit',
      'GET /orgs/acme/installation',
      'POST /app/installations/N/access_tokens',
    ]) {
      expect(operations).toContain(expected);
    }
  });

  it.each(['ghec.json', 'api.github.com.json', ...ghesFiles])(
    'every request is an operation of %s, with valid parameters',
    (file) => {
      const spec = description(file);
      const problems = distinct().flatMap(({ source, request }) =>
        problemsOf(spec, request).map((problem) => `${problem} (from ${source})`),
      );
      // No exceptions are needed: every endpoint used exists on GHES 3.17+ too (generate-jitconfig included).
      expect(problems).toEqual([]);
    },
  );

  it('checks against at least the newest GHES description', () => {
    expect(ghesFiles.length).toBeGreaterThan(0);
    expect(minor(ghesFiles.at(-1) ?? '')).toBeGreaterThanOrEqual(17);
  });

  it('sends the REST API media type and version header on every request', () => {
    const wrong = recorded.filter(
      ({ request }) =>
        request.headers.accept !== 'application/vnd.github+json' ||
        request.headers['x-github-api-version'] !== '2022-11-28',
    );
    expect(wrong.map(({ source, request }) => ({ source, ...request }))).toEqual([]);
  });

  it('finds a violation when there is one (the checker itself)', () => {
    const spec = description('ghec.json');
    const bad = (method: string, path: string, query: Record<string, string>) =>
      problemsOf(spec, { method, path, query, headers: {} });
    expect(bad('GET', '/orgs/acme/actions/runs', {})).toEqual([expect.stringMatching(/no operation/)]);
    expect(
      bad('GET', '/repos/acme/api/actions/runs', { status: 'busy', per_page: '500', sort: 'x' }),
    ).toEqual([
      expect.stringMatching(/status=busy is not one of/),
      expect.stringMatching(/query parameter sort is not declared/),
      expect.stringMatching(/per_page 500 > 100/),
    ]);
    expect(bad('GET', '/repos/acme/api/actions/runs/12/jobs', { filter: 'latest' })).toEqual([]);
    expect(bad('GET', '/orgs/acme/actions/runners/abc', {})).toEqual([
      expect.stringMatching(/not an integer/),
    ]);
  });
});
