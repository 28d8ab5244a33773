/**
 * The ports every task that manages runners needs (Decide, RegisterRunners, ScaleDown): GitHub's runners, the
 * EC2 fleet, the runner configs in SSM, the state table's leases and the GitHub write budget. A task that
 * also reaches scale sets adds that port itself, so Decide's bundle holds no scale set client.
 */
import { lambdaStateStore, lambdaWriteBudget } from './dynamodb.ts';
import { lambdaFleet } from './ec2.ts';
import { lambdaGitHub } from './github.ts';
import { lambdaRunnerConfigs } from './ssm.ts';

export const runnerTaskWiring = {
  github: lambdaGitHub,
  fleet: lambdaFleet,
  runnerConfigs: lambdaRunnerConfigs,
  stateStore: lambdaStateStore,
  writeBudget: lambdaWriteBudget,
} as const;
