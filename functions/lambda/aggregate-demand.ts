/** Lambda entry point of the Task state `AggregateDemand` (template.yaml: AggregateDemandFunction). */
import { lambdaHandler } from './lambda-handler.ts';

export const handler = lambdaHandler('AggregateDemand');
