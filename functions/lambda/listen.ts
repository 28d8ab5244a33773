/** Lambda entry point of the listener's Task state `Listen` (template.yaml: ListenFunction). */
import { listen, listenNeeds } from '../handlers/listen.ts';
import { lambdaHandler } from './lambda-handler.ts';
import { lambdaCycleStarter } from './wiring/cycle-starter.ts';
import { lambdaStateStore } from './wiring/dynamodb.ts';
import { lambdaScaleSets } from './wiring/scale-sets.ts';

export const handler = lambdaHandler(
  'Listen',
  { needs: listenNeeds, create: listen },
  { scaleSets: lambdaScaleSets, stateStore: lambdaStateStore, cycleStarter: lambdaCycleStarter },
);
