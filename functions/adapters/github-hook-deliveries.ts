/**
 * The App webhook's deliveries on GitHub (`GET /app/hook/deliveries`, `POST …/{delivery_id}/attempts`), through
 * the project's one GitHub client: both routes are the App's own, so the transport signs them with the App's JWT
 * (github-auth.ts), never an installation token. Pages follow the `cursor` GitHub puts in the Link header.
 */
import type { FailedDelivery } from '../core/redelivery.ts';
import { ConfigError } from '../errors.ts';
import type { HookDeliveries } from '../ports/hook-deliveries.ts';
import { toGitHubError } from './github-errors.ts';
import { createOctokit, type GitHubClientOptions } from './github-octokit.ts';
import { linkTarget } from './github-repositories.ts';

interface HookDeliveryItem {
  readonly id: number;
  readonly guid: string;
  readonly delivered_at: string;
  readonly status_code: number;
  readonly event: string;
  readonly action: string | null;
}

/** GitHub's deliveries route answers pages of at most 100. */
const perPage = 100;

export function createGitHubHookDeliveries(options: GitHubClientOptions): HookDeliveries {
  if (options.auth?.type !== 'app') {
    throw new ConfigError(['github.auth: listing and redelivering webhook deliveries needs GitHub App auth']);
  }
  const octokit = createOctokit(options);
  return {
    async listFailed(since, maxPages) {
      const failed: FailedDelivery[] = [];
      let cursor: string | undefined;
      try {
        for (let page = 0; page < maxPages; page += 1) {
          const response = await octokit.request('GET /app/hook/deliveries', {
            per_page: perPage,
            ...(cursor ? { cursor } : {}),
          });
          const items = response.data as HookDeliveryItem[];
          for (const item of items) {
            // Anything but 2xx/3xx failed: an error answer, or none at all (a timeout or no connection).
            if (item.status_code >= 200 && item.status_code < 400) continue;
            failed.push({
              id: item.id,
              guid: item.guid,
              deliveredAt: item.delivered_at,
              event: item.event,
              action: item.action,
            });
          }
          const oldest = items.at(-1);
          if (!oldest || Date.parse(oldest.delivered_at) < since.getTime()) break;
          cursor = linkTarget(response.headers.link, 'next')?.searchParams.get('cursor') ?? undefined;
          if (!cursor) break;
        }
      } catch (error) {
        throw toGitHubError(error, 'listing the webhook deliveries');
      }
      return failed.filter((delivery) => Date.parse(delivery.deliveredAt) >= since.getTime());
    },

    async redeliver(deliveryId) {
      try {
        await octokit.request('POST /app/hook/deliveries/{delivery_id}/attempts', {
          delivery_id: deliveryId,
        });
      } catch (error) {
        throw toGitHubError(error, `redelivering webhook delivery ${deliveryId}`);
      }
    },
  };
}
