/**
 * The one configuration module. Parsed once per process; every problem is reported together, with
 * its path, so a user fixes a config in one round trip. Holds no secrets: the token is read separately.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { maxPendingRegistrations } from '../core/cycle-timing.ts';
import { normalizeLabels } from '../core/labels.ts';
import type { ScalingPolicy } from '../core/policy.ts';
import { ConfigError } from '../errors.ts';
import { apiUrlFor } from './github-url.ts';

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

const poolSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be 1-63 letters, digits, ".", "_" or "-"'),
    labels: z
      .array(z.string().trim().min(1, 'a label cannot be empty').max(100))
      .min(1, 'needs at least one label')
      .max(100, 'GitHub allows at most 100 labels'),
    maxRunners: z.int().min(0).max(10_000),
    minIdle: z.int().min(0).default(0),
    instanceTypes: z.array(z.string().regex(/^[a-z0-9-]+\.[a-z0-9-]+$/, 'must look like "m7i.large"')).min(1),
    launchTemplate: z.string().min(1),
    subnets: z.array(z.string().regex(/^subnet-[0-9a-f]+$/, 'must look like "subnet-0a1b2c"')).min(1),
    capacity: z.enum(['spot', 'on-demand', 'spot-with-fallback']).default('spot-with-fallback'),
    runnerGroup: z.string().min(1).default('Default'),
  })
  .refine((pool) => pool.minIdle <= pool.maxRunners, {
    message: 'minIdle cannot exceed maxRunners',
    path: ['minIdle'],
    // Run even when other fields of the pool are wrong, so every problem is reported in one go.
    when: ({ value }) => hasNumbers(value, 'minIdle', 'maxRunners'),
  });

/**
 * How the scaler authenticates. The secret itself (token or App private key) never sits in the config:
 * see functions/adapters/github-auth.ts for where each one is read from.
 */
const authSchema = z
  .discriminatedUnion(
    'type',
    [
      z.strictObject({ type: z.literal('pat') }),
      z.strictObject({
        type: z.literal('app'),
        appId: z.int().positive(),
        /** Without it the installation is looked up by organization (GET /orgs/{org}/installation). */
        installationId: z.int().positive().optional(),
      }),
    ],
    { error: 'must be "pat" or "app"' },
  )
  .default({ type: 'pat' });

const globs = z
  .array(z.string().trim().min(1, 'a pattern cannot be empty'))
  .min(1, 'needs at least one pattern');

const configSchema = z.strictObject({
  github: z.strictObject({
    url: httpUrl,
    org: z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, 'must be a GitHub organization login'),
    apiUrl: httpUrl.optional(),
    auth: authSchema,
    /** Glob patterns on repository names, case-insensitive; exclude wins over include. */
    repositories: z.strictObject({ include: globs.optional(), exclude: globs.optional() }).optional(),
    /** A PEM bundle of extra CAs that GitHub's (GHES's) TLS certificate is checked against. */
    caBundleFile: z.string().min(1).optional(),
    /**
     * GitHub writes (JIT registrations, runner deletions) of the whole stack per minute, paced evenly. GitHub
     * asks for a second between mutations (60, the default); its secondary limit of 900 points a minute per
     * endpoint at 5 points a write allows at most 180.
     */
    writesPerMinute: z.int().min(1).max(180).default(60),
  }),
  /** Names this deployment: instances are tagged with it and only tagged instances are ever touched. */
  stack: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/, 'must be 1-64 letters, digits or "-", starting with a letter')
    .default('stepscale'),
  pools: z.array(poolSchema).min(1, 'at least one pool is required'),
  scaleDown: z
    .strictObject({
      minRunningSeconds: z.int().min(0).default(300),
      bootTimeoutSeconds: z.int().min(30).default(300),
      /** Per cycle, all pools together, shared fairly; each removal is a paced GitHub write. */
      maxRemovalsPerCycle: z.int().min(1).max(100).default(10),
    })
    .prefault({}),
  scaleUp: z
    .strictObject({
      /**
       * Instances per cycle, all pools together, shared fairly. Launching is one CreateFleet per pool; the
       * runners are registered afterwards, paced (github.writesPerMinute).
       */
      maxLaunchesPerCycle: z.int().min(1).max(1000).default(100),
    })
    .prefault({}),
  collection: z
    .strictObject({
      /** Repositories collected per Map iteration (keeps state payloads and transitions small). */
      repositoriesPerBatch: z.int().min(1).max(500).default(10),
      /** At most this many Map iterations per cycle: batches grow beyond repositoriesPerBatch instead. */
      maxBatches: z.int().min(1).max(100).default(40),
      /** Primary-limit requests the governor never spends on scanning (scale-up/down writes and re-reads). */
      reserveRequests: z.int().min(0).max(100_000).default(200),
      /** The schedule's interval (ScheduleRate): the governor spreads the rate limit over the cycles. */
      cycleIntervalSeconds: z.int().min(10).max(86_400).default(60),
      /** GitHub's secondary limit per REST endpoint; the runs endpoint takes 2 points per repository. */
      endpointPointsPerMinute: z.int().min(2).max(1_000_000).default(900),
      /** A repository with queued jobs this recently is scanned every cycle. */
      hotForSeconds: z.int().min(0).max(86_400).default(900),
      /** Concurrent GitHub requests inside one collect task. */
      concurrency: z.int().min(1).max(100).default(16),
    })
    .prefault({}),
});

type ParsedConfig = z.output<typeof configSchema>;
export type PoolConfig = ParsedConfig['pools'][number];
export type GitHubAuthConfig = ParsedConfig['github']['auth'];
export type RepositoryFilterConfig = NonNullable<ParsedConfig['github']['repositories']>;
export type Config = ParsedConfig & { github: ParsedConfig['github'] & { apiUrl: string } };

/** Validate raw config (already JSON-decoded). Throws {@link ConfigError} listing every problem. */
export function parseConfig(raw: unknown): Config {
  const result = configSchema.safeParse(raw);
  // Cross-pool checks run on the raw input so they are reported even when other fields are wrong.
  const problems = [
    ...(result.success
      ? []
      : result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`)),
    ...duplicatePoolNames(raw),
  ];
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  const config = result.data;
  const pools = config.pools.map((pool) => ({ ...pool, labels: normalizeLabels(pool.labels) }));
  return {
    ...config,
    pools,
    github: { ...config.github, apiUrl: config.github.apiUrl ?? apiUrlFor(config.github.url) },
  };
}

export async function loadConfigFile(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError([
      `${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    ]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`${path}: is not valid JSON (${(error as Error).message})`]);
  }
  return parseConfig(raw);
}

/** The GitHub token, from the environment only, so it never sits in a config file or a state payload. */
export function readGitHubToken(env: NodeJS.ProcessEnv): string {
  const token = env.GITHUB_TOKEN?.trim();
  if (!token) throw new ConfigError(['GITHUB_TOKEN: is not set (a PAT with repo and admin:org scopes)']);
  return token;
}

export function scalingPolicyOf(config: Config): ScalingPolicy {
  return {
    stack: config.stack,
    pools: config.pools.map(({ name, labels, maxRunners, minIdle }) => ({
      name,
      labels,
      maxRunners,
      minIdle,
    })),
    minRunningSeconds: config.scaleDown.minRunningSeconds,
    bootTimeoutSeconds: config.scaleDown.bootTimeoutSeconds,
    maxLaunchesPerCycle: config.scaleUp.maxLaunchesPerCycle,
    maxRemovalsPerCycle: config.scaleDown.maxRemovalsPerCycle,
    maxPendingRegistrations: maxPendingRegistrations({
      writesPerMinute: config.github.writesPerMinute,
      bootTimeoutSeconds: config.scaleDown.bootTimeoutSeconds,
      cycleIntervalSeconds: config.collection.cycleIntervalSeconds,
    }),
  };
}

/** Pool names must be unique (case-insensitively: they become tags and metric dimensions). */
function duplicatePoolNames(raw: unknown): string[] {
  const pools = (raw as { pools?: unknown } | null)?.pools;
  if (!Array.isArray(pools)) return [];
  const firstIndexByName = new Map<string, number>();
  const problems: string[] = [];
  pools.forEach((pool: { name?: unknown } | null, index) => {
    if (typeof pool?.name !== 'string') return;
    const first = firstIndexByName.get(pool.name.toLowerCase());
    if (first === undefined) firstIndexByName.set(pool.name.toLowerCase(), index);
    else problems.push(`pools[${index}].name: duplicates pools[${first}].name "${pool.name}"`);
  });
  return problems;
}

function hasNumbers(value: unknown, ...keys: string[]): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    keys.every((key) => typeof (value as Record<string, unknown>)[key] === 'number')
  );
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(config)';
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
    .join('');
}

/** Milliseconds between two GitHub writes of the stack (github.writesPerMinute). */
export function writeIntervalMs(config: Config): number {
  return Math.ceil(60_000 / config.github.writesPerMinute);
}
