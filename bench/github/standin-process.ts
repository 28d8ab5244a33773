/**
 * The GitHub stand-in of `npm run bench:github`, in a child process of its own. GitHub's CPU is not the
 * scaler's: served in the bench's own process, the stand-in's work (routing, JSON, ETags, the HTTP server)
 * would compete with the client and the executor for one event loop and be counted as the cycle's time.
 * The child holds the organization (seeded there, see organization.ts) and records every request; the bench asks
 * it over IPC for what it needs.
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { NaiveTotals } from './organization.ts';

export interface StandinProcessOptions {
  /** Repositories of the bench organization. */
  readonly size: number;
  readonly token: string;
  readonly latencyMs: number;
}

/** What the bench needs of a recorded request. */
export interface BenchRequest {
  readonly method: string;
  readonly path: string;
  readonly status?: number;
}

export interface StandinProcess {
  readonly url: string;
  makeBusy(): Promise<void>;
  requestCount(): Promise<number>;
  /** The requests received since the `from`th one, with the status each was answered. */
  requestsSince(from: number): Promise<BenchRequest[]>;
  naiveTotals(): Promise<NaiveTotals>;
  close(): Promise<void>;
}

type Call =
  | { readonly op: 'makeBusy' | 'requestCount' | 'naiveTotals' | 'close' }
  | { readonly op: 'requests'; readonly from: number };
export type ChildCall = Call & { readonly id: number };
export type ChildMessage =
  | { readonly type: 'ready'; readonly url: string }
  | { readonly type: 'result'; readonly id: number; readonly result?: unknown; readonly error?: string };

export async function startStandinProcess(options: StandinProcessOptions): Promise<StandinProcess> {
  // The child runs TypeScript the way this process does (tsx's loader, inherited through execArgv).
  const child: ChildProcess = fork(new URL('./standin-child.ts', import.meta.url), [], {
    env: { ...process.env, STEPSCALE_BENCH_STANDIN: JSON.stringify(options) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let exited: Error | undefined;

  const url = await new Promise<string>((resolve, reject) => {
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') resolve(message.url);
      else {
        const call = pending.get(message.id);
        pending.delete(message.id);
        if (message.error !== undefined) call?.reject(new Error(`stand-in process: ${message.error}`));
        else call?.resolve(message.result);
      }
    });
    child.on('exit', (code, signal) => {
      exited = new Error(`stand-in process exited (${signal ?? code})`);
      reject(exited);
      for (const call of pending.values()) call.reject(exited);
      pending.clear();
    });
  });

  const call = <T>(request: Call): Promise<T> => {
    if (exited) return Promise.reject(exited);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ ...request, id } satisfies ChildCall);
    });
  };

  return {
    url,
    makeBusy: () => call({ op: 'makeBusy' }),
    requestCount: () => call({ op: 'requestCount' }),
    requestsSince: (from) => call({ op: 'requests', from }),
    naiveTotals: () => call({ op: 'naiveTotals' }),
    close: async () => {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await call({ op: 'close' });
      await gone;
    },
  };
}
