/**
 * GitHub's REST API base URL from the web URL people copy from their browser. One tested function,
 * because getting the three forms wrong is a classic (ghe.com support was added, reverted and re-added elsewhere).
 *   https://github.com        → https://api.github.com (the API URL itself is accepted too)
 *   https://SUB.ghe.com       → https://api.SUB.ghe.com   (Enterprise Cloud with data residency)
 *   https://HOST[/path]       → https://HOST[/path]/api/v3 (Enterprise Server)
 */
export function apiUrlFor(webUrl: string): string {
  const url = new URL(webUrl);
  const host = url.hostname.toLowerCase();
  if (host === 'github.com' || host === 'www.github.com' || host === 'api.github.com')
    return 'https://api.github.com';
  if (host.endsWith('.ghe.com')) {
    // Someone who pasted the API URL already has it.
    const apiHost = host.startsWith('api.') ? host : `api.${host}`;
    return `${url.protocol}//${apiHost}${url.port ? `:${url.port}` : ''}`;
  }
  const base = `${url.origin}${url.pathname}`.replace(/\/+$/, '');
  return `${base}/api/v3`;
}

/**
 * The organization's web URL (`https://github.com/ORG`, `https://SUB.ghe.com/ORG`, `https://HOST/ORG`): where
 * runner scale sets are registered (the `url` the Actions service's runner-registration is given).
 */
export function organizationUrl(webUrl: string, org: string): string {
  return `${webUrl.replace(/\/+$/, '')}/${org}`;
}
