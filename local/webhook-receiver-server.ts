/**
 * The webhook receiver on a local HTTP port, for `npm start`: the production receiver
 * (functions/webhook/receiver.ts) behind node:http instead of a Lambda Function URL, the request passed as a
 * Function URL would pass it (lower-case headers, the raw body).
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { createWebhookReceiver } from '../functions/webhook/receiver.ts';
import { readText } from './http.ts';

export interface LocalWebhookReceiver {
  readonly url: string;
  close(): Promise<void>;
}

export async function startWebhookReceiver(
  receive: ReturnType<typeof createWebhookReceiver>,
): Promise<LocalWebhookReceiver> {
  const server = createServer((request, response) => {
    void (async () => {
      const body = await readText(request);
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([name, value]) => [
          name,
          Array.isArray(value) ? value.join(',') : value,
        ]),
      );
      const answer = await receive({ method: request.method ?? 'POST', headers, body });
      response.writeHead(answer.statusCode, { 'content-type': 'application/json' });
      response.end(answer.body);
    })().catch(() => {
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end('{"outcome":"failed"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
