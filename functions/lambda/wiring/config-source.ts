/**
 * The config inside Lambda: the JSON from SSM (`STEPSCALE_CONFIG_PARAMETER`) or inline (`STEPSCALE_CONFIG`),
 * exactly one, with the template's GitHub URL, organization and the stack name applied over it.
 */
import { getParameter } from '@aws-lambda-powertools/parameters/ssm';
import { type Config, parseConfig } from '../../config/config.ts';
import { ConfigError } from '../../errors.ts';
import type { LambdaEnv } from './environment.ts';

/** The variables the config is read from (every function, the webhook receiver too). */
export type ConfigEnv = Pick<
  LambdaEnv,
  'STEPSCALE_CONFIG_PARAMETER' | 'STEPSCALE_CONFIG' | 'GITHUB_URL' | 'GITHUB_ORG' | 'STEPSCALE_STACK'
>;

export interface ConfigSources {
  /** Reads an SSM parameter's value (decrypted). */
  readonly readParameter: (name: string) => Promise<string | undefined>;
}

/** The config from SSM or inline, with the environment's GitHub URL, organization and stack applied. */
export async function loadLambdaConfig(env: ConfigEnv, sources: ConfigSources): Promise<Config> {
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

async function configText(env: ConfigEnv, sources: ConfigSources): Promise<{ text: string; source: string }> {
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

/** The config from the SSM parameter (or inline JSON) named by the environment. */
export async function loadConfigFromEnvironment(env: ConfigEnv): Promise<Config> {
  return loadLambdaConfig(env, {
    readParameter: async (name) => {
      const value = await getParameter(name, { decrypt: true });
      return typeof value === 'string' ? value : undefined;
    },
  });
}
