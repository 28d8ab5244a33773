/**
 * What a cycle did, per pool, read from the state it ended with: Decide's plan (`plan.pools[]`: queued, idle,
 * busy, booting, launch, terminate), what ScaleUp launched (its output lists the new instances and, per pool, the
 * instances waiting for registration: a pool's launches are those of its queue that are new) and what ScaleDown
 * terminated per pool. A step that failed and was caught (`scaleUpError`, …) did nothing; one the cycle never
 * reached is unknown.
 */
import type { PoolSummary } from '../handlers/decide.ts';
import type { RegistrationQueue } from '../handlers/registration-queue.ts';
import { causeText, type ExecutionOutcome, type ExecutionStatus } from './execution-history.ts';
import { textTable, warmCells, warmTitles } from './table.ts';

export interface PoolOutcome {
  readonly pool: string;
  readonly queued: number;
  readonly idle: number;
  readonly busy: number;
  readonly booting: number;
  /** What Decide planned. */
  readonly launch: number;
  readonly terminate: number;
  /** What ScaleUp launched and ScaleDown terminated; null when the cycle never got there. */
  readonly launched: number | null;
  readonly removed: number | null;
  /** A pool with a warm pool: the plan's ready stopped instances, those it starts, and its refill. */
  readonly warm?: Pick<PoolSummary, 'start' | 'prepare' | 'warm'>;
}

export interface CycleSummary {
  readonly executionArn: string;
  readonly name: string;
  readonly cycleId?: string;
  readonly status: ExecutionStatus;
  readonly startedAt?: string;
  readonly stoppedAt?: string;
  readonly durationMs?: number;
  readonly error?: string;
  readonly cause?: string;
  /** Steps that failed after their retries and were caught: the others still ran. */
  readonly failedSteps: { readonly step: string; readonly error: string; readonly cause?: string }[];
  readonly leaseHeldBy?: string;
  readonly scaleDownHeld?: boolean;
  readonly unmatched?: number;
  readonly registered?: number;
  readonly pools: PoolOutcome[];
}

/** An execution's identity and how it went (its outcome, less the final state passed beside it). */
export interface ExecutionFacts extends Omit<ExecutionOutcome, 'finalState'> {
  readonly executionArn: string;
  readonly name: string;
  readonly input?: unknown;
}

interface CycleState {
  cycle?: { id?: string };
  demand?: { unmatched?: number };
  plan?: Pick<Partial<{ pools: PoolSummary[] }>, 'pools'> & { leaseHeldBy?: string; scaleDownHeld?: boolean };
  scaleUp?: { instanceIds?: string[]; registrations?: RegistrationQueue[] };
  scaleDown?: { terminated?: number; terminatedByPool?: Record<string, number> };
  registration?: { registered?: number };
  scaleUpError?: CaughtError;
  scaleDownError?: CaughtError;
  registrationError?: CaughtError;
  error?: CaughtError;
}

interface CaughtError {
  Error?: string;
  Cause?: string;
}

const caughtSteps = [
  ['scaleUpError', 'ScaleUp'],
  ['scaleDownError', 'ScaleDown'],
  ['registrationError', 'RegisterRunners'],
] as const;

export function summarizeCycle(execution: ExecutionFacts, finalState: unknown): CycleSummary {
  const state = (finalState && typeof finalState === 'object' ? finalState : {}) as CycleState;
  const input = (execution.input ?? {}) as { cycleId?: unknown };
  const cycleId = state.cycle?.id ?? (typeof input.cycleId === 'string' ? input.cycleId : undefined);
  const failedSteps: CycleSummary['failedSteps'] = caughtSteps.flatMap(([field, step]) => {
    const caught = state[field];
    return caught ? [{ step, error: caught.Error ?? 'Error', ...causeOf(caught.Cause) }] : [];
  });
  if (state.error) {
    // ListRepositories and AggregateDemand catch into CollectionFailed, Decide into DecisionFailed.
    const step = execution.error === 'DecisionFailed' ? 'Decide' : 'ListRepositories or AggregateDemand';
    failedSteps.push({ step, error: state.error.Error ?? 'Error', ...causeOf(state.error.Cause) });
  }
  const pools = (state.plan?.pools ?? []).map((pool) => poolOutcome(pool, state));
  return {
    executionArn: execution.executionArn,
    name: execution.name,
    ...(cycleId ? { cycleId } : {}),
    status: execution.status,
    ...(execution.startedAt === undefined ? {} : { startedAt: new Date(execution.startedAt).toISOString() }),
    ...(execution.stoppedAt === undefined ? {} : { stoppedAt: new Date(execution.stoppedAt).toISOString() }),
    ...(execution.startedAt !== undefined && execution.stoppedAt !== undefined
      ? { durationMs: execution.stoppedAt - execution.startedAt }
      : {}),
    ...(execution.error ? { error: execution.error } : {}),
    ...(execution.cause ? { cause: execution.cause } : {}),
    failedSteps,
    ...(state.plan?.leaseHeldBy ? { leaseHeldBy: state.plan.leaseHeldBy } : {}),
    ...(state.plan?.scaleDownHeld ? { scaleDownHeld: true } : {}),
    ...(state.demand?.unmatched === undefined ? {} : { unmatched: state.demand.unmatched }),
    ...(state.registration?.registered === undefined ? {} : { registered: state.registration.registered }),
    pools,
  };
}

function poolOutcome(pool: PoolSummary, state: CycleState): PoolOutcome {
  return {
    pool: pool.pool,
    queued: pool.queued,
    idle: pool.idle,
    busy: pool.busy,
    booting: pool.booting,
    launch: pool.launch,
    terminate: pool.terminate,
    launched: launchedIn(pool, state),
    removed: removedIn(pool, state),
    ...(pool.warm ? { warm: { start: pool.start, prepare: pool.prepare, warm: pool.warm } } : {}),
  };
}

function launchedIn(pool: PoolSummary, state: CycleState): number | null {
  if (state.scaleUpError) return 0;
  if (!state.scaleUp) return null;
  const fresh = new Set(state.scaleUp.instanceIds ?? []);
  const queue = state.scaleUp.registrations?.find((entry) => entry.pool === pool.pool)?.instanceIds ?? [];
  return queue.filter((id) => fresh.has(id)).length;
}

function removedIn(pool: PoolSummary, state: CycleState): number | null {
  if (state.scaleDownError) return 0;
  const scaleDown = state.scaleDown;
  if (!scaleDown) return null;
  if (scaleDown.terminatedByPool) return scaleDown.terminatedByPool[pool.pool] ?? 0;
  // A ScaleDown of an older version reports a total only: per pool it is known when nothing or all was removed.
  const planned = (state.plan?.pools ?? []).reduce((total, entry) => total + entry.terminate, 0);
  if (scaleDown.terminated === 0) return 0;
  return scaleDown.terminated === planned ? pool.terminate : null;
}

/** A caught error's cause as a reader wants it (Lambda's error JSON: its message), absent when there is none. */
function causeOf(cause: string | undefined): { cause?: string } {
  const text = causeText(cause);
  return text === undefined ? {} : { cause: text };
}

/** "2026-01-05 09:00:00" in UTC. */
export function utc(iso: string | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '—';
}

export function took(summary: Pick<CycleSummary, 'durationMs' | 'status'>): string {
  if (summary.durationMs === undefined) return summary.status === 'RUNNING' ? 'running' : '—';
  return summary.durationMs < 100_000
    ? `${(summary.durationMs / 1000).toFixed(1)} s`
    : `${Math.round(summary.durationMs / 1000)} s`;
}

/** "3", or "0 of 3" when less happened than was planned; "?" when the cycle never got there. */
export function actual(done: number | null, planned: number): string {
  if (done === null) return planned === 0 ? '–' : `? of ${planned}`;
  return done === planned ? String(done) : `${done} of ${planned}`;
}

/** Lines under a cycle's table: why it failed, what held it back. */
export function cycleNotes(summary: CycleSummary): string[] {
  const notes: string[] = [];
  const when = utc(summary.startedAt).slice(11);
  for (const failure of summary.failedSteps)
    notes.push(
      `${when} ${failure.step} failed after its retries: ${failure.error}${failure.cause ? ` — ${failure.cause}` : ''}`,
    );
  if (summary.status !== 'SUCCEEDED' && summary.status !== 'RUNNING' && summary.error)
    notes.push(
      `${when} execution ${summary.status}: ${summary.error}${summary.failedSteps.length > 0 || !summary.cause ? '' : ` — ${summary.cause}`}`,
    );
  if (summary.status === 'UNKNOWN')
    notes.push(
      `${when} no end record in the execution log (delivery is best effort): how it ended is unknown`,
    );
  if (summary.leaseHeldBy)
    notes.push(`${when} cycle ${summary.leaseHeldBy} held the scaling lease: nothing launched or removed`);
  if (summary.scaleDownHeld) notes.push(`${when} scale-down held: some repositories could not be read`);
  return notes;
}

/** One cycle per pool, all of it: the plan's counts and what was done. */
export function cyclePoolTable(summary: CycleSummary): string {
  const withWarm = summary.pools.some((pool) => pool.warm !== undefined);
  const counts = ['queued', 'idle', 'busy', 'booting', 'launch', 'launched', 'terminate', 'removed'];
  return textTable(
    [
      { title: 'pool' },
      ...[...counts, ...(withWarm ? warmTitles : [])].map((title) => ({ title, align: 'right' as const })),
    ],
    summary.pools.map((pool) => [
      pool.pool,
      String(pool.queued),
      String(pool.idle),
      String(pool.busy),
      String(pool.booting),
      String(pool.launch),
      pool.launched === null ? '?' : String(pool.launched),
      String(pool.terminate),
      pool.removed === null ? '?' : String(pool.removed),
      ...(withWarm ? warmCells(pool.warm ?? {}) : []),
    ]),
  );
}

/** After a cycle's trace: how it ended, its pools, and why it failed. */
export function renderOutcome(summary: CycleSummary): string[] {
  const lines = [
    '',
    `  ${summary.status}${summary.durationMs === undefined ? '' : ` in ${took(summary)}`}${summary.error ? `: ${summary.error}` : ''}`,
  ];
  if (summary.pools.length > 0) lines.push('', cyclePoolTable(summary));
  if (summary.unmatched)
    lines.push(`  (${summary.unmatched} queued job(s) match no pool: GitHub-hosted or other labels)`);
  const notes = cycleNotes(summary);
  if (notes.length > 0) lines.push('', ...notes.map((note) => `  ${note}`));
  return lines;
}
