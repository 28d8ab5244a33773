/**
 * What the runner scale set listener costs a month (template.yaml: ListenFunction, ListenerStateMachine), per
 * stack and per scale set. The listener is one Lambda function serving every scale set's session at once, so
 * its time is paid once whatever the number of scale sets; what grows with them is the state table's writes.
 * With M = 2,592,000 seconds a month (30 days), a round of R seconds (`scaleSets.listenSeconds`, 840), the
 * function's memory G (128 MB) and N scale sets:
 *
 *   Lambda          = M × G × $0.0000133334 + M/R × $0.20/1e6          (it waits on long polls: billed wall time)
 *   Step Functions  = (M/R × 2 + 720 × 4) × $0.025/1e3                 (STANDARD: Listen and NextRound per round;
 *                                                                       the hourly start: 4 states, stops at once)
 *   Scheduler       = 720 × $1.00/1e6                                  (the hourly start)
 *   DynamoDB        = N × (M/60 + 3 × M/R) × $0.625/1e6                (per scale set: the statistics confirmed every
 *                   + N × M/R × $0.125/1e6                              minute; lease, session id and close per round;
 *                                                                       one read of the states per round)
 *   CloudWatch Logs = M/R × 2 KB × $0.50/1e6                           (a few lines per round while idle)
 *
 * Demand adds messages (one state write each) and the cycles the listener starts (EXPRESS, like the scheduled
 * ones: see cost.ts); the simulator counts those per 1,000 jobs. The Actions service's own calls cost nothing.
 */
import { prices } from './cost.ts';
import { round } from './metrics.ts';

export const secondsPerMonth = 30 * 86_400;
const hourlyStartsPerMonth = 30 * 24;

export interface ListenerCostInputs {
  readonly scaleSets: number;
  /** scaleSets.listenSeconds (840 by default). */
  readonly listenSeconds: number;
  /** ListenFunction's MemorySize (128). */
  readonly memoryMb: number;
}

export interface ListenerCost {
  readonly scaleSets: number;
  readonly lambda: number;
  readonly stepFunctions: number;
  readonly scheduler: number;
  readonly dynamodb: number;
  readonly logs: number;
  readonly total: number;
  readonly perScaleSet: number;
}

export function listenerMonthlyCost(inputs: ListenerCostInputs): ListenerCost {
  const rounds = secondsPerMonth / inputs.listenSeconds;
  const lambda =
    secondsPerMonth * (inputs.memoryMb / 1024) * prices.lambdaPerGbSecond + rounds * prices.lambdaPerRequest;
  const stepFunctions = (rounds * 2 + hourlyStartsPerMonth * 4) * prices.standardPerTransition;
  const scheduler = hourlyStartsPerMonth * (1 / 1e6);
  const dynamodb =
    inputs.scaleSets * (secondsPerMonth / 60 + 3 * rounds) * prices.dynamoPerWriteUnit +
    inputs.scaleSets * rounds * prices.dynamoPerReadUnit;
  const logs = ((rounds * 2_000) / 1e9) * prices.logsPerGbIngested;
  const total = lambda + stepFunctions + scheduler + dynamodb + logs;
  return {
    scaleSets: inputs.scaleSets,
    lambda: round(lambda, 2),
    stepFunctions: round(stepFunctions, 2),
    scheduler: round(scheduler, 4),
    dynamodb: round(dynamodb, 2),
    logs: round(logs, 4),
    total: round(total, 2),
    perScaleSet: round(total / Math.max(1, inputs.scaleSets), 2),
  };
}
