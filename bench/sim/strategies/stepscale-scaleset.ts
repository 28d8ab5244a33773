/**
 * `stepscale-scaleset`: stepscale with `jobSource: scaleset`, the same code paths as deployed. One runner scale
 * set per pool in the world's Actions service (local/world/actions-service.ts, the one model arc-listener meets
 * too), through the production ScaleSetPort's simulated twin (SimScaleSets):
 *
 * - the listener (functions/listener/scale-set-listener.ts) holds the sessions; its long poll returns a message
 *   a latency after the queue has it (0.2–1 s uniform, seeded: the same as arc-listener's), and otherwise
 *   every 50 s (one request each); each round lasts `scaleSets.listenSeconds` and reopens its sessions, as a
 *   Lambda invocation does;
 * - every cycle it starts is an execution of the real state machine with the real handlers (cycle-engine.ts),
 *   starting {@link startLatencyMs} later (StartExecution), side by side with the scheduled cycle every minute
 *   (which removes and cleans up; it polls GitHub for nothing).
 */
import { MemoryCycleStarter } from '../../../functions/adapters/memory-cycle-starter.ts';
import { ScaleSetListener } from '../../../functions/listener/scale-set-listener.ts';
import type { Rng } from '../../../local/world/rng.ts';
import { longPollMs, SimScaleSets } from '../scale-sets.ts';
import type { CycleEngineOptions } from './cycle-engine.ts';
import { type StepscaleOptions, StepscaleStrategy } from './stepscale.ts';
import { startLatencyMs } from './stepscale-webhook.ts';
import type { StrategyContext } from './types.ts';

/** From a change on the queue to the listener's long poll returning it (arc-listener's model). */
const latencySeconds = { min: 0.2, max: 1 };
/** Messages handled per pool and poll, at most (the rest the next). */
const messagesPerPoll = 50;

/** The executions' config (every pool on its scale set) and the ports the listener shares with them. */
function scaleSetEngine(): Required<Pick<CycleEngineOptions, 'config' | 'eventPorts'>> {
  let ports: { scaleSets: SimScaleSets; cycleStarter: MemoryCycleStarter } | undefined;
  return {
    config: (context) => ({ ...context.config, jobSource: 'scaleset' }),
    eventPorts: (context) => {
      ports ??= {
        scaleSets: new SimScaleSets(context.world, context.meter),
        cycleStarter: new MemoryCycleStarter(),
      };
      return ports;
    },
  };
}

export class StepscaleScaleSetStrategy extends StepscaleStrategy {
  override readonly name = 'stepscale-scaleset';
  private listener?: ScaleSetListener;
  private roundEndsMs = Number.NEGATIVE_INFINITY;
  private lastPollMs = Number.NEGATIVE_INFINITY;
  /** When the long poll returns what is on the queue (a wake is asked for then); undefined: nothing pending. */
  private returnsAtMs: number | undefined;
  private rng?: Rng;
  private draws = 0;
  private rounds = 0;
  /** The listener counts of the rounds that ended (the current round's are added in the report). */
  private readonly pastCounts: Record<string, number> = {};

  constructor(options: StepscaleOptions = {}) {
    super({ ...options, engine: scaleSetEngine() });
  }

  async start(context: StrategyContext): Promise<void> {
    this.rng = context.rng.fork('listener-latency');
    // The long poll returns once the queue has something, a latency later.
    context.world.actions.onChange(() => {
      if (this.returnsAtMs !== undefined) return;
      const draw = (this.rng as Rng).fork(String(this.draws++));
      const returnsAtMs =
        context.world.nowMs + Math.round(draw.uniform(latencySeconds.min, latencySeconds.max) * 1000);
      this.returnsAtMs = returnsAtMs;
      // The poll returns then: an event on the world's agenda, so the run stops there to tick.
      context.world.agenda.schedule(returnsAtMs, () => context.wake(returnsAtMs));
    });
  }

  override async tick(context: StrategyContext): Promise<number> {
    const { world } = context;
    const deps = this.engine.depsFor(context);
    const starter = deps.cycleStarter as MemoryCycleStarter;
    if (!this.listener || world.nowMs >= this.roundEndsMs) await this.newRound(context);
    const listener = this.listener as ScaleSetListener;
    const due = this.returnsAtMs !== undefined && this.returnsAtMs <= world.nowMs;
    if (due || world.nowMs - this.lastPollMs >= longPollMs) {
      this.returnsAtMs = undefined;
      this.lastPollMs = world.nowMs;
      for (const pool of listener.pools) {
        for (let read = 0; read < messagesPerPoll; read += 1) {
          if ((await listener.poll(pool)).kind !== 'message') break;
        }
      }
    }
    const flushAtMs = await listener.flushCycleStart();
    for (const start of starter.take()) {
      this.engine.timers.at(world.nowMs + startLatencyMs, () =>
        this.engine.start(context, start.input, 'listener'),
      );
    }
    const next = await super.tick(context);
    return Math.min(
      next,
      this.lastPollMs + longPollMs,
      this.roundEndsMs,
      flushAtMs ?? Number.POSITIVE_INFINITY,
      this.returnsAtMs ?? Number.POSITIVE_INFINITY,
    );
  }

  override report(): Record<string, unknown> {
    return {
      ...super.report(),
      listener: {
        rounds: this.rounds,
        cycles: this.engine.report('listener'),
        ...this.listenerCounts,
      },
    };
  }

  /** The listener's counts over every round so far (messages handled, jobs assigned, cycles started…). */
  get listenerCounts(): Record<string, number> {
    return addCounts({ ...this.pastCounts }, this.listener?.counts ?? {});
  }

  /** The executions the listener started (what it adds to the bill). */
  get listenerCycles() {
    return this.engine.cycles.filter((cycle) => cycle.kind === 'listener');
  }

  /** A round: the previous one's sessions closed, new ones opened (a Lambda invocation of Listen). */
  private async newRound(context: StrategyContext): Promise<void> {
    const deps = this.engine.depsFor(context);
    if (this.listener) {
      await this.listener.close(false);
      addCounts(this.pastCounts, this.listener.counts);
    }
    const listenMs = deps.config.scaleSets.listenSeconds * 1000;
    this.listener = new ScaleSetListener(deps, {
      holder: 'stepscale-listener',
      deadline: new Date(context.world.agenda.now().getTime() + listenMs),
    });
    this.rounds += 1;
    this.roundEndsMs = context.world.nowMs + listenMs;
    this.lastPollMs = Number.NEGATIVE_INFINITY;
    await this.listener.open();
  }
}

function addCounts(into: Record<string, number>, counts: object): Record<string, number> {
  for (const [key, value] of Object.entries(counts)) into[key] = (into[key] ?? 0) + Number(value);
  return into;
}
