/**
 * The IAM actions each Task needs, derived, not written down: every handler declares the port methods it
 * calls (`taskNeeds`, checked by the compiler), and what each port method needs from IAM is recorded by
 * running the production adapter — the AWS SDK commands it sends to mocked clients, and for GitHub whether it
 * touches the state table (conditional requests) on the stand-in. A new SDK call in an adapter, or a new port
 * method in a handler, changes what the template must grant without anyone editing a table.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { createDynamoDbStateStore } from '../../functions/adapters/dynamodb-state-store.ts';
import { createDynamoDbWebhookInbox } from '../../functions/adapters/dynamodb-webhook-inbox.ts';
import { createDynamoDbWriteBudget } from '../../functions/adapters/dynamodb-write-budget.ts';
import { createEc2Fleet } from '../../functions/adapters/ec2-fleet.ts';
import { createGitHubAdapter } from '../../functions/adapters/github-octokit.ts';
import { MemoryStateStore } from '../../functions/adapters/memory-state-store.ts';
import { createSfnCycleStarter } from '../../functions/adapters/sfn-cycle-starter.ts';
import { createSsmRunnerConfigStore } from '../../functions/adapters/ssm-runner-configs.ts';
import { parseConfig } from '../../functions/config/config.ts';
import type { PortNeeds, Ports } from '../../functions/handlers/deps.ts';
import { startGitHubStandin } from '../../local/github-standin/server.ts';
import { GitHubState } from '../../local/world/github.ts';
import { testPool } from './fakes.ts';

/** Every function reads its config parameter; every GitHub call needs the token. */
export const configRead = 'ssm:GetParameter';
export const tokenRead = 'secretsmanager:GetSecretValue';
/** What remembering GitHub answers in the state table takes (github-conditional.ts). */
const rememberedAnswers = ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'];

/**
 * Actions a command needs beyond its own `service:Command`: CreateFleet (instant) launches through
 * RunInstances, tags what it creates and passes the launch template's instance role; a PutParameter that
 * carries tags is authorized as tagging too.
 */
const impliedActions: Record<string, string[]> = {
  'ec2:CreateFleet': ['ec2:RunInstances', 'ec2:CreateTags', 'iam:PassRole'],
  'ec2:RunInstances': ['ec2:CreateTags', 'iam:PassRole'],
  'ssm:PutParameter': ['ssm:AddTagsToResource'],
};

const at = new Date('2026-01-05T09:00:00Z');
/** A write-budget limit later than any clock this runs on, so a slot is asked for. */
const later = new Date('2099-01-01T00:00:00Z');
const config = parseConfig({
  github: { url: 'https://github.com', org: 'acme' },
  pools: [{ ...testPool, name: 'x64', labels: ['self-hosted', 'x64'], maxRunners: 5 }],
});

/** GitHub's ports (REST and the Actions service behind scale sets) need the token secret, not an AWS call. */
type Calls = {
  [P in Exclude<keyof Ports, 'github' | 'scaleSets'>]: Record<string, (port: Ports[P]) => Promise<unknown>>;
};

/** One call of each AWS-backed port method, with arguments that reach its SDK command. */
const calls: Calls = {
  fleet: {
    listInstances: (port) => port.listInstances(),
    launch: (port) =>
      port.launch({ pool: 'x64', count: 1, clientToken: 'token', createdAt: at.toISOString() }),
    prepare: (port) =>
      port.prepare({
        pool: 'x64',
        count: 1,
        clientToken: 'token',
        createdAt: at.toISOString(),
        templateVersion: 2,
      }),
    start: (port) => port.start(['i-0123456789abcdef0']),
    templateVersions: (port) => port.templateVersions(['x64']),
    terminate: (port) => port.terminate(['i-0123456789abcdef0']),
    markOrphaned: (port) => port.markOrphaned(['i-0123456789abcdef0'], at),
  },
  runnerConfigs: {
    put: (port) => port.put('i-0123456789abcdef0', 'config'),
    remove: (port) => port.remove('i-0123456789abcdef0'),
    list: (port) => port.list(),
  },
  stateStore: {
    getMany: (port) => port.getMany(['key']),
    putMany: (port) => port.putMany([{ key: 'key', value: 1 }], 60),
    acquireLease: (port) => port.acquireLease('lease', 'holder', at),
    releaseLease: (port) => port.releaseLease('lease', 'holder'),
  },
  webhookInbox: {
    post: (port) => port.post('app', later),
    startFailed: (port) => port.startFailed(),
    take: (port) => port.take(),
    putBack: (port) => port.putBack(['app']),
  },
  writeBudget: {
    available: (port) => port.available(later),
    reserve: (port) => port.reserve(later),
    pause: (port) => port.pause(later),
  },
  cycleStarter: {
    start: (port) =>
      port.start({ name: 'cycle', input: { cycleId: 'cycle', targets: { repositories: [] } } }),
  },
};

const prefixes = {
  fleet: 'ec2',
  runnerConfigs: 'ssm',
  stateStore: 'dynamodb',
  writeBudget: 'dynamodb',
  webhookInbox: 'dynamodb',
  cycleStarter: 'states',
} as const;

/** The mocked SDK client behind a port: every command answered `{}`, every call kept. */
function mockedClientOf(port: keyof Calls): { calls(): { args: unknown[] }[]; restore(): void } {
  if (port === 'fleet') {
    const mock = mockClient(EC2Client);
    mock.onAnyCommand().resolves({});
    return mock;
  }
  if (port === 'runnerConfigs') {
    const mock = mockClient(SSMClient);
    mock.onAnyCommand().resolves({});
    return mock;
  }
  if (port === 'cycleStarter') {
    const mock = mockClient(SFNClient);
    mock.onAnyCommand().resolves({});
    return mock;
  }
  const mock = mockClient(DynamoDBClient);
  mock.onAnyCommand().resolves({});
  return mock;
}

function createPort<P extends keyof Calls>(port: P): Ports[P] {
  const region = { region: 'eu-west-1' };
  switch (port) {
    case 'fleet':
      return createEc2Fleet({
        client: new EC2Client(region),
        stack: 'stepscale',
        pools: config.pools,
      }) as Ports[P];
    case 'runnerConfigs':
      return createSsmRunnerConfigStore({
        client: new SSMClient(region),
        stack: 'stepscale',
        instanceArnPrefix: 'arn:aws:ec2:eu-west-1:123456789012:instance/',
      }) as Ports[P];
    case 'webhookInbox':
      return createDynamoDbWebhookInbox({ client: new DynamoDBClient(region), tableName: 't' }) as Ports[P];
    case 'stateStore':
      return createDynamoDbStateStore({ client: new DynamoDBClient(region), tableName: 't' }) as Ports[P];
    case 'cycleStarter':
      return createSfnCycleStarter({
        client: new SFNClient(region),
        stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:stepscale',
      }) as Ports[P];
    default:
      return createDynamoDbWriteBudget({
        client: new DynamoDBClient(region),
        tableName: 't',
        intervalMs: 1000,
      }) as Ports[P];
  }
}

/** The IAM actions of one AWS-backed port method: the commands it sent, recorded, and what they imply. */
export async function recordedAwsActions<P extends keyof Calls>(port: P, method: string): Promise<string[]> {
  const call = calls[port][method];
  if (!call)
    throw new Error(`no recording call for ${port}.${method}: add one to calls in iam-derivation.ts`);
  const mock = mockedClientOf(port);
  try {
    await call(createPort(port) as never).catch(() => undefined);
    const sent = mock.calls().map((sinonCall) => {
      const command = sinonCall.args[0] as { constructor: { name: string } };
      return `${prefixes[port]}:${command.constructor.name.replace(/Command$/, '')}`;
    });
    return [...new Set(sent.flatMap((action) => [action, ...(impliedActions[action] ?? [])]))].sort();
  } finally {
    mock.restore();
  }
}

/** The GitHub methods that read or write the state table (remembered answers of conditional requests). */
export async function githubMethodsTouchingTheStateTable(): Promise<Set<string>> {
  const state = new GitHubState({ org: 'acme' });
  state.addRepo('app');
  state.addJob(state.addRun('app').id, { labels: ['self-hosted', 'x64'] });
  const runner = state.registerRunner({ name: 'r1', labels: ['self-hosted', 'x64'] });
  const standin = await startGitHubStandin({ state, token: 't', secondaryLimits: false });
  try {
    const store = new MemoryStateStore();
    const github = createGitHubAdapter({
      apiUrl: standin.url,
      org: 'acme',
      token: 't',
      stateStore: store,
      minWriteIntervalMs: 0,
    });
    const methods: Record<string, () => Promise<unknown>> = {
      listRepositories: () => github.listRepositories(),
      prefetchRepositories: async () => github.prefetchRepositories?.(['app']),
      listQueuedJobs: () => github.listQueuedJobs('app'),
      listRunners: () => github.listRunners(),
      getRunner: () => github.getRunner(runner.id),
      rateLimit: () => github.rateLimit(),
      createJitRunner: () => github.createJitRunner({ name: 'r2', labels: ['x64'], runnerGroup: 'Default' }),
      deleteRunner: () => github.deleteRunner(runner.id),
    };
    const touching = new Set<string>();
    for (const [name, call] of Object.entries(methods)) {
      const before = { ...store.stats };
      await call();
      if (store.stats.reads > before.reads || store.stats.writes > before.writes) touching.add(name);
    }
    return touching;
  } finally {
    await standin.close();
  }
}

/** What a Task's function must be granted: its config, and what each declared port method needs. */
export async function neededActions(
  needs: PortNeeds,
  githubTouchingTable: ReadonlySet<string>,
): Promise<string[]> {
  const needed = new Set([configRead]);
  for (const [port, methods] of Object.entries(needs) as [keyof Ports, readonly string[]][]) {
    for (const method of methods) {
      if (port === 'scaleSets') {
        // The Actions service is reached with a registration token the GitHub credentials buy.
        needed.add(tokenRead);
        continue;
      }
      if (port === 'github') {
        needed.add(tokenRead);
        if (githubTouchingTable.has(method)) for (const action of rememberedAnswers) needed.add(action);
        continue;
      }
      for (const action of await recordedAwsActions(port, method)) needed.add(action);
    }
  }
  return [...needed].sort();
}

/**
 * What the webhook receiver's entry point sends to AWS, recorded: a delivery acted on (config, secret, claim,
 * inbox, StartExecution) and one whose start fails (the claim given back, the inbox released). Each command
 * `C` of service `s` needs `s:C`.
 */
export async function webhookReceiverActions(): Promise<string[]> {
  const { sign } = await import('@octokit/webhooks-methods');
  const clients = {
    ssm: mockClient(SSMClient),
    secretsmanager: mockClient(SecretsManagerClient),
    dynamodb: mockClient(DynamoDBClient),
    states: mockClient(SFNClient),
  };
  clients.ssm.onAnyCommand().resolves({ Parameter: { Value: JSON.stringify({ pools: config.pools }) } });
  clients.secretsmanager.onAnyCommand().resolves({ SecretString: 'derivation-secret' });
  clients.dynamodb.onAnyCommand().resolves({});
  clients.states.onAnyCommand().resolvesOnce({}).rejects(new Error('throttled'));
  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    STEPSCALE_STACK: 'stepscale',
    STEPSCALE_CONFIG_PARAMETER: '/stepscale/config',
    GITHUB_URL: 'https://github.com',
    GITHUB_ORG: 'acme',
    // Its own name: Powertools caches secrets per process.
    STEPSCALE_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:iam-derivation',
    STEPSCALE_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:cycle',
    STEPSCALE_STATE_TABLE: 'state',
  });
  try {
    const { handler } = await import('../../functions/lambda/webhook.ts');
    for (const [index, [repository, action]] of [
      ['api', 'queued'],
      ['web', 'queued'],
      ['api', 'completed'], // reads the held pools
    ].entries()) {
      const body = JSON.stringify({
        action,
        workflow_job: { id: index, run_id: 1, labels: ['self-hosted', 'x64'], status: 'queued' },
        repository: { name: repository, owner: { login: 'acme' } },
      });
      await handler({
        requestContext: { http: { method: 'POST' } },
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'workflow_job',
          'x-github-delivery': `derivation-${index}`,
          'x-hub-signature-256': await sign('derivation-secret', body),
        },
        body,
      });
    }
    const actions = Object.entries(clients).flatMap(([service, mock]) =>
      mock
        .calls()
        .map((call) => `${service}:${(call.args[0] as object).constructor.name.replace(/Command$/, '')}`),
    );
    return [...new Set(actions)].sort();
  } finally {
    for (const mock of Object.values(clients)) mock.restore();
    process.env = saved;
  }
}
