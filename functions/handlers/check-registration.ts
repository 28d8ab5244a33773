/** Task `CheckRegistration`: after the Wait, how many of this cycle's new instances have an online runner. */
import { z } from 'zod';
import { runnerNameFor } from '../core/model.ts';
import { cycleSchema, type HandlerDeps, parseTaskInput } from './deps.ts';

const inputSchema = z.object({ cycle: cycleSchema, instanceIds: z.array(z.string().min(1)) });

export interface CheckRegistrationOutput {
  readonly registered: number;
  readonly pending: number;
}

export function checkRegistration(deps: HandlerDeps) {
  return async (event: unknown): Promise<CheckRegistrationOutput> => {
    const { cycle, instanceIds } = parseTaskInput('CheckRegistration', inputSchema, event);
    const online = new Set(
      (await deps.github.listRunners())
        .filter((runner) => runner.status === 'online')
        .map((runner) => runner.name),
    );
    const registered = instanceIds.filter((id) => online.has(runnerNameFor(deps.config.stack, id))).length;
    const output = { registered, pending: instanceIds.length - registered };
    deps.log.info('Registration check', { cycleId: cycle.id, ...output });
    return output;
  };
}
