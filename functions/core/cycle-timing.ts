/**
 * How a cycle spends its time, in one place (test/template.test.ts holds the ASL and the template to it).
 *
 * A cycle decides and changes the fleet early: ScaleUp and ScaleDown do nothing once
 * {@link fleetChangeDeadlineSeconds} have passed since its start, which bounds how long the scaling lease
 * must last whatever the execution's own timeout. Registration comes last and runs until the next cycle is
 * due, which then takes over what is left, so runners are registered all minute long, not only in the part
 * of it a cycle happens to run; the execution's timeout leaves room for that.
 */

/** Step Functions stops an execution this long after its start (the ASL's TimeoutSeconds). */
export const cycleTimeoutSeconds = 90;

/** ScaleUp and ScaleDown change nothing when they start later than this after the cycle's start. */
export const fleetChangeDeadlineSeconds = 55;

/** The registration loop never runs longer than this after the cycle's start. */
export const maxRegistrationSeconds = 60;

/** What a cycle spends before it registers (listing, collecting, deciding, launching), at most typically. */
const registrationStartSeconds = 5;

/**
 * When a cycle's registration loop stops sending writes, in seconds after its start: when the next cycle is
 * due (which takes over the queue), and never past {@link maxRegistrationSeconds}.
 */
export function registrationDeadlineSeconds(cycleIntervalSeconds: number): number {
  return Math.min(cycleIntervalSeconds, maxRegistrationSeconds);
}

/**
 * How many instances may wait for their registration at once: what the stack's write pacing registers,
 * cycle after cycle, within the boot timeout. An instance launched beyond that would reach its boot timeout
 * unregistered and only be cleaned up as an orphan.
 */
export function maxPendingRegistrations(options: {
  readonly writesPerMinute: number;
  readonly bootTimeoutSeconds: number;
  readonly cycleIntervalSeconds: number;
}): number {
  const window = registrationDeadlineSeconds(options.cycleIntervalSeconds) - registrationStartSeconds;
  const share = Math.max(0, Math.min(1, window / options.cycleIntervalSeconds));
  return Math.floor((options.writesPerMinute / 60) * options.bootTimeoutSeconds * share);
}

/** The registration deadline of a cycle that started at `startedAt`. */
export function registrationDeadline(startedAt: string, cycleIntervalSeconds: number): Date {
  return new Date(Date.parse(startedAt) + registrationDeadlineSeconds(cycleIntervalSeconds) * 1000);
}

/** Whether a task that changes the fleet may still do so in the cycle that started at `startedAt`. */
export function mayChangeFleet(startedAt: string, now: Date): boolean {
  return now.getTime() - Date.parse(startedAt) <= fleetChangeDeadlineSeconds * 1000;
}
