/**
 * The environment the Lambda functions read, in one place: every variable the template sets (template.yaml,
 * Globals.Function.Environment and the functions' own), each read by name, every missing one reported at once.
 */
import { ConfigError } from '../../errors.ts';

interface EnvVariable {
  /** What it is, for the error message when it is missing. */
  readonly description: string;
  readonly required?: boolean;
  readonly default?: string;
}

/** The variables the config is read from (config-source.ts): every function reads them. */
const configEnvironment = {
  STEPSCALE_STACK: { description: 'the stack name (tags instances, names the SSM path)', required: true },
  STEPSCALE_CONFIG_PARAMETER: { description: 'name of the SSM parameter holding the config JSON' },
  STEPSCALE_CONFIG: { description: 'the config JSON itself (instead of STEPSCALE_CONFIG_PARAMETER)' },
  GITHUB_URL: { description: "GitHub's web URL; overrides the config's github.url" },
  GITHUB_ORG: { description: "the organization; overrides the config's github.org" },
} as const satisfies Record<string, EnvVariable>;

/** Every variable the Lambda entry points read. */
export const lambdaEnvironment = {
  ...configEnvironment,
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
  STEPSCALE_JOB_WAITS_FROM: {
    description:
      "where jobs' queued-to-started seconds are measured: 'webhook' when the receiver is deployed, else 'poll'",
    default: 'poll',
  },
  STEPSCALE_STATE_MACHINE_ARN: {
    description: 'ARN of the scaling state machine (the scale set listener starts cycles of it)',
  },
} as const satisfies Record<string, EnvVariable>;

/** Every variable the webhook receiver reads: the config's, its secret, the state machine it starts. */
export const webhookEnvironment = {
  ...configEnvironment,
  STEPSCALE_WEBHOOK_SECRET_ARN: {
    description: 'ARN of the Secrets Manager secret holding the webhook secret GitHub signs deliveries with',
    required: true,
  },
  STEPSCALE_STATE_MACHINE_ARN: {
    description: 'ARN of the scaling state machine a delivery starts a cycle of',
    required: true,
  },
  STEPSCALE_STATE_TABLE: {
    description: 'the DynamoDB state table (delivery dedupe, the webhook inbox); unset: neither',
  },
  STEPSCALE_JOB_WAITS_FROM: lambdaEnvironment.STEPSCALE_JOB_WAITS_FROM,
} as const satisfies Record<string, EnvVariable>;

/** Every variable the webhook redelivery task reads: the config's, the App's key, the state table. */
export const redeliveryEnvironment = {
  ...configEnvironment,
  GITHUB_TOKEN_SECRET_ARN: lambdaEnvironment.GITHUB_TOKEN_SECRET_ARN,
  STEPSCALE_STATE_TABLE: {
    description: 'the DynamoDB state table (what earlier runs asked GitHub to redeliver)',
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
