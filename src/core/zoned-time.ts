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

const HOUR_MS = 3_600_000;
const lastHourOffset = new Map<string, { hour: number; minutes: number }>();

/**
 * The zone's offset from UTC at an instant, in minutes. Asking the zone (Intl underneath) costs
 * tens of microseconds, and every award asks for the local date of now: the offset of the
 * current hour is kept per zone. An hour is kept only when its first and last millisecond have
 * the same offset (no zone changes its offset twice within an hour); an hour with a change is
 * asked about each instant. NaN for an unknown zone.
 */
function zoneOffsetMinutes(ms: number, zone: string): number {
  const hour = Math.floor(ms / HOUR_MS);
  const kept = lastHourOffset.get(zone);
  if (kept !== undefined && kept.hour === hour) return kept.minutes;
  const z = IANAZone.create(zone);
  if (!z.isValid) return Number.NaN;
  const first = z.offset(hour * HOUR_MS);
  if (first !== z.offset(hour * HOUR_MS + HOUR_MS - 1)) return z.offset(ms);
  if (lastHourOffset.size > 1000) lastHourOffset.clear();
  lastHourOffset.set(zone, { hour, minutes: first });
  return first;
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

function isoDate(wall: Date): string {
  const y = wall.getUTCFullYear();
  const year = y >= 0 && y <= 9999 ? String(y).padStart(4, '0') : (y < 0 ? '-' : '+') + String(Math.abs(y)).padStart(6, '0');
  return `${year}-${pad2(wall.getUTCMonth() + 1)}-${pad2(wall.getUTCDate())}`;
}

/** The local wall time of an instant as a Date whose UTC fields read that wall time; null for an unknown zone. */
function wallClock(at: Date, zone: string): Date | null {
  const ms = at.getTime();
  if (Number.isNaN(ms)) return null;
  const offset = zoneOffsetMinutes(ms, zone);
  return Number.isNaN(offset) ? null : new Date(ms + offset * 60_000);
}

export function localParts(at: Date, zone: string): LocalParts {
  const wall = wallClock(at, zone);
  if (!wall) {
    const dt = inZone(at, zone);
    return { date: dt.toISODate()!, year: dt.year, month: dt.month, day: dt.day, weekday: dt.weekday, hour: dt.hour, minute: dt.minute };
  }
  return {
    date: isoDate(wall),
    year: wall.getUTCFullYear(),
    month: wall.getUTCMonth() + 1,
    day: wall.getUTCDate(),
    weekday: wall.getUTCDay() || 7,
    hour: wall.getUTCHours(),
    minute: wall.getUTCMinutes(),
  };
}

/** The local calendar date (YYYY-MM-DD) of an instant in a zone. */
export function localDate(at: Date, zone: string): string {
  const wall = wallClock(at, zone);
  return wall ? isoDate(wall) : inZone(at, zone).toISODate()!;
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
