import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { localDate, localParts } from './zoned-time.js';

// Zones with DST, half-hour and 45-minute offsets, a 30-minute DST shift (Lord Howe) and a zone
// that skipped a whole day (Apia, end of 2011).
const ZONES = ['Asia/Shanghai', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Pacific/Chatham', 'Asia/Kathmandu', 'America/Sao_Paulo', 'Pacific/Apia', 'UTC'];

function luxonParts(at: Date, zone: string) {
  const dt = DateTime.fromJSDate(at, { zone });
  return { date: dt.toISODate(), year: dt.year, month: dt.month, day: dt.day, weekday: dt.weekday, hour: dt.hour, minute: dt.minute };
}

describe('local time in a zone', () => {
  it('agrees with the zone database at every quarter hour across DST changes, in both orders of asking', () => {
    // Kathmandu moved from +05:30 to +05:45 at 18:30 UTC on 1985-12-31: mid-hour.
    const starts = ['1985-12-30T00:00:00Z', '2011-12-28T00:00:00Z', '2024-03-08T00:00:00Z', '2024-03-29T00:00:00Z', '2024-04-05T00:00:00Z', '2024-09-27T00:00:00Z', '2024-10-25T00:00:00Z', '2024-11-01T00:00:00Z'];
    let compared = 0;
    for (const zone of ZONES) {
      for (const start of starts) {
        const t0 = Date.parse(start);
        // Forwards, then backwards: the kept hour must never leak into a neighbouring one.
        const instants = Array.from({ length: 4 * 24 * 5 }, (_, i) => t0 + i * 15 * 60_000 + 59_999);
        for (const ms of [...instants, ...instants.reverse()]) {
          const at = new Date(ms);
          expect(localParts(at, zone), `${zone} ${at.toISOString()}`).toEqual(luxonParts(at, zone));
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(40_000);
  });

  it('knows the minute an offset changes', () => {
    // New York springs forward at 07:00 UTC on 2024-03-10: 01:59 EST, then 03:00 EDT.
    expect(localParts(new Date('2024-03-10T06:59:00Z'), 'America/New_York')).toMatchObject({ hour: 1, minute: 59 });
    expect(localParts(new Date('2024-03-10T07:00:00Z'), 'America/New_York')).toMatchObject({ hour: 3, minute: 0 });
    // Lord Howe moves by 30 minutes at 15:00 UTC on 2024-04-06: 01:59 +11, then 01:30 +10:30.
    expect(localParts(new Date('2024-04-06T14:59:00Z'), 'Australia/Lord_Howe')).toMatchObject({ hour: 1, minute: 59 });
    expect(localParts(new Date('2024-04-06T15:00:00Z'), 'Australia/Lord_Howe')).toMatchObject({ hour: 1, minute: 30 });
    expect(localParts(new Date('1985-12-31T18:29:00Z'), 'Asia/Kathmandu')).toMatchObject({ hour: 23, minute: 59 });
    expect(localParts(new Date('1985-12-31T18:45:00Z'), 'Asia/Kathmandu')).toMatchObject({ date: '1986-01-01', hour: 0, minute: 30 });
    // Apia skipped 30 December 2011.
    expect(localDate(new Date('2011-12-30T09:59:59Z'), 'Pacific/Apia')).toBe('2011-12-29');
    expect(localDate(new Date('2011-12-30T10:00:00Z'), 'Pacific/Apia')).toBe('2011-12-31');
  });

  it('gives the local date of a Shanghai morning and a New York evening', () => {
    expect(localDate(new Date('2026-02-28T16:30:00Z'), 'Asia/Shanghai')).toBe('2026-03-01');
    expect(localDate(new Date('2026-03-01T02:30:00Z'), 'America/New_York')).toBe('2026-02-28');
    expect(localParts(new Date('2026-03-01T02:30:00Z'), 'America/New_York').weekday).toBe(6);
  });
});
