/**
 * Secrets never leak: the local demo and `stepscale plan` run with recognizable credentials, every log line
 * (Powertools writes JSON to the process's stdout/stderr; the loggers run at DEBUG), every printed line and
 * every state input and output of every execution are captured, and none holds the token, the App private
 * key, an installation token or a just-in-time runner config.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../functions/cli/stepscale.ts';
import { createLogger } from '../functions/observability/logger.ts';
import { startGitHubStandin } from '../local/github-standin/server.ts';
import { runLocal } from '../local/local-run.ts';
import { GitHubState } from '../local/world/github.ts';
import { MemoryRunnerConfigStore } from '../local/world/runner-configs.ts';
import { testPool } from './support/fakes.ts';

const demo = fileURLToPath(new URL('../local/scenarios/demo.json', import.meta.url));

/** Everything written to the process's stdout and stderr while `work` runs (Powertools' Console writes there). */
async function capturingProcessOutput<T>(work: () => Promise<T>): Promise<{ value: T; output: string }> {
  const chunks: string[] = [];
  const capture = (chunk: unknown) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  try {
    return { value: await work(), output: chunks.join('') };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

/** The PEM's base64 body lines: any one of them in the output is a leak. */
const keyLines = (pem: string) =>
  pem.split('\n').filter((line) => line.length > 0 && !line.startsWith('-----'));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('secrets never leak', () => {
  it('the local demo: no token or JIT config in logs, trace or any state input or output', async () => {
    // Prepare: record every JIT config handed to the runner config store.
    const put = vi.spyOn(MemoryRunnerConfigStore.prototype, 'put');
    const printed: string[] = [];
    // Act
    const { value: result, output } = await capturingProcessOutput(() =>
      runLocal({
        webhooks: false,
        scenarioPath: demo,
        print: (line) => printed.push(line),
        log: createLogger({ logLevel: 'DEBUG' }),
      }),
    );
    // Assess: the capture works (Powertools JSON lines were written) and the demo registered runners.
    expect(output).toContain('"service":"stepscale"');
    const jitConfigs = put.mock.calls.map(([, config]) => config);
    expect(jitConfigs).toHaveLength(13);
    const states = JSON.stringify(result.cycles.map((cycle) => cycle.events));
    expect(states).toContain('ScaleUp');
    const everything = [output, printed.join('\n'), states];
    for (const text of everything) {
      expect(text).not.toContain('local-standin-token');
      for (const config of jitConfigs) expect(text).not.toContain(config);
      expect(text).not.toContain('encoded_jit_config');
      expect(text).not.toMatch(/encodedJitConfig/i);
    }
  });

  it('stepscale plan with a PAT and with a GitHub App key, at DEBUG: neither appears anywhere', async () => {
    // Prepare: a stand-in accepting both, and a config for each.
    const appKey = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const pat = 'ghp_SECRET_plan_token_0123456789';
    const state = new GitHubState({ org: 'acme' });
    state.addRepo('api');
    state.addJob(state.addRun('api', 'queued').id, { labels: ['self-hosted', 'linux', 'x64'] });
    const standin = await startGitHubStandin({
      state,
      pathPrefix: '/api/v3',
      token: pat,
      app: { appId: 4242, installationId: 777, publicKey: appKey.publicKey },
    });
    try {
      const dir = await mkdtemp(join(tmpdir(), 'stepscale-secrets-'));
      const pool = { ...testPool, maxRunners: 5, launchTemplate: 'lt-1' };
      const github = { url: standin.url.replace(/\/api\/v3$/, ''), org: 'acme' };
      const patConfig = join(dir, 'pat.json');
      const appConfig = join(dir, 'app.json');
      await writeFile(patConfig, JSON.stringify({ github, pools: [pool] }));
      await writeFile(
        appConfig,
        JSON.stringify({
          github: { ...github, auth: { type: 'app', appId: 4242, installationId: 777 } },
          pools: [pool],
        }),
      );
      const io = { stdout: '', stderr: '' };
      const run = (config: string, env: NodeJS.ProcessEnv) =>
        main(['plan', '--config', config, '--no-ec2', '--json'], {
          env: { ...env, STEPSCALE_DEBUG: '1' },
          stdout: (text) => (io.stdout += text),
          stderr: (text) => (io.stderr += text),
        });
      // Act
      const { value: codes, output } = await capturingProcessOutput(async () => [
        await run(patConfig, { GITHUB_TOKEN: pat }),
        await run(appConfig, { GITHUB_APP_PRIVATE_KEY: appKey.privateKey.trim().replaceAll('\n', '\\n') }),
      ]);
      // Assess
      // The installation tokens the stand-in issued are secrets too.
      const issuedTokens = standin.issuedTokens();
      expect(codes).toEqual([0, 0]);
      expect(issuedTokens).toHaveLength(1);
      expect(output).toContain('"message":"Pool decision"'); // the capture works: Powertools lines were written
      const everything = `${output}\n${io.stdout}\n${io.stderr}`;
      expect(everything).not.toContain(pat);
      for (const line of keyLines(appKey.privateKey)) expect(everything).not.toContain(line);
      expect(everything).not.toMatch(/PRIVATE KEY/);
      for (const token of issuedTokens) expect(everything).not.toContain(token);
    } finally {
      await standin.close();
    }
  });
});
