/**
 * Builds the handlers' dependencies inside Lambda, once per container. Everything comes from the
 * environment the SAM template sets (see template.yaml, Globals.Function.Environment):
 *
 * - the config JSON from SSM (`STEPSCALE_CONFIG_PARAMETER`) or inline (`STEPSCALE_CONFIG`), exactly one;
 * - `GITHUB_URL` / `GITHUB_ORG` (template parameters) override or fill the config's `github`;
 * - `STEPSCALE_STACK` (the stack name) sets `config.stack`: it tags instances and names the SSM path;
 * - the GitHub token, or with `github.auth.type` "app" the App's private key, from the Secrets Manager secret
 *   `GITHUB_TOKEN_SECRET_ARN`, read lazily on the first GitHub call (tasks that never call GitHub never read
 *   it, and need no permission to) and cached for {@link tokenMaxAgeSeconds}; a rotated secret is picked up
 *   without a cold start. It is never logged;
 * - `STEPSCALE_STATE_TABLE`, when set, the DynamoDB table where GitHub answers are remembered across cycles, so
 *   polls are sent as conditional requests (a 304 does not count against the rate limit), and where the
 *   stack's GitHub write pacing, the scaling lease and the registration claims live;
 * - `STEPSCALE_INSTANCE_ARN_PREFIX`, the ARN prefix of this account's instances, tagged onto each runner
 *   config so that only its own instance may read it;
 * - `github.caBundleFile`, when set, from the function's file system (ship it in a layer, e.g. /opt/…).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { getParameter } from '@aws-lambda-powertools/parameters/ssm';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createDynamoDbStateStore } from '../adapters/dynamodb-state-store.ts';
import { createDynamoDbWriteBudget } from '../adapters/dynamodb-write-budget.ts';
import { createEc2Fleet } from '../adapters/ec2-fleet.ts';
import { githubAuthFor, privateKeyFromSecret } from '../adapters/github-auth.ts';
import { createGitHubAdapter } from '../adapters/github-octokit.ts';
import { readCaBundle } from '../adapters/github-tls.ts';
import { MemoryWriteBudget } from '../adapters/memory-write-budget.ts';
import { createSsmRunnerConfigStore } from '../adapters/ssm-runner-configs.ts';
import {
  type Config,
  type GitHubAuthConfig,
  parseConfig,
  scalingPolicyOf,
  writeIntervalMs,
} from '../config/config.ts';
import { secretValue } from '../config/secret-value.ts';
import { ConfigError } from '../errors.ts';
import type { HandlerDeps } from '../handlers/deps.ts';
import { createLogger } from '../observability/logger.ts';
import type { GitHubPort } from '../ports/github.ts';
import type { StateStore } from '../ports/state-store.ts';

/** How long a read token is reused before Secrets Manager is asked again. */
export const tokenMaxAgeSeconds = 300;

// ---------------------------------------------------------------------------------------------------------
// Environment

interface EnvVariable {
  /** What it is, for the error message when it is missing. */
  readonly description: string;
  readonly required?: boolean;
  readonly default?: string;
}

/** Every variable the Lambda entry points read, in one place. */
export const lambdaEnvironment = {
  STEPSCALE_STACK: { description: 'the stack name (tags instances, names the SSM path)', required: true },
  STEPSCALE_CONFIG_PARAMETER: { description: 'name of the SSM parameter holding the config JSON' },
  STEPSCALE_CONFIG: { description: 'the config JSON itself (instead of STEPSCALE_CONFIG_PARAMETER)' },
  GITHUB_URL: { description: "GitHub's web URL; overrides the config's github.url" },
  GITHUB_ORG: { description: "the organization; overrides the config's github.org" },
  GITHUB_TOKEN_SECRET_ARN: {
    description: 'ARN of the Secrets Manager secret holding the GitHub token (or GitHub App private key)',
    required: true,
  },
  STEPSCALE_STATE_TABLE: {
    description:
      'the DynamoDB table remembering GitHub answers across cycles (conditional requests); unset: none',
  },
  STEPSCALE_INSTANCE_ARN_PREFIX: {
    description:
      "arn:<partition>:ec2:<region>:<account>:instance/ (tags each runner config with its instance's ARN)",
    required: true,
  },
} as const satisfies Record<string, EnvVariable>;

type EnvSpec = Record<string, EnvVariable>;
export type EnvValues<S extends EnvSpec> = {
  readonly [K in keyof S]: S[K] extends { required: true } | { default: string }
    ? string
    : string | undefined;
};
export type LambdaEnv = EnvValues<typeof lambdaEnvironment>;

/**
 * Reads the variables of `spec` from `env`. Empty counts as unset. Every missing required variable is
 * reported in one {@link ConfigError}, each by its name.
 */
export function readEnvironment<S extends EnvSpec>(spec: S, env: NodeJS.ProcessEnv): EnvValues<S> {
  const values: Record<string, string | undefined> = {};
  const problems: string[] = [];
  for (const [name, variable] of Object.entries(spec)) {
    const value = env[name]?.trim() || variable.default;
    if (value === undefined && variable.required) {
      problems.push(`${name}: environment variable is not set (${variable.description})`);
    }
    values[name] = value;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return values as EnvValues<S>;
}

// ---------------------------------------------------------------------------------------------------------
// Config and token

export interface ConfigSources {
  /** Reads an SSM parameter's value (decrypted). */
  readonly readParameter: (name: string) => Promise<string | undefined>;
}

/** The config from SSM or inline, with the environment's GitHub URL, organization and stack applied. */
export async function loadLambdaConfig(env: LambdaEnv, sources: ConfigSources): Promise<Config> {
  const { text, source } = await configText(env, sources);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`${source}: is not valid JSON (${(error as Error).message})`]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError([`${source}: must be a JSON object`]);
  }
  const document = raw as Record<string, unknown>;
  const github = typeof document.github === 'object' && document.github !== null ? document.github : {};
  return parseConfig({
    ...document,
    github: {
      ...github,
      ...(env.GITHUB_URL ? { url: env.GITHUB_URL } : {}),
      ...(env.GITHUB_ORG ? { org: env.GITHUB_ORG } : {}),
    },
    stack: env.STEPSCALE_STACK,
  });
}

async function configText(env: LambdaEnv, sources: ConfigSources): Promise<{ text: string; source: string }> {
  const parameter = env.STEPSCALE_CONFIG_PARAMETER;
  const inline = env.STEPSCALE_CONFIG;
  if (parameter && inline) {
    throw new ConfigError(['STEPSCALE_CONFIG_PARAMETER and STEPSCALE_CONFIG: set exactly one, not both']);
  }
  if (inline) return { text: inline, source: 'STEPSCALE_CONFIG' };
  if (!parameter) {
    throw new ConfigError([
      'STEPSCALE_CONFIG_PARAMETER: environment variable is not set (name of the SSM parameter holding the config JSON; or set STEPSCALE_CONFIG)',
    ]);
  }
  const source = `SSM parameter ${parameter}`;
  let text: string | undefined;
  try {
    text = await sources.readParameter(parameter);
  } catch (error) {
    throw new ConfigError([
      `${source}: cannot be read (${(error as Error).name}: ${(error as Error).message})`,
    ]);
  }
  if (!text?.trim()) throw new ConfigError([`${source}: is empty`]);
  return { text, source };
}

/**
 * The token inside a secret: either the whole secret string or its `token` field (`{"token":"…"}`).
 * Error messages name the secret's shape, never its content.
 */
export function tokenFromSecret(secret: unknown, secretName: string): string {
  return secretValue(secret, secretName, 'token');
}

/**
 * What the secret holds for the configured auth: the token (pat), or the App's private key (app) as PEM text
 * or `{"privateKey":"-----BEGIN …"}`. Either way one secret, `GITHUB_TOKEN_SECRET_ARN`.
 */
export function credentialFromSecret(secret: unknown, auth: GitHubAuthConfig, secretName: string): string {
  return auth.type === 'app' ? privateKeyFromSecret(secret, secretName) : tokenFromSecret(secret, secretName);
}

/**
 * A GitHubPort that reads the token on each call (from a cache) and rebuilds the client only when the token
 * changed, so a rotated secret takes effect within the cache's max age.
 */
export function tokenRefreshingGitHub(
  readToken: () => Promise<string>,
  create: (token: string) => GitHubPort,
): GitHubPort {
  let current: { token: string; port: GitHubPort } | undefined;
  const port = async (): Promise<GitHubPort> => {
    const token = await readToken();
    if (current?.token !== token) current = { token, port: create(token) };
    return current.port;
  };
  return {
    listRepositories: async () => (await port()).listRepositories(),
    listQueuedJobs: async (repository, observe) => (await port()).listQueuedJobs(repository, observe),
    prefetchRepositories: async (repositories) => (await port()).prefetchRepositories?.(repositories),
    listRunners: async () => (await port()).listRunners(),
    getRunner: async (runnerId) => (await port()).getRunner(runnerId),
    deleteRunner: async (runnerId) => (await port()).deleteRunner(runnerId),
    createJitRunner: async (request) => (await port()).createJitRunner(request),
    rateLimit: async () => (await port()).rateLimit(),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Assembly

/** The container's one logger; entry points add the Lambda context to it. */
export const logger: Logger = createLogger();

export async function buildProductionDeps(env: NodeJS.ProcessEnv = process.env): Promise<HandlerDeps> {
  const vars = readEnvironment(lambdaEnvironment, env);
  const config = await loadLambdaConfig(vars, {
    readParameter: async (name) => {
      const value = await getParameter(name, { decrypt: true });
      return typeof value === 'string' ? value : undefined;
    },
  });
  const now = () => new Date();
  const secretArn = vars.GITHUB_TOKEN_SECRET_ARN;
  // One store for the container, shared by every client a rotated secret rebuilds.
  const stateStore = vars.STEPSCALE_STATE_TABLE
    ? createDynamoDbStateStore({ client: new DynamoDBClient({}), tableName: vars.STEPSCALE_STATE_TABLE })
    : undefined;
  const caBundle = config.github.caBundleFile ? await readCaBundle(config.github.caBundleFile) : undefined;
  const github = tokenRefreshingGitHub(
    async () =>
      credentialFromSecret(
        await getSecret(secretArn, { maxAge: tokenMaxAgeSeconds }),
        config.github.auth,
        'GITHUB_TOKEN_SECRET_ARN',
      ),
    (secret) =>
      createGitHubAdapter({
        apiUrl: config.github.apiUrl,
        org: config.github.org,
        auth: githubAuthFor(config.github.auth, secret),
        repositories: config.github.repositories,
        ...(caBundle ? { caBundle } : {}),
        ...(stateStore ? { stateStore } : {}),
        // One Lambda sends at most this many requests at once, so MapConcurrency × this stays within GitHub's
        // 100 concurrent requests (defaults: 6 × 16 = 96).
        maxConcurrentRequests: config.collection.concurrency,
        // The stack-wide pacing (writeBudget) spaces writes across containers; this holds one client to it too.
        minWriteIntervalMs: writeIntervalMs(config),
        logger,
      }),
  );
  const stack = config.stack;
  logger.info('Dependencies ready', {
    stack: config.stack,
    githubApiUrl: config.github.apiUrl,
    org: config.github.org,
    pools: config.pools.map((pool) => pool.name),
  });
  return {
    config,
    policy: scalingPolicyOf(config),
    github,
    fleet: createEc2Fleet({ client: new EC2Client({}), stack, pools: config.pools }),
    runnerConfigs: createSsmRunnerConfigStore({
      client: new SSMClient({}),
      stack,
      instanceArnPrefix: vars.STEPSCALE_INSTANCE_ARN_PREFIX,
    }),
    stateStore: stateStore ?? forgetfulStateStore,
    // Without a state table each container paces only its own writes (README, "GitHub write pacing").
    writeBudget: vars.STEPSCALE_STATE_TABLE
      ? createDynamoDbWriteBudget({
          client: new DynamoDBClient({}),
          tableName: vars.STEPSCALE_STATE_TABLE,
          intervalMs: writeIntervalMs(config),
        })
      : new MemoryWriteBudget(writeIntervalMs(config)),
    log: logger,
    now,
    sleepUntil: (at) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at.getTime() - Date.now()))),
  };
}

/**
 * Without STEPSCALE_STATE_TABLE nothing is remembered between cycles (and no request is conditional), and the
 * scaling lease is always granted: nothing then keeps two overlapping cycles from both launching, which the
 * template's schedule and 55 s execution timeout avoid but cannot rule out (README, "Failure modes").
 */
const forgetfulStateStore: StateStore = {
  getMany: async () => new Map(),
  putMany: async () => {},
  acquireLease: async () => ({ acquired: true }),
  releaseLease: async () => {},
};

let cached: Promise<HandlerDeps> | undefined;

/** {@link buildProductionDeps}, once per container; a failed build is retried on the next invocation. */
export function productionDeps(): Promise<HandlerDeps> {
  if (!cached) {
    cached = buildProductionDeps().catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
  }
  return cached;
}
