/** Lambda entry point of the Task state `AggregateDemand` (template.yaml: AggregateDemandFunction). */
import { aggregateDemand, aggregateDemandNeeds } from '../handlers/aggregate-demand.ts';
import { lambdaHandler } from './lambda-handler.ts';
import { lambdaStateStore, lambdaWebhookInbox } from './wiring/dynamodb.ts';

export const handler = lambdaHandler(
  'AggregateDemand',
  { needs: aggregateDemandNeeds, create: aggregateDemand },
  { stateStore: lambdaStateStore, webhookInbox: lambdaWebhookInbox },
);
