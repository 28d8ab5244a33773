/**
 * The cycle starter on Step Functions: one StartExecution of the scaling state machine. A name already used
 * is `ExecutionAlreadyExists` on a STANDARD state machine (whose names are unique for 90 days); any other
 * failure is a {@link CycleStartError} carrying the AWS error's name, never the input.
 */
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { StepscaleError } from '../errors.ts';
import type { CycleStarter } from '../ports/cycle-starter.ts';

/** StartExecution failed (throttled, unreachable, not permitted); the receiver answers 500 and GitHub keeps it failed. */
export class CycleStartError extends StepscaleError {
  override readonly name = 'CycleStartError';
}

export interface SfnCycleStarterOptions {
  readonly client: SFNClient;
  readonly stateMachineArn: string;
}

export function createSfnCycleStarter({ client, stateMachineArn }: SfnCycleStarterOptions): CycleStarter {
  return {
    async start({ name, input }) {
      try {
        await client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
        return 'started';
      } catch (error) {
        const errorName = (error as { name?: unknown } | null)?.name;
        if (errorName === 'ExecutionAlreadyExists') return 'exists';
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        throw new CycleStartError(`StartExecution on ${stateMachineArn}: ${reason}`, { cause: error });
      }
    },
  };
}
