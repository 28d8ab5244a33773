/** The runner config store inside Lambda: SSM Parameter Store under `/stepscale/<stack>/runners/`. */
import { SSMClient } from '@aws-sdk/client-ssm';
import { createSsmRunnerConfigStore } from '../../adapters/ssm-runner-configs.ts';
import type { RunnerConfigStore } from '../../ports/runner-configs.ts';
import type { WiringContext } from './context.ts';

export function lambdaRunnerConfigs({ config, env }: WiringContext): RunnerConfigStore {
  return createSsmRunnerConfigStore({
    client: new SSMClient({}),
    stack: config.stack,
    instanceArnPrefix: env.STEPSCALE_INSTANCE_ARN_PREFIX,
  });
}
