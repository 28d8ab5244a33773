/**
 * The stand-in's webhook: GitHub's side of a `workflow_job` delivery, over HTTP. Each delivery the world makes
 * is POSTed to the receiver's URL as GitHub sends it — the JSON body, `X-GitHub-Event`, `X-GitHub-Delivery`,
 * `X-Hub-Signature-256` (HMAC-SHA256 of the body with the hook's secret) and GitHub's user agent — and the
 * receiver's answer is recorded, as GitHub's delivery log shows it.
 */
import { sign } from '@octokit/webhooks-methods';
import type { WebhookDelivery } from '../world/webhooks.ts';

export interface DeliveryAnswer {
  readonly delivery: WebhookDelivery;
  readonly status: number;
  readonly body: string;
}

export async function sendDelivery(
  url: string,
  secret: string,
  delivery: WebhookDelivery,
): Promise<DeliveryAnswer> {
  const body = JSON.stringify(delivery.payload);
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/stepscale-standin',
      'x-github-event': delivery.event,
      'x-github-delivery': delivery.guid,
      'x-github-hook-id': '1',
      'x-hub-signature-256': await sign(secret, body),
    },
    body,
  });
  return { delivery, status: response.status, body: await response.text() };
}
