/**
 * Task `ScaleUp`: launches what Decide asked for. Each launch carries a client token derived from the
 * cycle id and pool, so a Step Functions retry of this task (or a duplicated cycle) never launches twice.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { cycleSchema, type HandlerDeps, parseTaskInput } from './deps.ts';

const inputSchema = z.object({
  cycle: cycleSchema,
  launches: z.array(z.object({ pool: z.string().min(1), count: z.int().min(1).max(10_000) })),
});

export interface ScaleUpOutput {
  readonly launched: number;
  readonly missing: number;
  readonly instanceIds: string[];
}

/** EC2 client tokens are ASCII and at most 64 characters; a hash keeps any cycle id within that. */
export function launchToken(cycleId: string, pool: string): string {
  return createHash('sha256').update(`${cycleId}\u0000${pool}`).digest('hex').slice(0, 64);
}

export function scaleUp(deps: HandlerDeps) {
  const poolNames = new Set(deps.policy.pools.map((pool) => pool.name));
  return async (event: unknown): Promise<ScaleUpOutput> => {
    const { cycle, launches } = parseTaskInput('ScaleUp', inputSchema, event);
    const instanceIds: string[] = [];
    let missing = 0;
    // Pools one after another: EC2 launch APIs allow only a few calls per second.
    for (const { pool, count } of launches) {
      if (!poolNames.has(pool)) throw new Error(`ScaleUp: unknown pool "${pool}"`);
      const result = await deps.fleet.launch({ pool, count, clientToken: launchToken(cycle.id, pool) });
      instanceIds.push(...result.instanceIds);
      missing += result.missing;
      const fields = { cycleId: cycle.id, pool, requested: count, launched: result.instanceIds.length };
      if (result.missing > 0)
        deps.log.warn('Launch partly fulfilled', {
          ...fields,
          missing: result.missing,
          errors: result.errors,
        });
      else deps.log.info('Launched instances', fields);
    }
    return { launched: instanceIds.length, missing, instanceIds };
  };
}
