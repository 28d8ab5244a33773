/**
 * `stepscale scaleset list|delete`: each pool's runner scale set on GitHub, and the one way one is deleted.
 * The listener finds or creates a pool's scale set; nothing deletes one implicitly.
 */
import { type GitHubAuth, readLocalGitHubAuth } from '../adapters/github-auth.ts';
import { createRegistrationTokenSource } from '../adapters/github-registration-token.ts';
import { configuredCaBundle, fetchTrusting } from '../adapters/github-tls.ts';
import { createScaleSetClient } from '../adapters/scaleset-client.ts';
import { type Config, jobSourceOf, loadConfigFile, scaleSetNameOf } from '../config/config.ts';
import { organizationUrl } from '../config/github-url.ts';
import { labelsCover } from '../core/labels.ts';
import type { ScaleSetPort } from '../ports/scale-sets.ts';
import { type CliIo, type Command, parseCommandArgs, UsageError } from './command.ts';

const usage = `Usage: stepscale scaleset list --config FILE [--json]
       stepscale scaleset delete POOL --config FILE [--force]

  list: each pool's runner scale set on GitHub (id, labels, statistics), read-only.
  delete POOL: deletes the pool's runner scale set on GitHub. Nothing else ever deletes one; the listener
  creates it again while the pool's jobSource is scaleset or auto, so this refuses then unless --force.
  Credentials as for plan (GITHUB_TOKEN, or the App's GITHUB_APP_PRIVATE_KEY / GITHUB_APP_PRIVATE_KEY_FILE).

  --config FILE   stepscale JSON config
  --json          (list) print one JSON object instead of lines
  --force         (delete) delete a scale set the listener would create again
  --help          show this help`;

/** The Actions-service client the CLI uses, with the local credentials (read-only for anything but delete). */
export function scaleSetClientFor(
  config: Config,
  auth: GitHubAuth,
  caBundle: string | undefined,
  readOnly: boolean,
): ScaleSetPort {
  return createScaleSetClient({
    apiUrl: config.github.apiUrl,
    configUrl: organizationUrl(config.github.url, config.github.org),
    registrationToken: createRegistrationTokenSource({
      apiUrl: config.github.apiUrl,
      org: config.github.org,
      auth,
      ...(caBundle ? { caBundle } : {}),
    }),
    ...(caBundle ? { fetch: fetchTrusting(caBundle) } : {}),
    readOnly,
  });
}

async function scaleSet(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      config: { type: 'string' },
      json: { type: 'boolean' },
      force: { type: 'boolean' },
    },
    usage,
    true,
  );
  const [action, poolName, ...extra] = positionals;
  if (action !== 'list' && action !== 'delete') throw new UsageError('scaleset needs list or delete', usage);
  if (action === 'list' && poolName !== undefined) throw new UsageError('scaleset list takes no pool', usage);
  if (action === 'delete' && poolName === undefined)
    throw new UsageError('scaleset delete needs a POOL', usage);
  if (extra.length > 0) throw new UsageError(`unexpected ${extra.join(' ')}`, usage);
  if (!values.config) throw new UsageError('--config FILE is required', usage);

  const config = await loadConfigFile(values.config);
  const auth = await readLocalGitHubAuth(config.github.auth, io.env);
  const caBundle = await configuredCaBundle(config.github);
  const scaleSets = scaleSetClientFor(config, auth, caBundle, action === 'list');
  if (!(await scaleSets.probe())) {
    io.stderr(
      `stepscale: ${config.github.url} has no runner scale sets (runner-registration answered 404: GitHub Enterprise Server 3.9 or later has them)\n`,
    );
    return 1;
  }

  if (action === 'list') {
    const rows = [];
    for (const pool of config.pools) {
      const name = scaleSetNameOf(pool);
      const found = await scaleSets.findScaleSet(await scaleSets.runnerGroupId(pool.runnerGroup), name);
      rows.push({
        pool: pool.name,
        jobSource: jobSourceOf(config, pool),
        scaleSet: name,
        ...(found
          ? {
              id: found.id,
              labels: [...found.labels],
              labelsDropped: !labelsCover(found.labels, pool.labels),
              ...(found.statistics ? { statistics: found.statistics } : {}),
            }
          : { id: null }),
      });
    }
    if (values.json) io.stdout(`${JSON.stringify({ scaleSets: rows })}\n`);
    else
      io.stdout(
        `${rows
          .map((row) =>
            row.id === null
              ? `  ${row.pool} (${row.jobSource}): no scale set "${row.scaleSet}" yet`
              : `  ${row.pool} (${row.jobSource}): scale set "${row.scaleSet}" id ${row.id}, labels ${row.labels?.join(', ')}${row.labelsDropped ? " (the pool's other labels were dropped: runs-on its name)" : ''}${row.statistics ? `; ${row.statistics.assignedJobs} assigned, ${row.statistics.runningJobs} running, ${row.statistics.registeredRunners} runners (${row.statistics.busyRunners} busy)` : ''}`,
          )
          .join('\n')}\n`,
      );
    return 0;
  }

  const pool = config.pools.find((candidate) => candidate.name === poolName);
  if (!pool) throw new UsageError(`no pool "${poolName}" in ${values.config}`, usage);
  const name = scaleSetNameOf(pool);
  const source = jobSourceOf(config, pool);
  if (source !== 'poll' && !values.force) {
    io.stderr(
      `stepscale: pool ${pool.name} has jobSource ${source}: the listener would create scale set "${name}" again. Set its jobSource to poll (or remove the pool) first, or pass --force.\n`,
    );
    return 2;
  }
  const found = await scaleSets.findScaleSet(await scaleSets.runnerGroupId(pool.runnerGroup), name);
  if (!found) {
    io.stdout(`No scale set "${name}" in runner group ${pool.runnerGroup}: nothing to delete.\n`);
    return 0;
  }
  await scaleSets.deleteScaleSet(found.id);
  io.stdout(`Deleted scale set "${name}" (id ${found.id}) of pool ${pool.name}.\n`);
  return 0;
}

export const scaleSetCommand: Command = {
  synopsis: 'stepscale scaleset list|delete POOL --config FILE',
  summary: "each pool's runner scale set; delete one",
  usage,
  run: scaleSet,
};
