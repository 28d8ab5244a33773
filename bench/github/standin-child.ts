/**
 * The child process behind {@link startStandinProcess}: seeds the bench organization, serves it with the
 * GitHub stand-in on 127.0.0.1 and answers the parent's questions over IPC (see standin-process.ts).
 */
import { startGitHubStandin } from '../../local/github-standin/server.ts';
import { naiveTotals, seedOrganization } from './organization.ts';
import type { ChildCall, ChildMessage, StandinProcessOptions } from './standin-process.ts';

const send = (message: ChildMessage) => process.send?.(message);

const options = JSON.parse(process.env.STEPSCALE_BENCH_STANDIN ?? '{}') as StandinProcessOptions;
const organization = seedOrganization(options.size);
const standin = await startGitHubStandin({
  state: organization.state,
  token: options.token,
  latencyMs: options.latencyMs,
  // This bench measures what a cycle's scan costs with the secondary cap lifted (see github.ts); GitHub's
  // secondary limits are the governor's and the write budget's to respect, measured in the simulator.
  secondaryLimits: false,
});

async function answer(call: ChildCall): Promise<unknown> {
  switch (call.op) {
    case 'makeBusy':
      organization.makeBusy();
      return undefined;
    case 'requestCount':
      return standin.requests.length;
    case 'requests':
      return standin.requests
        .slice(call.from)
        .map(({ method, path, status }) => ({ method, path, ...(status === undefined ? {} : { status }) }));
    case 'naiveTotals':
      return naiveTotals(organization);
    case 'close':
      await standin.close();
      return undefined;
  }
}

process.on('message', (call: ChildCall) => {
  answer(call).then(
    (result) => {
      send({ type: 'result', id: call.id, result });
      if (call.op === 'close') process.disconnect();
    },
    (error: unknown) => send({ type: 'result', id: call.id, error: String(error) }),
  );
});
// The parent went away: nothing is left to serve.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', url: standin.url });
