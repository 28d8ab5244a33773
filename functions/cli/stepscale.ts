/**
 * The `stepscale` command line. Exit codes: 0 done, 1 failed while talking to GitHub/AWS, 2 bad usage or config.
 * Errors print as one clear message; STEPSCALE_DEBUG=1 adds the stack trace.
 */
import { parseArgs } from 'node:util';
import { EC2Client } from '@aws-sdk/client-ec2';
import { createEc2InstanceLister } from '../adapters/ec2-instances.ts';
import { type GitHubAuth, readLocalGitHubAuth } from '../adapters/github-auth.ts';
import { createGitHubAdapter } from '../adapters/github-octokit.ts';
import { createRegistrationTokenSource } from '../adapters/github-registration-token.ts';
import { fetchTrusting, readCaBundle } from '../adapters/github-tls.ts';
import { MemoryStateStore } from '../adapters/memory-state-store.ts';
import { createScaleSetClient } from '../adapters/scaleset-client.ts';
import {
  type Config,
  jobSourceOf,
  loadConfigFile,
  scaleSetNameOf,
  scalingPolicyOf,
} from '../config/config.ts';
import { organizationUrl } from '../config/github-url.ts';
import { labelsCover } from '../core/labels.ts';
import { ConfigError } from '../errors.ts';
import { createLogger } from '../observability/logger.ts';
import type { ScaleSetPort } from '../ports/scale-sets.ts';
import {
  computePlan,
  noInstances,
  noRunnerConfigs,
  type PlanDetails,
  readOnlyFleet,
  scaleSetStatesForPlan,
} from './plan.ts';
import { poolTable } from './table.ts';

const usage = `Usage: stepscale plan --config FILE [--no-ec2] [--json]
       stepscale scaleset list --config FILE [--json]
       stepscale scaleset delete POOL --config FILE [--force]

  plan: a read-only dry run of one scaling cycle: reads the organization's queued jobs and runners from GitHub
  (GITHUB_TOKEN; with github.auth.type "app", GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE) and,
  unless --no-ec2, this stack's EC2 instances; prints per-pool demand, the decision, and which job source
  each pool would use and why (jobSource scaleset or auto: read from the Actions service, read-only).

  scaleset list: each pool's runner scale set on GitHub (id, labels, statistics), read-only.
  scaleset delete POOL: deletes the pool's runner scale set on GitHub. Nothing else ever deletes one; the
  listener creates it again while the pool's jobSource is scaleset or auto, so this refuses then unless
  --force.

  --config FILE   stepscale JSON config
  --no-ec2        do not read EC2 (booting instances unknown, nothing removable)
  --json          print one JSON object instead of a table
  --force         delete a scale set the listener would create again
  --help          show this help`;

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === undefined || command === '--help' || command === '-h') {
      io.stdout(`${usage}\n`);
      return command === undefined ? 2 : 0;
    }
    if (command === 'scaleset') return await scaleSetCommand(rest, io);
    if (command !== 'plan') throw new UsageError(`unknown command "${command}"`);
    return await plan(rest, io);
  } catch (error) {
    return reportError(error, io);
  }
}

async function plan(args: readonly string[], io: CliIo): Promise<number> {
  let values: { config?: string; 'no-ec2'?: boolean; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        config: { type: 'string' },
        'no-ec2': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) {
    io.stdout(`${usage}\n`);
    return 0;
  }
  if (!values.config) throw new UsageError('--config FILE is required');

  const config = await loadConfigFile(values.config);
  const auth = await readLocalGitHubAuth(config.github.auth, io.env);
  const caBundle = config.github.caBundleFile ? await readCaBundle(config.github.caBundleFile) : undefined;
  const log = createLogger({ logLevel: io.env.STEPSCALE_DEBUG ? 'DEBUG' : 'ERROR' });
  const github = createGitHubAdapter({
    apiUrl: config.github.apiUrl,
    org: config.github.org,
    auth,
    repositories: config.github.repositories,
    ...(caBundle ? { caBundle } : {}),
    readOnly: true,
  });
  const lister = values['no-ec2'] ? noInstances : createEc2InstanceLister(new EC2Client({}), config.stack);
  // What a running listener would have stored of each scale-set pool, read from the Actions service.
  const now = () => new Date();
  const stateStore = new MemoryStateStore(now);
  if (config.pools.some((pool) => jobSourceOf(config, pool) !== 'poll')) {
    const scaleSets = scaleSetClientFor(config, auth, caBundle, true);
    await stateStore.putMany(await scaleSetStatesForPlan(config, scaleSets, now()), 3600);
  }
  const deps = {
    config,
    policy: scalingPolicyOf(config),
    github,
    fleet: readOnlyFleet(lister),
    runnerConfigs: noRunnerConfigs,
    stateStore,
    log,
    now,
  };
  const details = await computePlan(deps, {
    cycleId: `plan-${new Date().toISOString()}`,
    mapConcurrency: 4,
  });

  if (values.json) io.stdout(`${JSON.stringify(details.report)}\n`);
  else io.stdout(renderPlan(details, { org: config.github.org, ec2: !values['no-ec2'] }));
  return 0;
}

function renderPlan(details: PlanDetails, context: { org: string; ec2: boolean }): string {
  const lines = [
    `stepscale plan for ${context.org}: ${details.repositories} repositories read` +
      (details.failedRepositories
        ? `, ${details.failedRepositories} FAILED (scale-down would be held)`
        : '') +
      // The rate-limit governor's skips (see docs/rate-limits.md).
      (details.skippedRepositories
        ? `, ${details.skippedRepositories} skipped to stay within rate limits`
        : ''),
    '',
    poolTable(details.report.pools.map(({ name, ...counts }) => ({ pool: name, ...counts }))),
    '',
    `  ${details.report.unmatched} queued job(s) match no pool (GitHub-hosted or other labels).`,
    ...Object.entries(details.report.sources ?? {}).map(
      ([pool, { source, reason }]) => `  ${pool}: ${source} — ${reason}`,
    ),
  ];
  const launches = details.decision.budgets.launches;
  if (launches.allowed < launches.asked)
    lines.push(
      `  ${launches.asked} launches wanted, ${launches.allowed} this cycle (per-cycle cap ${launches.cap}, shared fairly by the pools); the rest next cycle.`,
    );
  if (!context.ec2)
    lines.push('  --no-ec2: instances were not read, so booting is 0 and no runner is removable.');
  lines.push('  Nothing was changed: plan is read-only.');
  return `${lines.join('\n')}\n`;
}

/** The Actions-service client the CLI uses, with the local credentials (read-only for anything but delete). */
function scaleSetClientFor(
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

async function scaleSetCommand(args: readonly string[], io: CliIo): Promise<number> {
  let parsed: {
    values: { config?: string; json?: boolean; force?: boolean; help?: boolean };
    positionals: string[];
  };
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        config: { type: 'string' },
        json: { type: 'boolean' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(`${usage}\n`);
    return 0;
  }
  const [action, poolName, ...extra] = positionals;
  if (action !== 'list' && action !== 'delete') throw new UsageError('scaleset needs list or delete');
  if (action === 'list' && poolName !== undefined) throw new UsageError('scaleset list takes no pool');
  if (action === 'delete' && poolName === undefined) throw new UsageError('scaleset delete needs a POOL');
  if (extra.length > 0) throw new UsageError(`unexpected ${extra.join(' ')}`);
  if (!values.config) throw new UsageError('--config FILE is required');

  const config = await loadConfigFile(values.config);
  const auth = await readLocalGitHubAuth(config.github.auth, io.env);
  const caBundle = config.github.caBundleFile ? await readCaBundle(config.github.caBundleFile) : undefined;
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
  if (!pool) throw new UsageError(`no pool "${poolName}" in ${values.config}`);
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

function reportError(error: unknown, io: CliIo): number {
  const debug = Boolean(io.env.STEPSCALE_DEBUG);
  if (error instanceof UsageError) {
    io.stderr(`stepscale: ${error.message}\n\n${usage}\n`);
    return 2;
  }
  if (error instanceof ConfigError) {
    io.stderr(`stepscale: ${error.message}\n`);
    return 2;
  }
  const named = error as Error;
  io.stderr(`stepscale: ${named.name ?? 'Error'}: ${named.message ?? String(error)}\n`);
  if (debug && named.stack) io.stderr(`${named.stack}\n`);
  return 1;
}
