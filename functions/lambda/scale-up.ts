/** Lambda entry point of the Task state `ScaleUp` (template.yaml: ScaleUpFunction). */
import { scaleUp, scaleUpNeeds } from '../handlers/scale-up.ts';
import { lambdaHandler } from './lambda-handler.ts';
import { lambdaStateStore } from './wiring/dynamodb.ts';
import { lambdaFleet } from './wiring/ec2.ts';

export const handler = lambdaHandler(
  'ScaleUp',
  { needs: scaleUpNeeds, create: scaleUp },
  { fleet: lambdaFleet, stateStore: lambdaStateStore },
);
