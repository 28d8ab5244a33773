/** Summaries of a run: percentiles by nearest rank, so a reader can check them against the raw waits. */

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** "p95 queue wait above boot time": how much longer than the boot itself the slowest 5 % waited. */
export function aboveBoot(p95: number, bootSeconds: number): number {
  return round(Math.max(0, p95 - bootSeconds));
}
