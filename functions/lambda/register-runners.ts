/** Lambda entry point of the Task state `RegisterRunners` (template.yaml: RegisterRunnersFunction). */
import { registerRunners, registerRunnersNeeds } from '../handlers/register-runners.ts';
import { lambdaHandler } from './lambda-handler.ts';
import { runnerTaskWiring } from './wiring/runner-tasks.ts';
import { lambdaScaleSets } from './wiring/scale-sets.ts';

export const handler = lambdaHandler(
  'RegisterRunners',
  { needs: registerRunnersNeeds, create: registerRunners },
  { ...runnerTaskWiring, scaleSets: lambdaScaleSets },
);
