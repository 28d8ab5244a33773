/**
 * Label matching. GitHub matches labels case-insensitively and a runner can take a job when the
 * job's labels are a subset of the runner's. A pool's runners carry exactly the pool's labels, so a job
 * belongs to the first pool (in config order) whose labels include all of the job's labels.
 */

/** Trimmed, lower-cased, de-duplicated, in first-seen order. */
export function normalizeLabels(labels: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const label of labels) {
    const normalized = label.trim().toLowerCase();
    if (normalized !== '') seen.add(normalized);
  }
  return [...seen];
}

export interface LabelledPool {
  readonly name: string;
  /** Already normalized (see {@link normalizeLabels}). */
  readonly labels: readonly string[];
}

/**
 * The pool that serves a job with these labels, or undefined when no pool does (for example
 * GitHub-hosted labels such as `ubuntu-latest`). A job without labels matches nothing: it cannot be ours.
 */
export function matchPool<P extends LabelledPool>(
  jobLabels: readonly string[],
  pools: readonly P[],
): P | undefined {
  const wanted = normalizeLabels(jobLabels);
  if (wanted.length === 0) return undefined;
  return pools.find((pool) => wanted.every((label) => pool.labels.includes(label)));
}

/** True when a runner with `runnerLabels` can serve every job of `pool`. */
export function runnerServesPool(runnerLabels: readonly string[], pool: LabelledPool): boolean {
  return labelsCover(runnerLabels, pool.labels);
}

/** GitHub's rule: a runner can take a job when it has every one of the job's (normalized) labels. */
export function labelsCover(
  runnerLabels: readonly string[],
  normalizedJobLabels: readonly string[],
): boolean {
  const have = new Set(normalizeLabels(runnerLabels));
  return normalizedJobLabels.every((label) => have.has(label));
}
