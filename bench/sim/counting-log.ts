/**
 * A Log that writes nothing but counts the bytes Powertools would have written at INFO (JSON lines with the
 * standard keys), for the CloudWatch Logs share of the cost model.
 */
import type { Log } from '../../functions/observability/logger.ts';

/** Keys Powertools adds to every line (level, timestamp, service, cold_start, function_*, xray_trace_id…). */
const standardKeysBytes = 260;

export class CountingLog {
  bytes = 0;
  lines = 0;

  readonly log: Log = {
    debug: () => {},
    info: (...args: unknown[]) => this.count(args),
    warn: (...args: unknown[]) => this.count(args),
    error: (...args: unknown[]) => this.count(args),
  } as unknown as Log;

  private count(args: unknown[]): void {
    this.lines += 1;
    this.bytes +=
      standardKeysBytes +
      JSON.stringify(args, (_key, value) => (value instanceof Error ? value.message : value)).length;
  }
}
