/**
 * Task `ScaleDown`: removes the idle runners Decide chose, safely. The runners list's `busy` flag lags,
 * so each runner is re-read right before acting; a runner is deregistered first and its instance is
 * terminated only if the deregistration succeeded (GitHub refuses to delete a runner that took a job).
 */
import pLimit from 'p-limit';
import { z } from 'zod';
import { cycleSchema, type HandlerDeps, parseTaskInput } from './deps.ts';

const inputSchema = z.object({
  cycle: cycleSchema,
  removals: z.array(
    z.object({
      pool: z.string().min(1),
      runnerId: z.int().positive(),
      runnerName: z.string().min(1),
      instanceId: z.string().min(1),
    }),
  ),
});

export interface ScaleDownOutput {
  readonly terminated: number;
  /** Runners that turned busy since Decide looked: left alone. */
  readonly skipped: number;
  readonly failed: number;
}

type Outcome = 'removed' | 'skipped' | 'failed';

export function scaleDown(deps: HandlerDeps) {
  return async (event: unknown): Promise<ScaleDownOutput> => {
    const { cycle, removals } = parseTaskInput('ScaleDown', inputSchema, event);
    const limit = pLimit(4);
    const toTerminate: string[] = [];
    const outcomes = await Promise.all(
      removals.map((removal) =>
        limit(async (): Promise<Outcome> => {
          const fields = { cycleId: cycle.id, pool: removal.pool, runner: removal.runnerName };
          try {
            const fresh = await deps.github.getRunner(removal.runnerId);
            if (fresh && (fresh.busy || fresh.name !== removal.runnerName)) {
              deps.log.info('Runner turned busy, left alone', fields);
              return 'skipped';
            }
            // A runner that is already gone runs no job; terminating its instance is what a retry must still do.
            if (fresh) await deps.github.deleteRunner(removal.runnerId);
            toTerminate.push(removal.instanceId);
            return 'removed';
          } catch (error) {
            // Deregistration failed or was refused (the runner took a job): keep the instance.
            deps.log.warn('Runner not deregistered, instance kept', { ...fields, error: error as Error });
            return 'failed';
          }
        }),
      ),
    );
    if (toTerminate.length > 0) {
      await deps.fleet.terminate(toTerminate);
      deps.log.info('Terminated instances', { cycleId: cycle.id, count: toTerminate.length });
    }
    return {
      terminated: toTerminate.length,
      skipped: outcomes.filter((outcome) => outcome === 'skipped').length,
      failed: outcomes.filter((outcome) => outcome === 'failed').length,
    };
  };
}
