/** What the local servers (the GitHub stand-in, the Lambda endpoint, the webhook receiver) share. */
import type { IncomingMessage } from 'node:http';

/** A request's whole body as UTF-8 text. */
export async function readText(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
