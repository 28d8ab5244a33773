/** Lambda entry point of the Task state `ScaleUp` (template.yaml: ScaleUpFunction). */
import { lambdaHandler } from './lambda-handler.ts';

export const handler = lambdaHandler('ScaleUp');
