/**
 * template.yaml, checked structurally (SAM CLI cannot run here): it wires every Task of the ASL to a function
 * whose entry point exists, and grants each function what its handler calls and nothing more.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import validator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { yamlParse } from 'yaml-cfn';
import { templateAlarmMetrics } from '../bench/sim/cost.ts';
import { instanceArnTag } from '../functions/adapters/ssm-runner-configs.ts';
import {
  cycleTimeoutSeconds,
  fleetChangeDeadlineSeconds,
  maxRegistrationSeconds,
} from '../functions/core/cycle-timing.ts';
import { ConfigError } from '../functions/errors.ts';
import {
  listenerTaskHandlers,
  listenerTaskNeeds,
  taskHandlers,
  taskNeeds,
} from '../functions/handlers/index.ts';
import { scalingLeaseSeconds } from '../functions/handlers/scaling-lease.ts';
import { loadLambdaConfig } from '../functions/lambda/wiring/config-source.ts';
import {
  type LambdaEnv,
  lambdaEnvironment,
  readEnvironment,
} from '../functions/lambda/wiring/environment.ts';
import { tokenFromSecret, tokenRefreshingGitHub } from '../functions/lambda/wiring/github.ts';
import { metricDefinitions } from '../functions/observability/metrics.ts';
import type { GitHubPort } from '../functions/ports/github.ts';
import {
  definitionPath,
  listenerDefinitionPath,
  placeholdersIn,
  substitute,
} from '../functions/statemachine-definition.ts';

import {
  configRead,
  githubMethodsTouchingTheStateTable,
  neededActions,
  recordedAwsActions,
  tokenRead,
  webhookReceiverActions,
} from './support/iam-derivation.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// biome-ignore lint/suspicious/noExplicitAny: a parsed CloudFormation template is untyped by nature.
type Json = any;

const githubTouchingTable = await githubMethodsTouchingTheStateTable();
const template: Json = yamlParse(await readFile(join(root, 'template.yaml'), 'utf8'));
const aslText = await readFile(definitionPath, 'utf8');
const resources: Record<string, Json> = template.Resources;
const allFunctions = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Serverless::Function');
/** Functions that are no Task of the scaling cycle (the listener's Task has a state machine of its own). */
const standaloneFunctions = ['WebhookFunction', 'RedeliverWebhooksFunction', 'ListenFunction'];
const functions = allFunctions.filter(([id]) => !standaloneFunctions.includes(id));
const stateMachine: Json = resources.ScalingCycleStateMachine;
const taskNames = Object.keys(taskHandlers) as (keyof typeof taskHandlers)[];

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: Json;
  Condition?: Record<string, Record<string, Json>>;
}

const kebab = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const actionsOf = (statement: Statement) => list(statement.Action);
/** Inline statements of a SAM function's or state machine's Policies (policy templates are skipped). */
const inlineStatements = (resource: Json): Statement[] =>
  list(resource.Properties?.Policies).flatMap((policy: Json) => list<Statement>(policy?.Statement));
/** Every IAM statement in the template: SAM Policies and IAM roles' inline policies. */
const allStatements = (): Statement[] =>
  Object.values(resources).flatMap((resource) => [
    ...inlineStatements(resource),
    ...list(resource.Properties?.Policies).flatMap((policy: Json) =>
      list<Statement>(policy?.PolicyDocument?.Statement),
    ),
    ...list<Statement>(resource.Properties?.AssumeRolePolicyDocument?.Statement),
  ]);
/** The text of a `!Sub` string (or a plain string). */
const subText = (value: Json): string => (typeof value === 'string' ? value : (value?.['Fn::Sub'] ?? ''));
const stackTag = { Ref: 'AWS::StackName' };

interface TaskState {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
  ItemProcessor?: { States: Record<string, TaskState> };
}
function taskStatesOf(states: Record<string, TaskState>): [string, TaskState][] {
  return Object.entries(states).flatMap(([name, state]) => [
    ...(state.Type === 'Task' ? [[name, state] as [string, TaskState]] : []),
    ...(state.ItemProcessor ? taskStatesOf(state.ItemProcessor.States) : []),
  ]);
}
const taskStates = new Map(taskStatesOf(JSON.parse(aslText).States));

/** Each of `fragments` occurs in `text`, in this order. */
function expectInOrder(text: string, fragments: readonly string[]): void {
  const at = fragments.map((fragment) => text.indexOf(fragment));
  expect(
    fragments.filter((_, i) => at[i] === -1),
    'missing',
  ).toEqual([]);
  expect([...at].sort((a, b) => a - b)).toEqual(at);
}

function functionOf(task: string): Json {
  const resource = resources[`${task}Function`];
  if (!resource) throw new Error(`template.yaml has no ${task}Function`);
  return resource;
}
const functionProperty = (task: string, key: string) =>
  functionOf(task).Properties[key] ?? template.Globals?.Function?.[key];

describe('template.yaml: wiring', () => {
  it('is a SAM template', () => {
    expect(template.Transform).toBe('AWS::Serverless-2016-10-31');
  });

  it('substitutes every ASL placeholder, and nothing else', () => {
    const substituted = Object.keys(stateMachine.Properties.DefinitionSubstitutions).sort();
    expect(substituted).toEqual(placeholdersIn(aslText));
    expect(stateMachine.Properties.DefinitionUri).toBe('statemachine/scaling-cycle.asl.json');
  });

  it('has one function per Task state, named after it, whose ARN its placeholder receives', () => {
    expect([...taskStates.keys()].sort()).toEqual([...taskNames].sort());
    expect(functions.map(([id]) => id).sort()).toEqual(taskNames.map((task) => `${task}Function`).sort());
    for (const [task, state] of taskStates) {
      expect(state.Resource).toBe(`\${${task}FunctionArn}`);
      expect(stateMachine.Properties.DefinitionSubstitutions[`${task}FunctionArn`]).toEqual({
        'Fn::GetAtt': [`${task}Function`, 'Arn'],
      });
    }
  });

  it.each(taskNames)(
    '%s: Handler names the bundle of an entry point that exists and exports `handler`',
    async (task) => {
      const resource = functionOf(task);
      expect(resource.Properties.Handler).toBe(`${kebab(task)}.handler`);
      expect(resource.Properties.CodeUri).toBe('./');
      const entry = join(root, `functions/lambda/${kebab(task)}.ts`);
      expect(existsSync(entry)).toBe(true);
      const module = await import(entry);
      expect(typeof module.handler).toBe('function');
    },
  );

  it.each(allFunctions.map(([id]) => id))(
    '%s: SAM builds it with the Makefile, whose build-<LogicalId> target runs scripts/build.mjs for it',
    (id) => {
      expect(resources[id].Metadata).toEqual({ BuildMethod: 'makefile' });
      expect(resources[id].Properties.CodeUri).toBe('./');
      // What `sam build` would run: make's dry run of the target, in the folder CodeUri names.
      const commands = execFileSync('make', ['--dry-run', `build-${id}`, 'ARTIFACTS_DIR=/artifacts'], {
        cwd: root,
        encoding: 'utf8',
      });
      expect(commands.trim()).toBe(`node scripts/build.mjs --function ${id} --outdir "/artifacts"`);
    },
  );

  it.each(taskNames)('%s: runs nodejs22.x/24.x on arm64, with a timeout below its Task timeout', (task) => {
    expect(['nodejs22.x', 'nodejs24.x']).toContain(functionProperty(task, 'Runtime'));
    expect(functionProperty(task, 'Architectures')).toEqual(['arm64']);
    expect(functionProperty(task, 'Timeout')).toBeLessThan(taskStates.get(task)?.TimeoutSeconds ?? 0);
  });

  it('ends a scaling lease only after every task of its holder that changes the fleet has stopped', () => {
    // The lease runs from Decide, which starts after the execution; ScaleUp and ScaleDown change nothing when
    // they start later than fleetChangeDeadlineSeconds into the cycle, and one that started in time lasts at
    // most its function timeout.
    const lastFleetChange =
      fleetChangeDeadlineSeconds +
      Math.max(functionProperty('ScaleUp', 'Timeout'), functionProperty('ScaleDown', 'Timeout'));
    expect(scalingLeaseSeconds).toBeGreaterThanOrEqual(lastFleetChange);
    // ...and not much longer: a cycle that died holding it holds up at most the next scheduled cycle.
    expect(scalingLeaseSeconds).toBeLessThanOrEqual(lastFleetChange + 30);
  });

  it('lets a cycle register until the next one is due, and stops it before anything runs past its timeout', () => {
    const executionTimeout = JSON.parse(aslText).TimeoutSeconds;
    expect(executionTimeout).toBe(cycleTimeoutSeconds);
    // The last registration slice starts before the deadline and ends within its function timeout.
    expect(maxRegistrationSeconds + functionProperty('RegisterRunners', 'Timeout')).toBeLessThan(
      executionTimeout,
    );
    // Deciding and launching end well before the registration loop hands over.
    expect(fleetChangeDeadlineSeconds).toBeLessThan(maxRegistrationSeconds);
  });

  it('sets every environment variable the entry points require', () => {
    const variables = template.Globals.Function.Environment.Variables;
    for (const [name, spec] of Object.entries(lambdaEnvironment)) {
      if ('required' in spec && spec.required) expect(variables, name).toHaveProperty(name);
    }
    expect(variables).toMatchObject({
      POWERTOOLS_SERVICE_NAME: 'stepscale',
      STEPSCALE_STACK: stackTag,
      STEPSCALE_CONFIG_PARAMETER: { Ref: 'PoolsConfigParameterName' },
      GITHUB_URL: { Ref: 'GitHubUrl' },
      GITHUB_ORG: { Ref: 'GitHubOrg' },
      GITHUB_TOKEN_SECRET_ARN: { Ref: 'GitHubTokenSecretArn' },
    });
  });

  it('gives a definition that passes asl-validator once substituted with dummy ARNs', () => {
    const substitutions = Object.fromEntries(
      Object.keys(stateMachine.Properties.DefinitionSubstitutions).map((name) => [
        name,
        name.endsWith('FunctionArn')
          ? `arn:aws:lambda:us-east-1:123456789012:function:stepscale-${name}`
          : String(template.Parameters[name].Default),
      ]),
    );
    const { isValid, errors } = validator(JSON.parse(substitute(aslText, substitutions)), {
      checkPaths: true,
      checkArn: true,
    });
    expect(errors).toEqual([]);
    expect(isValid).toBe(true);
  });

  it('starts a cycle on the schedule, named after the scheduled time', () => {
    const events = Object.values(stateMachine.Properties.Events) as Json[];
    expect(events).toHaveLength(1);
    expect(events[0].Type).toBe('ScheduleV2');
    expect(events[0].Properties.ScheduleExpression).toEqual({ Ref: 'ScheduleRate' });
    // No targets: the whole organization, the same input cycle-runner.ts gives the local and benchmark cycles.
    expect(JSON.parse(events[0].Properties.Input)).toEqual({
      cycleId: '<aws.scheduler.scheduled-time>',
      targets: { repositories: [] },
    });
  });

  it('runs EXPRESS by default, logs ALL with execution data to a retained log group, and traces', () => {
    expect(stateMachine.Properties.Type).toEqual({ Ref: 'StateMachineType' });
    expect(template.Parameters.StateMachineType).toMatchObject({
      Default: 'EXPRESS',
      AllowedValues: ['EXPRESS', 'STANDARD'],
    });
    const logging = stateMachine.Properties.Logging;
    expect(logging).toMatchObject({ Level: 'ALL', IncludeExecutionData: true });
    const logGroupId = logging.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
    expect(resources[logGroupId].Properties.RetentionInDays).toBeDefined();
    expect(stateMachine.Properties.Tracing).toEqual({ Enabled: true });
    expect(template.Outputs.StateMachineArn).toBeDefined();
    expect(template.Outputs.LogGroup.Value).toEqual({ Ref: logGroupId });
  });

  it('lets the state machine invoke each function and deliver its logs', () => {
    const invoked = list(stateMachine.Properties.Policies)
      .filter((policy: Json) => policy.LambdaInvokePolicy)
      .map((policy: Json) => policy.LambdaInvokePolicy.FunctionName.Ref);
    expect(invoked.sort()).toEqual(functions.map(([id]) => id).sort());
    const actions = inlineStatements(stateMachine).flatMap(actionsOf);
    for (const action of [
      'logs:CreateLogDelivery',
      'logs:GetLogDelivery',
      'logs:UpdateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:DescribeResourcePolicies',
      'logs:DescribeLogGroups',
      'xray:PutTraceSegments',
    ]) {
      expect(actions).toContain(action);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------

const grantedActions = (task: string) =>
  [...new Set(inlineStatements(functionOf(task)).flatMap(actionsOf))].sort();
const statementsWith = (action: string) => allStatements().filter((s) => actionsOf(s).includes(action));

describe('template.yaml: least privilege', () => {
  it('has no wildcard in any Action', () => {
    const actions = allStatements().flatMap(actionsOf);
    expect(actions.length).toBeGreaterThan(20);
    expect(actions.filter((action) => action.includes('*'))).toEqual([]);
    expect(
      allStatements().every((statement) => statement.Effect === 'Allow' || statement.Effect === 'Deny'),
    ).toBe(true);
  });

  it('records every port method a handler declares: each sends the AWS calls its IAM actions grant', async () => {
    // The recording itself works (a positive control for the derivation below).
    expect(await recordedAwsActions('fleet', 'launch')).toEqual([
      'ec2:CreateFleet',
      'ec2:CreateTags',
      'ec2:RunInstances',
      'iam:PassRole',
    ]);
    expect(await recordedAwsActions('runnerConfigs', 'put')).toEqual([
      'ssm:AddTagsToResource',
      'ssm:PutParameter',
    ]);
    expect(await recordedAwsActions('writeBudget', 'reserve')).toEqual(['dynamodb:UpdateItem']);
    expect([...githubTouchingTable].sort()).toEqual([
      'listQueuedJobs',
      'listRepositories',
      'listRunners',
      'prefetchRepositories',
    ]);
  });

  it.each(taskNames)('%s: is granted exactly what its declared port methods need', async (task) => {
    expect(grantedActions(task)).toEqual(await neededActions(taskNeeds[task], githubTouchingTable));
  });

  it('keeps the state table pay-per-request with TTL on expiresAt, used only by the functions told its name', () => {
    expect(resources.StateTable).toMatchObject({
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      },
    });
    const told = functions
      .filter(([, resource]) => resource.Properties.Environment?.Variables?.STEPSCALE_STATE_TABLE)
      .map(([id]) => id);
    const granted = functions
      .filter(([, resource]) =>
        inlineStatements(resource).some((statement) =>
          actionsOf(statement).some((a) => a.startsWith('dynamodb:')),
        ),
      )
      .map(([id]) => id);
    expect(told.length).toBeGreaterThan(0);
    expect(told).toEqual(granted);
    for (const [id] of functions.filter(([fid]) => told.includes(fid))) {
      expect(resources[id].Properties.Environment.Variables.STEPSCALE_STATE_TABLE).toEqual({
        Ref: 'StateTable',
      });
    }
    const dynamodb = allStatements().filter((statement) =>
      actionsOf(statement).some((a) => a.startsWith('dynamodb:')),
    );
    for (const statement of dynamodb)
      expect(statement.Resource).toEqual({ 'Fn::GetAtt': ['StateTable', 'Arn'] });
    expect(lambdaEnvironment).toHaveProperty('STEPSCALE_STATE_TABLE');
  });

  it('lets no function read the GitHub token unless it calls GitHub, and scopes the read to the secret', () => {
    for (const statement of statementsWith(tokenRead)) {
      const webhookSecret = statement.Sid === 'ReadWebhookSecret';
      expect(statement.Resource).toEqual(
        webhookSecret ? { Ref: 'WebhookSecret' } : { Ref: 'GitHubTokenSecretArn' },
      );
    }
    expect(
      statementsWith(tokenRead).filter((statement) => statement.Sid === 'ReadWebhookSecret'),
    ).toHaveLength(1);
    expect(JSON.stringify(resources.WebhookFunction)).not.toContain('GitHubTokenSecretArn');
  });

  it('starts only instances carrying the stack tag, on instances only, and never stops any', () => {
    const starts = statementsWith('ec2:StartInstances');
    expect(starts.map((statement) => statement.Sid)).toEqual(['StartOnlyStackInstances']);
    for (const statement of starts) {
      expect(statement.Condition?.StringEquals?.['ec2:ResourceTag/stepscale:stack']).toEqual(stackTag);
      expect(list(statement.Resource).every((r: Json) => subText(r).endsWith(':instance/*'))).toBe(true);
    }
    // Instances power themselves off (prepare mode, and after their job): no function may stop one.
    expect(statementsWith('ec2:StopInstances')).toEqual([]);
  });

  it('terminates and tags only instances carrying the stack tag (or tags at launch only)', () => {
    const terminations = statementsWith('ec2:TerminateInstances');
    expect(terminations.length).toBeGreaterThan(0);
    for (const statement of terminations) {
      expect(statement.Condition?.StringEquals?.['ec2:ResourceTag/stepscale:stack']).toEqual(stackTag);
    }
    const tagging = statementsWith('ec2:CreateTags');
    expect(tagging.length).toBeGreaterThan(0);
    for (const statement of tagging) {
      const conditions = statement.Condition?.StringEquals ?? {};
      const onStackInstances =
        conditions['ec2:ResourceTag/stepscale:stack']?.Ref === 'AWS::StackName' &&
        list(statement.Resource).every((r: Json) => subText(r).endsWith(':instance/*'));
      const atLaunch = list(conditions['ec2:CreateAction']).every((a) =>
        ['CreateFleet', 'RunInstances'].includes(a),
      );
      expect(
        onStackInstances || (conditions['ec2:CreateAction'] !== undefined && atLaunch),
        statement.Sid,
      ).toBe(true);
    }
  });

  it('creates instances only with the stack tag', () => {
    for (const statement of [...statementsWith('ec2:RunInstances'), ...statementsWith('ec2:CreateFleet')]) {
      const onInstances = list(statement.Resource).some((r: Json) => subText(r).includes(':instance/'));
      if (onInstances) {
        expect(statement.Condition?.StringEquals?.['aws:RequestTag/stepscale:stack']).toEqual(stackTag);
      }
      for (const resource of list(statement.Resource))
        expect(subText(resource)).toMatch(/^arn:\$\{AWS::Partition\}:ec2:/);
    }
  });

  it('scopes SSM parameter access to the stack path, and the config read to the config parameter', () => {
    const stackPath = `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/stepscale/\${AWS::StackName}/runners`;
    const configArn = `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter\${PoolsConfigParameterName}`;
    const ssm = allStatements().filter((statement) => actionsOf(statement).some((a) => a.startsWith('ssm:')));
    expect(ssm.length).toBeGreaterThan(0);
    for (const statement of ssm) {
      for (const resource of list(statement.Resource).map(subText)) {
        if (resource === configArn) expect(actionsOf(statement)).toEqual([configRead]);
        else expect([stackPath, `${stackPath}/*`], statement.Sid).toContain(resource);
      }
    }
  });

  it('passes only the runner role, and only to EC2', () => {
    const passes = statementsWith('iam:PassRole');
    expect(passes.length).toBeGreaterThan(0);
    for (const statement of passes) {
      expect(statement.Condition?.StringEquals?.['iam:PassedToService']).toBe('ec2.amazonaws.com');
      for (const resource of list(statement.Resource)) {
        const choice = resource['Fn::If'];
        expect(choice[2]).toEqual({ Ref: 'AWS::NoValue' });
        expect([
          { Ref: 'RunnerInstanceRoleArn' },
          { 'Fn::GetAtt': ['RunnerInstanceRoleExample', 'Arn'] },
        ]).toContainEqual(choice[1]);
      }
    }
  });
});

describe('template.yaml: the webhook receiver', () => {
  const webhook = resources.WebhookFunction;

  it('exists only with Webhooks enabled (the default), with its secret, URL, permissions and outputs', () => {
    expect(template.Parameters.Webhooks).toMatchObject({
      Default: 'Enabled',
      AllowedValues: ['Enabled', 'Disabled'],
    });
    expect(template.Conditions.WebhooksEnabled).toEqual({ 'Fn::Equals': [{ Ref: 'Webhooks' }, 'Enabled'] });
    const webhookResources = Object.entries(resources)
      .filter(([id]) => id.startsWith('Webhook'))
      .map(([id, resource]) => [id, resource.Condition]);
    expect(resources.RedeliverWebhooksFunction.Condition).toBe('WebhooksEnabled');
    expect(webhookResources.map(([id]) => id).sort()).toEqual([
      'WebhookFunction',
      'WebhookFunctionUrl',
      'WebhookInvokePermission',
      'WebhookSecret',
      'WebhookUrlPermission',
    ]);
    expect(resources.TargetedCycleStateMachine.Condition).toBe('WebhooksEnabled');
    for (const [id, condition] of webhookResources) expect(condition, id).toBe('WebhooksEnabled');
    expect(template.Outputs.WebhookUrl).toMatchObject({
      Condition: 'WebhooksEnabled',
      Value: { 'Fn::GetAtt': ['WebhookFunctionUrl', 'FunctionUrl'] },
    });
    expect(template.Outputs.WebhookSecretArn).toMatchObject({
      Condition: 'WebhooksEnabled',
      Value: { Ref: 'WebhookSecret' },
    });
  });

  it('is public through its URL only: AuthType NONE, both permissions a new function URL needs', () => {
    expect(resources.WebhookFunctionUrl.Properties).toEqual({
      TargetFunctionArn: { 'Fn::GetAtt': ['WebhookFunction', 'Arn'] },
      AuthType: 'NONE',
      InvokeMode: 'BUFFERED',
    });
    expect(resources.WebhookUrlPermission.Properties).toEqual({
      FunctionName: { Ref: 'WebhookFunction' },
      Action: 'lambda:InvokeFunctionUrl',
      Principal: '*',
      FunctionUrlAuthType: 'NONE',
    });
    expect(resources.WebhookInvokePermission.Properties).toEqual({
      FunctionName: { Ref: 'WebhookFunction' },
      Action: 'lambda:InvokeFunction',
      Principal: '*',
      InvokedViaFunctionUrl: true,
    });
  });

  it("answers within GitHub's 10 s, on arm64, with reserved concurrency from its parameter", async () => {
    expect(webhook.Properties.Timeout).toBeLessThan(10);
    expect(webhook.Properties.ReservedConcurrentExecutions).toEqual({ Ref: 'WebhookReservedConcurrency' });
    expect(webhook.Properties.Handler).toBe('webhook.handler');
    const module = await import(join(root, 'functions/lambda/webhook.ts'));
    expect(typeof module.handler).toBe('function');
    expect(template.Globals.Function.Architectures).toEqual(['arm64']);
  });

  it('is told the state machine, its secret and the state table', () => {
    expect(webhook.Properties.Environment.Variables).toEqual({
      STEPSCALE_STATE_TABLE: { Ref: 'StateTable' },
      STEPSCALE_WEBHOOK_SECRET_ARN: { Ref: 'WebhookSecret' },
      STEPSCALE_STATE_MACHINE_ARN: { Ref: 'TargetedCycleStateMachine' },
    });
  });

  it('is granted exactly the AWS calls it makes: StartExecution on the targeted state machine only', async () => {
    const granted = [...new Set(inlineStatements(webhook).flatMap(actionsOf))].sort();
    expect(granted).toEqual(await webhookReceiverActions());
    expect(inlineStatements(webhook).filter((s) => actionsOf(s).includes('states:StartExecution'))).toEqual([
      expect.objectContaining({ Resource: { Ref: 'TargetedCycleStateMachine' } }),
    ]);
    // In the whole template: the receiver's targeted cycles and the scale-set listener's scheduled-definition
    // cycles (ListenFunction); the listener's own continue-as-new aside.
    expect(
      statementsWith('states:StartExecution').filter((statement) => statement.Sid !== 'ContinueAsNew'),
    ).toEqual([
      expect.objectContaining({ Resource: { Ref: 'TargetedCycleStateMachine' } }),
      expect.objectContaining({ Resource: { Ref: 'ScalingCycleStateMachine' } }),
    ]);
  });

  it('starts targeted cycles of the same definition and functions, logged at level ERROR, never scheduled', () => {
    const targeted = resources.TargetedCycleStateMachine;
    expect(targeted.Condition).toBe('WebhooksEnabled');
    const { Logging, Events, ...properties } = targeted.Properties;
    const { Logging: scheduledLogging, Events: scheduledEvents, ...scheduled } = stateMachine.Properties;
    expect(properties).toEqual(scheduled);
    expect(Events).toBeUndefined();
    expect(scheduledEvents.Schedule).toBeDefined();
    expect(Logging).toMatchObject({ Level: 'ERROR', IncludeExecutionData: true });
    expect(scheduledLogging).toMatchObject({ Level: 'ALL' });
    expect(resources.TargetedCycleLogGroup.Properties.LogGroupName).toEqual({
      'Fn::Sub': `/aws/vendedlogs/states/\${AWS::StackName}-targeted-cycle`,
    });
  });
});

describe('template.yaml: runner scale set listener', () => {
  const listener = resources.ListenerStateMachine;
  const listenFunction = resources.ListenFunction;
  const listenerAsl = JSON.parse(readFileSync(listenerDefinitionPath, 'utf8'));
  const listenerText = readFileSync(listenerDefinitionPath, 'utf8');

  it('exists only with ScaleSetListener enabled (the default): the function, the STANDARD state machine, its output', () => {
    expect(template.Parameters.ScaleSetListener).toMatchObject({
      Default: 'Enabled',
      AllowedValues: ['Enabled', 'Disabled'],
    });
    expect(listener.Condition).toBe('ScaleSetListenerEnabled');
    expect(listenFunction.Condition).toBe('ScaleSetListenerEnabled');
    expect(listener.Properties.Type).toBe('STANDARD');
    expect(listener.Properties.DefinitionUri).toBe('statemachine/listener.asl.json');
    expect(template.Outputs.ListenerStateMachineArn.Condition).toBe('ScaleSetListenerEnabled');
  });

  it('wires its one Task to ListenFunction, whose entry point exists, and substitutes every placeholder', async () => {
    const substitutions = listener.Properties.DefinitionSubstitutions;
    expect(Object.keys(substitutions).sort()).toEqual(placeholdersIn(listenerText));
    const tasks = taskStatesOf(listenerAsl.States).filter(([, state]) => state.Resource?.startsWith('${'));
    expect(tasks.map(([name]) => name)).toEqual(Object.keys(listenerTaskHandlers));
    expect(substitutions.ListenFunctionArn).toEqual({ 'Fn::GetAtt': ['ListenFunction', 'Arn'] });
    expect(listenFunction.Properties.Handler).toBe('listen.handler');
    expect(typeof (await import(join(root, 'functions/lambda/listen.ts'))).handler).toBe('function');
    const { isValid, errors } = validator(
      JSON.parse(
        substitute(listenerText, {
          ListenFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:stepscale-listen',
          ListenerMaxRounds: substitutions.ListenerMaxRounds,
        }),
      ),
      { checkPaths: true, checkArn: true },
    );
    expect(errors).toEqual([]);
    expect(isValid).toBe(true);
  });

  it('is granted exactly what its declared port methods need, and starts only the scaling cycle', async () => {
    const granted = [...new Set(inlineStatements(listenFunction).flatMap(actionsOf))].sort();
    expect(granted).toEqual(await neededActions(listenerTaskNeeds.Listen, githubTouchingTable));
    const start = inlineStatements(listenFunction).find((statement) =>
      actionsOf(statement).includes('states:StartExecution'),
    );
    expect(start?.Resource).toEqual({ Ref: 'ScalingCycleStateMachine' });
    expect(listenFunction.Properties.Environment.Variables.STEPSCALE_STATE_MACHINE_ARN).toEqual({
      Ref: 'ScalingCycleStateMachine',
    });
  });

  it('runs a round within Lambda’s limit: a 128 MB function, its timeout below the Task’s and above a round', () => {
    expect(listenFunction.Properties.MemorySize).toBe(128);
    const task = listenerAsl.States.Listen;
    expect(listenFunction.Properties.Timeout).toBeLessThan(task.TimeoutSeconds);
    expect(task.TimeoutSeconds).toBeLessThanOrEqual(900);
    // The longest round the config allows, and closing its sessions, fit in the function's time.
    expect(870 + 20).toBeLessThanOrEqual(listenFunction.Properties.Timeout);
  });

  it('continues as new itself, and is started by an hourly schedule that a live listener makes a no-op', () => {
    const continueAsNew = inlineStatements(listener).find((statement) => statement.Sid === 'ContinueAsNew');
    expect(actionsOf(continueAsNew as Statement)).toEqual(['states:StartExecution']);
    // The name the state machine is given, as a !Sub of the stack name, and what the statement grants.
    const ownName = `\${AWS::StackName}-listener`;
    expect(subText((continueAsNew as Statement).Resource)).toContain(`:stateMachine:${ownName}`);
    expect(listener.Properties.Name).toEqual({ 'Fn::Sub': ownName });
    const events = Object.values(listener.Properties.Events) as Json[];
    expect(events).toEqual([
      expect.objectContaining({
        Type: 'ScheduleV2',
        Properties: { ScheduleExpression: 'rate(1 hour)', Input: '{"rounds":0}' },
      }),
    ]);
  });

  it('keeps an execution far from the 25,000-event history limit before it continues as new', () => {
    // A round at its worst: Listen entered and exited, five attempts of three events each, NextRound (2),
    // WaitBeforeListening (2); a failed round adds FailedBefore, a Pass and PauseAfterFailure (6).
    const worstRound = 2 + 5 * 3 + 2 + 2 + 6;
    const maxRounds = Number(listener.Properties.DefinitionSubstitutions.ListenerMaxRounds);
    expect(maxRounds * worstRound + 20).toBeLessThan(25_000);
    expect(listenerAsl.States.Listen.Retry[0].MaxAttempts).toBe(4);
  });
});

describe('template.yaml: example runner launch template', () => {
  const launchTemplate = resources.RunnerLaunchTemplateExample;
  const data = launchTemplate.Properties.LaunchTemplateData;
  const userData: string = subText(data.UserData['Fn::Base64']);

  it('requires IMDSv2 with one hop and terminates on shutdown', () => {
    expect(launchTemplate.Condition).toBe('CreateExampleLaunchTemplate');
    expect(data.MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
    expect(data.InstanceInitiatedShutdownBehavior).toBe('terminate');
  });

  it('reads its runner config with an IMDSv2 token, deletes it, then runs one job as a non-root user', () => {
    expectInOrder(userData, [
      'X-aws-ec2-metadata-token-ttl-seconds',
      'aws ssm get-parameter',
      'aws ssm delete-parameter',
      'runuser -u "$RUNNER_USER" -- ./run.sh --jitconfig "$JIT"',
    ]);
    expect(userData).toContain('--with-decryption');
    expect(userData).toContain(`PARAMETER=/stepscale/\${AWS::StackName}/runners/$INSTANCE_ID`);
    // It waits for its config until the boot timeout: registrations are paced and may come minutes later.
    expect(userData).toMatch(/BOOT_TIMEOUT=300\n/);
    expect(userData).toContain('while [ "$(cut -d. -f1 /proc/uptime)" -lt "$BOOT_TIMEOUT" ]; do');
    expect(userData).toMatch(/trap '[^']*shutdown -h now' EXIT/);
    // Only CloudFormation's own variables are substituted; the script's are plain $NAME.
    expect(placeholdersIn(userData.replaceAll('::', '__'))).toEqual(['AWS__StackName']);
  });

  it('supports warm pools: prepare mode from its tag, powered off after the warm-up, one job per machine', () => {
    // The tag is read from the instance metadata, which must expose tags.
    expect(data.MetadataOptions).toMatchObject({ InstanceMetadataTags: 'enabled' });
    // User data runs at the first boot only: the bootstrap installs itself to run at every boot (a start).
    expect(userData).toContain('systemctl daemon-reload && systemctl enable stepscale-bootstrap.service');
    expectInOrder(userData, [
      'exec "$BOOTSTRAP"',
      'if [ -e "$STATE/ran-job" ]',
      '/meta-data/tags/instance/stepscale:warm',
      'if [ "$WARM" = preparing ] && [ ! -e "$STATE/prepared" ]',
      'if [ -x /opt/stepscale/warm-up.sh ] && ! /opt/stepscale/warm-up.sh; then',
      'touch "$STATE/prepared"',
      'aws ssm get-parameter',
      'aws ssm delete-parameter',
      'touch "$STATE/ran-job"',
      'runuser -u "$RUNNER_USER" -- ./run.sh --jitconfig "$JIT"',
    ]);
    // A failed warm-up must not power off (stopped would count as ready): it leaves the trap off.
    const failed = userData.slice(
      userData.indexOf('warm-up failed'),
      userData.indexOf('touch "$STATE/prepared"'),
    );
    expect(failed).toContain('trap - EXIT');
  });

  it('lets an instance read and delete only its own runner config, the one tagged with its ARN', () => {
    const statements = resources.RunnerInstanceRoleExample.Properties.Policies.flatMap(
      (policy: Json) => policy.PolicyDocument.Statement,
    );
    expect(statements).toEqual([
      {
        Sid: 'ReadAndDeleteOwnRunnerConfig',
        Effect: 'Allow',
        Action: ['ssm:GetParameter', 'ssm:DeleteParameter'],
        Resource: {
          'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/stepscale/\${AWS::StackName}/runners/*`,
        },
        Condition: {
          // The tag RegisterRunners sets (functions/adapters/ssm-runner-configs.ts) against the caller's ARN; a
          // plain string, so CloudFormation leaves the IAM policy variable to IAM.
          StringEquals: { [`aws:ResourceTag/${instanceArnTag}`]: `\${ec2:SourceInstanceARN}` },
          Null: { 'ec2:SourceInstanceARN': 'false' },
        },
      },
    ]);
  });

  it('tags each runner config with the ARN the role compares, in the partition and region of the stack', () => {
    const variables = template.Globals.Function.Environment.Variables;
    expect(variables.STEPSCALE_INSTANCE_ARN_PREFIX).toEqual({
      'Fn::Sub': `arn:\${AWS::Partition}:ec2:\${AWS::Region}:\${AWS::AccountId}:instance/`,
    });
    // Nothing may retag a runner config but the function that creates it.
    const retagging = statementsWith('ssm:AddTagsToResource').map((statement) => statement.Sid);
    expect(retagging).toEqual(['WriteRunnerConfigs']);
    expect(inlineStatements(functionOf('RegisterRunners')).map((statement) => statement.Sid)).toContain(
      'WriteRunnerConfigs',
    );
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('functions/lambda/wiring', () => {
  const baseEnv = {
    STEPSCALE_STACK: 'stepscale-prod',
    GITHUB_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:gh-AbCdEf',
    STEPSCALE_INSTANCE_ARN_PREFIX: 'arn:aws:ec2:us-east-1:123456789012:instance/',
  };
  const pools = [
    {
      name: 'linux',
      labels: ['self-hosted', 'linux'],
      maxRunners: 5,
      instanceTypes: ['m7g.large'],
      launchTemplate: 'lt-0123',
      subnets: ['subnet-0a'],
    },
  ];
  const env = (extra: Record<string, string>): LambdaEnv =>
    readEnvironment(lambdaEnvironment, { ...baseEnv, ...extra });
  const noParameters = { readParameter: async () => undefined };

  it('names every missing required variable', () => {
    expect(() => readEnvironment(lambdaEnvironment, { STEPSCALE_STACK: ' ' })).toThrow(ConfigError);
    try {
      readEnvironment(lambdaEnvironment, {});
    } catch (error) {
      expect((error as ConfigError).problems.map((p) => p.split(':')[0])).toEqual([
        'STEPSCALE_STACK',
        'GITHUB_TOKEN_SECRET_ARN',
        'STEPSCALE_INSTANCE_ARN_PREFIX',
      ]);
    }
  });

  it('reads the config from SSM, with the stack name and the template GitHub parameters applied', async () => {
    const read: string[] = [];
    const config = await loadLambdaConfig(
      env({
        STEPSCALE_CONFIG_PARAMETER: '/stepscale/config',
        GITHUB_URL: 'https://acme.ghe.com',
        GITHUB_ORG: 'acme',
      }),
      {
        readParameter: async (name) => {
          read.push(name);
          return JSON.stringify({ github: { url: 'https://github.com', org: 'other' }, pools });
        },
      },
    );
    expect(read).toEqual(['/stepscale/config']);
    expect(config.stack).toBe('stepscale-prod');
    expect(config.github).toEqual({
      url: 'https://acme.ghe.com',
      org: 'acme',
      apiUrl: 'https://api.acme.ghe.com',
      auth: { type: 'pat' },
      writesPerMinute: 60,
    });
  });

  it('takes inline JSON, and refuses both sources or neither', async () => {
    const inline = JSON.stringify({ pools });
    const config = await loadLambdaConfig(
      env({ STEPSCALE_CONFIG: inline, GITHUB_URL: 'https://github.com', GITHUB_ORG: 'acme' }),
      noParameters,
    );
    expect(config.github.apiUrl).toBe('https://api.github.com');
    await expect(
      loadLambdaConfig(env({ STEPSCALE_CONFIG: inline, STEPSCALE_CONFIG_PARAMETER: '/x' }), noParameters),
    ).rejects.toThrow(/exactly one/);
    await expect(loadLambdaConfig(env({}), noParameters)).rejects.toThrow(/STEPSCALE_CONFIG_PARAMETER/);
    await expect(loadLambdaConfig(env({ STEPSCALE_CONFIG: '{' }), noParameters)).rejects.toThrow(
      /not valid JSON/,
    );
  });

  it('accepts a plain or a {"token"} secret and never echoes it in an error', () => {
    expect(tokenFromSecret(' ghp_plain \n', 'S')).toBe('ghp_plain');
    expect(tokenFromSecret('{"token":"ghp_json"}', 'S')).toBe('ghp_json');
    expect(tokenFromSecret(new TextEncoder().encode('ghp_bin'), 'S')).toBe('ghp_bin');
    for (const bad of ['{"pat":"ghp_secret_value"}', '{ghp_secret_value', '  ']) {
      expect(() => tokenFromSecret(bad, 'S')).toThrow(ConfigError);
      try {
        tokenFromSecret(bad, 'S');
      } catch (error) {
        expect((error as Error).message).not.toContain('ghp_secret_value');
      }
    }
  });

  it('reads the token only when GitHub is called, and rebuilds the client only when it changed', async () => {
    let token = 'one';
    let reads = 0;
    const built: string[] = [];
    const github = tokenRefreshingGitHub(
      async () => {
        reads += 1;
        return token;
      },
      (t) => {
        built.push(t);
        return { listRepositories: async () => [t] } as unknown as GitHubPort;
      },
    );
    expect(reads).toBe(0);
    expect(await github.listRepositories()).toEqual(['one']);
    expect(await github.listRepositories()).toEqual(['one']);
    token = 'two';
    expect(await github.listRepositories()).toEqual(['two']);
    expect(built).toEqual(['one', 'two']);
    expect(reads).toBe(3);
  });
});

describe('template.yaml: metrics, dashboard and alarms', () => {
  const subText = (value: Json): string => (typeof value === 'string' ? value : value['Fn::Sub']);
  const dashboardText = subText(resources.Dashboard.Properties.DashboardBody);
  // What CloudFormation substitutes; the rest must be JSON as it stands.
  const substituted = dashboardText.replace(/\$\{([^}]+)\}/g, (_, name: string) => `sub:${name}`);
  const declared = new Set(Object.keys(metricDefinitions));
  const alarms = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');

  it('publishes metrics unless Metrics is Disabled, and tells the collect tasks where job waits come from', () => {
    expect(template.Parameters.Metrics).toMatchObject({
      Default: 'Enabled',
      AllowedValues: ['Enabled', 'Disabled'],
    });
    expect(template.Globals.Function.Environment.Variables.POWERTOOLS_METRICS_DISABLED).toEqual({
      'Fn::If': ['MetricsEnabled', 'false', 'true'],
    });
    // The receiver measures them when deployed; counted by both, every job would be counted twice.
    expect(
      resources.CollectRepositoryJobsFunction.Properties.Environment.Variables.STEPSCALE_JOB_WAITS_FROM,
    ).toEqual({
      'Fn::If': ['WebhooksEnabled', 'webhook', 'poll'],
    });
    expect(Object.keys(lambdaEnvironment)).toContain('STEPSCALE_JOB_WAITS_FROM');
  });

  it('draws a dashboard of declared metrics only, valid JSON once substituted, behind its parameter', () => {
    expect(resources.Dashboard.Condition).toBe('DashboardEnabled');
    expect(template.Conditions.DashboardEnabled).toEqual({
      'Fn::And': [{ Condition: 'MetricsEnabled' }, { 'Fn::Equals': [{ Ref: 'Dashboard' }, 'Enabled'] }],
    });
    const body = JSON.parse(substituted) as { widgets: { properties: { metrics: Json[] } }[] };
    expect(body.widgets.length).toBeGreaterThanOrEqual(6);
    const named = new Set<string>();
    for (const widget of body.widgets) {
      for (const row of widget.properties.metrics) {
        if (row[0] === 'stepscale') {
          named.add(row[1]);
          // Stack-wide metrics carry exactly the dimensions the functions publish them with.
          expect(row.slice(2, 6)).toEqual(['service', 'stepscale', 'Stack', 'sub:AWS::StackName']);
        }
        const expression: string | undefined = row[0]?.expression;
        if (expression) {
          const [, name] = /MetricName="(\w+)"/.exec(expression) ?? [];
          expect(expression).toContain('{stepscale,Pool,Stack,service}');
          named.add(name ?? '(none)');
        }
      }
    }
    for (const name of named) expect(declared, name).toContain(name);
    // Every metric the functions publish is on it, but those the alarms watch (PoolsAtMax draws PoolAtMax).
    expect(
      [...declared].filter(
        (name) => !named.has(name) && name !== 'PoolAtMax' && name !== 'GitHubRateLimitBelowReserve',
      ),
    ).toEqual([]);
    // Only pseudo parameters and this template's resources are substituted.
    for (const [, name] of substituted.matchAll(/sub:([\w:]+)/g)) {
      expect(name?.startsWith('AWS::') || (name !== undefined && name in resources), name).toBe(true);
    }
  });

  it('alarms on failed cycles, a low rate limit, a pool at max for PoolAtMaxMinutes and orphans, each notifying the topic if set', () => {
    expect(alarms.map(([id]) => id).sort()).toEqual([
      'FailedCyclesAlarm',
      'ListenerFailedAlarm',
      'OrphansAlarm',
      'PoolAtMaxAlarm',
      'RateLimitBelowReserveAlarm',
    ]);
    expect(resources.FailedCyclesAlarm.Condition).toBe('AlarmsEnabled');
    expect(resources.ListenerFailedAlarm.Condition).toBe('ListenerAlarmEnabled');
    expect(resources.ListenerFailedAlarm.Properties.Dimensions).toEqual([
      { Name: 'StateMachineArn', Value: { Ref: 'ListenerStateMachine' } },
    ]);
    for (const [id, alarm] of alarms) {
      const properties = alarm.Properties;
      expect(properties.AlarmActions, id).toEqual({
        'Fn::If': ['HasAlarmTopic', [{ Ref: 'AlarmTopicArn' }], { Ref: 'AWS::NoValue' }],
      });
      if (properties.Namespace !== 'stepscale') continue;
      // stepscale's own metrics exist only while they are published.
      expect(alarm.Condition, id).toBe('MetricAlarmsEnabled');
      expect(declared, id).toContain(properties.MetricName);
      expect(metricDefinitions[properties.MetricName as keyof typeof metricDefinitions].perPool, id).toBe(
        false,
      );
      expect(properties.Dimensions).toEqual([
        { Name: 'service', Value: 'stepscale' },
        { Name: 'Stack', Value: { Ref: 'AWS::StackName' } },
      ]);
    }
    expect(resources.PoolAtMaxAlarm.Properties).toMatchObject({
      MetricName: 'PoolsAtMax',
      Statistic: 'Minimum',
      Period: 60,
      EvaluationPeriods: { Ref: 'PoolAtMaxMinutes' },
      DatapointsToAlarm: { Ref: 'PoolAtMaxMinutes' },
    });
    expect(resources.RateLimitBelowReserveAlarm.Properties.MetricName).toBe('GitHubRateLimitBelowReserve');
    expect(resources.OrphansAlarm.Properties.MetricName).toBe('OrphansMarked');
    // What the cost model bills (bench/sim/cost.ts): each alarm's metrics, with webhooks on.
    const alarmMetrics = alarms.reduce((sum, [, alarm]) => {
      const list = alarm.Properties.Metrics as Json[] | undefined;
      if (!list) return sum + 1;
      return sum + list.filter((m) => (m['Fn::If'] ? m['Fn::If'][1] : m).MetricStat).length;
    }, 0);
    expect(alarmMetrics).toBe(templateAlarmMetrics);
    // Both state machines' failures, the targeted one only where it exists.
    const failed = resources.FailedCyclesAlarm.Properties.Metrics as Json[];
    const stateMachines = JSON.stringify(failed);
    expect(stateMachines).toContain('"Ref":"ScalingCycleStateMachine"');
    expect(stateMachines).toContain('"Ref":"TargetedCycleStateMachine"');
    expect(
      failed
        .filter((metric) => metric['Fn::If'])
        .every((metric) => metric['Fn::If'][0] === 'WebhooksEnabled'),
    ).toBe(true);
  });
});
