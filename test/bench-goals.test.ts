/** The per-workload goals (bench/sim/goals.ts): each criterion on its boundary, and which stepscale is judged. */
import { describe, expect, it } from 'vitest';
import { evaluateWorkloadGoals, type GoalInputs, type JudgedOn, strategyRole } from '../bench/sim/goals.ts';

function inputs(overrides: Partial<GoalInputs> = {}): GoalInputs {
  return {
    p95AboveBootS: 10,
    idleRunnerMinutes: 0,
    peakRunners: 5,
    unstartedJobs: 0,
    peakRunnersByPool: { x64: 5 },
    maxRunnersByPool: { x64: 40 },
    ...overrides,
  };
}

/** seed-baseline at 69 s, tf-runner at 45 s and 2 idle minutes, arc-listener at 12 s and 10 idle minutes. */
function world(stepscale: Partial<GoalInputs>, extra: Record<string, GoalInputs> = {}) {
  return {
    'seed-baseline': inputs({ p95AboveBootS: 69, idleRunnerMinutes: 0.2 }),
    stepscale: inputs(stepscale),
    'tf-runner': inputs({ p95AboveBootS: 45, idleRunnerMinutes: 2 }),
    'arc-listener': inputs({ p95AboveBootS: 12, idleRunnerMinutes: 10 }),
    ...extra,
  };
}

describe('Function: strategyRole', () => {
  it.each([
    ['stepscale', 'stepscale'],
    ['stepscale-webhook', 'stepscale'],
    ['seed-baseline', 'baseline'],
    ['tf-runner', 'peer'],
    ['arc-listener', 'peer'],
  ])('%s is a %s strategy', (name, role) => {
    expect(strategyRole(name)).toBe(role);
  });
});

interface Row {
  readonly case: string;
  readonly stepscale: Partial<GoalInputs>;
  readonly criterion: 'p95AboveBootVsPeers' | 'idleRunnerMinutesVsPeers' | 'peakWithinMax' | 'unstartedJobs';
  readonly met: boolean;
  readonly limit: number;
  readonly comparedTo: string;
}

describe('Function: evaluateWorkloadGoals', () => {
  it.each<Row>([
    // p95 above boot against the lowest peer's (arc-listener's 12 s)
    {
      case: 'p95 equal to the best peer',
      stepscale: { p95AboveBootS: 12 },
      criterion: 'p95AboveBootVsPeers',
      met: true,
      limit: 12,
      comparedTo: 'arc-listener',
    },
    {
      case: 'p95 above the best peer',
      stepscale: { p95AboveBootS: 12.1 },
      criterion: 'p95AboveBootVsPeers',
      met: false,
      limit: 12,
      comparedTo: 'arc-listener',
    },
    // idle against 1.1 × the lowest peer's (tf-runner's 2 → 2.2)
    {
      case: 'idle at 1.1 × the best peer',
      stepscale: { idleRunnerMinutes: 2.2 },
      criterion: 'idleRunnerMinutesVsPeers',
      met: true,
      limit: 2.2,
      comparedTo: 'tf-runner',
    },
    {
      case: 'idle above 1.1 × the best peer',
      stepscale: { idleRunnerMinutes: 2.3 },
      criterion: 'idleRunnerMinutesVsPeers',
      met: false,
      limit: 2.2,
      comparedTo: 'tf-runner',
    },
    // the peak, per pool: the total can be under the sum while one pool is over its max
    {
      case: 'one pool over its max',
      stepscale: {
        peakRunners: 21,
        peakRunnersByPool: { x64: 1, arm: 21 },
        maxRunnersByPool: { x64: 40, arm: 20 },
      },
      criterion: 'peakWithinMax',
      met: false,
      limit: 60,
      comparedTo: 'maxRunners',
    },
    {
      case: 'every pool at most at its max',
      stepscale: { peakRunners: 40, peakRunnersByPool: { x64: 40 } },
      criterion: 'peakWithinMax',
      met: true,
      limit: 40,
      comparedTo: 'maxRunners',
    },
    {
      case: 'a job never started',
      stepscale: { unstartedJobs: 1 },
      criterion: 'unstartedJobs',
      met: false,
      limit: 0,
      comparedTo: 'none',
    },
  ])('every workload: $case', ({ stepscale, criterion, met, limit, comparedTo }) => {
    const goals = evaluateWorkloadGoals(null, world(stepscale));
    const judged = goals.criteria[criterion];
    expect(judged).toMatchObject({ met, limit, comparedTo });
  });

  it.each<{ judgedOn: JudgedOn; p95: number; limit: number; met: boolean }>([
    { judgedOn: 'seeing', p95: 23, limit: 23, met: true },
    { judgedOn: 'seeing', p95: 23.1, limit: 23, met: false },
    { judgedOn: 'capacity', p95: 69, limit: 69, met: true },
    { judgedOn: 'capacity', p95: 69.1, limit: 69, met: false },
  ])(
    '$judgedOn: p95 $p95 s against seed-baseline’s 69 s → limit $limit s, met $met',
    ({ judgedOn, p95, limit, met }) => {
      const goals = evaluateWorkloadGoals(judgedOn, world({ p95AboveBootS: p95 }));
      expect(goals.criteria.p95AboveBootVsBaseline).toMatchObject({
        limit,
        met,
        comparedTo: 'seed-baseline',
      });
    },
  );

  it('is met only when every criterion is, and judges no baseline criterion without judgedOn', () => {
    const best = { p95AboveBootS: 5, idleRunnerMinutes: 1 };
    expect(evaluateWorkloadGoals('seeing', world(best)).met).toBe(true);
    const unjudged = evaluateWorkloadGoals(null, world(best));
    expect(unjudged.met).toBe(true);
    expect(unjudged.criteria.p95AboveBootVsBaseline).toBeUndefined();
    expect(unjudged.peers).toEqual(['tf-runner', 'arc-listener']);
    expect(evaluateWorkloadGoals('seeing', world({ ...best, unstartedJobs: 2 })).met).toBe(false);
  });

  it('judges the best stepscale strategy shipped: most criteria met, then the lower p95', () => {
    const goals = evaluateWorkloadGoals(
      'seeing',
      world(
        { p95AboveBootS: 60 },
        {
          'stepscale-webhook': inputs({ p95AboveBootS: 11 }),
          'stepscale-fast-but-wasteful': inputs({ p95AboveBootS: 4, idleRunnerMinutes: 50 }),
        },
      ),
    );
    expect(goals.stepscaleStrategy).toBe('stepscale-webhook');
    expect(goals.met).toBe(true);
    expect(goals.criteria.p95AboveBootVsPeers).toMatchObject({ value: 11, limit: 12 });
  });

  it('has nothing to compare with when no peer ran: limits null, met', () => {
    const goals = evaluateWorkloadGoals(null, { stepscale: inputs(), 'seed-baseline': inputs() });
    expect(goals.criteria.p95AboveBootVsPeers).toMatchObject({ limit: null, comparedTo: 'none', met: true });
    expect(goals.criteria.idleRunnerMinutesVsPeers).toMatchObject({ limit: null, met: true });
  });

  it('reports no stepscale strategy, not met, when none ran', () => {
    const goals = evaluateWorkloadGoals('seeing', { 'tf-runner': inputs() });
    expect(goals).toMatchObject({ stepscaleStrategy: null, met: false });
  });
});
