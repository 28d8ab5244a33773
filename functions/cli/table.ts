/** A fixed-width per-pool table, shared by `stepscale plan` and the local run. */
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
  const cells = [
    columns.map(String),
    ...rows.map((row) => columns.map((column) => String(row[column as keyof PoolRow] ?? 'poll'))),
  ];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => (line[i] ?? '').length)));
  const render = (line: string[]) =>
    line
      .map((cell, i) =>
        i === 0 || (withSource && i === 1) ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0),
      )
      .join('  ');
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');
  return [render(cells[0] ?? []), rule, ...cells.slice(1).map(render)].map((line) => `  ${line}`).join('\n');
}

export interface Column {
  readonly title: string;
  /** Text columns are left-aligned, numbers right-aligned. */
  readonly align?: 'left' | 'right';
}

/** A fixed-width table of any columns, in the same style. */
export function textTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
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
  return [render(cells[0] ?? []), rule, ...rows.map(render)].map((line) => `  ${line}`).join('\n');
}
