import { DateTime, IANAZone } from 'luxon';

/**
 * Calendar arithmetic in a program's time zone. Day boundaries, months and years are the
 * program's, never the server's (a check-in at 00:30 in Shanghai is that day in Shanghai).
 */

export function isValidTimeZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

export function inZone(at: Date, zone: string): DateTime {
  return DateTime.fromJSDate(at, { zone });
}

export interface LocalParts {
  /** YYYY-MM-DD in the zone */
  date: string;
  year: number;
  month: number; // 1-12
  day: number; // 1-31
  /** ISO weekday: 1 = Monday … 7 = Sunday */
  weekday: number;
  hour: number;
  minute: number;
}

export function localParts(at: Date, zone: string): LocalParts {
  const dt = inZone(at, zone);
  return {
    date: dt.toISODate()!,
    year: dt.year,
    month: dt.month,
    day: dt.day,
    weekday: dt.weekday,
    hour: dt.hour,
    minute: dt.minute,
  };
}

/** The local calendar date (YYYY-MM-DD) of an instant in a zone. */
export function localDate(at: Date, zone: string): string {
  return inZone(at, zone).toISODate()!;
}

/** The instant a local date begins in a zone (handles days that start at 01:00 after a DST jump). */
export function startOfLocalDay(date: string, zone: string): Date {
  return DateTime.fromISO(date, { zone }).startOf('day').toJSDate();
}

/** Whole local days from date `a` to date `b` (YYYY-MM-DD), b - a. */
export function daysBetween(a: string, b: string): number {
  const da = DateTime.fromISO(a, { zone: 'utc' });
  const db = DateTime.fromISO(b, { zone: 'utc' });
  return Math.round(db.diff(da, 'days').days);
}

export function addLocalDays(date: string, days: number): string {
  return DateTime.fromISO(date, { zone: 'utc' }).plus({ days }).toISODate()!;
}
