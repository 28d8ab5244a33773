/**
 * Console-style rendering of a cycle: each state entered/exited with its duration, Map iterations,
 * retries and catches, then a per-pool summary table. Pure string building, so tests can read it.
 */
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
  };
  demand?: {
    queuedByPool: Record<string, number>;
    unmatched: number;
    complete: boolean;
    failedRepositories: number;
    skippedRepositories?: number;
  };
  plan?: { launches: { count: number }[]; removals: unknown[]; scaleDownHeld: boolean; leaseHeldBy?: string };
  scaleUp?: { launched: number; missing: number };
  scaleDown?: { terminated: number; skipped: number; failed: number };
  registration?: { registered: number; pending: number };
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
          ? ' (scale-down held: incomplete collection)'
          : '';
      return `launch ${launches}, remove ${o.plan.removals.length}${held}`;
    }
    case 'ScaleUp':
      return o.scaleUp
        ? `launched ${o.scaleUp.launched}${o.scaleUp.missing ? `, ${o.scaleUp.missing} missing` : ''}`
        : 'failed';
    case 'ScaleDown':
      return o.scaleDown
        ? `terminated ${o.scaleDown.terminated}, skipped ${o.scaleDown.skipped}, failed ${o.scaleDown.failed}`
        : 'failed';
    case 'CheckRegistration':
      return o.registration
        ? `${o.registration.registered} registered, ${o.registration.pending} still booting`
        : '';
    default:
      return '';
  }
}

/** "12 repositories, 12 scanned (2 hot), 3 batches; budget 26 scans, 4,800 requests left" */
function describeScan(scan: NonNullable<CycleStateView['repositories']>): string {
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
