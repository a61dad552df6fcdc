import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { localParts } from '../../../core/zoned-time.js';
import { isoWeekKey, localDateString, parseInstant, parseLocalDate, periodBucket, ZoneClock } from './local-time.js';

// Zones with whole-hour, half-hour and 45-minute offsets, DST in both hemispheres, a 30-minute DST
// shift (Lord Howe) and a zone that skipped a whole day (Apia, end of 2011).
const ZONES = [
  'Asia/Shanghai',
  'UTC',
  'America/New_York',
  'Europe/London',
  'Australia/Sydney',
  'Australia/Lord_Howe',
  'Asia/Kathmandu',
  'America/St_Johns',
  'Pacific/Chatham',
  'Pacific/Apia',
];

describe('ZoneClock.local agrees with luxon', () => {
  it.each(ZONES)('%s, random instants 1900-2100', (zone) => {
    const clock = new ZoneClock(zone);
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2100, 0, 1) }), (ms) => {
        const t = clock.local(ms);
        const want = localParts(new Date(ms), zone);
        expect(localDateString(t)).toBe(want.date);
        expect([t.year, t.month, t.day, t.weekday, t.hour, t.minute]).toEqual([want.year, want.month, want.day, want.weekday, want.hour, want.minute]);
        const dt = DateTime.fromMillis(ms, { zone });
        expect(isoWeekKey(t)).toBe(`${dt.weekYear}-W${String(dt.weekNumber).padStart(2, '0')}`);
      }),
      { numRuns: 400 },
    );
  });

  it.each(ZONES)('%s, every minute around its transitions in 2024-2025', (zone) => {
    const clock = new ZoneClock(zone);
    // Find the transitions by scanning offsets hour by hour, then check each minute around them.
    let prev = DateTime.fromMillis(Date.UTC(2024, 0, 1), { zone }).offset;
    for (let ms = Date.UTC(2024, 0, 1); ms < Date.UTC(2026, 0, 1); ms += 3_600_000) {
      const off = DateTime.fromMillis(ms, { zone }).offset;
      if (off !== prev) {
        for (let m = ms - 2 * 3_600_000; m <= ms + 3_600_000; m += 60_000) {
          const want = DateTime.fromMillis(m, { zone });
          const t = clock.local(m);
          expect(t.offsetMinutes).toBe(want.offset);
          expect([t.day, t.hour, t.minute]).toEqual([want.day, want.hour, want.minute]);
        }
      }
      prev = off;
    }
  });

  it('reads the same instant differently in different zones', () => {
    const ms = Date.parse('2025-03-07T16:30:00Z');
    expect(localDateString(new ZoneClock('Asia/Shanghai').local(ms))).toBe('2025-03-08');
    expect(localDateString(new ZoneClock('America/New_York').local(ms))).toBe('2025-03-07');
  });

  it('refuses an unknown zone', () => {
    expect(() => new ZoneClock('Mars/Olympus')).toThrow(/unknown time zone/);
  });
});

describe('period buckets in the program zone', () => {
  const clock = new ZoneClock('Asia/Shanghai');
  const at = (iso: string) => clock.local(Date.parse(iso));

  it.each([
    // [instant, day, week, month, year]
    ['2025-03-08T23:59:00+08:00', '2025-03-08', '2025-W10', '2025-03', '2025'],
    ['2025-03-09T00:01:00+08:00', '2025-03-09', '2025-W10', '2025-03', '2025'], // Sunday, same ISO week
    ['2025-03-10T00:01:00+08:00', '2025-03-10', '2025-W11', '2025-03', '2025'], // Monday starts a week
    ['2025-03-31T23:59:00+08:00', '2025-03-31', '2025-W14', '2025-03', '2025'],
    ['2025-04-01T00:00:00+08:00', '2025-04-01', '2025-W14', '2025-04', '2025'],
    ['2024-12-31T23:59:00+08:00', '2024-12-31', '2025-W01', '2024-12', '2024'], // ISO week of the next year
    ['2021-01-03T12:00:00+08:00', '2021-01-03', '2020-W53', '2021-01', '2021'],
    ['2025-03-08T16:30:00Z', '2025-03-09', '2025-W10', '2025-03', '2025'], // UTC afternoon is the next day in Shanghai
  ])('%s', (iso, day, week, month, year) => {
    const t = at(iso);
    expect(periodBucket('day', t)).toBe(day);
    expect(periodBucket('week', t)).toBe(week);
    expect(periodBucket('month', t)).toBe(month);
    expect(periodBucket('year', t)).toBe(year);
    expect(periodBucket('lifetime', t)).toBe('all');
  });
});

describe('parsing', () => {
  it.each([
    ['2025-02-28', true],
    ['2024-02-29', true],
    ['2025-02-29', false],
    ['2025-13-01', false],
    ['2025-1-01', false],
    ['20250101', false],
  ])('parseLocalDate(%s) valid=%s', (s, ok) => {
    expect(parseLocalDate(s) !== null).toBe(ok);
  });

  it.each([
    ['2025-03-08T10:00:00+08:00', Date.parse('2025-03-08T02:00:00Z')],
    ['2025-03-08T10:00Z', Date.parse('2025-03-08T10:00:00Z')],
    ['2025-03-08T10:00:00.123-05:00', Date.parse('2025-03-08T15:00:00.123Z')],
    ['2025-03-08T10:00:00', null], // no offset: would be read in the server's zone
    ['2025-02-30T10:00:00Z', null],
    ['yesterday', null],
  ])('parseInstant(%s)', (s, want) => {
    expect(parseInstant(s)).toBe(want);
  });
});
