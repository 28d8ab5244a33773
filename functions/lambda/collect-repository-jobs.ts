/** Lambda entry point of the Task state `CollectRepositoryJobs` (template.yaml: CollectRepositoryJobsFunction). */
import { collectRepositoryJobs, collectRepositoryJobsNeeds } from '../handlers/collect-repository-jobs.ts';
import { lambdaHandler } from './lambda-handler.ts';
import { lambdaGitHub } from './wiring/github.ts';

export const handler = lambdaHandler(
  'CollectRepositoryJobs',
  { needs: collectRepositoryJobsNeeds, create: collectRepositoryJobs },
  { github: lambdaGitHub },
);
