/**
 * The `stepscale` command line. Exit codes: 0 done, 1 failed while talking to GitHub/AWS, 2 bad usage or config.
 * Errors print as one clear message; STEPSCALE_DEBUG=1 adds the stack trace.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { createEc2InstanceLister } from '../adapters/ec2-instances.ts';
import { readLocalGitHubAuth } from '../adapters/github-auth.ts';
import { createGitHubAdapter } from '../adapters/github-octokit.ts';
import { configuredCaBundle } from '../adapters/github-tls.ts';
import { MemoryStateStore } from '../adapters/memory-state-store.ts';
import { loadConfigFile, scaleSetPools, scalingPolicyOf } from '../config/config.ts';
import { ConfigError } from '../errors.ts';
import { createLogger } from '../observability/logger.ts';
import { type CliIo, type Command, parseCommandArgs, UsageError } from './command.ts';
import { cyclesCommand } from './cycles.ts';
import {
  computePlan,
  noInstances,
  noRunnerConfigs,
  type PlanDetails,
  readOnlyFleet,
  scaleSetStatesForPlan,
} from './plan.ts';
import { runCommand } from './run.ts';
import { scaleSetClientFor, scaleSetCommand } from './scaleset.ts';
import { poolTable } from './table.ts';
import { traceCommand } from './trace.ts';

export { type CliIo, UsageError } from './command.ts';

const planUsage = `Usage: stepscale plan --config FILE [--no-ec2] [--json]

  Read-only dry run of one scaling cycle: reads the organization's queued jobs and runners from GitHub
  (GITHUB_TOKEN; with github.auth.type "app", GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE) and,
  unless --no-ec2, this stack's EC2 instances; prints per-pool demand, the decision, and which job source
  each pool would use and why (jobSource scaleset or auto: read from the Actions service, read-only).

  --config FILE   stepscale JSON config
  --no-ec2        do not read EC2 (booting instances unknown, nothing removable)
  --json          print one JSON object instead of a table
  --help          show this help`;

/** The commands, each in its own module but plan. */
const commands: Record<string, Command> = {
  plan: {
    synopsis: 'stepscale plan --config FILE [--no-ec2] [--json]',
    summary: 'read-only dry run of one cycle against GitHub',
    usage: planUsage,
    run: plan,
  },
  cycles: cyclesCommand,
  trace: traceCommand,
  run: runCommand,
  scaleset: scaleSetCommand,
};

const usage = `Usage: stepscale COMMAND [OPTIONS]   (stepscale COMMAND --help for its options)

${Object.values(commands)
  .map((command) => `  ${command.synopsis.padEnd(50)} ${command.summary}`)
  .join('\n')}

Exit codes: 0 done, 1 failed while talking to GitHub/AWS (or the cycle run --wait followed failed), 2 bad usage
or configuration. STEPSCALE_DEBUG=1 adds stack traces.`;

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h') {
      io.stdout(`${usage}\n`);
      return name === undefined ? 2 : 0;
    }
    const command = commands[name];
    if (!command || !Object.hasOwn(commands, name)) throw new UsageError(`unknown command "${name}"`);
    // Every command's --help, here once: its usage, and nothing run.
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout(`${command.usage}\n`);
      return 0;
    }
    return await command.run(rest, io);
  } catch (error) {
    return reportError(error, io);
  }
}

async function plan(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(
    args,
    { config: { type: 'string' }, 'no-ec2': { type: 'boolean' }, json: { type: 'boolean' } },
    planUsage,
  );
  if (!values.config) throw new UsageError('--config FILE is required', planUsage);

  const config = await loadConfigFile(values.config);
  const auth = await readLocalGitHubAuth(config.github.auth, io.env);
  const caBundle = await configuredCaBundle(config.github);
  const log = createLogger({ logLevel: io.env.STEPSCALE_DEBUG ? 'DEBUG' : 'ERROR' });
  const github = createGitHubAdapter({
    apiUrl: config.github.apiUrl,
    org: config.github.org,
    auth,
    repositories: config.github.repositories,
    ...(caBundle ? { caBundle } : {}),
    readOnly: true,
  });
  const lister = values['no-ec2']
    ? noInstances
    : createEc2InstanceLister(new EC2Client({}), config.stack, config.pools);
  // What a running listener would have stored of each scale-set pool, read from the Actions service.
  const now = () => new Date();
  const stateStore = new MemoryStateStore(now);
  if (scaleSetPools(config).length > 0) {
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

function reportError(error: unknown, io: CliIo): number {
  const debug = Boolean(io.env.STEPSCALE_DEBUG);
  if (error instanceof UsageError) {
    io.stderr(`stepscale: ${error.message}\n\n${error.usage ?? usage}\n`);
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
