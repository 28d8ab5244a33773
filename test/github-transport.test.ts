/**
 * The GitHub transport (github-transport.ts) on a bare Octokit with a scripted fetch: which answers are
 * retried, how often, after which waits (recorded, not slept), and what reaches GitHub at all. The rate-limit
 * rule it shares with the adapter's errors (rateLimitOf) is a table of its own. The end-to-end counts, through
 * the real adapter and the HTTP stand-in, are in github-adapter.test.ts and faults-github.test.ts.
 */
import { generateKeyPairSync } from 'node:crypto';
import { Octokit } from '@octokit/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { octokitAuthOptions } from '../functions/adapters/github-auth.ts';
import { rateLimitOf, toGitHubError } from '../functions/adapters/github-errors.ts';
import { type GitHubTransportOptions, githubTransport } from '../functions/adapters/github-transport.ts';

const now = new Date('2026-01-05T09:00:00Z');
const nowSeconds = now.getTime() / 1000;

beforeEach(() => {
  // Only the clock is frozen (a reset time becomes an exact wait); timers stay real.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(now);
});
afterEach(() => {
  vi.useRealTimers();
});

// ------------------------------------------------------------------------------------------- rateLimitOf

const failure = (status: number, headers: Record<string, string> = {}, message = 'Forbidden') =>
  Object.assign(new Error(message), { status, response: { headers } });
const secondaryMessage = 'You have exceeded a secondary rate limit.';
const primaryMessage = 'API rate limit exceeded for user ID 1.';

describe('Function: rateLimitOf', () => {
  it.each([
    {
      case: '403 with retry-after',
      error: failure(403, { 'retry-after': '30' }),
      signal: { limit: 'secondary', retryAfterSeconds: 30 },
    },
    {
      case: '429 with retry-after',
      error: failure(429, { 'retry-after': '2' }),
      signal: { limit: 'secondary', retryAfterSeconds: 2 },
    },
    {
      case: '403 naming a secondary limit, no retry-after',
      error: failure(403, {}, secondaryMessage),
      signal: { limit: 'secondary', retryAfterSeconds: undefined },
    },
    { case: 'a bare 429', error: failure(429), signal: { limit: 'secondary', retryAfterSeconds: undefined } },
    {
      case: '403 with the quota spent',
      error: failure(
        403,
        { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(nowSeconds + 90) },
        primaryMessage,
      ),
      signal: { limit: 'primary', retryAfterSeconds: 90 },
    },
    {
      case: '429 with the quota spent',
      error: failure(429, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(nowSeconds + 5) }),
      signal: { limit: 'primary', retryAfterSeconds: 5 },
    },
    {
      case: 'the quota spent, the reset passed',
      error: failure(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(nowSeconds - 5) }),
      signal: { limit: 'primary', retryAfterSeconds: 0 },
    },
    {
      case: 'the quota spent, retry-after too: retry-after first',
      error: failure(403, {
        'retry-after': '7',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(nowSeconds + 90),
      }),
      signal: { limit: 'primary', retryAfterSeconds: 7 },
    },
    {
      case: 'the quota spent, no reset',
      error: failure(403, { 'x-ratelimit-remaining': '0' }, primaryMessage),
      signal: { limit: 'primary', retryAfterSeconds: undefined },
    },
    {
      case: '403 saying "rate limit", no headers',
      error: failure(403, {}, primaryMessage),
      signal: { limit: 'secondary', retryAfterSeconds: undefined },
    },
    {
      case: 'retry-after that is not a number',
      error: failure(403, { 'retry-after': 'soon' }),
      signal: { limit: 'secondary', retryAfterSeconds: undefined },
    },
    {
      case: 'retry-after 0',
      error: failure(429, { 'retry-after': '0' }),
      signal: { limit: 'secondary', retryAfterSeconds: 0 },
    },
    {
      case: 'quota left (remaining 12)',
      error: failure(403, { 'x-ratelimit-remaining': '12' }, 'Resource not accessible by integration'),
      signal: undefined,
    },
    {
      case: 'an abuse-style 403 without headers',
      error: failure(403, {}, 'You have triggered an abuse detection mechanism.'),
      signal: undefined,
    },
    { case: '401', error: failure(401, {}, 'Bad credentials'), signal: undefined },
    { case: '404', error: failure(404, {}, 'Not Found'), signal: undefined },
    { case: '503 with retry-after', error: failure(503, { 'retry-after': '5' }), signal: undefined },
    { case: 'not an HTTP failure', error: new TypeError('x is undefined'), signal: undefined },
  ])('$case', ({ error, signal }) => {
    // Act
    const found = rateLimitOf(error);
    const named = toGitHubError(error, 'listing runners');

    // Assess: the retries and the adapter's error agree, as they ask the same function.
    expect(found).toEqual(signal);
    if (signal) {
      expect(named).toMatchObject({
        name: 'GitHubRateLimitError',
        retryAfterSeconds: signal.retryAfterSeconds,
      });
    } else {
      expect((named as Error).name).not.toBe('GitHubRateLimitError');
    }
  });
});

// ------------------------------------------------------------------------------------------ the transport

type Answer =
  | { readonly status: number; readonly headers?: Record<string, string>; readonly body?: string }
  | 'hang';

interface Sent {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
}

/** A fetch answering from a script, one answer a request (200 `[]` once it runs out), recording each. */
function scriptedFetch(script: readonly Answer[]) {
  const answers = [...script];
  const sent: Sent[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input instanceof Request ? input.url : input);
    sent.push({ method: init?.method ?? 'GET', url, headers: new Headers(init?.headers) });
    const answer = answers.shift() ?? { status: 200, body: '[]' };
    if (answer === 'hang') {
      return new Promise<Response>((_, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
      );
    }
    const { status, headers = {}, body } = answer;
    const response = new Response(status === 204 || status === 304 ? null : (body ?? '{}'), {
      status,
      headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    });
    return Object.defineProperty(response, 'url', { value: url });
  }) as typeof globalThis.fetch;
  return { fetch, sent };
}

const defaults: GitHubTransportOptions = {
  attemptTimeoutMs: 1000,
  serverErrorRetries: 2,
  rateLimitRetries: 2,
  maxRetryAfterSeconds: 20,
  retryAfterBaseValue: 1000,
  minWriteIntervalMs: 0,
  maxConcurrentRequests: 50,
  readOnly: false,
};

function client(
  script: readonly Answer[],
  options: Partial<GitHubTransportOptions> & { fetch?: typeof fetch; auth?: object } = {},
) {
  const { fetch: ownFetch, auth, ...transport } = options;
  const scripted = scriptedFetch(script);
  const waits: number[] = [];
  const warnings: unknown[] = [];
  const Client = Octokit.plugin(
    githubTransport({
      ...defaults,
      sleep: async (ms) => {
        waits.push(ms);
      },
      logger: {
        debug: () => {},
        warn: (message: unknown, ...fields: unknown[]) => {
          warnings.push([message, ...fields]);
        },
      },
      ...transport,
    }),
  );
  const octokit = new Client({
    ...(auth ?? { auth: 'ghp_transport' }),
    request: { fetch: ownFetch ?? scripted.fetch },
  });
  const listRunners = () => octokit.request('GET /orgs/{org}/actions/runners', { org: 'acme' });
  return { octokit, listRunners, sent: scripted.sent, waits, warnings };
}

const secondary = (headers: Record<string, string> = {}) => ({
  status: 403,
  headers,
  body: JSON.stringify({ message: secondaryMessage }),
});
const quotaSpent = (resetInSeconds: number) => ({
  status: 403,
  headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(nowSeconds + resetInSeconds) },
  body: JSON.stringify({ message: primaryMessage }),
});
const ok = { status: 200, body: '{"total_count":0,"runners":[]}' };

describe('Plugin: githubTransport', () => {
  it.each([
    // Outages: (n + 1)² seconds before retry n + 1, two retries.
    { case: '502, then an answer', script: [{ status: 502 }, ok], sent: 2, waits: [1000], fails: undefined },
    {
      case: '503 three times',
      script: [{ status: 503 }, { status: 503 }, { status: 503 }],
      sent: 3,
      waits: [1000, 4000],
      fails: 503,
    },
    {
      case: 'a hung attempt, then an answer',
      script: ['hang', ok],
      sent: 2,
      waits: [1000],
      fails: undefined,
    },
    {
      case: '408, an error no answer',
      script: [{ status: 408 }, ok],
      sent: 2,
      waits: [1000],
      fails: undefined,
    },
    // Rate limits: as long as GitHub says, up to maxRetryAfterSeconds, twice.
    {
      case: '429 with retry-after 3',
      script: [{ status: 429, headers: { 'retry-after': '3' } }, ok],
      sent: 2,
      waits: [3000],
      fails: undefined,
    },
    {
      case: '403 secondary limit with retry-after 1',
      script: [secondary({ 'retry-after': '1' }), ok],
      sent: 2,
      waits: [1000],
      fails: undefined,
    },
    {
      case: '403 with retry-after and any message',
      script: [{ status: 403, headers: { 'retry-after': '1' }, body: '{"message":"Forbidden"}' }, ok],
      sent: 2,
      waits: [1000],
      fails: undefined,
    },
    {
      case: 'the quota spent, reset in 5 s: until one second past it',
      script: [quotaSpent(5), ok],
      sent: 2,
      waits: [6000],
      fails: undefined,
    },
    { case: 'the quota spent, reset in an hour', script: [quotaSpent(3600)], sent: 1, waits: [], fails: 403 },
    {
      case: 'retry-after 30 (too long)',
      script: [secondary({ 'retry-after': '30' })],
      sent: 1,
      waits: [],
      fails: 403,
    },
    {
      case: 'a secondary limit naming no time (60 s)',
      script: [secondary()],
      sent: 1,
      waits: [],
      fails: 403,
    },
    { case: 'a bare 429 (60 s)', script: [{ status: 429 }], sent: 1, waits: [], fails: 429 },
    {
      case: 'retry-after 1 three times',
      script: [
        { status: 429, headers: { 'retry-after': '1' } },
        { status: 429, headers: { 'retry-after': '1' } },
        { status: 429, headers: { 'retry-after': '1' } },
      ],
      sent: 3,
      waits: [1000, 1000],
      fails: 429,
    },
    {
      case: 'a rate limit and an outage: each has its own retries',
      script: [{ status: 429, headers: { 'retry-after': '1' } }, { status: 502 }, ok],
      sent: 3,
      waits: [1000, 1000],
      fails: undefined,
    },
    // Answers: never retried.
    {
      case: 'an abuse-style 403',
      script: [{ status: 403, body: '{"message":"You have triggered an abuse detection mechanism."}' }],
      sent: 1,
      waits: [],
      fails: 403,
    },
    { case: '401', script: [{ status: 401 }], sent: 1, waits: [], fails: 401 },
    { case: '404', script: [{ status: 404 }], sent: 1, waits: [], fails: 404 },
    { case: '409', script: [{ status: 409 }], sent: 1, waits: [], fails: 409 },
    { case: '422', script: [{ status: 422 }], sent: 1, waits: [], fails: 422 },
    {
      case: '304 (a conditional request’s answer)',
      script: [{ status: 304 }],
      sent: 1,
      waits: [],
      fails: 304,
    },
  ] as { case: string; script: Answer[]; sent: number; waits: number[]; fails: number | undefined }[])(
    '$case: $sent request(s)',
    async ({ script, sent, waits, fails }) => {
      // Prepare
      const github = client(script, { attemptTimeoutMs: 50 });

      // Act
      const outcome = await github.listRunners().then(
        (response) => response.status,
        (error: { status?: number }) => ({ failedWith: error.status }),
      );

      // Assess
      expect(outcome).toEqual(fails === undefined ? 200 : { failedWith: fails });
      expect(github.sent).toHaveLength(sent);
      expect(github.waits).toEqual(waits);
    },
  );

  it('waits for a limit naming no time when maxRetryAfterSeconds allows a minute', async () => {
    const github = client([secondary(), ok], { maxRetryAfterSeconds: 60 });
    await github.listRunners();
    expect(github.waits).toEqual([60_000]);
  });

  it('logs each rate limit as a warning, saying whether it waits', async () => {
    const github = client([secondary({ 'retry-after': '1' }), quotaSpent(3600)]);
    await expect(github.listRunners()).rejects.toMatchObject({ status: 403 });
    expect(github.warnings).toEqual([
      [
        'GitHub secondary rate limit hit',
        expect.objectContaining({ method: 'GET', retryAfterSeconds: 1, retryCount: 0, willRetry: true }),
      ],
      [
        'GitHub primary rate limit hit',
        expect.objectContaining({ retryAfterSeconds: 3601, retryCount: 1, willRetry: false }),
      ],
    ]);
  });

  it('fails a JSON answer that does not parse, without retrying it', async () => {
    const github = client([{ status: 200, body: '{"total_count": 1, "runners": [' }]);
    await expect(github.listRunners()).rejects.toMatchObject({
      name: 'GitHubMalformedResponseError',
      message: expect.stringMatching(/malformed JSON/),
    });
    expect(github.sent).toHaveLength(1);
  });

  it('sends GitHub’s media type and API version on every request', async () => {
    const github = client([{ status: 502 }, ok]);
    await github.listRunners();
    for (const request of github.sent) {
      expect(request.headers.get('accept')).toBe('application/vnd.github+json');
      expect(request.headers.get('x-github-api-version')).toBe('2022-11-28');
    }
  });

  it('refuses a write in read-only mode without sending it, but lets an App create its token', async () => {
    // Prepare
    const github = client([{ status: 201, body: '{"token":"ghs_x"}' }], { readOnly: true });

    // Act + Assess
    await expect(
      github.octokit.request('DELETE /orgs/{org}/actions/runners/{runner_id}', { org: 'acme', runner_id: 1 }),
    ).rejects.toMatchObject({ name: 'GitHubWriteRefusedError' });
    expect(github.sent).toEqual([]);
    await github.octokit.request('POST /app/installations/{installation_id}/access_tokens', {
      installation_id: 9,
    });
    expect(github.sent.map((request) => `${request.method} ${new URL(request.url).pathname}`)).toEqual([
      'POST /app/installations/9/access_tokens',
    ]);
  });

  it('starts writes minWriteIntervalMs apart, and paces neither reads nor token creation', async () => {
    // Prepare: the clock stands still, so the second write waits the whole interval.
    const github = client([], { minWriteIntervalMs: 1000 });
    const deleteRunner = (runnerId: number) =>
      github.octokit.request('DELETE /orgs/{org}/actions/runners/{runner_id}', {
        org: 'acme',
        runner_id: runnerId,
      });

    // Act
    await deleteRunner(1);
    await github.listRunners();
    await github.octokit.request('POST /app/installations/{installation_id}/access_tokens', {
      installation_id: 9,
    });
    await deleteRunner(2);

    // Assess
    expect(github.waits).toEqual([1000]);
    expect(github.sent).toHaveLength(4);
  });

  it('keeps at most maxConcurrentRequests in flight', async () => {
    // Prepare: every answer waits until released.
    const held: (() => void)[] = [];
    let inFlight = 0;
    let peak = 0;
    const holdingFetch = (async (input: string | URL | Request) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise<void>((release) => held.push(release));
      inFlight -= 1;
      return Object.defineProperty(
        new Response(ok.body, { status: 200, headers: { 'content-type': 'application/json' } }),
        'url',
        { value: String(input) },
      );
    }) as typeof fetch;
    const github = client([], { maxConcurrentRequests: 2, fetch: holdingFetch });

    // Act: whatever is in flight is answered every few milliseconds, until all five are.
    let answered = 0;
    const requests = Promise.all(
      Array.from({ length: 5 }, () =>
        github.listRunners().then(() => {
          answered += 1;
        }),
      ),
    );
    while (answered < 5) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      for (const release of held.splice(0)) release();
    }
    await requests;

    // Assess
    expect(peak).toBe(2);
  });

  it('lets a GitHub App look up its installation and create its token from inside a full slot', async () => {
    // Prepare: one slot; the App's installation is not configured, so the first request looks it up and
    // creates a token, both from inside the slot it holds. Queued for that slot, they would wait forever.
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const sent: string[] = [];
    const appFetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(String(input));
      sent.push(`${init?.method ?? 'GET'} ${url.pathname}`);
      const body = url.pathname.endsWith('/installation')
        ? { id: 9 }
        : url.pathname.endsWith('/access_tokens')
          ? { token: 'ghs_x', expires_at: new Date(now.getTime() + 3_600_000).toISOString() }
          : JSON.parse(ok.body);
      return Object.defineProperty(
        new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } }),
        'url',
        { value: url.href },
      );
    }) as typeof fetch;
    const github = client([], {
      maxConcurrentRequests: 1,
      minWriteIntervalMs: 1000,
      fetch: appFetch,
      auth: octokitAuthOptions({ type: 'app', appId: 1, privateKey }, 'acme'),
    });

    // Act
    await Promise.all([github.listRunners(), github.listRunners(), github.listRunners()]);

    // Assess: one lookup, one token (not paced as a write), three listings.
    expect(sent.sort()).toEqual([
      'GET /orgs/acme/actions/runners',
      'GET /orgs/acme/actions/runners',
      'GET /orgs/acme/actions/runners',
      'GET /orgs/acme/installation',
      'POST /app/installations/9/access_tokens',
    ]);
    expect(github.waits).toEqual([]);
  });
});
