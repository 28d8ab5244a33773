/** The cycle starter inside Lambda: StartExecution of the scaling state machine (`STEPSCALE_STATE_MACHINE_ARN`). */
import { SFNClient } from '@aws-sdk/client-sfn';
import { createSfnCycleStarter } from '../../adapters/sfn-cycle-starter.ts';
import { ConfigError } from '../../errors.ts';
import type { CycleStarter } from '../../ports/cycle-starter.ts';
import type { WiringContext } from './context.ts';

export function lambdaCycleStarter({ env }: WiringContext): CycleStarter {
  const stateMachineArn = env.STEPSCALE_STATE_MACHINE_ARN;
  if (!stateMachineArn)
    throw new ConfigError([
      'STEPSCALE_STATE_MACHINE_ARN: environment variable is not set (the scaling state machine to start cycles of)',
    ]);
  return createSfnCycleStarter({ client: new SFNClient({}), stateMachineArn });
}
