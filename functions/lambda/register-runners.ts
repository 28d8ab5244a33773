/** Lambda entry point of the Task state `RegisterRunners` (template.yaml: RegisterRunnersFunction). */
import { lambdaHandler } from './lambda-handler.ts';

export const handler = lambdaHandler('RegisterRunners');
