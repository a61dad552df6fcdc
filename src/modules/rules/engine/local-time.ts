import { IANAZone } from 'luxon';
import { AppError } from '../../../core/errors.js';

/**
 * Local calendar fields of an instant in the program's zone, computed without luxon on the hot
 * path. A luxon DateTime costs microseconds; the engine needs the local date of every event,
 * so it asks luxon only for the zone's UTC offset, caches it per UTC hour, and does the
 * calendar arithmetic itself (days-from-civil, H. Hinnant). An hour whose two ends have
 * different offsets contains a transition and is never cached: it asks luxon every time.
 * `local-time.test.ts` checks the result against luxon across zones and transitions.
 */
export interface LocalTime {
  /** UTC epoch milliseconds of the instant */
  readonly ms: number;
  readonly offsetMinutes: number;
  /** days since 1970-01-01 of the local date: differences are whole local days */
  readonly dayNumber: number;
  readonly year: number;
  readonly month: number; // 1-12
  readonly day: number; // 1-31
  /** ISO weekday, 1 = Monday … 7 = Sunday */
  readonly weekday: number;
  readonly hour: number;
  readonly minute: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const VARIES = -100_000; // marker: the offset changes within this hour
const CACHE_LIMIT = 100_000;

export class ZoneClock {
  readonly zone: string;
  private readonly iana: IANAZone;
  private readonly cache = new Map<number, number>();

  constructor(zone: string) {
    if (!IANAZone.isValidZone(zone)) {
      throw new AppError('validation_failed', `unknown time zone ${zone}`, { timeZone: zone });
    }
    this.zone = zone;
    this.iana = IANAZone.create(zone);
  }

  offsetMinutes(ms: number): number {
    const h = Math.floor(ms / HOUR_MS);
    let off = this.cache.get(h);
    if (off === undefined) {
      const start = this.iana.offset(h * HOUR_MS);
      const end = this.iana.offset(h * HOUR_MS + HOUR_MS - 1);
      off = start === end ? start : VARIES;
      // A bounded cache: a replay spanning years must not grow it without limit.
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(h, off);
    }
    return off === VARIES ? this.iana.offset(ms) : off;
  }

  local(ms: number): LocalTime {
    const offsetMinutes = this.offsetMinutes(ms);
    const localMs = ms + offsetMinutes * 60_000;
    const dayNumber = Math.floor(localMs / DAY_MS);
    const msOfDay = localMs - dayNumber * DAY_MS;
    const z = dayNumber + 719_468;
    const era = Math.floor(z / 146_097);
    const doe = z - era * 146_097;
    const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
    const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    const mp = Math.floor((5 * doy + 2) / 153);
    const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
    const month = mp < 10 ? mp + 3 : mp - 9;
    const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    return {
      ms,
      offsetMinutes,
      dayNumber,
      year,
      month,
      day,
      weekday: weekdayOf(dayNumber),
      hour: Math.floor(msOfDay / HOUR_MS),
      minute: Math.floor((msOfDay % HOUR_MS) / 60_000),
    };
  }

  dayNumber(ms: number): number {
    return Math.floor((ms + this.offsetMinutes(ms) * 60_000) / DAY_MS);
  }
}

export function weekdayOf(dayNumber: number): number {
  // 1970-01-01 was a Thursday (ISO 4).
  return ((((dayNumber + 3) % 7) + 7) % 7) + 1;
}

export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = month > 2 ? month - 3 : month + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

export function daysInMonth(year: number, month: number): number {
  return month === 12 ? 31 : daysFromCivil(year, month + 1, 1) - daysFromCivil(year, month, 1);
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

function pad4(n: number): string {
  return n >= 1000 ? `${n}` : `${n}`.padStart(4, '0');
}

export function localDateString(t: LocalTime): string {
  return `${pad4(t.year)}-${pad2(t.month)}-${pad2(t.day)}`;
}

export function localTimeString(t: LocalTime): string {
  return `${pad2(t.hour)}:${pad2(t.minute)}`;
}

/** ISO-8601 week (weeks start on Monday; the week belongs to the year of its Thursday): "2025-W02". */
export function isoWeekKey(t: LocalTime): string {
  const thursday = t.dayNumber - (t.weekday - 1) + 3;
  const year = yearOfDayNumber(thursday);
  const week = Math.floor((thursday - daysFromCivil(year, 1, 1)) / 7) + 1;
  return `${pad4(year)}-W${pad2(week)}`;
}

function yearOfDayNumber(dayNumber: number): number {
  // Approximate, then settle: cheaper than a full civil conversion and exact after the fix-ups.
  let year = 1970 + Math.floor(dayNumber / 365.2425);
  while (daysFromCivil(year, 1, 1) > dayNumber) year -= 1;
  while (daysFromCivil(year + 1, 1, 1) <= dayNumber) year += 1;
  return year;
}

export type Period = 'day' | 'week' | 'month' | 'year' | 'lifetime';
export const PERIODS: readonly Period[] = ['day', 'week', 'month', 'year', 'lifetime'];

/** The bucket of a calendar period an instant falls in, in the program zone. */
export function periodBucket(period: Period, t: LocalTime): string {
  switch (period) {
    case 'day':
      return localDateString(t);
    case 'week':
      return isoWeekKey(t);
    case 'month':
      return `${pad4(t.year)}-${pad2(t.month)}`;
    case 'year':
      return pad4(t.year);
    case 'lifetime':
      return 'all';
  }
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parses a strict YYYY-MM-DD calendar date, or null. */
export function parseLocalDate(s: unknown): { year: number; month: number; day: number; dayNumber: number } | null {
  if (typeof s !== 'string') return null;
  const m = DATE_RE.exec(s);
  if (!m) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  return { year, month, day, dayNumber: daysFromCivil(year, month, day) };
}

const DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * An ISO-8601 instant with an explicit offset. A string without one would be read in the
 * server's zone, which is exactly the bug the program zone exists to prevent.
 */
export function parseInstant(s: unknown): number | null {
  if (typeof s !== 'string' || !DATETIME_RE.test(s)) return null;
  if (parseLocalDate(s.slice(0, 10)) === null) return null;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? null : ms;
}
