/** Lambda entry point of the Task state `CheckRegistration` (template.yaml: CheckRegistrationFunction). */
import { lambdaHandler } from './lambda-handler.ts';

export const handler = lambdaHandler('CheckRegistration');
