/**
 * The one text table of the project: `stepscale plan`, `cycles` and the local run print it, and the benchmarks
 * (bench/) too. Text columns are left-aligned, numbers right-aligned, a rule under the header.
 */
import type { PoolSummary } from '../handlers/decide.ts';

export type PoolRow = Pick<
  PoolSummary,
  'pool' | 'queued' | 'idle' | 'busy' | 'booting' | 'launch' | 'terminate'
> &
  Partial<Pick<PoolSummary, 'source' | 'start' | 'prepare' | 'warm'>>;

const counts = ['queued', 'idle', 'busy', 'booting', 'launch', 'terminate'] as const;

/**
 * A fixed-width table, one row per pool. A `source` column (how the pool learned its demand) is shown when a
 * pool's demand did not come from polling; when a pool has a warm pool, its stopped instances ready to start
 * (`ready`), those still warming up (`preparing`), those this cycle starts (`start`) and the refill it launches
 * in prepare mode (`prepare`: the target, and while the pool is in steady use the replacements kept ahead).
 */
export function poolTable(rows: readonly PoolRow[]): string {
  const withSource = rows.some((row) => row.source !== undefined && row.source !== 'poll');
  const withWarm = rows.some((row) => row.warm !== undefined);
  const cells = (row: PoolRow): string[] => [
    row.pool,
    ...(withSource ? [row.source ?? 'poll'] : []),
    ...counts.map((count) => String(row[count])),
    ...(withWarm ? warmCells(row) : []),
  ];
  const titles = ['pool', ...(withSource ? ['source'] : []), ...counts, ...(withWarm ? warmTitles : [])];
  return textTable(
    titles.map((title) => ({ title, align: title === 'pool' || title === 'source' ? 'left' : 'right' })),
    rows.map(cells),
  );
}

export const warmTitles = ['ready', 'preparing', 'start', 'prepare'];

/** A pool's warm-pool cells; a pool without a warm pool shows dashes. */
export function warmCells(row: Partial<Pick<PoolSummary, 'start' | 'prepare' | 'warm'>>): string[] {
  if (!row.warm) return warmTitles.map(() => '–');
  return [row.warm.ready, row.warm.preparing, row.start?.length ?? 0, row.prepare ?? 0].map(String);
}

export interface Column {
  readonly title: string;
  /** Text columns are left-aligned, numbers right-aligned. */
  readonly align?: 'left' | 'right';
}

/** A fixed-width table of any columns, each line indented by `indent`. */
export function textTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  indent = '  ',
): string {
  const cells = [columns.map((column) => column.title), ...rows];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => (line[i] ?? '').length)));
  const render = (line: readonly string[]) =>
    columns
      .map((column, i) =>
        column.align === 'right'
          ? (line[i] ?? '').padStart(widths[i] ?? 0)
          : (line[i] ?? '').padEnd(widths[i] ?? 0),
      )
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');
  return [render(cells[0] ?? []), rule, ...rows.map(render)].map((line) => `${indent}${line}`).join('\n');
}

/** A table whose first `leftColumns` columns are text (names) and the rest numbers, not indented. */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  leftColumns = 2,
): string {
  return textTable(
    header.map((title, i) => ({ title, align: i < leftColumns ? 'left' : 'right' })),
    rows,
    '',
  );
}
