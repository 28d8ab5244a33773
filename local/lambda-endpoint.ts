/**
 * The Task handlers served over the Lambda Invoke API, for Step Functions Local (`amazon/aws-stepfunctions-local`,
 * started with `LAMBDA_ENDPOINT` pointing here): `POST /2015-03-31/functions/{FunctionName}/invocations` with the
 * Task's input as the body answers 200 with the handler's result, or — as Lambda reports a function error —
 * 200 with `X-Amz-Function-Error: Unhandled` and `{"errorType", "errorMessage", "trace"}`, so the state machine's
 * Retry and Catch match the error's name as they do on AWS. The handlers run in this process on the local world's
 * ports (the same deps `npm start` gives the embedded executor), so only Step Functions Local needs Docker.
 *
 * Function names are the template's logical ids (`ListRepositoriesFunction`, as `sam local start-lambda` serves
 * them) or the Task names; a name may come as an ARN, with or without a qualifier.
 */

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HandlerDeps } from '../functions/handlers/deps.ts';
import { type TaskName, taskHandlers } from '../functions/handlers/index.ts';
import { readText } from './http.ts';

export interface LambdaEndpointOptions {
  readonly deps: HandlerDeps;
  /** Port to listen on (0: any free one). */
  readonly port?: number;
  /** Address to listen on; a container reaches the host only on an address other than loopback. */
  readonly host?: string;
  /** Runs before each invocation (the world may let time pass). */
  readonly beforeTask?: (task: TaskName, input: unknown) => void | Promise<void>;
}

export interface Invocation {
  readonly functionName: string;
  readonly task?: TaskName;
  readonly errorType?: string;
}

export interface LambdaEndpoint {
  /** `http://host:port` as listened on. */
  readonly url: string;
  readonly port: number;
  /** Every invocation, in order. */
  readonly invocations: readonly Invocation[];
  close(): Promise<void>;
}

const invokePath = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/;

/** The Task a Lambda function name stands for: `ListRepositoriesFunction`, `ListRepositories`, or an ARN of either. */
export function taskOfFunction(functionName: string): TaskName | undefined {
  const decoded = decodeURIComponent(functionName);
  const name = decoded.includes(':function:')
    ? (decoded.split(':function:')[1]?.split(':')[0] ?? '')
    : decoded.split(':')[0];
  const task = name?.endsWith('Function') ? name.slice(0, -'Function'.length) : name;
  return task && Object.hasOwn(taskHandlers, task) ? (task as TaskName) : undefined;
}

/** The Lambda ARN the local definition names for a Task; {@link taskOfFunction} reads it back. */
export const localFunctionArn = (task: string) =>
  `arn:aws:lambda:us-east-1:123456789012:function:${task}Function`;

export async function startLambdaEndpoint(options: LambdaEndpointOptions): Promise<LambdaEndpoint> {
  const handlers = new Map<TaskName, (input: unknown) => Promise<unknown>>();
  const handlerOf = (task: TaskName) => {
    let handler = handlers.get(task);
    if (!handler) {
      handler = taskHandlers[task](options.deps) as (input: unknown) => Promise<unknown>;
      handlers.set(task, handler);
    }
    return handler;
  };
  const invocations: Invocation[] = [];

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // Only a bug here lands in this catch; Lambda's own failure answer.
      send(res, 500, { Type: 'Service', message: String(error) }, { 'x-amzn-ErrorType': 'ServiceException' });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const match = invokePath.exec(new URL(req.url ?? '/', 'http://localhost').pathname);
    if (req.method !== 'POST' || !match) {
      send(res, 404, { Type: 'User', message: `Not a Lambda Invoke request: ${req.method} ${req.url}` });
      return;
    }
    const functionName = decodeURIComponent(match[1] ?? '');
    const task = taskOfFunction(functionName);
    const body = await readText(req);
    if (!task) {
      invocations.push({ functionName });
      send(
        res,
        404,
        { Type: 'User', message: `Function not found: ${functionName}` },
        { 'x-amzn-ErrorType': 'ResourceNotFoundException' },
      );
      return;
    }
    let input: unknown;
    try {
      input = body.length > 0 ? JSON.parse(body) : {};
    } catch {
      invocations.push({ functionName, task, errorType: 'InvalidRequestContentException' });
      send(
        res,
        400,
        { Type: 'User', message: 'Could not parse request body into json' },
        { 'x-amzn-ErrorType': 'InvalidRequestContentException' },
      );
      return;
    }
    try {
      await options.beforeTask?.(task, input);
      const output = await handlerOf(task)(input);
      invocations.push({ functionName, task });
      send(res, 200, output ?? null, { 'X-Amz-Executed-Version': '$LATEST' });
    } catch (error) {
      const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
      invocations.push({ functionName, task, errorType: name });
      send(
        res,
        200,
        { errorType: name, errorMessage: message, trace: [`${name}: ${message}`] },
        { 'X-Amz-Function-Error': 'Unhandled', 'X-Amz-Executed-Version': '$LATEST' },
      );
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    invocations,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
    ...headers,
  });
  res.end(text);
}
