/**
 * Just-in-time runner configs in SSM Parameter Store: one SecureString per instance under
 * `/stepscale/<stack>/runners/<instance-id>`. The instance's bootstrap reads its own parameter once and
 * deletes it; anything left behind (instance died before reading) is cleaned up by ScaleDown.
 *
 * Each parameter carries the tag `stepscale:instance-arn` with the ARN of the one instance it is for. The
 * runner role may read and delete a parameter only when that tag equals the calling instance's own ARN
 * (`${ec2:SourceInstanceARN}`, see template.yaml), so a job that gains root on one runner cannot take the
 * configs of runners still booting.
 *
 * Throttling (Parameter Store allows 40 TPS per account and region by default, Get and Put together), 5xx and
 * network failures leave as RunnerConfigsUnavailableError, which the state machine retries; refusals (e.g.
 * AccessDeniedException) leave under the SDK's name.
 */
import {
  DeleteParameterCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  PutParameterCommand,
  paginateGetParametersByPath,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { RunnerConfigsUnavailableError } from '../errors.ts';
import type { RunnerConfigStore, StoredRunnerConfig } from '../ports/runner-configs.ts';
import { toRetryableAwsError } from './aws-errors.ts';

export function runnerConfigPath(stack: string): string {
  return `/stepscale/${stack}/runners`;
}

/** The tag whose value must be the calling instance's ARN for it to read or delete the parameter. */
export const instanceArnTag = 'stepscale:instance-arn';

export interface SsmRunnerConfigStoreOptions {
  readonly client: SSMClient;
  readonly stack: string;
  /** `arn:<partition>:ec2:<region>:<account>:instance/`: an instance's ARN is this and its id. */
  readonly instanceArnPrefix: string;
}

export function createSsmRunnerConfigStore(options: SsmRunnerConfigStoreOptions): RunnerConfigStore {
  const { client, instanceArnPrefix } = options;
  const path = runnerConfigPath(options.stack);
  const nameOf = (instanceId: string) => `${path}/${instanceId}`;
  const failure = (error: unknown, action: string) =>
    toRetryableAwsError(
      error,
      (message, errorOptions) => new RunnerConfigsUnavailableError(message, errorOptions),
      action,
    );

  return {
    async put(instanceId, encodedJitConfig) {
      try {
        await client.send(
          new PutParameterCommand({
            Name: nameOf(instanceId),
            Value: encodedJitConfig,
            Type: 'SecureString',
            // JIT configs can pass the 4 KB Standard limit; Intelligent-Tiering picks Advanced only then.
            Tier: 'Intelligent-Tiering',
            // Tags are set only when a parameter is created (SSM refuses them with Overwrite).
            Tags: [{ Key: instanceArnTag, Value: `${instanceArnPrefix}${instanceId}` }],
            Description: 'stepscale just-in-time runner config; read once and deleted by its instance',
          }),
        );
      } catch (error) {
        // Written by an earlier attempt for the same registration (a retry gets 409 from GitHub before
        // writing again): the instance finds that config.
        if (!(error instanceof ParameterAlreadyExists))
          throw failure(error, `storing the runner config of ${instanceId}`);
      }
    },

    async remove(instanceId) {
      try {
        await client.send(new DeleteParameterCommand({ Name: nameOf(instanceId) }));
      } catch (error) {
        if (!(error instanceof ParameterNotFound))
          throw failure(error, `removing the runner config of ${instanceId}`);
      }
    },

    async list() {
      const configs: StoredRunnerConfig[] = [];
      // Without decryption: only names and times are needed, and the secrets never leave SSM here.
      const pages = paginateGetParametersByPath(
        { client },
        { Path: path, Recursive: false, WithDecryption: false },
      );
      try {
        for await (const page of pages) {
          for (const parameter of page.Parameters ?? []) {
            const instanceId = parameter.Name?.slice(path.length + 1);
            if (!instanceId) continue;
            configs.push({ instanceId, storedAt: (parameter.LastModifiedDate ?? new Date(0)).toISOString() });
          }
        }
      } catch (error) {
        throw failure(error, 'listing runner configs');
      }
      return configs;
    },
  };
}
