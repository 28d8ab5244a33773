/** Lambda entry point of the Task state `CollectRepositoryJobs` (template.yaml: CollectRepositoryJobsFunction). */
import { lambdaHandler } from './lambda-handler.ts';

export const handler = lambdaHandler('CollectRepositoryJobs');
