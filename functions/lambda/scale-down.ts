/** Lambda entry point of the Task state `ScaleDown` (template.yaml: ScaleDownFunction). */
import { scaleDown, scaleDownNeeds } from '../handlers/scale-down.ts';
import { lambdaHandler } from './lambda-handler.ts';
import { runnerTaskWiring } from './wiring/runner-tasks.ts';
import { lambdaScaleSets } from './wiring/scale-sets.ts';

export const handler = lambdaHandler(
  'ScaleDown',
  { needs: scaleDownNeeds, create: scaleDown },
  { ...runnerTaskWiring, scaleSets: lambdaScaleSets },
);
