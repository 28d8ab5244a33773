/**
 * How many stopped, pre-booted instances a pool keeps at a given time: its `warm.stopped`, or the `stopped` of
 * the first of its time windows that holds then. A window holds on its days, from `from` (inclusive) to `to`
 * (exclusive), in its own IANA time zone, so "weekdays 08:00–18:00 Europe/Berlin" follows daylight saving time.
 * Pure: the time zone arithmetic is the ECMAScript Intl API's (ICU's tz database), no clock is read.
 */

export const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof weekdays)[number];

export interface WarmWindow {
  readonly days: readonly Weekday[];
  /** Local time "HH:MM", inclusive. */
  readonly from: string;
  /** Local time "HH:MM" (or "24:00"), exclusive; later than `from`. */
  readonly to: string;
  readonly timeZone: string;
  readonly stopped: number;
}

export interface WarmSchedule {
  readonly stopped: number;
  readonly windows: readonly WarmWindow[];
}

/** The number of stopped instances the schedule asks for at `now`. */
export function warmTarget(schedule: WarmSchedule, now: Date): number {
  for (const window of schedule.windows) {
    if (windowHolds(window, now)) return window.stopped;
  }
  return schedule.stopped;
}

/** Whether `now` falls on one of the window's days, within [from, to), in the window's time zone. */
export function windowHolds(window: WarmWindow, now: Date): boolean {
  const { day, minutes } = localTime(now, window.timeZone);
  return window.days.includes(day) && minutes >= minutesOf(window.from) && minutes < minutesOf(window.to);
}

/** Whether `timeZone` names a zone the runtime knows (an IANA name such as "Europe/Berlin", or "UTC"). */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** Minutes since midnight of "HH:MM" ("24:00" is 1440). */
export function minutesOf(hhmm: string): number {
  const [hours, minutes] = hhmm.split(':').map(Number);
  return (hours ?? 0) * 60 + (minutes ?? 0);
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const dayOfShortName: Readonly<Record<string, Weekday>> = {
  Mon: 'mon',
  Tue: 'tue',
  Wed: 'wed',
  Thu: 'thu',
  Fri: 'fri',
  Sat: 'sat',
  Sun: 'sun',
};

/** The weekday and minutes since midnight of `now` on the wall clock of `timeZone`. */
export function localTime(now: Date, timeZone: string): { day: Weekday; minutes: number } {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, formatter);
  }
  const parts = Object.fromEntries(formatter.formatToParts(now).map((part) => [part.type, part.value]));
  const day = dayOfShortName[parts.weekday ?? ''];
  if (!day) throw new RangeError(`no weekday for ${now.toISOString()} in ${timeZone}`);
  return { day, minutes: Number(parts.hour) * 60 + Number(parts.minute) };
}
