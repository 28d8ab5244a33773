/** Lambda entry point of the Task state `Decide` (template.yaml: DecideFunction). */
import { decide, decideNeeds } from '../handlers/decide.ts';
import { lambdaHandler } from './lambda-handler.ts';
import { lambdaStateStore, lambdaWriteBudget } from './wiring/dynamodb.ts';
import { lambdaFleet } from './wiring/ec2.ts';
import { lambdaGitHub } from './wiring/github.ts';
import { lambdaRunnerConfigs } from './wiring/ssm.ts';

export const handler = lambdaHandler(
  'Decide',
  { needs: decideNeeds, create: decide },
  {
    github: lambdaGitHub,
    fleet: lambdaFleet,
    runnerConfigs: lambdaRunnerConfigs,
    stateStore: lambdaStateStore,
    writeBudget: lambdaWriteBudget,
  },
);
