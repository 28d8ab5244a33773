/** What the tests of the `stepscale` command line share: a config file to point it at, and a run of it. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../functions/cli/stepscale.ts';

/** One pool of self-hosted Linux x64 runners on m7i.large in one subnet, with the given limits. */
export function linuxX64Pool(limits: { maxRunners: number; minIdle?: number }) {
  return {
    name: 'linux-x64',
    labels: ['self-hosted', 'linux', 'x64'],
    ...limits,
    instanceTypes: ['m7i.large'],
    launchTemplate: 'lt-1',
    subnets: ['subnet-0a'],
  };
}

/** Writes `config` as config.json in a new temporary folder named after `prefix`, and gives its path. */
export async function writeConfigFile(prefix: string, config: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const path = join(dir, 'config.json');
  await writeFile(path, JSON.stringify(config));
  return path;
}

/** Runs `stepscale args` with `token` as GITHUB_TOKEN: its exit code and everything it printed. */
export async function runStepscale(args: readonly string[], token: string) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    env: { GITHUB_TOKEN: token },
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}
