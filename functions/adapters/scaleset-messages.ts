/**
 * Reading the Actions service's answers to a message poll (actions/scaleset types.go,
 * `parseRunnerScaleSetMessageResponse`): an envelope `{messageId, messageType, body, statistics}` whose `body`
 * is a JSON string holding an array of job messages, each with its `messageType`.
 *
 * Unlike the library, which fails the whole poll on the first thing it cannot read, this keeps what it can:
 * an envelope with a readable `messageId` is a message, and what inside it does not parse (an unknown message
 * type, a body that is not a JSON array, a job message of the wrong shape) is listed as a problem — it will
 * never parse, so the listener skips it, logs it, and still acknowledges the message. Only an answer without
 * a readable message id (not JSON at all, an HTML page) is no message: it cannot be acknowledged, and the
 * poll counts as failed.
 */
import * as z from 'zod';
import type { JobMessage, ScaleSetMessage, ScaleSetStatistics } from '../ports/scale-sets.ts';

const count = z.int().min(0);
/** The wire shape of RunnerScaleSetStatistic (every field an integer; missing ones count as 0). */
export const statisticsSchema = z
  .object({
    totalAvailableJobs: count.default(0),
    totalAcquiredJobs: count.default(0),
    totalAssignedJobs: count,
    totalRunningJobs: count.default(0),
    totalRegisteredRunners: count.default(0),
    totalBusyRunners: count.default(0),
    totalIdleRunners: count.default(0),
  })
  .transform(
    (wire): ScaleSetStatistics => ({
      availableJobs: wire.totalAvailableJobs,
      acquiredJobs: wire.totalAcquiredJobs,
      assignedJobs: wire.totalAssignedJobs,
      runningJobs: wire.totalRunningJobs,
      registeredRunners: wire.totalRegisteredRunners,
      busyRunners: wire.totalBusyRunners,
      idleRunners: wire.totalIdleRunners,
    }),
  );

const jobMessageSchema = z.object({
  messageType: z.enum(['JobAvailable', 'JobAssigned', 'JobStarted', 'JobCompleted']),
  runnerRequestId: z.int(),
  jobId: z.string().default(''),
  repositoryName: z.string().default(''),
  requestLabels: z.array(z.string()).nullish(),
  runnerId: z.int().nullish(),
  runnerName: z.string().nullish(),
  result: z.string().nullish(),
});

const envelopeSchema = z.object({
  messageId: z.int().positive(),
  messageType: z.unknown(),
  body: z.unknown(),
  statistics: z.unknown(),
});

export type MessageRead =
  | { readonly ok: true; readonly message: ScaleSetMessage }
  | { readonly ok: false; readonly reason: string };

/** The service's answers may start with a UTF-8 byte order mark (the library trims it too). */
export function withoutByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export function readMessage(text: string): MessageRead {
  let raw: unknown;
  try {
    raw = JSON.parse(withoutByteOrderMark(text));
  } catch {
    return { ok: false, reason: `not JSON (${describe(text)})` };
  }
  const envelope = envelopeSchema.safeParse(raw);
  if (!envelope.success) return { ok: false, reason: 'no readable messageId' };
  const { messageId, messageType, body } = envelope.data;
  const problems: string[] = [];
  const statistics = statisticsSchema.safeParse(envelope.data.statistics);
  if (!statistics.success) problems.push('statistics missing or malformed');
  const jobs: JobMessage[] = [];
  if (messageType !== 'RunnerScaleSetJobMessages') {
    problems.push(`unsupported message type ${JSON.stringify(messageType)}`);
  } else if (body !== undefined && body !== null && body !== '') {
    let batch: unknown;
    try {
      batch = typeof body === 'string' ? JSON.parse(body) : undefined;
    } catch {
      batch = undefined;
    }
    if (!Array.isArray(batch)) {
      problems.push('body is not a JSON array of job messages');
    } else {
      batch.forEach((entry, index) => {
        const job = jobMessageSchema.safeParse(entry);
        if (!job.success) {
          const type = (entry as { messageType?: unknown } | null)?.messageType;
          problems.push(`job message ${index} (${JSON.stringify(type ?? null)}) skipped: unreadable`);
          return;
        }
        const { data } = job;
        jobs.push({
          type: data.messageType,
          runnerRequestId: data.runnerRequestId,
          jobId: data.jobId,
          repository: data.repositoryName,
          labels: data.requestLabels ?? [],
          ...(data.runnerId == null ? {} : { runnerId: data.runnerId }),
          ...(data.runnerName == null ? {} : { runnerName: data.runnerName }),
          ...(data.result == null ? {} : { result: data.result }),
        });
      });
    }
  }
  return {
    ok: true,
    message: { messageId, statistics: statistics.success ? statistics.data : undefined, jobs, problems },
  };
}

/** A short, secret-free description of an unreadable answer for an error message. */
export function describe(text: string): string {
  const trimmed = withoutByteOrderMark(text).trimStart();
  if (trimmed === '') return 'empty';
  if (trimmed.startsWith('<')) return 'an HTML page';
  return `${trimmed.length} characters starting ${JSON.stringify(trimmed.slice(0, 16))}`;
}
