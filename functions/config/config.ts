/**
 * The one configuration module. Parsed once per process; every problem is reported together, with
 * its path, so a user fixes a config in one round trip. Holds no secrets: the token is read separately.
 */
import * as z from 'zod';
import { maxPendingRegistrations } from '../core/cycle-timing.ts';
import { normalizeLabels } from '../core/labels.ts';
import type { ScalingPolicy } from '../core/policy.ts';
import { isTimeZone, minutesOf, weekdays } from '../core/warm-target.ts';
import { ConfigError } from '../errors.ts';
import { readConfiguredFile } from './configured-file.ts';
import { apiUrlFor } from './github-url.ts';

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

const localTime = z
  .string()
  .regex(/^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'must be a local time "HH:MM" from 00:00 to 24:00');

const warmWindowSchema = z
  .strictObject({
    days: z
      .array(z.enum(weekdays))
      .min(1)
      .default([...weekdays])
      .refine((days) => new Set(days).size === days.length, 'lists a day twice')
      .describe('Days the window holds on, in its time zone (default every day).'),
    from: localTime.describe('Local time the window starts at (inclusive), "HH:MM".'),
    to: localTime.describe('Local time the window ends at (exclusive), "HH:MM" or "24:00"; later than from.'),
    timeZone: z
      .string()
      .min(1)
      .default('UTC')
      .refine(isTimeZone, 'must be an IANA time zone such as "Europe/Berlin"')
      .describe('IANA time zone of from and to (daylight saving time included), e.g. "Europe/Berlin".'),
    stopped: z.int().min(0).max(1000).describe('Stopped instances kept while the window holds.'),
  })
  .refine((window) => minutesOf(window.to) > minutesOf(window.from), {
    message: 'to must be later than from (split a window across midnight in two: …–24:00 and 00:00–…)',
    path: ['to'],
    when: ({ value }) => {
      const window = value as { from?: unknown; to?: unknown };
      return localTime.safeParse(window.from).success && localTime.safeParse(window.to).success;
    },
  });

const warmSchema = z
  .strictObject({
    stopped: z
      .int()
      .min(0)
      .max(1000)
      .describe(
        'Stopped instances kept ready, launched once, booted up to just before the runner starts and powered off (billed for their EBS volumes only); a job starts one (StartInstances) before any fresh launch. Outside every window this many.',
      ),
    windows: z
      .array(warmWindowSchema)
      .max(20)
      .default([])
      .describe('Times with another count (e.g. weekdays 08:00–18:00): the first window that holds decides.'),
    maxAgeSeconds: z
      .int()
      .min(600)
      .max(30 * 86_400)
      .default(86_400)
      .describe(
        'A stopped instance older than this (since it was prepared) is replaced: its AMI and caches go stale. Instances built from an older launch template version are replaced too.',
      ),
    prepareTimeoutSeconds: z
      .int()
      .min(60)
      .max(3600)
      .default(900)
      .describe(
        'An instance still preparing (not powered off) this long after its launch is terminated: its warm-up hung or failed.',
      ),
    replaceAheadSeconds: z
      .int()
      .min(0)
      .max(3600)
      .default(120)
      .describe(
        'Instances started from the pool within this long are replaced ahead (at most stopped more), so a pool in steady use keeps its stopped ones ready while their replacements prepare; about one prepare (launch, warm-up, power-off). 0: replace only what was used.',
      ),
  })
  .describe(
    'A warm pool of stopped instances (on-demand: one-time spot instances cannot be stopped). The launch template must support prepare mode: docs/warm-pool.md.',
  );

const jobSourceSchema = z
  .enum(['poll', 'scaleset', 'auto'])
  .describe(
    "poll: queued jobs read from the REST API every cycle; scaleset: a runner scale set per pool, whose listener learns demand in under a second (GitHub Enterprise Server 3.9 or later); auto: scale sets where GitHub serves them and keeps the pool's labels, polling elsewhere.",
  );

const poolSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be 1-63 letters, digits, ".", "_" or "-"')
      .describe('Names the pool: tags its instances and labels its metrics; unique, case-insensitively.'),
    labels: z
      .array(z.string().trim().min(1, 'a label cannot be empty').max(100))
      .min(1, 'needs at least one label')
      .max(100, 'GitHub allows at most 100 labels')
      .describe(
        "The pool's runner labels. A job belongs to the first pool (in config order) whose labels include all of the job's, case-insensitively; jobs that match no pool are counted as unmatched and ignored.",
      ),
    maxRunners: z
      .int()
      .min(0)
      .max(10_000)
      .describe('A hard ceiling on the idle, busy, booting and orphaned runners of the pool.'),
    minIdle: z
      .int()
      .min(0)
      .default(0)
      .describe('Idle runners kept ready beyond the queued jobs (at most maxRunners).'),
    instanceTypes: z
      .array(z.string().regex(/^[a-z0-9-]+\.[a-z0-9-]+$/, 'must look like "m7i.large"'))
      .min(1)
      .describe('EC2 instance types CreateFleet may use (overrides of the launch template).'),
    launchTemplate: z
      .string()
      .min(1)
      .describe('The launch template (id or name) for the AMI, disks, security groups and instance profile.'),
    subnets: z
      .array(z.string().regex(/^subnet-[0-9a-f]+$/, 'must look like "subnet-0a1b2c"'))
      .min(1)
      .describe('Subnets CreateFleet may launch into (one override each, with every instance type).'),
    capacity: z
      .enum(['spot', 'on-demand', 'spot-with-fallback'])
      .default('spot-with-fallback')
      .describe('Spot, on-demand, or spot with the count spot cannot fill launched on-demand.'),
    runnerGroup: z.string().min(1).default('Default').describe("The runner group of the pool's runners."),
    warm: warmSchema.optional(),
    jobSource: jobSourceSchema
      .optional()
      .describe('How this pool learns its demand; overrides the top-level jobSource for this pool.'),
    scaleSetName: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, 'must be 1-100 letters, digits, ".", "_" or "-"')
      .optional()
      .describe(
        "The pool's runner scale set on GitHub (jobSource scaleset or auto); default: the pool's name. Unique in its runner group, and a label of its runners: `runs-on: <scaleSetName>` reaches it everywhere.",
      ),
  })
  .refine((pool) => pool.minIdle <= pool.maxRunners, {
    message: 'minIdle cannot exceed maxRunners',
    path: ['minIdle'],
    // Run even when other fields of the pool are wrong, so every problem is reported in one go.
    when: ({ value }) => hasNumbers(value, 'minIdle', 'maxRunners'),
  })
  .refine((pool) => !pool.warm || mostStopped(pool.warm) + pool.minIdle <= pool.maxRunners, {
    message:
      'warm.stopped (in every window too) plus minIdle cannot exceed maxRunners: stopped instances count toward it',
    path: ['warm'],
    when: ({ value }) =>
      hasNumbers(value, 'minIdle', 'maxRunners') &&
      warmSchema.safeParse((value as { warm?: unknown }).warm).success,
  });

/**
 * How the scaler authenticates. The secret itself (token or App private key) never sits in the config:
 * see functions/adapters/github-auth.ts for where each one is read from.
 */
const authSchema = z
  .discriminatedUnion(
    'type',
    [
      z.strictObject({
        type: z.literal('pat').describe('A personal access token (scopes repo and admin:org).'),
      }),
      z.strictObject({
        type: z.literal('app').describe('A GitHub App installed on the organization.'),
        appId: z.int().positive().describe("The App's id."),
        installationId: z
          .int()
          .positive()
          .optional()
          .describe(
            "The App's installation on the organization; looked up (GET /orgs/{org}/installation) when absent.",
          ),
      }),
    ],
    { error: 'must be "pat" or "app"' },
  )
  .default({ type: 'pat' })
  .describe('How stepscale authenticates to GitHub; the token or private key itself is never in the config.');

const globs = z
  .array(z.string().trim().min(1, 'a pattern cannot be empty'))
  .min(1, 'needs at least one pattern');

export const configSchema = z.strictObject({
  github: z
    .strictObject({
      url: httpUrl.describe(
        "GitHub's web URL. The API URL is derived: https://github.com → https://api.github.com; https://SUB.ghe.com → https://api.SUB.ghe.com; anything else (GitHub Enterprise Server) → URL/api/v3.",
      ),
      org: z
        .string()
        .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, 'must be a GitHub organization login')
        .describe('The organization whose repositories and runners are scaled.'),
      apiUrl: httpUrl.optional().describe('Overrides the API URL derived from url.'),
      auth: authSchema,
      repositories: z
        .strictObject({
          include: globs.optional().describe('Scan only repositories whose name matches one of these globs.'),
          exclude: globs
            .optional()
            .describe('Never scan repositories whose name matches one of these globs.'),
        })
        .optional()
        .describe('Glob patterns on repository names, case-insensitive; exclude wins over include.'),
      caBundleFile: z
        .string()
        .min(1)
        .optional()
        .describe(
          "A PEM bundle of extra CAs GitHub Enterprise Server's TLS certificate is checked against (in addition to the public roots); certificate checks are never turned off.",
        ),
      writesPerMinute: z
        .int()
        .min(1)
        .max(180)
        .default(60)
        .describe(
          'GitHub writes (JIT registrations, runner deletions) of the whole stack per minute, paced evenly: GitHub asks for a second between mutations (60); its secondary limit of 900 points a minute per endpoint at 5 points a write allows at most 180.',
        ),
    })
    .describe('The GitHub deployment and how stepscale talks to it.'),
  jobSource: jobSourceSchema
    .default('poll')
    .describe(
      "How pools learn their demand (see docs/scale-sets.md): poll (REST polling every cycle), scaleset (a runner scale set per pool and a listener), or auto (scale sets where GitHub serves them, polling elsewhere). A pool's own jobSource overrides it.",
    ),
  scaleSets: z
    .strictObject({
      listenSeconds: z
        .int()
        .min(120)
        .max(870)
        .default(840)
        .describe(
          "How long one invocation of the listener's function long-polls every scale set's queue before the state machine starts the next (Lambda allows 900 s; its template timeout is 900).",
        ),
      staleAfterSeconds: z
        .int()
        .min(60)
        .max(3600)
        .default(180)
        .describe(
          'Scale set statistics older than this are not acted on: the pool launches and removes nothing until its listener reports again (the listener confirms them at least every minute).',
        ),
      cycleStartGapSeconds: z
        .number()
        .min(0)
        .max(60)
        .default(2)
        .describe(
          'The listener starts at most one scaling cycle per this many seconds; changes that come meanwhile are covered by the next start.',
        ),
    })
    .prefault({})
    .describe('Runner scale sets: the listener and how its statistics are trusted.'),
  stack: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/, 'must be 1-64 letters, digits or "-", starting with a letter')
    .default('stepscale')
    .describe(
      'Names this deployment: instances carry the tag stepscale:stack with it, and only such instances are counted or touched. In Lambda, the stack name.',
    ),
  pools: z.array(poolSchema).min(1, 'at least one pool is required').describe('Runner pools, in order.'),
  scaleDown: z
    .strictObject({
      minRunningSeconds: z
        .int()
        .min(0)
        .default(300)
        .describe('An idle runner younger than this (since its instance launched) is never removed.'),
      bootTimeoutSeconds: z
        .int()
        .min(30)
        .default(300)
        .describe(
          "An instance without an online runner this long after its launch is orphaned, no longer booting (keep the launch template's wait for its config equal).",
        ),
      maxRemovalsPerCycle: z
        .int()
        .min(1)
        .max(100)
        .default(10)
        .describe(
          'Idle-runner removals per cycle, all pools together, shared fairly; each is a paced GitHub write.',
        ),
    })
    .prefault({})
    .describe('Removing surplus idle runners and cleaning up.'),
  scaleUp: z
    .strictObject({
      maxLaunchesPerCycle: z
        .int()
        .min(1)
        .max(1000)
        .default(100)
        .describe(
          'Instances launched per cycle, all pools together, shared fairly (queued jobs before minIdle top-ups); registering them is paced separately (github.writesPerMinute).',
        ),
    })
    .prefault({})
    .describe('Launching instances.'),
  collection: z
    .strictObject({
      repositoriesPerBatch: z
        .int()
        .min(1)
        .max(500)
        .default(50)
        .describe(
          'Repositories per Map iteration, at least; batches grow so that a cycle has at most maxBatches. Fewer, larger batches keep the execution log small (each iteration is seven log records).',
        ),
      maxBatches: z.int().min(1).max(100).default(40).describe('Map iterations per cycle, at most.'),
      reserveRequests: z
        .int()
        .min(0)
        .max(100_000)
        .default(200)
        .describe(
          'Primary rate-limit requests the governor never spends on scanning (kept for writes and re-reads).',
        ),
      cycleIntervalSeconds: z
        .int()
        .min(10)
        .max(86_400)
        .default(60)
        .describe(
          "The schedule's interval (the template's ScheduleRate): the governor spreads the rate limit over the cycles left in the hour, and registration runs until the next cycle is due.",
        ),
      endpointPointsPerMinute: z
        .int()
        .min(2)
        .max(1_000_000)
        .default(900)
        .describe(
          "GitHub's secondary limit per REST endpoint: the runs endpoint takes 2 points per repository, so 450 repositories a minute (the scheduled sweep takes 405 of them with the default targetedShare; fewer when the jobs endpoint takes more).",
        ),
      targetedShare: z
        .number()
        .min(0)
        .max(0.5)
        .default(0.1)
        .describe(
          "Share of each endpoint's secondary limit (endpointPointsPerMinute) kept for the cycles webhook deliveries start; the scheduled sweep uses the rest. 0 without webhooks.",
        ),
      hotForSeconds: z
        .int()
        .min(0)
        .max(86_400)
        .default(900)
        .describe('A repository that had queued jobs this recently is hot: scanned every cycle.'),
      concurrency: z
        .int()
        .min(1)
        .max(100)
        .default(16)
        .describe(
          "Concurrent GitHub requests of one collect task (with the template's MapConcurrency 6: at most 96 at once, within GitHub's 100).",
        ),
    })
    .prefault({})
    .describe("Finding queued jobs within GitHub's rate limits."),
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
    ...duplicateScaleSetNames(raw),
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
  const text = await readConfiguredFile(path, `${path}:`);
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
    pools: config.pools.map(({ name, labels, maxRunners, minIdle, warm }) => ({
      name,
      labels,
      maxRunners,
      minIdle,
      ...(warm ? { warm } : {}),
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
  return duplicateNames(
    raw,
    (pool) => pool.name,
    (pool, index, first) => `pools[${index}].name: duplicates pools[${first}].name "${pool.name}"`,
  );
}

/** The most stopped instances a warm pool asks for at any time. */
function mostStopped(warm: {
  readonly stopped: number;
  readonly windows: readonly { stopped: number }[];
}): number {
  return Math.max(warm.stopped, ...warm.windows.map((window) => window.stopped));
}

/**
 * Scale set names must be unique too: each names one scale set on GitHub, and a label of its runners. A pool's
 * scaleSetName defaults to its name, which may not repeat another pool's scaleSetName either.
 */
function duplicateScaleSetNames(raw: unknown): string[] {
  return duplicateNames(
    raw,
    (pool) => (typeof pool.scaleSetName === 'string' ? pool.scaleSetName : pool.name),
    // A pool named like another's scale set is that pool's problem only when it chose the name itself.
    (pool, index, first, name) =>
      typeof pool.scaleSetName === 'string'
        ? `pools[${index}].scaleSetName: "${name}" is the scale set name of pools[${first}] too`
        : undefined,
  );
}

type RawPool = { readonly name?: unknown; readonly scaleSetName?: unknown };

/** Pools whose `nameOf` repeats an earlier pool's (case-insensitively), each as `problemOf` says. */
function duplicateNames(
  raw: unknown,
  nameOf: (pool: RawPool) => unknown,
  problemOf: (pool: RawPool, index: number, first: number, name: string) => string | undefined,
): string[] {
  const pools = (raw as { pools?: unknown } | null)?.pools;
  if (!Array.isArray(pools)) return [];
  const firstIndexByName = new Map<string, number>();
  const problems: string[] = [];
  pools.forEach((pool: RawPool | null, index) => {
    const name = pool ? nameOf(pool) : undefined;
    if (!pool || typeof name !== 'string') return;
    const first = firstIndexByName.get(name.toLowerCase());
    if (first === undefined) firstIndexByName.set(name.toLowerCase(), index);
    else {
      const problem = problemOf(pool, index, first, name);
      if (problem) problems.push(problem);
    }
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

/** The job source of a pool: its own, else the config's. */
export function jobSourceOf(
  config: Pick<Config, 'jobSource'>,
  pool: PoolConfig,
): PoolConfig['jobSource'] & {} {
  return pool.jobSource ?? config.jobSource;
}

/** The pools that may be served by a runner scale set (jobSource scaleset or auto): the listener's to look at. */
export function scaleSetPools(config: Pick<Config, 'jobSource' | 'pools'>): PoolConfig[] {
  return config.pools.filter((pool) => jobSourceOf(config, pool) !== 'poll');
}

/** The name of a pool's runner scale set on GitHub. */
export function scaleSetNameOf(pool: Pick<PoolConfig, 'name' | 'scaleSetName'>): string {
  return pool.scaleSetName ?? pool.name;
}

/** Milliseconds between two GitHub writes of the stack (github.writesPerMinute). */
export function writeIntervalMs(config: Config): number {
  return Math.ceil(60_000 / config.github.writesPerMinute);
}
