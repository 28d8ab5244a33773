import type { Config } from '../../../functions/config/config.ts';
import type { Rng } from '../../../local/world/rng.ts';
import type { World } from '../../../local/world/world.ts';
import type { SimActionsService, SimFleet, SimGitHub, SimRunnerConfigs, SimWebhooks } from '../ports.ts';
import type { RequestMeter } from '../requests.ts';

/** What a strategy may use: the world only to let time pass, everything else through the production ports. */
export interface StrategyContext {
  readonly world: World;
  readonly github: SimGitHub;
  readonly fleet: SimFleet;
  readonly runnerConfigs: SimRunnerConfigs;
  /** The App's `workflow_job` webhook: subscribe to deliveries, list them, ask for redeliveries. */
  readonly webhooks: SimWebhooks;
  /** The Actions service of runner scale sets (ARC's protocol). */
  readonly actionsService: SimActionsService;
  readonly meter: RequestMeter;
  /** The workload's pools and settings as a validated stepscale config. */
  readonly config: Config;
  readonly rng: Rng;
  /**
   * Ask for a tick at `atMs` even if the last tick said later: what a push (a webhook delivery, a message)
   * calls at its arrival time, so the strategy handles it then. A time in the past means now.
   */
  wake(atMs: number): void;
}

/**
 * A way of scaling. The simulation calls `tick` when it is due, at the world's current virtual time, or
 * earlier when something pushed to the strategy called `wake`; the tick may let time pass
 * (`world.advanceTo`) while it works, and returns when its next tick is due (infinity: only when woken).
 */
export interface Strategy {
  readonly name: string;
  readonly firstTickMs: number;
  /** Sends conditional requests (If-None-Match): unchanged listings cost a 304. */
  readonly conditionalRequests: boolean;
  /** Before the world runs: subscribe to pushes, open sessions (nothing happened yet). */
  start?(context: StrategyContext): Promise<void>;
  tick(context: StrategyContext): Promise<number>;
  /** Strategy-specific numbers for the report (cycles, state transitions, …). */
  report?(): Record<string, unknown>;
}
