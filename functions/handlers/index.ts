import { aggregateDemand, aggregateDemandNeeds } from './aggregate-demand.ts';
import { collectRepositoryJobs, collectRepositoryJobsNeeds } from './collect-repository-jobs.ts';
import { decide, decideNeeds } from './decide.ts';
import type { HandlerDeps, PortNeeds } from './deps.ts';
import { listRepositories, listRepositoriesNeeds } from './list-repositories.ts';
import { listen, listenNeeds } from './listen.ts';
import { registerRunners, registerRunnersNeeds } from './register-runners.ts';
import { scaleDown, scaleDownNeeds } from './scale-down.ts';
import { scaleUp, scaleUpNeeds } from './scale-up.ts';

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

/** The port methods each Task's handler calls (declared next to each handler). */
export const taskNeeds = {
  ListRepositories: listRepositoriesNeeds,
  CollectRepositoryJobs: collectRepositoryJobsNeeds,
  AggregateDemand: aggregateDemandNeeds,
  Decide: decideNeeds,
  ScaleUp: scaleUpNeeds,
  ScaleDown: scaleDownNeeds,
  RegisterRunners: registerRunnersNeeds,
} as const satisfies Record<TaskName, PortNeeds>;

/** The listener state machine's Task (statemachine/listener.asl.json) → handler factory. */
export const listenerTaskHandlers = {
  Listen: listen,
} as const satisfies Record<string, (deps: HandlerDeps) => (event: unknown) => Promise<unknown>>;

export type ListenerTaskName = keyof typeof listenerTaskHandlers;

export const listenerTaskNeeds = {
  Listen: listenNeeds,
} as const satisfies Record<ListenerTaskName, PortNeeds>;
