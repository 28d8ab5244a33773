/**
 * Just-in-time runner configs in SSM Parameter Store: one SecureString per instance under
 * `/stepscale/<stack>/runners/<instance-id>`. The instance's bootstrap reads its own parameter once and
 * deletes it; anything left behind (instance died before reading) is cleaned up by ScaleDown.
 */
import {
  DeleteParameterCommand,
  ParameterNotFound,
  PutParameterCommand,
  paginateGetParametersByPath,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { RunnerConfigStore, StoredRunnerConfig } from '../ports/runner-configs.ts';

export function runnerConfigPath(stack: string): string {
  return `/stepscale/${stack}/runners`;
}

export function createSsmRunnerConfigStore(options: { client: SSMClient; stack: string }): RunnerConfigStore {
  const { client } = options;
  const path = runnerConfigPath(options.stack);
  const nameOf = (instanceId: string) => `${path}/${instanceId}`;

  return {
    async put(instanceId, encodedJitConfig) {
      await client.send(
        new PutParameterCommand({
          Name: nameOf(instanceId),
          Value: encodedJitConfig,
          Type: 'SecureString',
          // JIT configs can pass the 4 KB Standard limit; Intelligent-Tiering picks Advanced only then.
          Tier: 'Intelligent-Tiering',
          // A retried ScaleUp writes the same instance's parameter again.
          Overwrite: true,
          Description: 'stepscale just-in-time runner config; read once and deleted by the instance',
        }),
      );
    },

    async remove(instanceId) {
      try {
        await client.send(new DeleteParameterCommand({ Name: nameOf(instanceId) }));
      } catch (error) {
        if (!(error instanceof ParameterNotFound)) throw error;
      }
    },

    async list() {
      const configs: StoredRunnerConfig[] = [];
      // Without decryption: only names and times are needed, and the secrets never leave SSM here.
      const pages = paginateGetParametersByPath(
        { client },
        { Path: path, Recursive: false, WithDecryption: false },
      );
      for await (const page of pages) {
        for (const parameter of page.Parameters ?? []) {
          const instanceId = parameter.Name?.slice(path.length + 1);
          if (!instanceId) continue;
          configs.push({ instanceId, storedAt: (parameter.LastModifiedDate ?? new Date(0)).toISOString() });
        }
      }
      return configs;
    },
  };
}
