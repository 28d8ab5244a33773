/**
 * The one AWS error classifier (aws-errors.ts) over the error shapes EC2, SSM and DynamoDB actually throw
 * (the SDK's own exception classes), Node's socket errors and failures that are not AWS answers at all; and
 * what each adapter names them for the state machine.
 */
import {
  ConditionalCheckFailedException,
  DynamoDBServiceException,
  InternalServerError as DynamoDbInternalServerError,
  ThrottlingException as DynamoDbThrottlingException,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import {
  ParameterLimitExceeded,
  ParameterNotFound,
  SSMServiceException,
  InternalServerError as SsmInternalServerError,
  TooManyUpdates,
} from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import {
  type AwsFailureKind,
  awsFailureKind,
  toFleetError,
  toRetryableAwsError,
} from '../functions/adapters/aws-errors.ts';
import { storeFailure } from '../functions/adapters/dynamodb-state-store.ts';
import { RunnerConfigsUnavailableError, StateStoreUnavailableError } from '../functions/errors.ts';
import { ec2Error } from './support/fake-ec2.ts';

const metadata = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });
/** An exception the service's model names, as the SDK throws it: its own class, with the HTTP status. */
const modelled = (
  Exception: new (options: { message: string; $metadata: { httpStatusCode: number } }) => Error,
  message: string,
  status: number,
) => new Exception({ message, ...metadata(status) });
/**
 * What a service sends for errors its model does not name (SSM's throttling among them): its generic
 * ServiceException, named by the answer.
 */
const unmodelled =
  (ServiceException: typeof SSMServiceException | typeof DynamoDBServiceException) =>
  (name: string, status: number) =>
    new ServiceException({
      name,
      message: `${name} (fake)`,
      $fault: status >= 500 ? 'server' : 'client',
      ...metadata(status),
    });
const ssmError = unmodelled(SSMServiceException);
const dynamoDbError = unmodelled(DynamoDBServiceException);
const nodeError = (code: string) => Object.assign(new Error(`${code} (fake)`), { code });

const rows: { label: string; error: unknown; kind: AwsFailureKind }[] = [
  // EC2
  {
    label: 'EC2 RequestLimitExceeded (503)',
    error: ec2Error('RequestLimitExceeded', 503),
    kind: 'throttled',
  },
  { label: 'EC2 Throttling', error: ec2Error('Throttling'), kind: 'throttled' },
  { label: 'EC2 a bare 429', error: ec2Error('SomethingNew', 429), kind: 'throttled' },
  { label: 'EC2 Unavailable (503)', error: ec2Error('Unavailable', 503), kind: 'unavailable' },
  { label: 'EC2 InternalError (500)', error: ec2Error('InternalError', 500), kind: 'unavailable' },
  { label: 'EC2 an unknown 501', error: ec2Error('SomethingNew', 501), kind: 'unavailable' },
  {
    label: 'EC2 UnauthorizedOperation (403)',
    error: ec2Error('UnauthorizedOperation', 403),
    kind: 'refused',
  },
  {
    label: 'EC2 InsufficientInstanceCapacity (500)',
    error: ec2Error('InsufficientInstanceCapacity', 500),
    kind: 'unavailable',
  },
  // SSM
  { label: 'SSM ThrottlingException (400)', error: ssmError('ThrottlingException', 400), kind: 'throttled' },
  {
    label: 'SSM TooManyUpdates',
    error: modelled(TooManyUpdates, 'concurrent updates', 400),
    kind: 'throttled',
  },
  {
    label: 'SSM InternalServerError (500)',
    error: modelled(SsmInternalServerError, 'oops', 500),
    kind: 'unavailable',
  },
  {
    label: 'SSM InternalServerError without a status',
    error: new SsmInternalServerError({ message: 'oops', $metadata: {} }),
    kind: 'unavailable',
  },
  {
    label: 'SSM AccessDeniedException (400)',
    error: ssmError('AccessDeniedException', 400),
    kind: 'refused',
  },
  {
    label: 'SSM ParameterLimitExceeded',
    error: modelled(ParameterLimitExceeded, 'too many', 400),
    kind: 'refused',
  },
  { label: 'SSM ParameterNotFound', error: modelled(ParameterNotFound, 'gone', 400), kind: 'refused' },
  // DynamoDB
  {
    label: 'DynamoDB ProvisionedThroughputExceededException',
    error: modelled(ProvisionedThroughputExceededException, 'slow down', 400),
    kind: 'throttled',
  },
  {
    label: 'DynamoDB RequestLimitExceeded',
    error: modelled(RequestLimitExceeded, 'account limit', 400),
    kind: 'throttled',
  },
  {
    label: 'DynamoDB ThrottlingException',
    error: modelled(DynamoDbThrottlingException, 'control plane', 400),
    kind: 'throttled',
  },
  {
    label: 'DynamoDB InternalServerError (500)',
    error: modelled(DynamoDbInternalServerError, 'oops', 500),
    kind: 'unavailable',
  },
  { label: 'DynamoDB a bare 503', error: dynamoDbError('ServiceUnavailable', 503), kind: 'unavailable' },
  {
    label: 'DynamoDB ResourceNotFoundException',
    error: modelled(ResourceNotFoundException, 'no table', 400),
    kind: 'refused',
  },
  {
    label: 'DynamoDB ConditionalCheckFailedException',
    error: modelled(ConditionalCheckFailedException, 'condition', 400),
    kind: 'refused',
  },
  // Any of them: the SDK's own failures and Node's
  { label: 'socket reset', error: nodeError('ECONNRESET'), kind: 'unavailable' },
  { label: 'connection aborted', error: nodeError('ECONNABORTED'), kind: 'unavailable' },
  { label: 'DNS failure', error: nodeError('EAI_AGAIN'), kind: 'unavailable' },
  {
    label: 'SDK timeout',
    error: Object.assign(new Error('timed out'), { name: 'TimeoutError' }),
    kind: 'unavailable',
  },
  {
    label: 'a retryable trait',
    error: Object.assign(new Error('try again'), { name: 'Whatever', $retryable: {} }),
    kind: 'unavailable',
  },
  // Not AWS answers
  { label: 'a plain Error', error: new Error('network'), kind: 'unknown' },
  { label: 'a TypeError (a bug)', error: new TypeError('x is undefined'), kind: 'unknown' },
  { label: 'a string', error: 'a string', kind: 'unknown' },
  { label: 'null', error: null, kind: 'unknown' },
];

describe('Function: awsFailureKind', () => {
  it.each(rows)('classifies $label as $kind', ({ error, kind }) => {
    expect(awsFailureKind(error)).toBe(kind);
  });
});

describe('What each adapter names a failure', () => {
  const fleetName: Record<AwsFailureKind, string> = {
    throttled: 'FleetThrottledError',
    unavailable: 'FleetUnavailableError',
    refused: 'FleetRequestError',
    unknown: 'FleetRequestError',
  };

  it.each(rows)('EC2: $label', ({ error, kind, label }) => {
    const named = toFleetError(error, 'launching');
    // Capacity is EC2's own rule, asked before unavailability (EC2 answers it with a 500).
    const expected = label.includes('Capacity') ? 'FleetCapacityError' : fleetName[kind];
    expect(named.name).toBe(expected);
    expect(named.cause).toBe(error);
  });

  it.each(rows)('SSM and DynamoDB: $label', ({ error, kind }) => {
    // Prepare
    const asRunnerConfigs = (message: string, options: ErrorOptions) =>
      new RunnerConfigsUnavailableError(message, options);

    // Act
    const fromSsm = toRetryableAwsError(error, asRunnerConfigs, 'storing a runner config');
    const fromDynamoDb = storeFailure('state', error);

    // Assess: a refusal keeps the SDK's own name; everything else is the store's retryable error.
    if (kind === 'refused') {
      expect(fromSsm).toBe(error);
      expect(fromDynamoDb).toBe(error);
    } else {
      expect(fromSsm).toBeInstanceOf(RunnerConfigsUnavailableError);
      expect(fromSsm).toMatchObject({ name: 'RunnerConfigsUnavailableError', cause: error });
      expect((fromSsm as Error).message).toMatch(/^storing a runner config failed/);
      expect(fromDynamoDb).toBeInstanceOf(StateStoreUnavailableError);
      expect(fromDynamoDb).toMatchObject({ name: 'StateStoreUnavailableError', cause: error });
    }
  });

  it('passes an error that is already named through unchanged', () => {
    const named = new StateStoreUnavailableError('left unprocessed');
    expect(storeFailure('state', named)).toBe(named);
    expect(toFleetError(named)).toBe(named);
  });
});
