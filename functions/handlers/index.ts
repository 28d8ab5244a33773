import { aggregateDemand } from './aggregate-demand.ts';
import { collectRepositoryJobs } from './collect-repository-jobs.ts';
import { decide } from './decide.ts';
import type { HandlerDeps } from './deps.ts';
import { listRepositories } from './list-repositories.ts';
import { registerRunners } from './register-runners.ts';
import { scaleDown } from './scale-down.ts';
import { scaleUp } from './scale-up.ts';

/** ASL Task state name → handler factory. The names are the contract with statemachine/*.asl.json. */
export const taskHandlers = {
  ListRepositories: listRepositories,
  CollectRepositoryJobs: collectRepositoryJobs,
  AggregateDemand: aggregateDemand,
  Decide: decide,
  ScaleUp: scaleUp,
  ScaleDown: scaleDown,
  RegisterRunners: registerRunners,
} as const satisfies Record<string, (deps: HandlerDeps) => (event: unknown) => Promise<unknown>>;

export type TaskName = keyof typeof taskHandlers;
