/**
 * Task `Listen` of the listener state machine (statemachine/listener.asl.json): one round of the runner scale
 * set listener (functions/listener/scale-set-listener.ts) — open, long-poll every scale-set pool's queue
 * concurrently until `scaleSets.listenSeconds` have passed, starting scaling cycles as demand rises, close —
 * then tell the state machine what to do next:
 *
 * - another round at once (`waitSeconds` 0);
 * - wait and try again (`waitSeconds` > 0): another listener's lease ends soon (a hand-over), or pools could
 *   not be prepared this time;
 * - stop (`stop`): nothing to listen for (no scale-set pools, or this GitHub serves no scale sets), or another
 *   listener is listening; the hourly start of the state machine looks again.
 *
 * The round that reaches `maxRounds` gives its leases back, so the execution the state machine continues as
 * takes over at once.
 */
import * as z from 'zod';
import { ScaleSetListener } from '../listener/scale-set-listener.ts';
import { type PortNeeds, parseTaskInput, type TaskDeps } from './deps.ts';

const inputSchema = z.object({
  /** The execution's name: the listener's identity, its leases' holder. */
  execution: z.string().min(1).max(256),
  rounds: z.int().min(0).default(0),
  /** After this many rounds the state machine continues as a new execution (history stays small). */
  maxRounds: z.int().min(1).default(1000),
  /** Overrides scaleSets.listenSeconds for this round (tests, manual starts). */
  listenSeconds: z.int().min(1).max(870).optional(),
});

export interface ListenOutput {
  readonly rounds: number;
  readonly maxRounds: number;
  /** Nothing to listen for here, or another listener listens: the execution ends. */
  readonly stop: boolean;
  /** Wait this long before the next round (0: at once). */
  readonly waitSeconds: number;
  readonly listening: number;
  readonly messages: number;
  readonly cyclesStarted: number;
  readonly failures: number;
  readonly reason: string;
}

/** A lease of another listener that ends within this is waited for (a hand-over); a later one means stop. */
const handOverSeconds = 90;
/** Pools that could not be prepared are tried again after this. */
const retryPreparingSeconds = 60;
/** No poll starts later than this before the round's end: a long poll lasts about 50 s. */
const lastPollMarginSeconds = 65;
/** How often pending cycle starts are looked at while the polls block. */
const flushEveryMs = 500;

export const listenNeeds = {
  scaleSets: [
    'probe',
    'runnerGroupId',
    'findScaleSet',
    'getScaleSet',
    'createScaleSet',
    'createSession',
    'refreshSession',
    'deleteSession',
    'getMessage',
    'deleteMessage',
    'acquireJobs',
  ],
  stateStore: ['getMany', 'putMany', 'acquireLease', 'releaseLease'],
  cycleStarter: ['start'],
} as const satisfies PortNeeds;

export function listen(deps: TaskDeps<typeof listenNeeds>) {
  return async (event: unknown): Promise<ListenOutput> => {
    const input = parseTaskInput('Listen', inputSchema, event);
    const startMs = deps.now().getTime();
    const listenSeconds = input.listenSeconds ?? deps.config.scaleSets.listenSeconds;
    const deadline = new Date(startMs + listenSeconds * 1000);
    const rounds = input.rounds + 1;
    const final = rounds >= input.maxRounds;
    const listener = new ScaleSetListener(deps, { holder: input.execution, deadline });
    const outcome = (fields: Partial<ListenOutput> & Pick<ListenOutput, 'reason'>): ListenOutput => ({
      rounds,
      maxRounds: input.maxRounds,
      stop: false,
      waitSeconds: 0,
      listening: 0,
      messages: listener.counts.messages,
      cyclesStarted: listener.counts.cyclesStarted,
      failures: listener.counts.failures,
      ...fields,
    });

    const opened = await listener.open();
    if (opened.unavailable) return outcome({ stop: true, reason: opened.unavailable });
    if (opened.listening.length === 0) {
      await listener.close(true);
      if (opened.failed.length > 0)
        return outcome({
          waitSeconds: retryPreparingSeconds,
          reason: `could not prepare ${opened.failed.join(', ')}`,
        });
      const endsMs = Math.min(...opened.held.map((held) => Date.parse(held.until)));
      if (opened.held.length === 0) return outcome({ stop: true, reason: 'no pool uses scale sets' });
      const waitSeconds = Math.ceil((endsMs - deps.now().getTime()) / 1000) + 1;
      return waitSeconds <= handOverSeconds
        ? outcome({ waitSeconds: Math.max(1, waitSeconds), reason: 'another listener hands over soon' })
        : outcome({ stop: true, reason: `another listener (${opened.held[0]?.holder}) is listening` });
    }

    const pollsUntilMs = deadline.getTime() - Math.min(lastPollMarginSeconds, listenSeconds / 2) * 1000;
    let polling = opened.listening.length;
    const pollLoop = async (pool: string) => {
      try {
        while (deps.now().getTime() < pollsUntilMs) {
          const result = await listener.poll(pool);
          if (result.kind === 'closed') return;
          if (result.kind === 'backoff')
            await deps.sleepUntil(new Date(Math.min(result.untilMs, pollsUntilMs)));
        }
      } finally {
        polling -= 1;
      }
    };
    const flushLoop = async () => {
      while (polling > 0) {
        const dueMs = await listener.flushCycleStart();
        const nextMs = Math.min(dueMs ?? Number.POSITIVE_INFINITY, deps.now().getTime() + flushEveryMs);
        await deps.sleepUntil(new Date(nextMs));
      }
      await listener.flushCycleStart();
    };
    try {
      await Promise.all([...opened.listening.map(pollLoop), flushLoop()]);
    } finally {
      await listener.close(final);
    }
    const { counts } = listener;
    deps.log.info('Listener round done', { rounds, final, pools: opened.listening, ...counts });
    return outcome({
      listening: opened.listening.length,
      reason: final ? 'last round of this execution' : 'listening',
    });
  };
}
