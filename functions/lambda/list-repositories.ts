/** Lambda entry point of the Task state `ListRepositories` (template.yaml: ListRepositoriesFunction). */
import { lambdaHandler } from './lambda-handler.ts';

export const handler = lambdaHandler('ListRepositories');
