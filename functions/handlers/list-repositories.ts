/** Task `ListRepositories`: the organization's repositories, in batches for the collect Map. */
import { z } from 'zod';
import { cycleSchema, type HandlerDeps, parseTaskInput } from './deps.ts';

const inputSchema = z.object({ cycle: cycleSchema });

export interface ListRepositoriesOutput {
  readonly count: number;
  /** Repository names, sorted, grouped so one Map iteration collects one batch. */
  readonly batches: string[][];
}

export function listRepositories(deps: HandlerDeps) {
  return async (event: unknown): Promise<ListRepositoriesOutput> => {
    const { cycle } = parseTaskInput('ListRepositories', inputSchema, event);
    const names = [...new Set(await deps.github.listRepositories())].sort();
    const batches = chunk(names, deps.config.collection.repositoriesPerBatch);
    deps.log.info('Listed repositories', {
      cycleId: cycle.id,
      repositories: names.length,
      batches: batches.length,
    });
    return { count: names.length, batches };
  };
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}
