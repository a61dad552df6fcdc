import { IANAZone } from 'luxon';

/**
 * Reading a program's wall clock without luxon's guesses. Luxon resolves a local time that
 * occurs twice (clocks going back) by the zone's offset *today*, so the same policy could
 * give a different instant depending on the day the server computes it. Expiry must be a
 * pure function of its inputs, and a later earn must never expire earlier, so the two
 * directions are defined here once:
 *
 *  - a *wall reading* is the local date and time a clock shows, held as the epoch
 *    milliseconds of that date and time in UTC, so calendar arithmetic is plain UTC
 *    arithmetic (native `Date` UTC methods: luxon's `plus` costs ~20µs, this runs on every earn);
 *  - `firstInstantShowing(wall)` is the first instant the clock shows `wall` or later;
 *  - `latestReadingAt(at)` is the highest reading the clock has shown up to `at`.
 *
 * Both are non-decreasing, hence so is everything composed from them.
 */

export type WallReading = number;

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

// Zone offsets cost a few µs each through Intl. Clocks never change twice within an hour,
// so an hour whose two ends agree has one offset throughout; `null` marks an hour with a change.
const offsetByHour = new Map<string, Map<number, number | null>>();
const HOURS_CACHED_PER_ZONE = 50_000;

function offsetMs(zone: IANAZone, at: number): number {
  const hour = Math.floor(at / HOUR_MS);
  let hours = offsetByHour.get(zone.name);
  if (hours === undefined) offsetByHour.set(zone.name, (hours = new Map()));
  let offset = hours.get(hour);
  if (offset === undefined) {
    const atStart = zone.offset(hour * HOUR_MS);
    offset = atStart === zone.offset((hour + 1) * HOUR_MS - 1) ? atStart * MINUTE_MS : null;
    if (hours.size >= HOURS_CACHED_PER_ZONE) hours.clear();
    hours.set(hour, offset);
  }
  return offset ?? zone.offset(at) * MINUTE_MS;
}

function readingAt(at: number, zone: IANAZone): WallReading {
  return at + offsetMs(zone, at);
}

/** Smallest integer t in (lo, hi] where `holds` turns true; `holds` must be false at lo, true at hi, and flip once. */
function firstWhere(lo: number, hi: number, holds: (t: number) => boolean): number {
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (holds(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * The first instant at which the zone's clock shows `wall` or a later reading:
 * normally the one instant showing it; when clocks go back and show it twice, the first;
 * when clocks jump forward over it (it is never shown), the instant of the jump.
 */
export function firstInstantShowing(wall: WallReading, zone: IANAZone): number {
  // Offsets in force within a day either side cover every instant that could show `wall`
  // (clocks never change twice within two days). Usually they are one, and so is the answer.
  const before = offsetMs(zone, wall - DAY_MS);
  const after = offsetMs(zone, wall + DAY_MS);
  if (before === after) return wall - before;
  const candidates = [...new Set([before, offsetMs(zone, wall), after])].map((offset) => wall - offset);
  const showing = candidates.filter((t) => readingAt(t, zone) === wall);
  if (showing.length > 0) return Math.min(...showing);
  return firstWhere(Math.min(...candidates), Math.max(...candidates), (t) => readingAt(t, zone) >= wall);
}

/**
 * The highest reading the zone's clock has shown up to `at`. It equals the clock's reading,
 * except during the hour repeated after clocks go back, where it stays at the last reading
 * before the change: that hour is not "earlier" than the one already lived through.
 */
export function latestReadingAt(at: number, zone: IANAZone): WallReading {
  const offset = offsetMs(zone, at);
  const reading = at + offset;
  // No change in the last day: this hour cannot be a repeat.
  if (offsetMs(zone, at - DAY_MS) === offset) return reading;
  const firstShown = firstInstantShowing(reading, zone);
  if (firstShown >= at) return reading;
  const offsetBefore = offsetMs(zone, firstShown);
  const clocksWentBackAt = firstWhere(firstShown, at, (t) => offsetMs(zone, t) !== offsetBefore);
  return readingAt(clocksWentBackAt - 1, zone);
}

/** The first instant of the local day of `wall`, even when the day's midnight is skipped. */
export function startOfLocalDay(wall: WallReading, zone: IANAZone): number {
  return firstInstantShowing(Math.floor(wall / DAY_MS) * DAY_MS, zone);
}

// ------------------------------------------------------------------ calendar on wall readings

export interface CivilDate {
  year: number;
  month: number; // 1-12
  day: number; // 1-31
}

export function civilDateOf(wall: WallReading): CivilDate {
  const date = new Date(wall);
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
}

/** Midnight of a local date; months and days out of range roll over (month 13 is January next year). */
export function wallAt(year: number, month: number, day: number): WallReading {
  // setUTCFullYear, unlike Date.UTC, does not read years 0-99 as 1900-1999.
  return new Date(0).setUTCFullYear(year, month - 1, day);
}

export function daysInMonth(year: number, month: number): number {
  return new Date(wallAt(year, month + 1, 0)).getUTCDate();
}

export function isoDateOf(wall: WallReading): string {
  return new Date(wall).toISOString().slice(0, 10);
}

/** `YYYY-MM-DD` to midnight of that date, or null if no such date exists. */
export function parseIsoDate(isoDate: string): WallReading | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  if (match === null) return null;
  const wall = wallAt(Number(match[1]), Number(match[2]), Number(match[3]));
  return isoDateOf(wall) === isoDate ? wall : null;
}

/**
 * The same day of the month and time, `months` later. When that month is too short (31 Jan + 1
 * month) the day is its last, and `monthTooShort` says so.
 */
export function plusMonths(wall: WallReading, months: number): { wall: WallReading; monthTooShort: boolean } {
  const { year, month, day } = civilDateOf(wall);
  const timeOfDay = wall - wallAt(year, month, day);
  const targetMonthStart = wallAt(year, month + months, 1);
  const target = civilDateOf(targetMonthStart);
  const lastDay = daysInMonth(target.year, target.month);
  return { wall: wallAt(target.year, target.month, Math.min(day, lastDay)) + timeOfDay, monthTooShort: day > lastDay };
}
