import type { Config } from '../../../functions/config/config.ts';
import type { Rng } from '../../../local/world/rng.ts';
import type { World } from '../../../local/world/world.ts';
import type { SimFleet, SimGitHub, SimRunnerConfigs } from '../ports.ts';
import type { RequestMeter } from '../requests.ts';

/** What a strategy may use: the world only to let time pass, everything else through the production ports. */
export interface StrategyContext {
  readonly world: World;
  readonly github: SimGitHub;
  readonly fleet: SimFleet;
  readonly runnerConfigs: SimRunnerConfigs;
  readonly meter: RequestMeter;
  /** The workload's pools and settings as a validated stepscale config. */
  readonly config: Config;
  readonly rng: Rng;
}

/**
 * A way of scaling. The simulation calls `tick` when it is due, at the world's current virtual time; the tick
 * may let time pass (`world.advanceTo`) while it works, and returns when its next tick is due.
 */
export interface Strategy {
  readonly name: string;
  readonly firstTickMs: number;
  /** Sends conditional requests (If-None-Match): unchanged listings cost a 304. */
  readonly conditionalRequests: boolean;
  tick(context: StrategyContext): Promise<number>;
  /** Strategy-specific numbers for the report (cycles, state transitions, …). */
  report?(): Record<string, unknown>;
}
