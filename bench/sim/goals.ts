/**
 * The benchmark's judgement, per workload: the best stepscale strategy shipped (the strategies whose name
 * starts with `stepscale`) against the peers users choose from (every strategy but those and seed-baseline)
 * and against seed-baseline, the poller stepscale replaces.
 *
 * On every workload:
 *   p95 above boot   ≤ every peer's                 (limit: the lowest peer's)
 *   idle runner-min  ≤ 1.1 × every peer's           (limit: 1.1 × the lowest peer's)
 *   peak runners     ≤ maxRunners, in every pool
 *   unstarted jobs   = 0
 * and by what the workload's waiting is about (its `judgedOn`):
 *   seeing    p95 above boot ≤ ⅓ of seed-baseline's (jobs wait to be noticed: steady, lossy webhooks, large org)
 *   capacity  p95 above boot ≤ seed-baseline's      (jobs wait for runners under a cap or a burst)
 * A workload without `judgedOn` is judged on the every-workload criteria only.
 *
 * The best stepscale strategy is the one that meets the most criteria; ties go to the lower p95 above boot,
 * then to fewer idle runner-minutes, then to the name.
 */
import { round } from './metrics.ts';

export type JudgedOn = 'seeing' | 'capacity';

/** What one strategy did on one workload, as far as the goals go. */
export interface GoalInputs {
  readonly p95AboveBootS: number;
  readonly idleRunnerMinutes: number;
  readonly peakRunners: number;
  readonly unstartedJobs: number;
  readonly peakRunnersByPool: Readonly<Record<string, number>>;
  readonly maxRunnersByPool: Readonly<Record<string, number>>;
}

export interface Criterion {
  readonly value: number;
  /** Null when there was nothing to compare with (no peer ran). */
  readonly limit: number | null;
  /** The strategy the limit comes from, or what it is (`maxRunners`, `none`). */
  readonly comparedTo: string;
  readonly met: boolean;
}

export interface WorkloadGoals {
  readonly judgedOn: JudgedOn | null;
  /** The stepscale strategy judged: the best of those shipped. */
  readonly stepscaleStrategy: string | null;
  readonly peers: readonly string[];
  readonly criteria: {
    readonly p95AboveBootVsPeers: Criterion;
    readonly idleRunnerMinutesVsPeers: Criterion;
    readonly peakWithinMax: Criterion & { readonly violations: readonly string[] };
    readonly unstartedJobs: Criterion;
    /** Only on workloads with `judgedOn`: ⅓ of seed-baseline's (seeing) or seed-baseline's (capacity). */
    readonly p95AboveBootVsBaseline?: Criterion & { readonly factor: number };
  };
  readonly met: boolean;
}

export const baselineName = 'seed-baseline';

/** Which side of the comparison a strategy is on, from its name. */
export function strategyRole(name: string): 'stepscale' | 'baseline' | 'peer' {
  if (name.startsWith('stepscale')) return 'stepscale';
  if (name === baselineName) return 'baseline';
  return 'peer';
}

export const idleAllowance = 1.1;
/** Limits are compared unrounded; this absorbs floating-point noise (1.1 × 10 = 11.000000000000002). */
export const epsilon = 1e-9;
export const baselineFactor: Record<JudgedOn, number> = { seeing: 1 / 3, capacity: 1 };

/** The goals of one workload from what every strategy did on it. */
export function evaluateWorkloadGoals(
  judgedOn: JudgedOn | null,
  byStrategy: Readonly<Record<string, GoalInputs>>,
): WorkloadGoals {
  const names = Object.keys(byStrategy);
  const peers = names.filter((name) => strategyRole(name) === 'peer');
  const candidates = names
    .filter((name) => strategyRole(name) === 'stepscale')
    .map((name) => ({ name, criteria: criteriaFor(judgedOn, byStrategy, name, peers) }));
  const metCount = (criteria: WorkloadGoals['criteria']) =>
    Object.values(criteria).filter((criterion) => criterion.met).length;
  candidates.sort((a, b) => {
    const ia = byStrategy[a.name] as GoalInputs;
    const ib = byStrategy[b.name] as GoalInputs;
    return (
      metCount(b.criteria) - metCount(a.criteria) ||
      ia.p95AboveBootS - ib.p95AboveBootS ||
      ia.idleRunnerMinutes - ib.idleRunnerMinutes ||
      (a.name < b.name ? -1 : 1)
    );
  });
  const best = candidates[0];
  if (!best) {
    const none: Criterion = { value: 0, limit: null, comparedTo: 'none', met: false };
    return {
      judgedOn,
      stepscaleStrategy: null,
      peers,
      criteria: {
        p95AboveBootVsPeers: none,
        idleRunnerMinutesVsPeers: none,
        peakWithinMax: { ...none, violations: [] },
        unstartedJobs: none,
      },
      met: false,
    };
  }
  return {
    judgedOn,
    stepscaleStrategy: best.name,
    peers,
    criteria: best.criteria,
    met: Object.values(best.criteria).every((criterion) => criterion.met),
  };
}

function criteriaFor(
  judgedOn: JudgedOn | null,
  byStrategy: Readonly<Record<string, GoalInputs>>,
  name: string,
  peers: readonly string[],
): WorkloadGoals['criteria'] {
  const own = byStrategy[name] as GoalInputs;
  const lowest = (pick: (inputs: GoalInputs) => number) => {
    let found: { peer: string; value: number } | undefined;
    for (const peer of peers) {
      const value = pick(byStrategy[peer] as GoalInputs);
      if (!found || value < found.value) found = { peer, value };
    }
    return found;
  };
  const p95Peer = lowest((inputs) => inputs.p95AboveBootS);
  const idlePeer = lowest((inputs) => inputs.idleRunnerMinutes);
  const idleLimit = idlePeer ? idlePeer.value * idleAllowance : null;
  const violations = Object.entries(own.peakRunnersByPool)
    .filter(([pool, peak]) => peak > (own.maxRunnersByPool[pool] ?? Number.POSITIVE_INFINITY))
    .map(([pool, peak]) => `${pool}: ${peak} > ${own.maxRunnersByPool[pool]}`);
  const maxTotal = Object.values(own.maxRunnersByPool).reduce((sum, max) => sum + max, 0);
  const criteria: WorkloadGoals['criteria'] = {
    p95AboveBootVsPeers: {
      value: own.p95AboveBootS,
      limit: p95Peer?.value ?? null,
      comparedTo: p95Peer?.peer ?? 'none',
      met: !p95Peer || own.p95AboveBootS <= p95Peer.value,
    },
    idleRunnerMinutesVsPeers: {
      value: own.idleRunnerMinutes,
      limit: idleLimit === null ? null : round(idleLimit, 2),
      comparedTo: idlePeer?.peer ?? 'none',
      met: idleLimit === null || own.idleRunnerMinutes <= idleLimit + epsilon,
    },
    peakWithinMax: {
      value: own.peakRunners,
      limit: maxTotal,
      comparedTo: 'maxRunners',
      met: violations.length === 0,
      violations,
    },
    unstartedJobs: { value: own.unstartedJobs, limit: 0, comparedTo: 'none', met: own.unstartedJobs === 0 },
  };
  const baseline = byStrategy[baselineName];
  if (!judgedOn) return criteria;
  const factor = baselineFactor[judgedOn];
  const limit = baseline ? baseline.p95AboveBootS * factor : null;
  return {
    ...criteria,
    p95AboveBootVsBaseline: {
      value: own.p95AboveBootS,
      limit: limit === null ? null : round(limit, 1),
      comparedTo: baseline ? baselineName : 'none',
      met: limit === null || own.p95AboveBootS <= limit + epsilon,
      factor: round(factor, 4),
    },
  };
}
