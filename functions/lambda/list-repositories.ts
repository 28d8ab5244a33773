/** Lambda entry point of the Task state `ListRepositories` (template.yaml: ListRepositoriesFunction). */
import { listRepositories, listRepositoriesNeeds } from '../handlers/list-repositories.ts';
import { lambdaHandler } from './lambda-handler.ts';
import { lambdaStateStore, lambdaWebhookInbox } from './wiring/dynamodb.ts';
import { lambdaGitHub } from './wiring/github.ts';

export const handler = lambdaHandler(
  'ListRepositories',
  { needs: listRepositoriesNeeds, create: listRepositories },
  { github: lambdaGitHub, stateStore: lambdaStateStore, webhookInbox: lambdaWebhookInbox },
);
