import fc from 'fast-check';
import { DateTime, IANAZone } from 'luxon';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../core/errors.js';
import { addLocalDays, localDate } from '../../core/zoned-time.js';
import {
  ExpiryPolicySchema,
  computeExpiry,
  describeExpiryPolicy,
  inactivityDeadline,
  isExpired,
  resolveExpiryPolicy,
  validateExpiryPolicy,
  type ByTierExpiryPolicy,
  type ExpiryPolicy,
  type InactivityExpiryPolicy,
  type SimpleExpiryPolicy,
  type VersionedExpiryPolicy,
} from './expiry-policy.js';

const NY = 'America/New_York';
const BERLIN = 'Europe/Berlin';
const SHANGHAI = 'Asia/Shanghai';

function expiry(policy: ExpiryPolicy, earnedAt: string, zone: string, tierCode?: string | null): string | null {
  return computeExpiry(policy, { earnedAt: new Date(earnedAt), zone, tierCode })?.toISOString() ?? null;
}
const utc = (isoWithOffset: string) => new Date(isoWithOffset).toISOString();

const afterDays = (days: number, roundTo: 'instant' | 'endOfDay' | 'endOfMonth'): ExpiryPolicy => ({ kind: 'afterDays', days, roundTo });
const afterMonths = (months: number, roundTo: 'instant' | 'endOfDay' | 'endOfMonth'): ExpiryPolicy => ({ kind: 'afterMonths', months, roundTo });

type Row = [name: string, policy: ExpiryPolicy, zone: string, earnedAt: string, expected: string | null];

describe('computeExpiry', () => {
  // Earned 2026-01-31 23:30 in Shanghai: still 31 January locally, 15:30 UTC.
  const lateInShanghai = '2026-01-31T23:30:00+08:00';
  const shanghaiLateInDay: Row[] = [
    ['never', { kind: 'never' }, SHANGHAI, lateInShanghai, null],
    ['30 days, same local time', afterDays(30, 'instant'), SHANGHAI, lateInShanghai, '2026-03-02T23:30:00+08:00'],
    ['30 days, end of that day', afterDays(30, 'endOfDay'), SHANGHAI, lateInShanghai, '2026-03-03T00:00:00+08:00'],
    ['30 days, end of that month', afterDays(30, 'endOfMonth'), SHANGHAI, lateInShanghai, '2026-04-01T00:00:00+08:00'],
    ['31 Jan + 1 month lasts to the end of 28 Feb', afterMonths(1, 'instant'), SHANGHAI, lateInShanghai, '2026-03-01T00:00:00+08:00'],
    ['12 months, end of month', afterMonths(12, 'endOfMonth'), SHANGHAI, lateInShanghai, '2027-02-01T00:00:00+08:00'],
    ['first of the month 3 months on, start', { kind: 'firstOfMonthAfter', months: 3, at: 'startOfDay' }, SHANGHAI, lateInShanghai, '2026-04-01T00:00:00+08:00'],
    ['first of the month 3 months on, end', { kind: 'firstOfMonthAfter', months: 3, at: 'endOfDay' }, SHANGHAI, lateInShanghai, '2026-04-02T00:00:00+08:00'],
    ['end of this year', { kind: 'endOfYearAfter', years: 0 }, SHANGHAI, lateInShanghai, '2027-01-01T00:00:00+08:00'],
    ['end of next year', { kind: 'endOfYearAfter', years: 1 }, SHANGHAI, lateInShanghai, '2028-01-01T00:00:00+08:00'],
    ['end of 31 January two years on', { kind: 'calendarAnchor', month: 1, day: 31, yearsAfter: 2, at: 'endOfDay' }, SHANGHAI, lateInShanghai, '2028-02-01T00:00:00+08:00'],
    ['start of 31 January two years on', { kind: 'calendarAnchor', month: 1, day: 31, yearsAfter: 2, at: 'startOfDay' }, SHANGHAI, lateInShanghai, '2028-01-31T00:00:00+08:00'],
    ['fixed date, end of day', { kind: 'fixedDate', date: '2026-12-31', at: 'endOfDay' }, SHANGHAI, lateInShanghai, '2027-01-01T00:00:00+08:00'],
    ['fixed date, start of day', { kind: 'fixedDate', date: '2026-12-31', at: 'startOfDay' }, SHANGHAI, lateInShanghai, '2026-12-31T00:00:00+08:00'],
  ];

  // 2026-01-31T17:00Z is already 1 February 01:00 in Shanghai, still 31 January in UTC.
  const localDayDiffers: Row[] = [
    ['1 month, Shanghai (earned 1 Feb local)', afterMonths(1, 'instant'), SHANGHAI, '2026-01-31T17:00:00Z', '2026-03-01T01:00:00+08:00'],
    ['1 month, UTC (earned 31 Jan)', afterMonths(1, 'instant'), 'UTC', '2026-01-31T17:00:00Z', '2026-03-01T00:00:00Z'],
    ['1 month end of month, Shanghai', afterMonths(1, 'endOfMonth'), SHANGHAI, '2026-01-31T17:00:00Z', '2026-04-01T00:00:00+08:00'],
    ['1 month end of month, UTC', afterMonths(1, 'endOfMonth'), 'UTC', '2026-01-31T17:00:00Z', '2026-03-01T00:00:00Z'],
    ['first of next month, Shanghai', { kind: 'firstOfMonthAfter', months: 1, at: 'startOfDay' }, SHANGHAI, '2026-01-31T17:00:00Z', '2026-03-01T00:00:00+08:00'],
    ['first of next month, UTC', { kind: 'firstOfMonthAfter', months: 1, at: 'startOfDay' }, 'UTC', '2026-01-31T17:00:00Z', '2026-02-01T00:00:00Z'],
    ['1 day end of day, Shanghai', afterDays(1, 'endOfDay'), SHANGHAI, '2026-01-31T17:00:00Z', '2026-02-03T00:00:00+08:00'],
    ['1 day end of day, UTC', afterDays(1, 'endOfDay'), 'UTC', '2026-01-31T17:00:00Z', '2026-02-02T00:00:00Z'],
    ['year end, Shanghai (already 2027)', { kind: 'endOfYearAfter', years: 0 }, SHANGHAI, '2026-12-31T17:00:00Z', '2028-01-01T00:00:00+08:00'],
    ['year end, UTC (still 2026)', { kind: 'endOfYearAfter', years: 0 }, 'UTC', '2026-12-31T17:00:00Z', '2027-01-01T00:00:00Z'],
  ];

  const monthEnds: Row[] = [
    ['28 Jan + 1 month keeps the day', afterMonths(1, 'instant'), 'UTC', '2026-01-28T10:00:00Z', '2026-02-28T10:00:00Z'],
    ['29 Jan + 1 month: no 29 Feb in 2026', afterMonths(1, 'instant'), 'UTC', '2026-01-29T10:00:00Z', '2026-03-01T00:00:00Z'],
    ['31 Mar + 1 month: April has 30 days', afterMonths(1, 'instant'), 'UTC', '2026-03-31T10:00:00Z', '2026-05-01T00:00:00Z'],
    ['31 Jan + 1 month, end of day', afterMonths(1, 'endOfDay'), 'UTC', '2026-01-31T10:00:00Z', '2026-03-01T00:00:00Z'],
    ['31 Dec + 2 months into February', afterMonths(2, 'instant'), 'UTC', '2026-12-31T10:00:00Z', '2027-03-01T00:00:00Z'],
    ['30 Apr + 1 month keeps the 30th', afterMonths(1, 'endOfDay'), 'UTC', '2026-04-30T10:00:00Z', '2026-05-31T00:00:00Z'],
  ];

  const leapYears: Row[] = [
    ['29 Feb + 12 months lasts to the end of 28 Feb', afterMonths(12, 'instant'), BERLIN, '2024-02-29T12:00:00+01:00', '2025-03-01T00:00:00+01:00'],
    ['29 Feb + 48 months is 29 Feb again', afterMonths(48, 'instant'), BERLIN, '2024-02-29T12:00:00+01:00', '2028-02-29T12:00:00+01:00'],
    ['29 Feb + 1 month', afterMonths(1, 'instant'), BERLIN, '2024-02-29T12:00:00+01:00', '2024-03-29T12:00:00+01:00'],
    ['29 Feb + 365 days', afterDays(365, 'instant'), BERLIN, '2024-02-29T12:00:00+01:00', '2025-02-28T12:00:00+01:00'],
    ['29 Feb + 366 days, end of day', afterDays(366, 'endOfDay'), BERLIN, '2024-02-29T12:00:00+01:00', '2025-03-02T00:00:00+01:00'],
    ['31 Jan 2024 + 1 month: February has 29 days, not 31', afterMonths(1, 'instant'), 'UTC', '2024-01-31T10:00:00Z', '2024-03-01T00:00:00Z'],
    ['29 Jan 2024 + 1 month is 29 Feb', afterMonths(1, 'instant'), 'UTC', '2024-01-29T10:00:00Z', '2024-02-29T10:00:00Z'],
    ['anchor 29 Feb in a common year is 28 Feb (end)', { kind: 'calendarAnchor', month: 2, day: 29, yearsAfter: 1, at: 'endOfDay' }, BERLIN, '2024-02-29T12:00:00+01:00', '2025-03-01T00:00:00+01:00'],
    ['anchor 29 Feb in a common year is 28 Feb (start)', { kind: 'calendarAnchor', month: 2, day: 29, yearsAfter: 1, at: 'startOfDay' }, BERLIN, '2024-02-29T12:00:00+01:00', '2025-02-28T00:00:00+01:00'],
    ['anchor 29 Feb in a leap year', { kind: 'calendarAnchor', month: 2, day: 29, yearsAfter: 1, at: 'endOfDay' }, BERLIN, '2027-05-01T12:00:00+02:00', '2028-03-01T00:00:00+01:00'],
    ['end of next year from 29 Feb', { kind: 'endOfYearAfter', years: 1 }, BERLIN, '2024-02-29T12:00:00+01:00', '2026-01-01T00:00:00+01:00'],
  ];

  // New York 2026: clocks jump 02:00 → 03:00 on 8 March (a 23-hour day) and go back
  // 02:00 → 01:00 on 1 November (a 25-hour day, 01:00–02:00 shown twice).
  const newYorkDst: Row[] = [
    ['end of a 23-hour day is the next local midnight', afterDays(1, 'endOfDay'), NY, '2026-03-07T10:00:00-05:00', '2026-03-09T00:00:00-04:00'],
    ['1 day later is the same wall time, 23 hours later', afterDays(1, 'instant'), NY, '2026-03-07T10:00:00-05:00', '2026-03-08T10:00:00-04:00'],
    ['a skipped 02:30 resolves to the jump at 03:00', afterDays(1, 'instant'), NY, '2026-03-07T02:30:00-05:00', '2026-03-08T03:00:00-04:00'],
    ['03:15 after the jump stays 03:15', afterDays(1, 'instant'), NY, '2026-03-07T03:15:00-05:00', '2026-03-08T03:15:00-04:00'],
    ['end of a 25-hour day is the next local midnight', afterDays(1, 'endOfDay'), NY, '2026-10-31T12:00:00-04:00', '2026-11-02T00:00:00-05:00'],
    ['a twice-shown 01:30 resolves to its first showing', afterDays(1, 'instant'), NY, '2026-10-31T01:30:00-04:00', '2026-11-01T01:30:00-04:00'],
    ['earned 01:50 before clocks go back', afterDays(1, 'instant'), NY, '2026-11-01T01:50:00-04:00', '2026-11-02T01:50:00-05:00'],
    ['earned in the repeated hour: never earlier than one earned before it', afterDays(1, 'instant'), NY, '2026-11-01T01:10:00-05:00', '2026-11-02T01:59:59.999-05:00'],
    ['end of March from February', afterMonths(1, 'endOfMonth'), NY, '2026-02-15T12:00:00-05:00', '2026-04-01T00:00:00-04:00'],
    ['start of the DST day', { kind: 'fixedDate', date: '2026-03-08', at: 'startOfDay' }, NY, '2026-03-01T12:00:00-05:00', '2026-03-08T00:00:00-05:00'],
    ['end of the DST day', { kind: 'fixedDate', date: '2026-03-08', at: 'endOfDay' }, NY, '2026-03-01T12:00:00-05:00', '2026-03-09T00:00:00-04:00'],
  ];

  // Berlin 2026: 02:00 → 03:00 on 29 March, 03:00 → 02:00 on 25 October.
  const berlinDst: Row[] = [
    ['end of a 23-hour day', afterMonths(2, 'endOfDay'), BERLIN, '2026-01-29T10:00:00+01:00', '2026-03-30T00:00:00+02:00'],
    ['a skipped 02:30 resolves to 03:00', afterDays(29, 'instant'), BERLIN, '2026-02-28T02:30:00+01:00', '2026-03-29T03:00:00+02:00'],
    ['end of a 25-hour day', afterDays(1, 'endOfDay'), BERLIN, '2026-10-24T12:00:00+02:00', '2026-10-26T00:00:00+01:00'],
    ['end of October from September', afterMonths(1, 'endOfMonth'), BERLIN, '2026-09-15T12:00:00+02:00', '2026-11-01T00:00:00+01:00'],
    ['a twice-shown 02:30 resolves to its first showing', afterDays(1, 'instant'), BERLIN, '2026-10-24T02:30:00+02:00', '2026-10-25T02:30:00+02:00'],
  ];

  // Zones whose clocks change at midnight: a day may begin at 01:00, or midnight may occur twice.
  const midnightChanges: Row[] = [
    ['Santiago 6 Sep 2026 begins at 01:00', { kind: 'fixedDate', date: '2026-09-06', at: 'startOfDay' }, 'America/Santiago', '2026-09-01T12:00:00-04:00', '2026-09-06T01:00:00-03:00'],
    ['Santiago 5 Sep 2026 ends when 6 Sep begins', { kind: 'fixedDate', date: '2026-09-05', at: 'endOfDay' }, 'America/Santiago', '2026-09-01T12:00:00-04:00', '2026-09-06T01:00:00-03:00'],
    ['Havana 8 Mar 2026 begins at 01:00', { kind: 'fixedDate', date: '2026-03-08', at: 'startOfDay' }, 'America/Havana', '2026-03-01T12:00:00-05:00', '2026-03-08T01:00:00-04:00'],
    ['Havana 31 Oct 2026 ends at the first of two midnights', { kind: 'fixedDate', date: '2026-10-31', at: 'endOfDay' }, 'America/Havana', '2026-10-01T12:00:00-04:00', '2026-11-01T00:00:00-04:00'],
  ];

  // Lord Howe moves its clocks by 30 minutes, at half past the UTC hour on 4 October 2026
  // (02:00 → 02:30) and on the hour on 5 April 2026 (02:00 → 01:30).
  const halfHourChanges: Row[] = [
    ['a skipped 02:15 resolves to the jump at 02:30', afterDays(1, 'instant'), 'Australia/Lord_Howe', '2026-10-03T02:15:00+10:30', '2026-10-04T02:30:00+11:00'],
    ['02:45 after the jump stays 02:45', afterDays(1, 'instant'), 'Australia/Lord_Howe', '2026-10-03T02:45:00+10:30', '2026-10-04T02:45:00+11:00'],
    ['earned just after the jump', afterDays(1, 'instant'), 'Australia/Lord_Howe', '2026-10-04T02:40:00+11:00', '2026-10-05T02:40:00+11:00'],
    ['a twice-shown 01:45 resolves to its first showing', afterDays(1, 'instant'), 'Australia/Lord_Howe', '2026-04-04T01:45:00+11:00', '2026-04-05T01:45:00+11:00'],
  ];

  const groups: [string, Row[]][] = [
    ['Shanghai, earned late in the local day', shanghaiLateInDay],
    ['the local day differs from the UTC day', localDayDiffers],
    ['month ends', monthEnds],
    ['leap years', leapYears],
    ['daylight saving in New York', newYorkDst],
    ['daylight saving in Berlin', berlinDst],
    ['clock changes at midnight', midnightChanges],
    ['half-hour clock changes', halfHourChanges],
  ];
  for (const [group, rows] of groups) {
    describe(group, () => {
      it.each(rows)('%s', (_name, policy, zone, earnedAt, expected) => {
        expect(expiry(policy, earnedAt, zone)).toBe(expected === null ? null : utc(expected));
      });
    });
  }

  it('end of day is the next local midnight, not 24 hours after the day began', () => {
    const startOfShortDay = new Date('2026-03-08T00:00:00-05:00').getTime();
    const endOfShortDay = new Date(expiry(afterDays(1, 'endOfDay'), '2026-03-07T12:00:00-05:00', NY)!).getTime();
    expect((endOfShortDay - startOfShortDay) / 3_600_000).toBe(23);
    const startOfLongDay = new Date('2026-11-01T00:00:00-04:00').getTime();
    const endOfLongDay = new Date(expiry(afterDays(1, 'endOfDay'), '2026-10-31T12:00:00-04:00', NY)!).getTime();
    expect((endOfLongDay - startOfLongDay) / 3_600_000).toBe(25);
  });

  it('refuses an earn at or after a fixed date, instead of creating points born expired or never expiring', () => {
    const policy: ExpiryPolicy = { kind: 'fixedDate', date: '2026-12-31', at: 'endOfDay' };
    expect(expiry(policy, '2026-12-31T23:59:59.999+08:00', SHANGHAI)).toBe(utc('2027-01-01T00:00:00+08:00'));
    for (const earnedAt of ['2027-01-01T00:00:00+08:00', '2027-06-01T00:00:00Z']) {
      const error = catchError(() => expiry(policy, earnedAt, SHANGHAI));
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ code: 'rule_invalid', details: { path: 'date', date: '2026-12-31' } });
    }
  });

  it('refuses an unknown zone and an invalid date with pointed errors', () => {
    expect(catchError(() => expiry({ kind: 'never' }, '2026-01-01T00:00:00Z', 'Mars/Olympus'))).toMatchObject({
      code: 'validation_failed',
      details: { path: 'zone' },
    });
    expect(catchError(() => computeExpiry({ kind: 'never' }, { earnedAt: new Date('nope'), zone: 'UTC' }))).toMatchObject({
      code: 'validation_failed',
      details: { path: 'earnedAt' },
    });
  });

  it('refuses an invalid policy before computing anything', () => {
    expect(catchError(() => expiry(afterDays(0, 'instant'), '2026-01-01T00:00:00Z', 'UTC'))).toMatchObject({
      code: 'validation_failed',
      details: { path: 'days' },
    });
  });
});

describe('byTier', () => {
  const policy: ByTierExpiryPolicy = {
    kind: 'byTier',
    tiers: { gold: { kind: 'never' }, silver: afterMonths(24, 'endOfMonth') as SimpleExpiryPolicy },
    default: afterMonths(12, 'endOfMonth') as SimpleExpiryPolicy,
  };
  const earnedAt = '2026-05-10T12:00:00Z';

  it.each([
    ['gold', null],
    ['silver', '2028-06-01T00:00:00Z'],
    ['bronze', '2027-06-01T00:00:00Z'],
    [null, '2027-06-01T00:00:00Z'],
    [undefined, '2027-06-01T00:00:00Z'],
    ['toString', '2027-06-01T00:00:00Z'],
    ['__proto__', '2027-06-01T00:00:00Z'],
  ])('tier %s', (tierCode, expected) => {
    expect(expiry(policy, earnedAt, 'UTC', tierCode)).toBe(expected === null ? null : utc(expected));
  });
});

describe('versioned', () => {
  // The change takes effect on 1 July 2026 in Shanghai, which begins at 16:00 UTC on 30 June.
  const policy: VersionedExpiryPolicy = {
    kind: 'versioned',
    versions: [
      { effectiveFrom: '2020-01-01', policy: { kind: 'afterMonths', months: 12, roundTo: 'endOfMonth' } },
      { effectiveFrom: '2026-07-01', policy: { kind: 'afterMonths', months: 6, roundTo: 'endOfMonth' } },
      {
        effectiveFrom: '2027-01-01',
        policy: { kind: 'byTier', tiers: { gold: { kind: 'never' } }, default: { kind: 'endOfYearAfter', years: 1 } },
      },
    ],
  };

  it.each<[string, string, string | null, string | null]>([
    ['earned before the change keeps the old promise', '2026-06-30T23:30:00+08:00', null, '2027-07-01T00:00:00+08:00'],
    ['earned from the local date of the change', '2026-06-30T16:30:00Z', null, '2027-02-01T00:00:00+08:00'],
    ['earned before the first version: the first applies', '2019-05-01T00:00:00Z', null, '2020-06-01T00:00:00+08:00'],
    ['a tier-dependent version, gold', '2027-03-01T00:00:00+08:00', 'gold', null],
    ['a tier-dependent version, other tiers', '2027-03-01T00:00:00+08:00', 'silver', '2029-01-01T00:00:00+08:00'],
  ])('%s', (_name, earnedAt, tierCode, expected) => {
    expect(expiry(policy, earnedAt, SHANGHAI, tierCode)).toBe(expected === null ? null : utc(expected));
  });

  it('resolves to the version and tier that applied', () => {
    expect(resolveExpiryPolicy(policy, { earnedAt: new Date('2026-06-30T16:30:00Z'), zone: SHANGHAI })).toEqual(policy.versions[1]!.policy);
    expect(resolveExpiryPolicy(policy, { earnedAt: new Date('2027-03-01T00:00:00Z'), zone: SHANGHAI, tierCode: 'gold' })).toEqual({ kind: 'never' });
  });
});

describe('inactivity', () => {
  const policy: InactivityExpiryPolicy = { kind: 'inactivity', months: 12, roundTo: 'endOfDay', activityKinds: ['purchase', 'check_in'] };

  it('gives lots no date of their own', () => {
    expect(expiry(policy, '2026-01-31T23:30:00+08:00', SHANGHAI)).toBeNull();
  });

  it.each<[string, InactivityExpiryPolicy, string, string, string]>([
    ['end of the day, 12 months after the last activity (local date)', policy, '2026-01-31T23:30:00+08:00', SHANGHAI, '2027-02-01T00:00:00+08:00'],
    ['the local date, not the UTC date', policy, '2026-01-31T17:00:00Z', SHANGHAI, '2027-02-02T00:00:00+08:00'],
    ['29 Feb + 12 months lasts to the end of 28 Feb', { ...policy, roundTo: 'instant' }, '2024-02-29T12:00:00Z', 'UTC', '2025-03-01T00:00:00Z'],
    ['same local time across a DST change', { ...policy, months: 1, roundTo: 'instant' }, '2026-02-15T12:00:00-05:00', NY, '2026-03-15T12:00:00-04:00'],
  ])('%s', (_name, inactivity, lastActivity, zone, expected) => {
    expect(inactivityDeadline(inactivity, new Date(lastActivity), zone).toISOString()).toBe(utc(expected));
  });

  it('refuses a policy that is not an inactivity policy', () => {
    const notInactivity = { kind: 'never' } as unknown as InactivityExpiryPolicy;
    expect(catchError(() => inactivityDeadline(notInactivity, new Date(), 'UTC'))).toMatchObject({ code: 'validation_failed', details: { path: 'kind' } });
  });
});

describe('isExpired', () => {
  it('treats expiresAt as an exclusive bound', () => {
    const expiresAt = new Date('2027-01-01T00:00:00Z');
    expect(isExpired(expiresAt, new Date('2026-12-31T23:59:59.999Z'))).toBe(false);
    expect(isExpired(expiresAt, new Date('2027-01-01T00:00:00Z'))).toBe(true);
    expect(isExpired(null, new Date('9999-01-01T00:00:00Z'))).toBe(false);
  });
});

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, none was thrown');
}

describe('validateExpiryPolicy', () => {
  const simple = afterMonths(12, 'endOfMonth') as SimpleExpiryPolicy;
  const invalid: [name: string, policy: unknown, path: string, message: RegExp][] = [
    ['not an object', null, '', /the policy must be an object/],
    ['unknown kind', { kind: 'sometimes' }, 'kind', /kind must be one of never, afterDays/],
    ['zero days', { kind: 'afterDays', days: 0, roundTo: 'instant' }, 'days', /days must be >= 1 \(got 0\)/],
    ['fractional days', { kind: 'afterDays', days: 1.5, roundTo: 'instant' }, 'days', /days must be integer \(got 1.5\)/],
    ['days as a string', { kind: 'afterDays', days: '30', roundTo: 'instant' }, 'days', /days must be integer/],
    ['more than a century of months', { kind: 'afterMonths', months: 1201, roundTo: 'instant' }, 'months', /months must be <= 1200/],
    ['missing rounding', { kind: 'afterMonths', months: 3 }, 'roundTo', /roundTo is required for kind afterMonths/],
    ['unknown rounding', { kind: 'afterMonths', months: 3, roundTo: 'endOfWeek' }, 'roundTo', /roundTo must be one of "instant", "endOfDay", "endOfMonth" \(got "endOfWeek"\)/],
    ['a field of another kind', { kind: 'never', days: 3 }, 'days', /days is not a field of kind never/],
    ['firstOfMonthAfter 0 months (would be before the earn)', { kind: 'firstOfMonthAfter', months: 0, at: 'startOfDay' }, 'months', /months must be >= 1/],
    ['negative years', { kind: 'endOfYearAfter', years: -1 }, 'years', /years must be >= 0/],
    ['30 February', { kind: 'calendarAnchor', month: 2, day: 30, yearsAfter: 1, at: 'endOfDay' }, 'day', /day must be at most 29: February has no day 30/],
    ['31 April', { kind: 'calendarAnchor', month: 4, day: 31, yearsAfter: 1, at: 'endOfDay' }, 'day', /April has no day 31/],
    ['month 13', { kind: 'calendarAnchor', month: 13, day: 1, yearsAfter: 1, at: 'endOfDay' }, 'month', /month must be <= 12/],
    ['anchor in the year of earning (could be before the earn)', { kind: 'calendarAnchor', month: 12, day: 31, yearsAfter: 0, at: 'endOfDay' }, 'yearsAfter', /yearsAfter must be >= 1/],
    ['a date that does not exist', { kind: 'fixedDate', date: '2026-02-30', at: 'endOfDay' }, 'date', /date is not a real calendar date \(got "2026-02-30"\)/],
    ['a date in another format', { kind: 'fixedDate', date: '2026-2-3', at: 'endOfDay' }, 'date', /date must be a local date YYYY-MM-DD/],
    ['unknown day boundary', { kind: 'fixedDate', date: '2026-12-31', at: 'noon' }, 'at', /at must be one of "startOfDay", "endOfDay"/],
    ['no activity kinds', { kind: 'inactivity', months: 12, roundTo: 'instant', activityKinds: [] }, 'activityKinds', /activityKinds must not have fewer than 1 items/],
    ['repeated activity kinds', { kind: 'inactivity', months: 12, roundTo: 'instant', activityKinds: ['purchase', 'purchase'] }, 'activityKinds', /duplicate/],
    ['blank activity kind', { kind: 'inactivity', months: 12, roundTo: 'instant', activityKinds: ['purchase', ' '] }, 'activityKinds[1]', /activityKinds\[1\] must be an activity kind without surrounding spaces/],
    ['byTier inside byTier', { kind: 'byTier', tiers: { gold: { kind: 'byTier', tiers: { a: simple }, default: simple } }, default: simple }, 'tiers.gold.kind', /tiers\.gold\.kind is byTier, but it cannot be nested inside byTier/],
    ['inactivity inside byTier', { kind: 'byTier', tiers: { gold: { kind: 'inactivity', months: 1, roundTo: 'instant', activityKinds: ['x'] } }, default: simple }, 'tiers.gold.kind', /only be the top-level policy/],
    ['versioned as a tier default', { kind: 'byTier', tiers: { gold: simple }, default: { kind: 'versioned', versions: [{ effectiveFrom: '2026-01-01', policy: simple }] } }, 'default.kind', /default\.kind is versioned, but it cannot be nested inside byTier/],
    ['no tiers', { kind: 'byTier', tiers: {}, default: simple }, 'tiers', /tiers must not have fewer than 1 properties/],
    ['a blank tier code', { kind: 'byTier', tiers: { ' ': simple }, default: simple }, 'tiers', /blank tier code/],
    ['an invalid policy deep inside a tier', { kind: 'byTier', tiers: { 'gold-plus': { kind: 'afterDays', days: 0, roundTo: 'instant' } }, default: simple }, 'tiers["gold-plus"].days', /tiers\["gold-plus"\]\.days must be >= 1/],
    ['no versions', { kind: 'versioned', versions: [] }, 'versions', /versions must not have fewer than 1 items/],
    ['versions out of order', { kind: 'versioned', versions: [{ effectiveFrom: '2026-01-01', policy: simple }, { effectiveFrom: '2025-12-31', policy: simple }] }, 'versions[1].effectiveFrom', /versions\[1\]\.effectiveFrom must be later than versions\[0\]\.effectiveFrom \(2026-01-01\)/],
    ['two versions on one date', { kind: 'versioned', versions: [{ effectiveFrom: '2026-01-01', policy: simple }, { effectiveFrom: '2026-01-01', policy: { kind: 'never' } }] }, 'versions[1].effectiveFrom', /must be later than/],
    ['a version date that does not exist', { kind: 'versioned', versions: [{ effectiveFrom: '2026-13-01', policy: simple }] }, 'versions[0].effectiveFrom', /not a real calendar date/],
    ['versioned inside versioned', { kind: 'versioned', versions: [{ effectiveFrom: '2026-01-01', policy: { kind: 'versioned', versions: [{ effectiveFrom: '2026-01-01', policy: simple }] } }] }, 'versions[0].policy.kind', /cannot be nested inside versioned/],
    ['a version without a policy', { kind: 'versioned', versions: [{ effectiveFrom: '2026-01-01' }] }, 'versions[0].policy', /versions\[0\]\.policy is required/],
    ['an invalid policy in a tier of a version', { kind: 'versioned', versions: [{ effectiveFrom: '2026-01-01', policy: { kind: 'byTier', tiers: { gold: { kind: 'afterMonths', months: 0, roundTo: 'instant' } }, default: simple } }] }, 'versions[0].policy.tiers.gold.months', /versions\[0\]\.policy\.tiers\.gold\.months must be >= 1/],
  ];

  it.each(invalid)('refuses %s', (_name, policy, path, message) => {
    const error = catchError(() => validateExpiryPolicy(policy));
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'validation_failed', details: { path } });
    expect((error as AppError).message).toMatch(message);
    expect((error as AppError).message).toMatch(/^invalid expiry policy: /);
  });

  it('accepts a byTier inside a versioned policy, and each kind at the top', () => {
    expect(() =>
      validateExpiryPolicy({ kind: 'versioned', versions: [{ effectiveFrom: '2026-01-01', policy: { kind: 'byTier', tiers: { gold: { kind: 'never' } }, default: simple } }] }),
    ).not.toThrow();
    expect(() => validateExpiryPolicy({ kind: 'calendarAnchor', month: 2, day: 29, yearsAfter: 1, at: 'endOfDay' })).not.toThrow();
  });
});

describe('describeExpiryPolicy', () => {
  it.each<[ExpiryPolicy, string]>([
    [{ kind: 'never' }, 'Points never expire.'],
    [afterDays(1, 'instant'), 'Points expire 1 day after they are earned.'],
    [afterDays(90, 'endOfDay'), 'Points expire at the end of the day, 90 days after they are earned.'],
    [afterMonths(12, 'endOfMonth'), 'Points expire at the end of the month, 12 months after they are earned.'],
    [{ kind: 'firstOfMonthAfter', months: 3, at: 'startOfDay' }, 'Points expire at the start of the 1st of the month, 3 months after the month they are earned in.'],
    [{ kind: 'endOfYearAfter', years: 0 }, 'Points expire at the end of the calendar year they are earned in.'],
    [{ kind: 'endOfYearAfter', years: 1 }, 'Points expire at the end of the calendar year after the one they are earned in.'],
    [{ kind: 'endOfYearAfter', years: 2 }, 'Points expire at the end of the calendar year 2 years after the one they are earned in.'],
    [{ kind: 'calendarAnchor', month: 1, day: 31, yearsAfter: 2, at: 'endOfDay' }, 'Points expire at the end of 31 January, 2 years after the year they are earned in.'],
    [{ kind: 'calendarAnchor', month: 2, day: 29, yearsAfter: 1, at: 'startOfDay' }, 'Points expire at the start of 29 February (28 February when there is no 29 February), 1 year after the year they are earned in.'],
    [{ kind: 'fixedDate', date: '2026-12-31', at: 'endOfDay' }, 'All points expire at the end of 31 December 2026, and none can be earned after that.'],
    [
      { kind: 'inactivity', months: 12, roundTo: 'instant', activityKinds: ['purchase', 'check_in'] },
      "The whole balance expires 12 months after the member's last qualifying activity (purchase, check_in); points have no date of their own.",
    ],
    [
      { kind: 'byTier', tiers: { gold: { kind: 'never' } }, default: { kind: 'afterMonths', months: 12, roundTo: 'endOfMonth' } },
      "Depends on the member's tier when the points are earned (gold: points never expire; any other tier: points expire at the end of the month, 12 months after they are earned).",
    ],
    [
      { kind: 'versioned', versions: [{ effectiveFrom: '2020-01-01', policy: { kind: 'never' } }, { effectiveFrom: '2027-01-01', policy: { kind: 'endOfYearAfter', years: 1 } }] },
      'Earned before 2027-01-01: points never expire. Earned from 2027-01-01: points expire at the end of the calendar year after the one they are earned in.',
    ],
    [{ kind: 'versioned', versions: [{ effectiveFrom: '2020-01-01', policy: { kind: 'never' } }] }, 'Points never expire.'],
  ])('%j', (policy, sentence) => {
    expect(describeExpiryPolicy(policy)).toBe(sentence);
  });
});

// ---------------------------------------------------------------------------------------
// Properties. Instants are drawn uniformly and, more often, within hours of a real clock
// change of the zones below, where mistakes hide.

const ZONES = ['UTC', NY, BERLIN, SHANGHAI, 'America/Santiago', 'America/Havana', 'Australia/Lord_Howe'] as const;
const RANGE_START = Date.UTC(2023, 0, 1);
const RANGE_END = Date.UTC(2029, 0, 1);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function clockChanges(zoneName: string): number[] {
  const zone = IANAZone.create(zoneName);
  const changes: number[] = [];
  for (let t = RANGE_START; t < RANGE_END; t += 6 * HOUR) {
    if (zone.offset(t) === zone.offset(t + 6 * HOUR)) continue;
    let [lo, hi] = [t, t + 6 * HOUR];
    while (hi - lo > 60_000) {
      const mid = lo + Math.floor((hi - lo) / 2 / 60_000) * 60_000 || lo + 60_000;
      if (zone.offset(mid) === zone.offset(lo)) lo = mid;
      else hi = mid;
    }
    changes.push(hi);
  }
  return changes;
}
const CLOCK_CHANGES_WITH_ZONE = ZONES.flatMap((zone) => clockChanges(zone).map((at) => [zone, at] as const));
const CLOCK_CHANGES = CLOCK_CHANGES_WITH_ZONE.map(([, at]) => at);

const instantArb = fc.oneof(
  fc.integer({ min: RANGE_START, max: RANGE_END }),
  fc.tuple(fc.constantFrom(...CLOCK_CHANGES), fc.integer({ min: -3 * HOUR, max: 3 * HOUR })).map(([change, delta]) => change + delta),
  // exactly on a day or hour boundary, in any of the zones' offsets
  fc.tuple(fc.integer({ min: RANGE_START / HOUR, max: RANGE_END / HOUR }), fc.constantFrom(0, -1, 1, 30 * 60_000)).map(([hours, ms]) => hours * HOUR + ms),
);
const zoneArb = fc.constantFrom(...ZONES);
const roundToArb = fc.constantFrom('instant' as const, 'endOfDay' as const, 'endOfMonth' as const);
const atArb = fc.constantFrom('startOfDay' as const, 'endOfDay' as const);
const localDateArb = fc.date({ min: new Date('2022-06-01T00:00:00Z'), max: new Date('2029-06-30T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
const MAX_DAY = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const simplePolicyArb: fc.Arbitrary<SimpleExpiryPolicy> = fc.oneof(
  fc.constant({ kind: 'never' as const }),
  fc.record({ kind: fc.constant('afterDays' as const), days: fc.oneof(fc.integer({ min: 1, max: 400 }), fc.constant(36_600)), roundTo: roundToArb }),
  fc.record({ kind: fc.constant('afterMonths' as const), months: fc.oneof(fc.integer({ min: 1, max: 60 }), fc.constant(1_200)), roundTo: roundToArb }),
  fc.record({ kind: fc.constant('firstOfMonthAfter' as const), months: fc.integer({ min: 1, max: 60 }), at: atArb }),
  fc.record({ kind: fc.constant('endOfYearAfter' as const), years: fc.integer({ min: 0, max: 100 }) }),
  fc
    .integer({ min: 1, max: 12 })
    .chain((month) =>
      fc.record({
        kind: fc.constant('calendarAnchor' as const),
        month: fc.constant(month),
        day: fc.integer({ min: 1, max: MAX_DAY[month - 1]! }),
        yearsAfter: fc.integer({ min: 1, max: 5 }),
        at: atArb,
      }),
    ),
  fc.record({ kind: fc.constant('fixedDate' as const), date: localDateArb, at: atArb }),
);
const TIER_CODES = ['gold', 'silver', 'bronze'];
const tierCodeArb = fc.constantFrom<string | null>(...TIER_CODES, 'unknown', null);
const byTierArb: fc.Arbitrary<ByTierExpiryPolicy> = fc.record({
  kind: fc.constant('byTier' as const),
  tiers: fc.dictionary(fc.constantFrom(...TIER_CODES), simplePolicyArb, { minKeys: 1 }),
  default: simplePolicyArb,
});
const versionedArb: fc.Arbitrary<VersionedExpiryPolicy> = fc
  .uniqueArray(localDateArb, { minLength: 1, maxLength: 4 })
  .chain((dates) =>
    fc.tuple(...[...dates].sort().map((effectiveFrom) => fc.record({ effectiveFrom: fc.constant(effectiveFrom), policy: fc.oneof(simplePolicyArb, byTierArb) }))),
  )
  .map((versions) => ({ kind: 'versioned' as const, versions }));
const inactivityArb: fc.Arbitrary<InactivityExpiryPolicy> = fc.record({
  kind: fc.constant('inactivity' as const),
  months: fc.integer({ min: 1, max: 36 }),
  roundTo: roundToArb,
  activityKinds: fc.uniqueArray(fc.constantFrom('purchase', 'check_in', 'earn', 'spend'), { minLength: 1 }),
});
const policyArb: fc.Arbitrary<ExpiryPolicy> = fc.oneof(simplePolicyArb, byTierArb, versionedArb, inactivityArb);

/** The expiry in ms, null for never, or 'refused' when a fixed date has passed. */
function expiryOrRefusal(policy: ExpiryPolicy, earnedAt: number, zone: string, tierCode: string | null = null): number | null | 'refused' {
  try {
    return computeExpiry(policy, { earnedAt: new Date(earnedAt), zone, tierCode })?.getTime() ?? null;
  } catch (error) {
    if (error instanceof AppError && error.code === 'rule_invalid') return 'refused';
    throw error;
  }
}

function firstInstantOfItsLocalDay(at: number, zone: string): boolean {
  return localDate(new Date(at - 1), zone) < localDate(new Date(at), zone);
}

describe('properties', () => {
  it('every generated policy is valid for both the validator and the schema', () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        validateExpiryPolicy(policy);
        expect(Value.Check(ExpiryPolicySchema, policy)).toBe(true);
      }),
    );
  });

  it('anything the validator accepts, the schema accepts; anything else is refused with validation_failed', () => {
    const mutatedArb = fc
      .tuple(policyArb, fc.constantFrom('kind', 'days', 'months', 'years', 'at', 'roundTo', 'date', 'day', 'month', 'tiers', 'default', 'versions', 'extra'), fc.anything())
      .map(([policy, field, value]) => ({ ...policy, [field]: value }));
    fc.assert(
      fc.property(fc.oneof(mutatedArb, fc.anything()), (candidate) => {
        try {
          validateExpiryPolicy(candidate);
        } catch (error) {
          expect(error).toBeInstanceOf(AppError);
          expect((error as AppError).code).toBe('validation_failed');
          return;
        }
        expect(Value.Check(ExpiryPolicySchema, candidate)).toBe(true);
      }),
    );
  });

  it('expiry is always after earning (or the earn is refused because a fixed date has passed)', () => {
    fc.assert(
      fc.property(policyArb, instantArb, zoneArb, tierCodeArb, (policy, earnedAt, zone, tierCode) => {
        const expiresAt = expiryOrRefusal(policy, earnedAt, zone, tierCode);
        if (expiresAt === 'refused') {
          expect(resolveExpiryPolicy(policy, { earnedAt: new Date(earnedAt), zone, tierCode }).kind).toBe('fixedDate');
          return;
        }
        if (expiresAt !== null) expect(expiresAt).toBeGreaterThan(earnedAt);
      }),
      { numRuns: 2000 },
    );
  });

  it('monotonic: a later earn never expires earlier, under one simple policy (and one tier)', () => {
    const aroundClockChange = fc.integer({ min: -2 * HOUR, max: 2 * HOUR });
    const pairArb = fc.oneof(
      fc.tuple(instantArb, fc.integer({ min: 0, max: 3 * DAY })).map(([t, delta]) => [t, t + delta] as const),
      // both earns within the same clock change, e.g. before and during a repeated hour
      fc
        .tuple(fc.constantFrom(...CLOCK_CHANGES), aroundClockChange, aroundClockChange)
        .map(([change, a, b]) => [change + Math.min(a, b), change + Math.max(a, b)] as const),
      fc.tuple(instantArb, instantArb).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const),
    );
    fc.assert(
      fc.property(fc.oneof(simplePolicyArb, byTierArb), pairArb, zoneArb, tierCodeArb, (policy, [earlier, later], zone, tierCode) => {
        const first = expiryOrRefusal(policy, earlier, zone, tierCode);
        const second = expiryOrRefusal(policy, later, zone, tierCode);
        if (first === 'refused') expect(second).toBe('refused');
        else if (first === null) expect(second).toBeNull();
        else if (second !== 'refused' && second !== null) expect(second).toBeGreaterThanOrEqual(first);
      }),
      { numRuns: 3000 },
    );
  });

  it('monotonic when the earn or its target time lands on a clock change (skipped or repeated local times)', () => {
    const aroundTarget = fc.integer({ min: -2 * HOUR, max: 2 * HOUR });
    fc.assert(
      fc.property(
        fc.constantFrom(...CLOCK_CHANGES_WITH_ZONE),
        fc.oneof(
          fc.integer({ min: 1, max: 60 }).map((days) => ({ kind: 'afterDays' as const, days, roundTo: 'instant' as const })),
          fc.integer({ min: 1, max: 24 }).map((months) => ({ kind: 'afterMonths' as const, months, roundTo: 'instant' as const })),
        ),
        fc.boolean(),
        aroundTarget,
        aroundTarget,
        ([zone, change], policy, earnedNearChange, a, b) => {
          // earns within two hours of the change, or whose target lands within two hours of it
          const period = policy.kind === 'afterDays' ? { days: policy.days } : { months: policy.months };
          const base = earnedNearChange ? change : DateTime.fromMillis(change, { zone }).minus(period).toMillis();
          const first = expiryOrRefusal(policy, base + Math.min(a, b), zone) as number;
          const second = expiryOrRefusal(policy, base + Math.max(a, b), zone) as number;
          expect(second).toBeGreaterThanOrEqual(first);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a versioned policy equals the version in force on the local date of the earn', () => {
    fc.assert(
      fc.property(versionedArb, instantArb, zoneArb, tierCodeArb, (policy, earnedAt, zone, tierCode) => {
        const earnedOn = localDate(new Date(earnedAt), zone);
        const inForce = policy.versions.filter((version) => version.effectiveFrom <= earnedOn).at(-1) ?? policy.versions[0]!;
        expect(expiryOrRefusal(policy, earnedAt, zone, tierCode)).toEqual(expiryOrRefusal(inForce.policy, earnedAt, zone, tierCode));
      }),
      { numRuns: 1000 },
    );
  });

  it('policies ending at a day end exactly when a local day begins', () => {
    const dayEndingArb = simplePolicyArb.filter((policy) => policy.kind !== 'never' && !('roundTo' in policy && policy.roundTo === 'instant'));
    fc.assert(
      fc.property(dayEndingArb, instantArb, zoneArb, (policy, earnedAt, zone) => {
        const expiresAt = expiryOrRefusal(policy, earnedAt, zone);
        if (typeof expiresAt === 'number') expect(firstInstantOfItsLocalDay(expiresAt, zone)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('afterDays at the end of the day: the last instant before expiry is on the local date of the earn plus N days', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 800 }), instantArb, zoneArb, (days, earnedAt, zone) => {
        const expiresAt = expiryOrRefusal({ kind: 'afterDays', days, roundTo: 'endOfDay' }, earnedAt, zone) as number;
        expect(localDate(new Date(expiresAt - 1), zone)).toBe(addLocalDays(localDate(new Date(earnedAt), zone), days));
      }),
      { numRuns: 1000 },
    );
  });

  it('endOfYearAfter: the last instant before expiry is 31 December of the right local year', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 }), instantArb, zoneArb, (years, earnedAt, zone) => {
        const expiresAt = expiryOrRefusal({ kind: 'endOfYearAfter', years }, earnedAt, zone) as number;
        const earnedYear = Number(localDate(new Date(earnedAt), zone).slice(0, 4));
        expect(localDate(new Date(expiresAt - 1), zone)).toBe(`${earnedYear + years}-12-31`);
        expect(localDate(new Date(expiresAt), zone)).toBe(`${earnedYear + years + 1}-01-01`);
      }),
      { numRuns: 500 },
    );
  });

  it('afterMonths at the same local time: the clock shows that time on the target day, unless it was skipped or the month is too short', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 48 }), instantArb, zoneArb, (months, earnedAt, zone) => {
        const expiresAt = expiryOrRefusal({ kind: 'afterMonths', months, roundTo: 'instant' }, earnedAt, zone) as number;
        const earned = new Date(earnedAt);
        const shown = new Date(expiresAt);
        const earnedOn = localDate(earned, zone);
        const [year, month, day] = earnedOn.split('-').map(Number) as [number, number, number];
        const targetMonthIndex = month - 1 + months;
        const targetYear = year + Math.floor(targetMonthIndex / 12);
        const targetMonth = (targetMonthIndex % 12) + 1;
        const daysInTarget = new Date(Date.UTC(targetYear, targetMonth, 0)).getUTCDate();
        if (day > daysInTarget) {
          // lasts to the end of the month's last day
          expect(localDate(new Date(expiresAt - 1), zone)).toBe(`${targetYear}-${String(targetMonth).padStart(2, '0')}-${daysInTarget}`);
          expect(firstInstantOfItsLocalDay(expiresAt, zone)).toBe(true);
          return;
        }
        expect(localDate(shown, zone)).toBe(`${targetYear}-${String(targetMonth).padStart(2, '0')}-${String(day).padStart(2, '0')}`);
        const wall = (at: Date) => new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(at);
        const offsetAt = (t: number) => IANAZone.create(zone).offset(t);
        // Earns next to a clock change are pinned down by the table above.
        if (offsetAt(earnedAt - 4 * HOUR) !== offsetAt(earnedAt + 4 * HOUR)) return;
        // Otherwise the clock shows the earn's time, or the time was skipped and expiry is the jump itself.
        if (wall(shown) !== wall(earned)) expect(offsetAt(expiresAt - 1)).toBeLessThan(offsetAt(expiresAt));
      }),
      { numRuns: 1500 },
    );
  });

  it('describes every policy in one sentence', () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        const sentence = describeExpiryPolicy(policy);
        expect(sentence).toMatch(/^[A-Z].*\.$/);
        expect(sentence).not.toMatch(/undefined|NaN|\[object/);
      }),
    );
  });
});
