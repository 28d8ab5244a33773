/** Lambda entry point of the Task state `ScaleDown` (template.yaml: ScaleDownFunction). */
import { lambdaHandler } from './lambda-handler.ts';

export const handler = lambdaHandler('ScaleDown');
