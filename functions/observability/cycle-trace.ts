/**
 * The readable trace of a scaling cycle: each state entered and exited with its duration, Map iterations,
 * retries and catches, and a few words on what each Task produced. One formatter for every source of events:
 * the embedded executor behind `npm start` (local/), and an execution's history on AWS — GetExecutionHistory
 * for a STANDARD state machine, the execution log in CloudWatch Logs for an EXPRESS one — read by the CLI
 * (functions/cli/execution-history.ts). Each source converts its events to {@link CycleEvent}s.
 * Pure string building, so tests can read it.
 */
import type { Budgets } from '../core/decide.ts';

/** A state of the state machine: its name and ASL type (Task, Map, Choice, Pass, Wait, Succeed, Fail). */
export interface StateRef {
  readonly name: string;
  readonly type: string;
}

interface At {
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
}

interface InState extends At {
  readonly state: StateRef;
  /** The Map iteration the state runs in; undefined at the top level. */
  readonly index?: number;
}

/** What happened in a cycle's execution, in the order it happened. */
export type CycleEvent =
  | (At & { readonly type: 'ExecutionStarted'; readonly input?: unknown })
  | (At & { readonly type: 'ExecutionSucceeded'; readonly output?: unknown })
  | (At & {
      readonly type: 'ExecutionFailed' | 'ExecutionTimedOut' | 'ExecutionAborted';
      readonly error?: string;
      readonly cause?: string;
    })
  | (InState & { readonly type: 'StateEntered'; readonly input?: unknown })
  | (InState & { readonly type: 'StateExited'; readonly output?: unknown })
  /** An attempt failed (a Task's invocation, or a Fail state): a retry, a catch or the end follows. */
  | (InState & { readonly type: 'StateFailed'; readonly error: string; readonly cause?: string })
  | (InState & { readonly type: 'StateRetried'; readonly attempt: number })
  /** `next`: the state the catcher went on to, when known. */
  | (InState & { readonly type: 'StateCaught'; readonly next?: string })
  /** For Map iterations `state` is the Map state and `index` the iteration. */
  | (InState & { readonly type: 'MapIterationStarted' | 'MapIterationSucceeded' })
  | (InState & { readonly type: 'MapIterationFailed'; readonly error?: string });

/** Turns events into lines as they arrive; keeps the entry times needed for durations. */
export class TraceFormatter {
  private readonly entered = new Map<string, number>();

  format(event: CycleEvent): string | undefined {
    switch (event.type) {
      case 'StateEntered':
        this.entered.set(this.key(event.state.name, event.index), event.timestamp);
        return event.index === undefined ? `  ▶ ${event.state.name} (${event.state.type})` : undefined;
      case 'StateExited': {
        const started = this.entered.get(this.key(event.state.name, event.index)) ?? event.timestamp;
        const took = `${event.timestamp - started} ms`;
        const detail = describeOutput(event.state.name, event.output);
        if (event.index !== undefined)
          return `      ↳ [${event.index}] ${event.state.name} ${took}${detail ? `  ${detail}` : ''}`;
        return `  ✓ ${event.state.name} ${took}${detail ? `  ${detail}` : ''}`;
      }
      case 'MapIterationFailed':
        return `      ✗ iteration ${event.index} failed: ${event.error ?? 'error'}`;
      case 'StateRetried':
        return `      ↻ ${event.state.name}${at(event.index)} retry ${event.attempt}`;
      case 'StateCaught':
        return `      ⚠ ${event.state.name}${at(event.index)} error caught${event.next ? ` → ${event.next}` : ''}`;
      case 'StateFailed':
        return `      ✗ ${event.state.name}${at(event.index)} failed: ${event.error}${event.cause ? ` — ${event.cause}` : ''}`;
      case 'ExecutionSucceeded':
        return '  ● execution succeeded';
      case 'ExecutionFailed':
        return `  ● execution failed: ${event.error ?? 'unknown error'}`;
      case 'ExecutionTimedOut':
        return `  ● execution timed out${event.cause ? `: ${event.cause}` : ''}`;
      case 'ExecutionAborted':
        return '  ● execution aborted';
      default:
        return undefined;
    }
  }

  private key(name: string, index: number | undefined): string {
    return `${name}#${index ?? '-'}`;
  }
}

function at(index: number | undefined): string {
  return index === undefined ? '' : ` [${index}]`;
}

/** The parts of the cycle state (and of a Map iteration's output) the trace describes. */
interface CycleStateView {
  repositories?: {
    count: number;
    scanned?: number;
    skipped?: number;
    hot?: number;
    budget?: { slots: number; requests: number | null; remaining: number | null; costPerScan: number };
    batches: unknown[];
    sources?: Record<string, { source: string; assigned?: number; reason: string }>;
    targeted?: boolean;
  };
  demand?: {
    queuedByPool: Record<string, number>;
    unmatched: number;
    complete: boolean;
    failedRepositories: number;
    skippedRepositories?: number;
    targeted?: boolean;
  };
  plan?: {
    launches: { count: number }[];
    removals: unknown[];
    scaleDownHeld: boolean;
    leaseHeldBy?: string;
    budgets?: Budgets;
  };
  scaleUp?: { launched: number; missing: number; toRegister?: number };
  scaleDown?: { terminated: number; skipped: number; failed: number; deferred?: number };
  registration?: {
    registered: number;
    failed: number;
    elsewhere: number;
    queue: { instanceIds: string[] }[];
    waitingFor?: string;
  };
}

interface BatchView {
  repositories: number;
  failedRepositories: number;
  activeRepositories?: number;
  queuedByPool: Record<string, number>;
  unmatched: number;
}

/** A few words on what a Task produced, read from its output. */
function describeOutput(state: string, output: unknown): string {
  const o = (output ?? {}) as CycleStateView;
  switch (state) {
    case 'ListRepositories':
      return o.repositories ? describeScan(o.repositories) : '';
    case 'CollectRepositoryJobs': {
      const batch = output as BatchView | undefined;
      if (!batch?.queuedByPool) return '';
      const failed = batch.failedRepositories ? `, ${batch.failedRepositories} FAILED` : '';
      const active = batch.activeRepositories ? `, ${batch.activeRepositories} with work` : '';
      return `${batch.repositories} repos, ${sum(batch.queuedByPool)} queued for our pools, ${batch.unmatched} unmatched${active}${failed}`;
    }
    case 'CollectQueuedJobs':
      return `${o.repositories?.batches.length ?? 0} iterations`;
    case 'AggregateDemand': {
      if (!o.demand) return '';
      const failed = o.demand.failedRepositories ? `, ${o.demand.failedRepositories} repos failed` : '';
      const skipped = o.demand.skippedRepositories ? `, ${o.demand.skippedRepositories} repos skipped` : '';
      return `${sum(o.demand.queuedByPool)} queued, ${o.demand.unmatched} unmatched${failed}${skipped}`;
    }
    case 'Decide': {
      if (!o.plan) return '';
      const launches = o.plan.launches.reduce((total, launch) => total + launch.count, 0);
      const held = o.plan.leaseHeldBy
        ? ` (cycle ${o.plan.leaseHeldBy} holds the scaling lease: nothing changed)`
        : o.plan.scaleDownHeld
          ? o.repositories?.targeted || o.demand?.targeted
            ? ' (removals left to the scheduled cycle: a started cycle — a delivery or the scale-set listener — sees part of the organization)'
            : ' (scale-down held: incomplete collection)'
          : '';
      const budgets = o.plan.budgets;
      const capped =
        budgets && budgets.launches.allowed < budgets.launches.asked
          ? ` (${budgets.launches.asked} wanted, cap ${budgets.launches.cap})`
          : '';
      const writes =
        budgets && budgets.writes.deferred > 0
          ? `; write budget spent: ${budgets.writes.deferred} of ${budgets.writes.registrations + budgets.writes.removals + budgets.writes.ghosts} GitHub writes wait (${budgets.writes.slots} slots left this cycle)`
          : '';
      return `launch ${launches}${capped}, remove ${o.plan.removals.length}${held}${writes}`;
    }
    case 'ScaleUp':
      return o.scaleUp
        ? `launched ${o.scaleUp.launched}${o.scaleUp.missing ? `, ${o.scaleUp.missing} missing` : ''}${o.scaleUp.toRegister ? `; ${o.scaleUp.toRegister} to register` : ''}`
        : 'failed';
    case 'ScaleDown':
      return o.scaleDown
        ? `terminated ${o.scaleDown.terminated}, skipped ${o.scaleDown.skipped}, failed ${o.scaleDown.failed}${o.scaleDown.deferred ? `, ${o.scaleDown.deferred} deferred (write budget)` : ''}`
        : 'failed';
    case 'RegisterRunners': {
      const r = o.registration;
      if (!r?.queue) return '';
      const left = r.queue.reduce((total, entry) => total + entry.instanceIds.length, 0);
      const failed = r.failed ? `, ${r.failed} FAILED (terminated)` : '';
      const elsewhere = r.elsewhere ? `, ${r.elsewhere} by another cycle` : '';
      const waiting =
        r.waitingFor === 'write-budget'
          ? ' (write budget spent: the next cycle goes on)'
          : r.waitingFor === 'github-rate-limit'
            ? ' (GitHub asked to wait: the next cycle goes on)'
            : '';
      return `${r.registered} registered${failed}${elsewhere}, ${left} waiting${waiting}`;
    }
    default:
      return '';
  }
}

/** "12 repositories, 12 scanned (2 hot), 3 batches; budget 26 scans, 4,800 requests left" */
function describeScan(scan: NonNullable<CycleStateView['repositories']>): string {
  const sources = Object.entries(scan.sources ?? {});
  const fromScaleSets = sources.filter(([, source]) => source.source !== 'poll');
  if (fromScaleSets.length > 0 && !sources.some(([, source]) => source.source === 'poll'))
    return `no pool polled: ${fromScaleSets
      .map(([pool, source]) =>
        source.source === 'scaleset'
          ? `${pool} ${source.assigned ?? 0} assigned (scale set)`
          : `${pool} not observed (${source.reason})`,
      )
      .join('; ')}`;
  const scanned = scan.scanned ?? scan.count;
  const hot = scan.hot ? ` (${scan.hot} hot)` : '';
  const skipped = scan.skipped ? `, ${scan.skipped} SKIPPED (rate limit)` : '';
  const budget = scan.budget;
  const limit = budget
    ? `; budget ${budget.slots} scans${budget.remaining === null ? ', no rate limit' : ` at ${budget.costPerScan} req each, ${budget.remaining} requests left`}`
    : '';
  return `${scan.count} repositories, ${scanned} scanned${hot}${skipped} in ${scan.batches.length} batches${limit}`;
}

function sum(record: Record<string, number> | undefined): number {
  return Object.values(record ?? {}).reduce((total, n) => total + n, 0);
}
