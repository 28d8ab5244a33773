/**
 * Each pool's job source for this cycle, as the tasks see it: ListRepositories resolves them once (from the
 * scale set states the listener keeps in the state store; functions/core/job-source.ts decides) and passes
 * them on with the demand, so Decide acts on the same choice the scan was planned for. RegisterRunners and
 * ScaleDown read the states again to reach a scale-set pool's runners through its scale set.
 */
import * as z from 'zod';
import { type Config, jobSourceOf, scaleSetPools } from '../config/config.ts';
import { chooseSource, type ScaleSetState, scaleSetStateKey, usableScaleSet } from '../core/job-source.ts';
import type { StateStore } from '../ports/state-store.ts';

/** A pool's source as it travels in the state (small: counts and a short reason). */
export const poolSourceSchema = z.object({
  source: z.enum(['poll', 'scaleset', 'none']),
  reason: z.string().max(300),
  /** Its runners are registered and removed through its scale set. */
  via: z.boolean(),
  /**
   * Its scale set keeps the pool's labels and its listener is acquiring: GitHub gives the scale set the jobs
   * those labels cover, so a polled job it serves is counted for it, not for an earlier polled pool.
   */
  claims: z.boolean().optional(),
  /** Scale-set pools: the jobs assigned to the scale set (statistics.totalAssignedJobs). */
  assigned: z.int().min(0).optional(),
  /** …and the runners registered in it, by the same statistics. */
  registered: z.int().min(0).optional(),
});
export type PoolSource = z.infer<typeof poolSourceSchema>;
export const sourcesSchema = z.record(z.string(), poolSourceSchema);
export type Sources = Record<string, PoolSource>;

/** The listener's states of the pools that may use scale sets (none are read for an all-poll config). */
export async function readScaleSetStates(deps: {
  readonly config: Config;
  readonly stateStore: Pick<StateStore, 'getMany'>;
}): Promise<Map<string, ScaleSetState>> {
  const pools = scaleSetPools(deps.config);
  if (pools.length === 0) return new Map();
  const keys = pools.map((pool) => scaleSetStateKey(deps.config.stack, pool.name));
  const found = await deps.stateStore.getMany<ScaleSetState>(keys);
  const states = new Map<string, ScaleSetState>();
  pools.forEach((pool, index) => {
    const state = found.get(keys[index] as string);
    if (state) states.set(pool.name, state);
  });
  return states;
}

/**
 * Every pool's source. In a cycle the listener started (`listenerCycle`) nothing is polled: polled pools are
 * not observed this cycle.
 */
export function resolveSources(
  config: Config,
  states: ReadonlyMap<string, ScaleSetState>,
  now: Date,
  listenerCycle: boolean,
): Sources {
  return Object.fromEntries(
    config.pools.map((pool) => {
      const state = states.get(pool.name);
      const choice = chooseSource(jobSourceOf(config, pool), state, now, config.scaleSets.staleAfterSeconds);
      const source: PoolSource =
        listenerCycle && choice.source === 'poll'
          ? { source: 'none', reason: 'not polled: a cycle the scale set listener started', via: false }
          : {
              source: choice.source,
              reason: choice.reason,
              via: choice.viaScaleSet,
              ...(choice.source === 'scaleset' && choice.viaScaleSet && !state?.labelsDropped
                ? { claims: true }
                : {}),
              ...(choice.source === 'scaleset' && state?.statistics
                ? { assigned: state.statistics.assignedJobs, registered: state.statistics.registeredRunners }
                : {}),
            };
      return [pool.name, source];
    }),
  );
}

/** The pools whose scale sets claim the polled jobs they serve (see {@link poolSourceSchema}'s `claims`). */
export function claimingPools(sources: Sources | undefined): Set<string> {
  return new Set(
    Object.entries(sources ?? {})
      .filter(([, source]) => source.claims === true)
      .map(([pool]) => pool),
  );
}

/** Whether a cycle with these sources must poll GitHub's REST API for queued jobs at all. */
export function pollsAnything(sources: Sources): boolean {
  return Object.values(sources).some((source) => source.source === 'poll');
}

/** The scale set a pool's runners are registered through, per pool (absent: GitHub's REST API). */
export function scaleSetIdsByPool(config: Config, states: ReadonlyMap<string, ScaleSetState>) {
  const ids = new Map<string, number>();
  for (const pool of config.pools) {
    const scaleSetId = usableScaleSet(jobSourceOf(config, pool), states.get(pool.name));
    if (scaleSetId !== undefined) ids.set(pool.name, scaleSetId);
  }
  return ids;
}
