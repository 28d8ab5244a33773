/** Lambda entry point of the Task state `Decide` (template.yaml: DecideFunction). */
import { lambdaHandler } from './lambda-handler.ts';

export const handler = lambdaHandler('Decide');
