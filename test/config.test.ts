import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  jobSourceOf,
  loadConfigFile,
  parseConfig,
  readGitHubToken,
  scaleSetNameOf,
  scalingPolicyOf,
} from '../functions/config/config.ts';
import { apiUrlFor } from '../functions/config/github-url.ts';
import { ConfigError } from '../functions/errors.ts';
import { asyncProblemsOf, problemsOf } from './support/config-problems.ts';

function validPool(overrides: Record<string, unknown> = {}) {
  return {
    name: 'linux-x64',
    labels: [' Self-Hosted ', 'Linux', 'X64', 'linux'],
    maxRunners: 10,
    instanceTypes: ['m7i.large', 'm6i.large'],
    launchTemplate: 'lt-0123',
    subnets: ['subnet-0a1b2c'],
    ...overrides,
  };
}

function validRaw(overrides: Record<string, unknown> = {}) {
  return {
    github: { url: 'https://github.com', org: 'acme' },
    pools: [validPool()],
    ...overrides,
  };
}

/** The part of a problem before its first ": ", which is where the problem is. */
function pathOf(problem: string): string {
  return problem.slice(0, problem.indexOf(': '));
}

describe('parseConfig', () => {
  it('applies defaults and normalizes labels', () => {
    // Act
    const config = parseConfig(validRaw());

    // Assess
    expect(config).toEqual({
      github: {
        url: 'https://github.com',
        org: 'acme',
        apiUrl: 'https://api.github.com',
        auth: { type: 'pat' },
        writesPerMinute: 60,
      },
      jobSource: 'poll',
      scaleSets: { listenSeconds: 840, staleAfterSeconds: 180, cycleStartGapSeconds: 2 },
      stack: 'stepscale',
      pools: [
        {
          name: 'linux-x64',
          labels: ['self-hosted', 'linux', 'x64'],
          maxRunners: 10,
          minIdle: 0,
          instanceTypes: ['m7i.large', 'm6i.large'],
          launchTemplate: 'lt-0123',
          subnets: ['subnet-0a1b2c'],
          capacity: 'spot-with-fallback',
          runnerGroup: 'Default',
        },
      ],
      scaleDown: { minRunningSeconds: 300, bootTimeoutSeconds: 300, maxRemovalsPerCycle: 10 },
      scaleUp: { maxLaunchesPerCycle: 100 },
      collection: {
        repositoriesPerBatch: 50,
        concurrency: 16,
        maxBatches: 40,
        reserveRequests: 200,
        cycleIntervalSeconds: 60,
        endpointPointsPerMinute: 900,
        hotForSeconds: 900,
        targetedShare: 0.1,
      },
    });
  });

  it('keeps every value that is given', () => {
    // Prepare
    const raw = validRaw({
      github: {
        url: 'https://github.example.com/',
        org: 'Acme-Corp',
        apiUrl: 'https://api.example.com/v3',
        writesPerMinute: 180,
      },
      stack: 'ci-runners',
      pools: [
        validPool({ minIdle: 2, capacity: 'on-demand', runnerGroup: 'builders' }),
        validPool({ name: 'linux.arm_64', labels: ['ARM64'], maxRunners: 0, capacity: 'spot' }),
      ],
      scaleDown: { minRunningSeconds: 0, bootTimeoutSeconds: 30, maxRemovalsPerCycle: 3 },
      scaleUp: { maxLaunchesPerCycle: 7 },
      collection: { repositoriesPerBatch: 500, concurrency: 20 },
    });

    // Act
    const config = parseConfig(raw);

    // Assess
    expect(config.github).toEqual({
      url: 'https://github.example.com/',
      org: 'Acme-Corp',
      apiUrl: 'https://api.example.com/v3',
      auth: { type: 'pat' },
      writesPerMinute: 180,
    });
    expect(config.stack).toBe('ci-runners');
    expect(
      config.pools.map(({ name, labels, minIdle, maxRunners, capacity, runnerGroup }) => ({
        name,
        labels,
        minIdle,
        maxRunners,
        capacity,
        runnerGroup,
      })),
    ).toEqual([
      {
        name: 'linux-x64',
        labels: ['self-hosted', 'linux', 'x64'],
        minIdle: 2,
        maxRunners: 10,
        capacity: 'on-demand',
        runnerGroup: 'builders',
      },
      {
        name: 'linux.arm_64',
        labels: ['arm64'],
        minIdle: 0,
        maxRunners: 0,
        capacity: 'spot',
        runnerGroup: 'Default',
      },
    ]);
    expect(config.scaleDown).toEqual({
      minRunningSeconds: 0,
      bootTimeoutSeconds: 30,
      maxRemovalsPerCycle: 3,
    });
    expect(config.scaleUp).toEqual({ maxLaunchesPerCycle: 7 });
    expect(config.collection).toMatchObject({ repositoriesPerBatch: 500, concurrency: 20 });
  });

  it('fills in defaults inside partially given sections', () => {
    // Act
    const config = parseConfig(
      validRaw({ scaleDown: { bootTimeoutSeconds: 900 }, collection: { concurrency: 2 } }),
    );

    // Assess
    expect(config.scaleDown).toEqual({
      minRunningSeconds: 300,
      bootTimeoutSeconds: 900,
      maxRemovalsPerCycle: 10,
    });
    expect(config.collection).toMatchObject({
      repositoriesPerBatch: 50,
      concurrency: 2,
      maxBatches: 40,
      reserveRequests: 200,
      cycleIntervalSeconds: 60,
      endpointPointsPerMinute: 900,
      hotForSeconds: 900,
    });
  });

  it('accepts minIdle equal to maxRunners', () => {
    expect(
      parseConfig(validRaw({ pools: [validPool({ minIdle: 3, maxRunners: 3 })] })).pools[0]?.minIdle,
    ).toBe(3);
  });

  it('lists every problem of an invalid config in one error', () => {
    // Prepare: at least one problem at every level, some pools with several.
    const raw = {
      github: {
        url: 'ftp://github.example.com',
        org: 'not an org!',
        apiUrl: 'not a url',
        token: 'ghp_secret',
        writesPerMinute: 181, // past GitHub's 900 points a minute at 5 a write
      },
      stack: 5,
      pools: [
        validPool({ name: 'x64', labels: [], minIdle: 3, maxRunners: 2, capacity: 'cheap', colour: 'red' }),
        validPool({
          name: 'X64',
          labels: ['linux', '   '],
          maxRunners: 'many',
          instanceTypes: [],
          launchTemplate: '',
          subnets: ['sn-1'],
        }),
        validPool({ name: 'arm', maxRunners: 2.5, capacity: 'reserved' }),
        validPool({ name: 'x64' }),
      ],
      scaleDown: { minRunningSeconds: -1, bootTimeoutSeconds: 10, graceSeconds: 1 },
      collection: { repositoriesPerBatch: 0, concurrency: 1.5, retries: 2 },
      region: 'eu-west-1',
    };

    // Act
    const problems = problemsOf(() => parseConfig(raw));

    // Assess
    expect(problems.map(pathOf).sort()).toEqual(
      [
        '(config)', // region
        'github', // token
        'github.apiUrl',
        'github.org',
        'github.url',
        'github.writesPerMinute',
        'stack',
        'pools[0]', // colour
        'pools[0].capacity',
        'pools[0].labels',
        'pools[0].minIdle', // exceeds maxRunners
        'pools[1].instanceTypes',
        'pools[1].labels[1]',
        'pools[1].launchTemplate',
        'pools[1].maxRunners',
        'pools[1].name', // duplicates pools[0] case-insensitively
        'pools[1].subnets[0]',
        'pools[2].capacity',
        'pools[2].maxRunners',
        'pools[3].name', // duplicates pools[0] exactly
        'scaleDown', // graceSeconds
        'scaleDown.bootTimeoutSeconds',
        'scaleDown.minRunningSeconds',
        'collection', // retries
        'collection.concurrency',
        'collection.repositoriesPerBatch',
      ].sort(),
    );
    const unknownKeys = problems.filter((problem) => /unrecognized key/i.test(problem)).join('\n');
    for (const key of ['region', 'token', 'colour', 'graceSeconds', 'retries'])
      expect(unknownKeys).toContain(key);
    expect(problems).toContain('pools[1].name: duplicates pools[0].name "X64"');
    expect(problems).toContain('pools[3].name: duplicates pools[0].name "x64"');
    expect(problems).toContain('pools[0].minIdle: minIdle cannot exceed maxRunners');
    expect(problems).toContain('pools[1].labels[1]: a label cannot be empty');
    expect(problems).toContain('pools[0].labels: needs at least one label');
    expect(
      problems
        .filter((problem) => problem.endsWith('must be an http(s) URL'))
        .map(pathOf)
        .sort(),
    ).toEqual(['github.apiUrl', 'github.url']);
  });

  it('puts every problem in the error message', () => {
    // Prepare
    const raw = validRaw({
      stack: '9lives',
      pools: [validPool({ subnets: [] }), validPool({ name: 'LINUX-X64' })],
    });

    // Act
    const act = () => parseConfig(raw);

    // Assess
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(
      /^Invalid configuration \(3 problems\):\n {2}- stack: .*\n {2}- pools\[0\]\.subnets: .*\n {2}- pools\[1\]\.name: /,
    );
  });

  it('does not leak an unknown value such as a token into the problems', () => {
    // Act
    const problems = problemsOf(() =>
      parseConfig(validRaw({ github: { url: 'https://github.com', org: 'acme', token: 'ghp_secret' } })),
    );

    // Assess
    expect(problems).toEqual(['github: Unrecognized key: "token"']);
    expect(problems.join('\n')).not.toContain('ghp_secret');
  });

  it.each([
    { case: 'null', raw: null, paths: ['(config)'] },
    { case: 'an array', raw: [], paths: ['(config)'] },
    { case: 'an empty object', raw: {}, paths: ['github', 'pools'] },
    { case: 'no pools', raw: validRaw({ pools: [] }), paths: ['pools'] },
    {
      case: 'a pool that is not an object',
      raw: validRaw({ pools: [null, 'x64'] }),
      paths: ['pools[0]', 'pools[1]'],
    },
    {
      case: 'a pool without a name',
      raw: validRaw({ pools: [validPool({ name: undefined })] }),
      paths: ['pools[0].name'],
    },
    {
      case: 'a pool name with a space',
      raw: validRaw({ pools: [validPool({ name: 'linux x64' })] }),
      paths: ['pools[0].name'],
    },
    {
      case: 'a pool name of 64 characters',
      raw: validRaw({ pools: [validPool({ name: 'a'.repeat(64) })] }),
      paths: ['pools[0].name'],
    },
    {
      case: 'labels that are not strings',
      raw: validRaw({ pools: [validPool({ labels: ['linux', 7] })] }),
      paths: ['pools[0].labels[1]'],
    },
    {
      case: 'a negative maxRunners (below the default minIdle too)',
      raw: validRaw({ pools: [validPool({ maxRunners: -1 })] }),
      paths: ['pools[0].maxRunners', 'pools[0].minIdle'],
    },
    {
      case: 'a minIdle above maxRunners',
      raw: validRaw({ pools: [validPool({ minIdle: 11 })] }),
      paths: ['pools[0].minIdle'],
    },
    {
      case: 'a bad instance type',
      raw: validRaw({ pools: [validPool({ instanceTypes: ['large'] })] }),
      paths: ['pools[0].instanceTypes[0]'],
    },
    {
      case: 'an unknown capacity',
      raw: validRaw({ pools: [validPool({ capacity: 'Spot' })] }),
      paths: ['pools[0].capacity'],
    },
    {
      case: 'a capacity of the wrong type',
      raw: validRaw({ pools: [validPool({ capacity: 1 })] }),
      paths: ['pools[0].capacity'],
    },
    {
      case: 'a github section of the wrong type',
      raw: validRaw({ github: 'https://github.com' }),
      paths: ['github'],
    },
    {
      case: 'a github URL that is not a URL',
      raw: validRaw({ github: { url: 'github.com', org: 'acme' } }),
      paths: ['github.url'],
    },
    {
      case: 'a javascript: github URL',
      raw: validRaw({ github: { url: 'javascript:alert(1)', org: 'acme' } }),
      paths: ['github.url'],
    },
    {
      case: 'an org starting with "-"',
      raw: validRaw({ github: { url: 'https://github.com', org: '-acme' } }),
      paths: ['github.org'],
    },
    { case: 'a scaleDown of the wrong type', raw: validRaw({ scaleDown: 300 }), paths: ['scaleDown'] },
    {
      case: 'a too large collection batch',
      raw: validRaw({ collection: { repositoriesPerBatch: 501 } }),
      paths: ['collection.repositoriesPerBatch'],
    },
  ])('rejects $case', ({ raw, paths }) => {
    expect(problemsOf(() => parseConfig(raw)).map(pathOf)).toEqual(paths);
  });
});

describe('parseConfig: jobSource and scale sets', () => {
  it('takes a job source for all pools, lets a pool override it, and names scale sets after pools', () => {
    // Act
    const config = parseConfig(
      validRaw({
        jobSource: 'auto',
        pools: [validPool(), validPool({ name: 'gpu', jobSource: 'poll', scaleSetName: 'acme-gpu' })],
        scaleSets: { staleAfterSeconds: 120 },
      }),
    );

    // Assess
    expect(config.pools.map((pool) => jobSourceOf(config, pool))).toEqual(['auto', 'poll']);
    expect(config.pools.map(scaleSetNameOf)).toEqual(['linux-x64', 'acme-gpu']);
    expect(config.scaleSets).toEqual({ listenSeconds: 840, staleAfterSeconds: 120, cycleStartGapSeconds: 2 });
  });

  it('reports an unknown source, a bad scale set name and one used twice, all at once', () => {
    // Act
    const problems = problemsOf(() =>
      parseConfig(
        validRaw({
          jobSource: 'webhooks',
          pools: [
            validPool({ scaleSetName: 'shared' }),
            validPool({ name: 'two', scaleSetName: 'shared' }),
            validPool({ name: 'three', scaleSetName: 'no spaces' }),
          ],
          scaleSets: { listenSeconds: 901 },
        }),
      ),
    );

    // Assess
    expect(problems.map(pathOf).sort()).toEqual(
      ['jobSource', 'pools[1].scaleSetName', 'pools[2].scaleSetName', 'scaleSets.listenSeconds'].sort(),
    );
    expect(problems).toContain('pools[1].scaleSetName: "shared" is the scale set name of pools[0] too');
  });
});

describe('loadConfigFile', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stepscale-config-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('parses a valid JSON file', async () => {
    // Prepare
    const path = join(dir, 'valid.json');
    await writeFile(path, JSON.stringify(validRaw({ stack: 'from-file' })));

    // Act
    const config = await loadConfigFile(path);

    // Assess
    expect(config.stack).toBe('from-file');
    expect(config.pools[0]?.labels).toEqual(['self-hosted', 'linux', 'x64']);
    expect(config.github.apiUrl).toBe('https://api.github.com');
  });

  it('reports a missing file with its path', async () => {
    // Prepare
    const path = join(dir, 'missing.json');

    // Act
    const problems = await asyncProblemsOf(() => loadConfigFile(path));

    // Assess
    expect(problems).toEqual([`${path}: cannot be read (ENOENT)`]);
  });

  it('reports malformed JSON with its path', async () => {
    // Prepare
    const path = join(dir, 'malformed.json');
    await writeFile(path, '{ "github": { "url": "https://github.com", }');

    // Act
    const problems = await asyncProblemsOf(() => loadConfigFile(path));

    // Assess
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: is not valid JSON \\(.+\\)$`),
    );
  });

  it('reports every problem of a well-formed but invalid file', async () => {
    // Prepare
    const path = join(dir, 'invalid.json');
    await writeFile(path, JSON.stringify({ github: { url: 'https://github.com' }, pools: [] }));

    // Act
    const problems = await asyncProblemsOf(() => loadConfigFile(path));

    // Assess
    expect(problems.map(pathOf)).toEqual(['github.org', 'pools']);
  });
});

describe('readGitHubToken', () => {
  it('returns the token from the environment, trimmed', () => {
    expect(readGitHubToken({ GITHUB_TOKEN: '  ghp_abc123\n' })).toBe('ghp_abc123');
  });

  it.each([
    { case: 'missing', env: {} },
    { case: 'empty', env: { GITHUB_TOKEN: '' } },
    { case: 'blank', env: { GITHUB_TOKEN: ' \t\n ' } },
  ])('throws a ConfigError when the token is $case', ({ env }) => {
    expect(problemsOf(() => readGitHubToken(env)).map(pathOf)).toEqual(['GITHUB_TOKEN']);
  });

  it('reads only GITHUB_TOKEN', () => {
    expect(() => readGitHubToken({ GH_TOKEN: 'ghp_other', github_token: 'ghp_lower' })).toThrow(ConfigError);
  });
});

describe('scalingPolicyOf', () => {
  it('takes the pools in config order with normalized labels and the scale-down timings', () => {
    // Prepare
    const config = parseConfig(
      validRaw({
        pools: [
          validPool({ name: 'gpu', labels: ['GPU', 'Linux'], maxRunners: 2, minIdle: 1 }),
          validPool({ name: 'x64', maxRunners: 20 }),
        ],
        stack: 'runners',
        scaleDown: { minRunningSeconds: 120, bootTimeoutSeconds: 480, maxRemovalsPerCycle: 5 },
        scaleUp: { maxLaunchesPerCycle: 15 },
      }),
    );

    // Act
    const policy = scalingPolicyOf(config);

    // Assess
    expect(policy).toEqual({
      stack: 'runners',
      pools: [
        { name: 'gpu', labels: ['gpu', 'linux'], maxRunners: 2, minIdle: 1 },
        { name: 'x64', labels: ['self-hosted', 'linux', 'x64'], maxRunners: 20, minIdle: 0 },
      ],
      minRunningSeconds: 120,
      bootTimeoutSeconds: 480,
      maxLaunchesPerCycle: 15,
      maxRemovalsPerCycle: 5,
      // 60 writes a minute × 480 s of boot timeout × the 55 s of each minute a cycle registers in.
      maxPendingRegistrations: 440,
    });
  });
});

describe('apiUrlFor', () => {
  it.each([
    { webUrl: 'https://github.com', expected: 'https://api.github.com' },
    { webUrl: 'https://github.com/', expected: 'https://api.github.com' },
    { webUrl: 'https://GitHub.com', expected: 'https://api.github.com' },
    { webUrl: 'https://www.github.com', expected: 'https://api.github.com' },
    { webUrl: 'https://api.github.com', expected: 'https://api.github.com' },
    { webUrl: 'https://api.octo.ghe.com', expected: 'https://api.octo.ghe.com' },
    { webUrl: 'https://octo.ghe.com', expected: 'https://api.octo.ghe.com' },
    { webUrl: 'https://Octo.GHE.com/', expected: 'https://api.octo.ghe.com' },
    { webUrl: 'https://github.example.com', expected: 'https://github.example.com/api/v3' },
    { webUrl: 'https://github.example.com/', expected: 'https://github.example.com/api/v3' },
    { webUrl: 'https://example.com/github/', expected: 'https://example.com/github/api/v3' },
    { webUrl: 'https://example.com/tools/github//', expected: 'https://example.com/tools/github/api/v3' },
    { webUrl: 'https://example.com/github', expected: 'https://example.com/github/api/v3' },
    { webUrl: 'http://localhost:8080', expected: 'http://localhost:8080/api/v3' },
    { webUrl: 'http://127.0.0.1:3000/', expected: 'http://127.0.0.1:3000/api/v3' },
    { webUrl: 'https://github.example.com:8443/', expected: 'https://github.example.com:8443/api/v3' },
  ])('maps $webUrl to $expected', ({ webUrl, expected }) => {
    expect(apiUrlFor(webUrl)).toBe(expected);
  });

  it.each([
    { url: 'https://octo.ghe.com', apiUrl: undefined, expected: 'https://api.octo.ghe.com' },
    { url: 'https://github.example.com/', apiUrl: undefined, expected: 'https://github.example.com/api/v3' },
    { url: 'https://github.com', apiUrl: 'http://localhost:9999/api', expected: 'http://localhost:9999/api' },
    {
      url: 'https://github.example.com',
      apiUrl: 'https://ghes-api.internal',
      expected: 'https://ghes-api.internal',
    },
  ])('is applied by parseConfig for $url with override $apiUrl', ({ url, apiUrl, expected }) => {
    // Act
    const config = parseConfig(validRaw({ github: { url, org: 'acme', ...(apiUrl ? { apiUrl } : {}) } }));

    // Assess
    expect(config.github.apiUrl).toBe(expected);
    expect(config.github.url).toBe(url);
  });
});

describe('parseConfig: github.auth, github.repositories, github.caBundleFile', () => {
  const withGitHub = (github: Record<string, unknown>) =>
    validRaw({ github: { url: 'https://github.com', org: 'acme', ...github } });

  it('defaults to a token and keeps an App with or without its installation id', () => {
    expect(parseConfig(validRaw()).github.auth).toEqual({ type: 'pat' });
    expect(parseConfig(withGitHub({ auth: { type: 'app', appId: 12 } })).github.auth).toEqual({
      type: 'app',
      appId: 12,
    });
    const full = parseConfig(
      withGitHub({
        auth: { type: 'app', appId: 12, installationId: 34 },
        repositories: { include: ['web-*'], exclude: ['*-archive'] },
        caBundleFile: '/opt/ca/ghes.pem',
      }),
    ).github;
    expect(full).toMatchObject({
      auth: { type: 'app', appId: 12, installationId: 34 },
      repositories: { include: ['web-*'], exclude: ['*-archive'] },
      caBundleFile: '/opt/ca/ghes.pem',
    });
  });

  it('reports every auth and repository problem at once, and never takes a key in the config', () => {
    const problems = problemsOf(() =>
      parseConfig(
        withGitHub({
          auth: { type: 'app', appId: 1.5, installationId: 0, privateKey: '-----BEGIN secret' },
          repositories: { include: [], exclude: [' '], only: ['x'] },
          caBundleFile: '',
        }),
      ),
    );
    expect(problems.map(pathOf).sort()).toEqual([
      'github.auth',
      'github.auth.appId',
      'github.auth.installationId',
      'github.caBundleFile',
      'github.repositories',
      'github.repositories.exclude[0]',
      'github.repositories.include',
    ]);
    expect(problems.join('\n')).not.toContain('BEGIN secret');
    expect(problemsOf(() => parseConfig(withGitHub({ auth: { type: 'oauth' } }))).map(pathOf)).toEqual([
      'github.auth.type',
    ]);
    expect(
      problemsOf(() => parseConfig(withGitHub({ auth: { type: 'pat', appId: 1 } }))).map(pathOf),
    ).toEqual(['github.auth']);
  });
});
