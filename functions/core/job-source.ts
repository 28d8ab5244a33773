/**
 * Where a pool's demand comes from this cycle: one way to scale, several ways to learn about demand.
 *
 *   setting `poll`      → poll: queued jobs read from GitHub's REST API (the governor's scan)
 *   setting `scaleset`  → scaleset: the statistics its runner scale set's listener last stored, when they are
 *                         fresh; otherwise none (nothing is launched on a number nobody is updating)
 *   setting `auto`      → as `scaleset` where scale sets are served and keep the pool's labels; poll where
 *                         runner-registration answered 404 (GHES before 3.9), where the service dropped the
 *                         pool's labels (no multi-label feature) and before the listener first reported
 *
 * A job GitHub routed to a scale set goes to that scale set's runners only, once its listener acquired it, so
 * polling cannot stand in for a silent listener: stale statistics mean `none`, in either setting. A cycle the
 * listener started (for scale-set pools) polls nothing: its polled pools are `none` too.
 *
 * Pure: the state store's records and the time in, the choice and its reason out.
 */
import type { ScaleSetStatistics } from '../ports/scale-sets.ts';
import type { DemandSource } from './decide.ts';

export type JobSourceSetting = 'poll' | 'scaleset' | 'auto';

/** The statistics the listener keeps (counts only). */
export interface StoredStatistics {
  readonly assignedJobs: number;
  readonly runningJobs: number;
  readonly availableJobs: number;
  readonly registeredRunners: number;
  readonly busyRunners: number;
  readonly idleRunners: number;
}

/** The counts of a scale set's statistics that are kept. */
export function storedStatistics(statistics: ScaleSetStatistics): StoredStatistics {
  return {
    assignedJobs: statistics.assignedJobs,
    runningJobs: statistics.runningJobs,
    availableJobs: statistics.availableJobs,
    registeredRunners: statistics.registeredRunners,
    busyRunners: statistics.busyRunners,
    idleRunners: statistics.idleRunners,
  };
}

/** What the listener keeps per pool in the state store (key {@link scaleSetStateKey}). */
export interface ScaleSetState {
  /** The scale set's name on GitHub. */
  readonly name: string;
  readonly scaleSetId?: number;
  /** The GitHub deployment serves scale sets (runner-registration worked). */
  readonly available: boolean;
  /** Why not, or what else a user should know; shown by `stepscale plan` and logged. */
  readonly note?: string;
  /** The service kept only the scale set's name as label: jobs must name it (`runs-on: <name>`). */
  readonly labelsDropped?: boolean;
  readonly statistics?: StoredStatistics;
  /** When the statistics were last confirmed (ISO): every poll the listener answers, message or not. */
  readonly statisticsAt?: string;
  /** The last message the listener processed and acknowledged. */
  readonly lastMessageId?: number;
  /** The open session's id while a listener holds it (to close it should that listener die). */
  readonly sessionId?: string;
  /** When this was written (ISO). */
  readonly updatedAt: string;
}

/** The state store key of a pool's scale set state. */
export function scaleSetStateKey(stack: string, pool: string): string {
  return `scaleset:${stack}:${pool}`;
}

export interface SourceChoice {
  readonly source: DemandSource;
  /** Why, in a few words (the plan and the logs show it). */
  readonly reason: string;
  /** The pool's runners are registered (and removed) through its scale set, not GitHub's REST API. */
  readonly viaScaleSet: boolean;
  /** The scale set to register through, when `viaScaleSet`. */
  readonly scaleSetId?: number;
}

/** Whether a pool with this setting and state has its runners registered through the scale set. */
export function usableScaleSet(
  setting: JobSourceSetting,
  state: ScaleSetState | undefined,
): number | undefined {
  if (setting === 'poll' || !state?.available || state.scaleSetId === undefined) return undefined;
  if (setting === 'auto' && state.labelsDropped) return undefined;
  return state.scaleSetId;
}

export function chooseSource(
  setting: JobSourceSetting,
  state: ScaleSetState | undefined,
  now: Date,
  staleAfterSeconds: number,
): SourceChoice {
  if (setting === 'poll') return { source: 'poll', reason: 'jobSource poll', viaScaleSet: false };
  const poll = (reason: string): SourceChoice => ({ source: 'poll', reason, viaScaleSet: false });
  if (!state) {
    return setting === 'auto'
      ? poll('auto: the listener has not reported yet')
      : { source: 'none', reason: 'no scale set yet: is the listener running?', viaScaleSet: false };
  }
  if (!state.available) {
    const why = `scale sets unavailable${state.note ? ` (${state.note})` : ''}`;
    return setting === 'auto' ? poll(`auto: ${why}`) : { source: 'none', reason: why, viaScaleSet: false };
  }
  if (setting === 'auto' && state.labelsDropped)
    return poll('auto: the scale set keeps only its name as label (no multi-label support)');
  const scaleSetId = usableScaleSet(setting, state);
  const via = scaleSetId === undefined ? { viaScaleSet: false } : { viaScaleSet: true, scaleSetId };
  const at = state.statisticsAt ? Date.parse(state.statisticsAt) : Number.NaN;
  const ageSeconds = Math.round((now.getTime() - at) / 1000);
  if (!state.statistics || Number.isNaN(at))
    return { source: 'none', reason: state.note ?? 'no statistics yet: is the listener running?', ...via };
  if (ageSeconds > staleAfterSeconds)
    return { source: 'none', reason: `statistics ${ageSeconds} s old: is the listener running?`, ...via };
  return {
    source: 'scaleset',
    reason: `scale set ${state.name}${state.labelsDropped ? ' (labels dropped: runs-on its name)' : ''}`,
    ...via,
  };
}

/** Whether the listener should hold a session for a pool with this setting and state. */
export function listensFor(setting: JobSourceSetting, state: ScaleSetState | undefined): boolean {
  if (setting === 'poll') return false;
  if (setting === 'auto' && state && (!state.available || state.labelsDropped)) return false;
  return true;
}
