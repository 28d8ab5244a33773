/**
 * Console-style rendering of a cycle: each state entered/exited with its duration, Map iterations,
 * retries and catches, then a per-pool summary table. Pure string building, so tests can read it.
 */
import type { Budgets } from '../functions/core/decide.ts';
import type { TraceEvent } from './cycle-runner.ts';

type Event = NonNullable<TraceEvent>;

/** Turns events into lines as they arrive; keeps the entry times needed for durations. */
export class TraceFormatter {
  private readonly entered = new Map<string, number>();

  format(event: Event): string | undefined {
    switch (event.type) {
      case 'ExecutionStarted':
        return undefined;
      case 'StateEntered':
        this.entered.set(this.key(event.state.name, event.index), event.timestamp);
        return event.index === undefined ? `  ▶ ${event.state.name} (${event.state.type})` : undefined;
      case 'StateExited': {
        const started = this.entered.get(this.key(event.state.name, event.index)) ?? event.timestamp;
        const took = `${event.timestamp - started} ms`;
        const detail = describeOutput(event.state.name, event.state.output);
        if (event.index !== undefined)
          return `      ↳ [${event.index}] ${event.state.name} ${took}${detail ? `  ${detail}` : ''}`;
        return `  ✓ ${event.state.name} ${took}${detail ? `  ${detail}` : ''}`;
      }
      case 'MapIterationStarted':
        return undefined;
      case 'MapIterationFailed':
        return `      ✗ iteration ${event.index} failed: ${event.Error}`;
      case 'StateRetried':
        return `      ↻ ${event.state.name}${at(event.index)} retry ${event.retry.attempt}`;
      case 'StateCaught':
        return `      ⚠ ${event.state.name}${at(event.index)} error caught → ${event.catch.catcher.Next}`;
      case 'StateFailed':
        return `      ✗ ${event.state.name}${at(event.index)} failed: ${event.Error}${event.Cause ? ` — ${String(event.Cause)}` : ''}`;
      case 'ExecutionSucceeded':
        return '  ● execution succeeded';
      case 'ExecutionFailed':
        return `  ● execution failed: ${event.Error}`;
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
      const batch = output as BatchView;
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
          ? o.repositories?.targeted || (o.demand as { targeted?: boolean } | undefined)?.targeted
            ? ' (scale-down held: a started cycle, not a scheduled one)'
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
      if (!r) return '';
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
