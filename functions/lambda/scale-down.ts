/** Lambda entry point of the Task state `ScaleDown` (template.yaml: ScaleDownFunction). */
import { scaleDown, scaleDownNeeds } from '../handlers/scale-down.ts';
import { lambdaHandler } from './lambda-handler.ts';
import { lambdaStateStore, lambdaWriteBudget } from './wiring/dynamodb.ts';
import { lambdaFleet } from './wiring/ec2.ts';
import { lambdaGitHub } from './wiring/github.ts';
import { lambdaScaleSets } from './wiring/scale-sets.ts';
import { lambdaRunnerConfigs } from './wiring/ssm.ts';

export const handler = lambdaHandler(
  'ScaleDown',
  { needs: scaleDownNeeds, create: scaleDown },
  {
    github: lambdaGitHub,
    scaleSets: lambdaScaleSets,
    fleet: lambdaFleet,
    runnerConfigs: lambdaRunnerConfigs,
    stateStore: lambdaStateStore,
    writeBudget: lambdaWriteBudget,
  },
);
