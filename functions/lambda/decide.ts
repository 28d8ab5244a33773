/** Lambda entry point of the Task state `Decide` (template.yaml: DecideFunction). */
import { decide, decideNeeds } from '../handlers/decide.ts';
import { lambdaHandler } from './lambda-handler.ts';
import { runnerTaskWiring } from './wiring/runner-tasks.ts';

export const handler = lambdaHandler('Decide', { needs: decideNeeds, create: decide }, runnerTaskWiring);
