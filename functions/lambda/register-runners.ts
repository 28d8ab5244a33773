/** Lambda entry point of the Task state `RegisterRunners` (template.yaml: RegisterRunnersFunction). */
import { registerRunners, registerRunnersNeeds } from '../handlers/register-runners.ts';
import { lambdaHandler } from './lambda-handler.ts';
import { lambdaStateStore, lambdaWriteBudget } from './wiring/dynamodb.ts';
import { lambdaFleet } from './wiring/ec2.ts';
import { lambdaGitHub } from './wiring/github.ts';
import { lambdaScaleSets } from './wiring/scale-sets.ts';
import { lambdaRunnerConfigs } from './wiring/ssm.ts';

export const handler = lambdaHandler(
  'RegisterRunners',
  { needs: registerRunnersNeeds, create: registerRunners },
  {
    github: lambdaGitHub,
    scaleSets: lambdaScaleSets,
    runnerConfigs: lambdaRunnerConfigs,
    stateStore: lambdaStateStore,
    writeBudget: lambdaWriteBudget,
    fleet: lambdaFleet,
  },
);
