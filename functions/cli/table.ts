/**
 * The one text table of the project: `stepscale plan`, `cycles` and the local run print it, and the benchmarks
 * (bench/) too. Text columns are left-aligned, numbers right-aligned, a rule under the header.
 */
import type { PoolSummary } from '../handlers/decide.ts';

export type PoolRow = Pick<
  PoolSummary,
  'pool' | 'queued' | 'idle' | 'busy' | 'booting' | 'launch' | 'terminate'
> &
  Partial<Pick<PoolSummary, 'source'>>;

const counts = ['queued', 'idle', 'busy', 'booting', 'launch', 'terminate'] as const;

/**
 * A fixed-width table, one row per pool. A `source` column (how the pool learned its demand) is shown when a
 * pool's demand did not come from polling.
 */
export function poolTable(rows: readonly PoolRow[]): string {
  const withSource = rows.some((row) => row.source !== undefined && row.source !== 'poll');
  const columns = ['pool', ...(withSource ? (['source'] as const) : []), ...counts] as const;
  return textTable(
    columns.map((title) => ({ title, align: title === 'pool' || title === 'source' ? 'left' : 'right' })),
    rows.map((row) => columns.map((column) => String(row[column as keyof PoolRow] ?? 'poll'))),
  );
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
