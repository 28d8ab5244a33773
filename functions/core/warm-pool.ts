/**
 * The warm pool's part of the decision, pure. A warm instance is launched in prepare mode (tag `stepscale:warm`
 * = `preparing`, shutdown behaviour `stop`): its user data warms the machine and powers it off, and stopped like
 * that it is *ready*. A job starts it (tag `started` first): it boots in seconds, is registered like a fresh
 * launch, runs its one job and powers off again, and a stopped `started` instance is terminated, never started
 * twice. Per pool, with `target` = the warm schedule's count now (warm-target.ts):
 *
 *   ready    = stopped `preparing` instances that powered themselves off, were never started since their
 *              launch, are younger than maxAgeSeconds and come from the current launch template version
 *   start    = min(queued + minIdle − idle − booting, ready), oldest first: before any fresh launch
 *   ahead    = min(instances started from the pool within replaceAheadSeconds (this cycle's too), target)
 *   prepare  = clamp(target + ahead − (ready − start) − preparing, 0, room left under maxRunners)
 *   surplus  = the ready ones beyond target + ahead, or beyond maxRunners (oldest first)
 *
 * `ahead` keeps a pool in steady use at `target` ready while the replacements of what it used prepare: without
 * it, the pool would hold target minus those preparing. Every instance of the pool, in any state, counts toward
 * maxRunners. Retired (terminated) are the surplus and every instance that can no longer serve:
 * - `interrupted`: a `preparing` instance stopped by anyone but itself (the API, EC2) before it was ready;
 * - `restarted`: a `preparing` instance started since its prepare launch (by someone else: it is no longer clean);
 * - `prepare-timeout`: still preparing (not powered off) prepareTimeoutSeconds after its launch;
 * - `too-old`, `old-template`: ready, but past maxAgeSeconds or built from an older launch template version;
 * - `used`: a `started` instance that stopped (its job is done, or its start failed): one job per instance;
 * - `stopped`: any other instance of the stack that stopped (a runner cannot come back from it).
 */
import { cycleTimeoutSeconds } from './cycle-timing.ts';
import type { Instance } from './model.ts';
import type { PoolPolicy } from './policy.ts';
import { warmTarget } from './warm-target.ts';

export type RetireReason =
  | 'surplus'
  | 'interrupted'
  | 'restarted'
  | 'prepare-timeout'
  | 'too-old'
  | 'old-template'
  | 'used'
  | 'stopped';

export interface Retirement {
  readonly instanceId: string;
  readonly pool: string;
  readonly reason: RetireReason;
}

/**
 * How an instance of a pool takes part in the decision: as a `runner` (pending or running, not preparing: the
 * runner inventory counts it), `ready` or `preparing` in the warm pool, `stopping` (on its way to being retired),
 * or to `retire` now.
 */
export type Role =
  | { readonly role: 'runner' }
  | { readonly role: 'ready' }
  | { readonly role: 'preparing' }
  | { readonly role: 'stopping' }
  | { readonly role: 'retire'; readonly reason: RetireReason };

/**
 * A prepare launch happens within its cycle (ScaleUp changes nothing later than 55 s into it), so EC2's launch
 * time lies within a cycle's timeout of the `preparedAt` tag; a later launch time means a start since.
 */
const launchSlackMs = cycleTimeoutSeconds * 1000;

export function roleOf(
  instance: Instance,
  pool: PoolPolicy,
  templateVersion: number | undefined,
  nowMs: number,
): Role {
  const { warm, state } = instance;
  const stopped = state === 'stopped' || state === 'stopping';
  if (!warm || warm.stage === 'started') {
    if (!stopped) return { role: 'runner' };
    if (state === 'stopping') return { role: 'stopping' };
    return { role: 'retire', reason: warm ? 'used' : 'stopped' };
  }
  const launchedMs = timeOf(instance.launchedAt, 0);
  const preparedMs = timeOf(warm.preparedAt, launchedMs);
  if (launchedMs - preparedMs > launchSlackMs) return { role: 'retire', reason: 'restarted' };
  if (state === 'stopping') return { role: 'preparing' };
  if (state === 'stopped') {
    if (instance.stopReason !== 'instance') return { role: 'retire', reason: 'interrupted' };
    if (nowMs - preparedMs >= (pool.warm?.maxAgeSeconds ?? Number.POSITIVE_INFINITY) * 1000)
      return { role: 'retire', reason: 'too-old' };
    if (
      templateVersion !== undefined &&
      warm.templateVersion !== undefined &&
      warm.templateVersion < templateVersion
    )
      return { role: 'retire', reason: 'old-template' };
    return { role: 'ready' };
  }
  const timeoutMs = (pool.warm?.prepareTimeoutSeconds ?? Number.POSITIVE_INFINITY) * 1000;
  if (nowMs - launchedMs >= timeoutMs) return { role: 'retire', reason: 'prepare-timeout' };
  return { role: 'preparing' };
}

/** Whether the instance was started from the warm pool within `seconds` before now (its last launch time). */
export function startedWithin(instance: Instance, seconds: number, nowMs: number): boolean {
  if (instance.warm?.stage !== 'started') return false;
  const age = nowMs - timeOf(instance.launchedAt, Number.NEGATIVE_INFINITY);
  return age >= 0 && age < seconds * 1000;
}

export interface WarmWants {
  readonly target: number;
  readonly ahead: number;
  /** Instances to prepare, before the room under maxRunners and the launch budget. */
  readonly prepare: number;
  /** Ready instances beyond target + ahead (or beyond maxRunners), to retire (oldest first). */
  readonly surplus: number;
}

/**
 * The warm formula for one pool once it is known how many ready instances this cycle starts (`start`) and how
 * much room under maxRunners the fresh launches left (`room`).
 */
export function warmWants(args: {
  readonly pool: PoolPolicy;
  readonly ready: number;
  readonly preparing: number;
  readonly startedRecently: number;
  readonly start: number;
  readonly room: number;
  /** How far the pool's instances (this cycle's launches included) exceed maxRunners (a lowered maximum). */
  readonly excess: number;
  readonly now: Date;
}): WarmWants {
  const { pool, ready, preparing, startedRecently, start, room, excess, now } = args;
  const target = pool.warm ? warmTarget(pool.warm, now) : 0;
  const ahead = (pool.warm?.replaceAheadSeconds ?? 0) > 0 ? Math.min(startedRecently + start, target) : 0;
  const left = ready - start;
  const prepare = Math.max(0, Math.min(target + ahead - left - preparing, Math.max(0, room)));
  const surplus = Math.max(0, Math.min(left, Math.max(left + preparing - target - ahead, excess)));
  return { target, ahead, prepare, surplus };
}

/** Ready instances in the order the pool uses them (and retires its surplus): oldest prepared first. */
export function byPreparedAt(a: Instance, b: Instance): number {
  const at = (instance: Instance) => timeOf(instance.warm?.preparedAt ?? instance.launchedAt, 0);
  return at(a) - at(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function timeOf(iso: string, fallback: number): number {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? fallback : ms;
}
