import {
  DeleteParameterCommand,
  GetParametersByPathCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createSsmRunnerConfigStore } from '../functions/adapters/ssm-runner-configs.ts';
import { RunnerConfigsUnavailableError } from '../functions/errors.ts';

const ssm = mockClient(SSMClient);
const store = () =>
  createSsmRunnerConfigStore({
    client: new SSMClient({ region: 'eu-west-1' }),
    stack: 'ci',
    instanceArnPrefix: 'arn:aws:ec2:eu-west-1:123456789012:instance/',
  });

describe('SSM runner config store', () => {
  beforeEach(() => ssm.reset());

  it('stores a config as a SecureString under the stack path, tagged with its one instance', async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    await store().put('i-0abc', 'ENCODED');
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input).toEqual({
      Name: '/stepscale/ci/runners/i-0abc',
      Value: 'ENCODED',
      Type: 'SecureString',
      Tier: 'Intelligent-Tiering',
      // The runner role reads a parameter only when this tag is the calling instance's ARN (template.yaml).
      Tags: [{ Key: 'stepscale:instance-arn', Value: 'arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc' }],
      Description: 'stepscale just-in-time runner config; read once and deleted by its instance',
    });
  });

  it('counts a parameter an earlier attempt already created as stored (tags cannot go with Overwrite)', async () => {
    ssm.on(PutParameterCommand).rejects(new ParameterAlreadyExists({ message: 'exists', $metadata: {} }));
    await expect(store().put('i-0abc', 'ENCODED')).resolves.toBeUndefined();
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.Overwrite).toBeUndefined();
  });

  it('treats removing a parameter that is already gone as done', async () => {
    ssm.on(DeleteParameterCommand).rejects(new ParameterNotFound({ message: 'gone', $metadata: {} }));
    await expect(store().remove('i-0abc')).resolves.toBeUndefined();
    expect(ssm.commandCalls(DeleteParameterCommand)[0]?.args[0].input).toEqual({
      Name: '/stepscale/ci/runners/i-0abc',
    });
  });

  it('passes other failures on', async () => {
    ssm
      .on(DeleteParameterCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(store().remove('i-0abc')).rejects.toThrow('Rate exceeded');
  });

  it('names throttling and outages RunnerConfigsUnavailableError, which the state machine retries', async () => {
    // Prepare: SSM's throttling (a generic ServiceException named ThrottlingException) and a 500.
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    const outage = Object.assign(new Error('Internal'), {
      name: 'InternalServerError',
      $fault: 'server',
      $metadata: { httpStatusCode: 500 },
    });
    ssm.on(PutParameterCommand).rejects(throttled);
    ssm.on(DeleteParameterCommand).rejects(outage);
    ssm.on(GetParametersByPathCommand).rejects(throttled);

    // Act + Assess
    await expect(store().put('i-0abc', 'ENCODED')).rejects.toMatchObject({
      name: 'RunnerConfigsUnavailableError',
      message: 'storing the runner config of i-0abc failed (ThrottlingException): Rate exceeded',
      cause: throttled,
    });
    await expect(store().remove('i-0abc')).rejects.toBeInstanceOf(RunnerConfigsUnavailableError);
    await expect(store().list()).rejects.toMatchObject({
      name: 'RunnerConfigsUnavailableError',
      message: expect.stringMatching(/^listing runner configs failed/),
    });
  });

  it('passes a refusal on under its own name: retrying would not help', async () => {
    const denied = Object.assign(new Error('not allowed'), {
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    ssm.on(PutParameterCommand).rejects(denied);
    await expect(store().put('i-0abc', 'ENCODED')).rejects.toBe(denied);
  });

  it('lists every page without decrypting anything', async () => {
    ssm
      .on(GetParametersByPathCommand, { NextToken: undefined })
      .resolves({
        Parameters: [
          { Name: '/stepscale/ci/runners/i-01', LastModifiedDate: new Date('2026-01-05T09:00:00Z') },
        ],
        NextToken: 'page-2',
      })
      .on(GetParametersByPathCommand, { NextToken: 'page-2' })
      .resolves({
        Parameters: [
          { Name: '/stepscale/ci/runners/i-02', LastModifiedDate: new Date('2026-01-05T09:01:00Z') },
        ],
      });
    const configs = await store().list();
    expect(configs).toEqual([
      { instanceId: 'i-01', storedAt: '2026-01-05T09:00:00.000Z' },
      { instanceId: 'i-02', storedAt: '2026-01-05T09:01:00.000Z' },
    ]);
    for (const call of ssm.commandCalls(GetParametersByPathCommand)) {
      expect(call.args[0].input).toMatchObject({
        Path: '/stepscale/ci/runners',
        Recursive: false,
        WithDecryption: false,
      });
    }
    expect(ssm.commandCalls(GetParametersByPathCommand)).toHaveLength(2);
  });
});
