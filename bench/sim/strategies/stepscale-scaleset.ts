/**
 * `stepscale-scaleset`: stepscale with `jobSource: scaleset`, the same code paths as deployed. One runner scale
 * set per pool in the world's Actions service (local/world/actions-service.ts), through the production
 * ScaleSetPort's simulated twin (SimScaleSets):
 *
 * - the listener (functions/listener/scale-set-listener.ts) holds the sessions and polls every second of
 *   virtual time — a long poll that a message ends at once, so a job is seen within a second, and that counts
 *   as one request per 50 s while nothing happens; each round lasts `scaleSets.listenSeconds` and reopens its
 *   sessions, as a Lambda invocation does;
 * - every cycle it starts runs the real state machine with the real handlers (StepscaleStrategy), as does the
 *   scheduled cycle every minute (which removes and cleans up; it polls GitHub for nothing).
 *
 * In AWS the listener keeps polling while a cycle runs; here polling waits for the cycle (a second or two of
 * virtual time), which only makes this strategy slower than it is.
 */
import { MemoryCycleStarter } from '../../../functions/adapters/memory-cycle-starter.ts';
import type { HandlerDeps } from '../../../functions/handlers/deps.ts';
import { ScaleSetListener } from '../../../functions/listener/scale-set-listener.ts';
import { SimScaleSets } from '../scale-sets.ts';
import { type StepscaleOptions, StepscaleStrategy } from './stepscale.ts';
import type { StrategyContext } from './types.ts';

/** The listener looks at its queues this often (a long poll returns within a second of a message). */
const pollEveryMs = 1000;
/** Messages handled per pool and look, at most (the rest the next look). */
const messagesPerLook = 20;

export class StepscaleScaleSetStrategy extends StepscaleStrategy {
  override readonly name = 'stepscale-scaleset';
  private readonly starter = new MemoryCycleStarter();
  private scaleSets?: SimScaleSets;
  private listener?: ScaleSetListener;
  private roundEndsMs = Number.NEGATIVE_INFINITY;
  private nextScheduledMs = 0;
  private rounds = 0;
  /** The listener counts of the rounds that ended (the current round's are added in the report). */
  private readonly pastCounts: Record<string, number> = {};
  private listenerCycles = 0;
  private scheduledCycles = 0;

  constructor(options: StepscaleOptions = {}) {
    super(options);
  }

  protected override configFor(context: StrategyContext): HandlerDeps['config'] {
    return { ...context.config, jobSource: 'scaleset' };
  }

  protected override eventPortsFor(
    context: StrategyContext,
  ): Pick<HandlerDeps, 'scaleSets' | 'cycleStarter'> {
    this.scaleSets ??= new SimScaleSets(context.world, context.meter);
    return { scaleSets: this.scaleSets, cycleStarter: this.starter };
  }

  override async tick(context: StrategyContext): Promise<number> {
    const { world } = context;
    const deps = this.depsFor(context);
    if (!this.listener || world.nowMs >= this.roundEndsMs) {
      if (this.listener) {
        await this.listener.close(false);
        addCounts(this.pastCounts, this.listener.counts);
      }
      const listenMs = deps.config.scaleSets.listenSeconds * 1000;
      this.listener = new ScaleSetListener(deps, {
        holder: 'stepscale-listener',
        deadline: new Date(world.agenda.now().getTime() + listenMs),
      });
      this.rounds += 1;
      this.roundEndsMs = world.nowMs + listenMs;
      await this.listener.open();
    }
    const listener = this.listener;
    for (const pool of listener.pools) {
      for (let look = 0; look < messagesPerLook; look += 1) {
        const outcome = await listener.poll(pool);
        if (outcome.kind !== 'message') break;
      }
    }
    await listener.flushCycleStart();
    for (const start of this.starter.take()) {
      this.listenerCycles += 1;
      await this.runOneCycle(context, { cycleId: start.input.cycleId, targets: start.input.targets });
    }
    if (world.nowMs >= this.nextScheduledMs) {
      this.scheduledCycles += 1;
      const scheduledAt = this.nextScheduledMs;
      this.nextScheduledMs += this.intervalMs;
      await this.runOneCycle(context, { cycleId: world.agenda.isoAt(scheduledAt) });
    }
    return Math.min(world.nowMs + pollEveryMs, this.nextScheduledMs);
  }

  override report(): Record<string, unknown> {
    return {
      ...super.report(),
      listenerRounds: this.rounds,
      listenerCycles: this.listenerCycles,
      scheduledCycles: this.scheduledCycles,
      listener: addCounts({ ...this.pastCounts }, this.listener?.counts ?? {}),
    };
  }
}

function addCounts(into: Record<string, number>, counts: object): Record<string, number> {
  for (const [key, value] of Object.entries(counts)) into[key] = (into[key] ?? 0) + Number(value);
  return into;
}
