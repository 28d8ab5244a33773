/**
 * The rate-limit governor: which repositories a cycle scans for queued jobs. Pure: the rate-limit reading,
 * the time and the memory of earlier cycles come in as arguments; nothing here reads a clock or does I/O.
 *
 * Budget per cycle, in repository scans (a scan is 2 run listings + one job listing per active run):
 *   primary (spread the quota left over the cycles left in the window, keeping a reserve for writes):
 *     perCycle  = floor((remaining − reserve) / ceil(min(resetAt − now, 1 h) / interval))
 *     softSlots = floor(perCycle / costPerScan)            costPerScan learned from earlier cycles
 *     hardSlots = floor((remaining − reserve) / worstCost) never touches the reserve, even if all are busy
 *   secondary (≤ points per minute per REST endpoint; the runs endpoint takes 2 GETs per repository, the
 *   jobs endpoint one per active run, learned from earlier cycles as jobListingsPerScan):
 *     endpointSlots = floor(pointsPerMinute × share × max(1, interval / 60 s) / max(2, jobListingsPerScan))
 *                   → 405 at a 1-minute cadence with the default share, fewer when scans list more than 2
 *                   runs' jobs on average. share = 1 − targetedShare for a scheduled cycle: the rest of the
 *                   endpoint's minute is kept for the cycles webhook deliveries start (targeted: share =
 *                   targetedShare), so a sweep of a large organization cannot leave them refused.
 * Without a primary limit (GHES with rate limiting off) only the secondary cap applies.
 *
 * Selection, when not every repository fits:
 *   1. hot repositories (had queued jobs within `hotForSeconds`), most recently active first — all of them,
 *      even beyond softSlots, but never beyond hardSlots − rotation;
 *   2. the round robin: from the cursor (a repository name), the next cold repositories in name order,
 *      at least `rotation = max(1, ceil(softSlots × rotationShare))` of them whenever hardSlots ≥ 1.
 * No starvation: every cycle the cursor sweeps a contiguous arc of the sorted names in which every name was
 * scanned (picked cold, or skipped because it was scanned as hot), and each arc holds ≥ `rotation` names. So
 * every repository is scanned at least once every ceil(N / rotation) cycles, and with a steady hot set H at
 * least once every ceil((N − |H|) / coldSlots) cycles. test/governor.property.test.ts checks both.
 */

/** The primary rate limit as read this cycle. */
export interface RateLimitReading {
  readonly limit: number;
  readonly remaining: number;
  /** ISO-8601 time the window resets. */
  readonly resetAt: string;
}

export interface GovernorSettings {
  /** Requests kept for scale-up and scale-down writes and re-reads; never spent on scanning. */
  readonly reserveRequests: number;
  /** The schedule's interval: the primary budget is spread over the cycles left in the window. */
  readonly cycleIntervalSeconds: number;
  /** GitHub's secondary limit per REST endpoint (GET = 1 point). */
  readonly endpointPointsPerMinute: number;
  /** A repository with queued jobs this recently is hot: scanned every cycle. */
  readonly hotForSeconds: number;
  /** Share of the per-cycle slots always given to the round robin (0–1); at least one slot. */
  readonly rotationShare: number;
  /** Share of the per-endpoint secondary limit kept for targeted (webhook-started) cycles (0–0.5). */
  readonly targetedShare: number;
}

/** Learned from earlier cycles: written by ListRepositories (one writer, one item). */
export interface RotationMemory {
  /** The last name the round robin scanned; the next cycle continues after it. */
  readonly cursor?: string;
  /** Primary-limit requests one repository scan costs, on average (learned, see {@link learnCost}). */
  readonly costPerScan?: number;
  /** The reading taken at the start of the cycle that wrote this, and how many repositories it scanned. */
  readonly lastReading?: { readonly remaining: number; readonly resetAt: string; readonly scanned: number };
}

/** Which repositories had work, and when (epoch ms): written by AggregateDemand (one writer, one item). */
export interface ActivityMemory {
  readonly lastActive: Readonly<Record<string, number>>;
  /** Job listings (the jobs endpoint's requests) per repository scan, learned (see {@link learnJobListings}). */
  readonly jobListingsPerScan?: number;
}

export interface ScanPlanInput {
  /** Every repository of the organization (any order, duplicates ignored). */
  readonly repositories: readonly string[];
  /** Undefined: no primary limit. */
  readonly rateLimit: RateLimitReading | undefined;
  readonly now: Date;
  readonly settings: GovernorSettings;
  readonly rotation?: RotationMemory;
  readonly activity?: ActivityMemory;
  /** A cycle a webhook delivery started: it spends the endpoint share kept for such cycles. */
  readonly targeted?: boolean;
}

export interface ScanPlan {
  /** The repositories to scan this cycle, sorted by name. */
  readonly scan: string[];
  /** True when every repository is scanned: only then may the cycle scale down. */
  readonly complete: boolean;
  readonly counts: {
    readonly repositories: number;
    readonly scanned: number;
    readonly skipped: number;
    readonly hot: number;
    /** Hot repositories scanned (all of them unless the hot set alone overflowed hardSlots). */
    readonly hotScanned: number;
    /** Repositories scanned by the round robin. */
    readonly rotated: number;
    /** Scans this cycle's share allows: min(primary share, secondary cap). */
    readonly slots: number;
    /** Scans it may never exceed, hot ones included (the reserve and the secondary cap). */
    readonly hardSlots: number;
    /** Primary requests this cycle may spend on scanning; null without a primary limit. */
    readonly budgetRequests: number | null;
    readonly costPerScan: number;
    /** Secondary-limit points the busier endpoint takes per scan: 2 (runs) or more (jobs). */
    readonly endpointPointsPerScan: number;
  };
  /** To be stored for the next cycle. */
  readonly rotation: RotationMemory;
}

/** With no history: 2 run listings + 1 job listing, the cost of a busy repository without conditional requests. */
export const initialCostPerScan = 3;
/** The most a scan is assumed to cost when deciding how much may be taken from the reserve's doorstep. */
export const worstCostPerScan = 3;
/** Learned costs never go below this (conditional 304s are free, but bursts are not). */
export const minCostPerScan = 0.2;
export const maxCostPerScan = 50;
/** Run listings per repository scan (queued + in_progress): the secondary limit's unit. */
export const runListingsPerScan = 2;
/** The primary limit's window. */
const windowMs = 3_600_000;

export function planScan(input: ScanPlanInput): ScanPlan {
  const names = [...new Set(input.repositories)].sort();
  const { settings, now } = input;
  const nowMs = now.getTime();
  const costPerScan = learnCost(input.rotation, input.rateLimit);

  // Both endpoints a scan reads are held to the per-endpoint limit: the runs endpoint's 2 listings per scan,
  // and the jobs endpoint's one listing per active run, which a busy organization can make the larger.
  const endpointPointsPerScan = Math.max(runListingsPerScan, input.activity?.jobListingsPerScan ?? 0);
  const share = input.targeted ? settings.targetedShare : 1 - settings.targetedShare;
  const endpointSlots = Math.floor(
    (settings.endpointPointsPerMinute * share * Math.max(1, settings.cycleIntervalSeconds / 60)) /
      endpointPointsPerScan,
  );
  let softSlots = endpointSlots;
  let hardSlots = endpointSlots;
  let budgetRequests: number | null = null;
  if (input.rateLimit) {
    const spendable = Math.max(0, input.rateLimit.remaining - settings.reserveRequests);
    // GitHub's window is an hour; a reset further out than that is clock skew, and counts as an hour.
    const untilResetMs = Math.min(windowMs, Math.max(0, Date.parse(input.rateLimit.resetAt) - nowMs));
    const cyclesLeft = Math.max(1, Math.ceil(untilResetMs / (settings.cycleIntervalSeconds * 1000)));
    budgetRequests = Math.floor(spendable / cyclesLeft);
    softSlots = Math.min(softSlots, Math.floor(budgetRequests / costPerScan));
    hardSlots = Math.min(hardSlots, Math.floor(spendable / Math.max(worstCostPerScan, costPerScan)));
    softSlots = Math.min(softSlots, hardSlots);
  }

  const hotCutoff = nowMs - settings.hotForSeconds * 1000;
  const known = new Set(names);
  const hot = Object.entries(input.activity?.lastActive ?? {})
    .filter(([name, at]) => known.has(name) && at >= hotCutoff)
    // Most recently active first; names break ties so the order is total.
    .sort(([a, atA], [b, atB]) => atB - atA || (a < b ? -1 : a > b ? 1 : 0))
    .map(([name]) => name);

  const base = {
    repositories: names.length,
    hot: hot.length,
    budgetRequests,
    costPerScan,
    endpointPointsPerScan,
  };
  const reading = (scanned: number) =>
    input.rateLimit
      ? { remaining: input.rateLimit.remaining, resetAt: input.rateLimit.resetAt, scanned }
      : undefined;

  if (names.length <= softSlots) {
    return {
      scan: names,
      complete: true,
      counts: {
        ...base,
        scanned: names.length,
        skipped: 0,
        hotScanned: hot.length,
        rotated: names.length - hot.length,
        slots: softSlots,
        hardSlots,
      },
      rotation: withReading({ ...input.rotation, costPerScan }, reading(names.length)),
    };
  }

  const rotationSlots = Math.min(hardSlots, Math.max(1, Math.ceil(softSlots * settings.rotationShare)));
  const hotScanned = hot.slice(0, Math.max(0, hardSlots - rotationSlots));
  const selected = new Set(hotScanned);
  const coldSlots = Math.min(hardSlots - selected.size, Math.max(rotationSlots, softSlots - selected.size));
  // Without a remembered cursor (first cycle, or no state store) the clock turns the wheel instead: cycle k
  // starts k × coldSlots names in, so even a memoryless deployment rotates rather than rescanning the first names.
  const cycleNumber = Math.floor(nowMs / (settings.cycleIntervalSeconds * 1000));
  const offset = (cycleNumber * Math.max(1, coldSlots)) % names.length;
  const start = input.rotation?.cursor ?? (offset === 0 ? undefined : names[offset - 1]);
  const rotated = roundRobin(names, selected, start, coldSlots);
  for (const name of rotated) selected.add(name);
  const scan = [...selected].sort();
  return {
    scan,
    complete: scan.length === names.length,
    counts: {
      ...base,
      scanned: scan.length,
      skipped: names.length - scan.length,
      hotScanned: hotScanned.length,
      rotated: rotated.length,
      slots: softSlots,
      hardSlots,
    },
    rotation: withReading(
      { ...input.rotation, costPerScan, cursor: rotated.at(-1) ?? input.rotation?.cursor },
      reading(scan.length),
    ),
  };
}

/**
 * Up to `count` names after `cursor` (wrapping around), in name order, skipping those already selected.
 * `names` is sorted; the cursor need not be one of them any more (a deleted repository).
 */
function roundRobin(
  names: readonly string[],
  selected: ReadonlySet<string>,
  cursor: string | undefined,
  count: number,
): string[] {
  if (count <= 0 || names.length === 0) return [];
  const start = cursor === undefined ? 0 : firstAfter(names, cursor);
  const picked: string[] = [];
  for (let step = 0; step < names.length && picked.length < count; step += 1) {
    const name = names[(start + step) % names.length] as string;
    if (!selected.has(name)) picked.push(name);
  }
  return picked;
}

/** Index of the first name sorting after `cursor` (0 when none does: wrap around). */
function firstAfter(names: readonly string[], cursor: string): number {
  let low = 0;
  let high = names.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((names[mid] as string) <= cursor) low = mid + 1;
    else high = mid;
  }
  return low === names.length ? 0 : low;
}

function withReading(rotation: RotationMemory, reading: RotationMemory['lastReading']): RotationMemory {
  const { lastReading: _previous, ...rest } = rotation;
  return reading ? { ...rest, lastReading: reading } : rest;
}

/**
 * Requests per repository scan, learned from the primary limit: what the last cycle used (the drop in
 * `remaining` between its reading and this one, within the same window) over the repositories it scanned,
 * averaged with the earlier estimate (half each). It includes the cycle's other requests (runners, writes),
 * so it errs on the side of caution. Without a usable observation the stored estimate stands.
 */
export function learnCost(
  rotation: RotationMemory | undefined,
  reading: RateLimitReading | undefined,
): number {
  const previous = rotation?.costPerScan ?? initialCostPerScan;
  const last = rotation?.lastReading;
  if (!reading || !last || last.scanned <= 0 || last.resetAt !== reading.resetAt) return clampCost(previous);
  const used = last.remaining - reading.remaining;
  if (used < 0) return clampCost(previous);
  return clampCost((previous + used / last.scanned) / 2);
}

function clampCost(cost: number): number {
  return Math.min(maxCostPerScan, Math.max(minCostPerScan, cost));
}

/**
 * The activity memory after a cycle: repositories with queued jobs now are marked active at `now`;
 * entries older than `hotForSeconds` are dropped, and at most `maxEntries` (the most recent) are kept.
 */
/**
 * Job listings per repository scan for the next cycle's plan: this cycle's (`jobListings` over `scanned`),
 * averaged with the earlier estimate (half each) so one burst neither starves the scan nor is forgotten at
 * once. Without a scan this cycle the estimate stands.
 */
export function learnJobListings(
  previous: number | undefined,
  jobListings: number,
  scanned: number,
): number | undefined {
  if (scanned <= 0) return previous;
  const observed = jobListings / scanned;
  return previous === undefined ? observed : (previous + observed) / 2;
}

export function recordActivity(
  previous: ActivityMemory | undefined,
  active: readonly string[],
  now: Date,
  settings: Pick<GovernorSettings, 'hotForSeconds'>,
  maxEntries = 1000,
): ActivityMemory {
  const nowMs = now.getTime();
  const cutoff = nowMs - settings.hotForSeconds * 1000;
  const merged = new Map(Object.entries(previous?.lastActive ?? {}).filter(([, at]) => at >= cutoff));
  for (const name of active) merged.set(name, nowMs);
  const kept = [...merged]
    .sort(([a, atA], [b, atB]) => atB - atA || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, maxEntries);
  return {
    lastActive: Object.fromEntries(kept),
    ...(previous?.jobListingsPerScan === undefined
      ? {}
      : { jobListingsPerScan: previous.jobListingsPerScan }),
  };
}
