import { IANAZone } from 'luxon';
import { AppError } from '../../core/errors.js';
import {
  DAY_MS,
  civilDateOf,
  daysInMonth,
  firstInstantShowing,
  isoDateOf,
  latestReadingAt,
  parseIsoDate,
  plusMonths,
  startOfLocalDay,
  wallAt,
  type WallReading,
} from './expiry/local-clock.js';
import type {
  DayBoundary,
  ExpiryPolicy,
  ExpiryRounding,
  InactivityExpiryPolicy,
} from './expiry/schema.js';
import { validateExpiryPolicy } from './expiry/validate.js';

/**
 * Points expiry: from a point type's policy and the moment points are earned, the instant
 * the lot expires. Computed once at earn time and stored with the lot, so a later change of
 * policy never moves a promise already made.
 *
 * Conventions:
 *  - `expiresAt` is an exclusive bound: points are expired at instant `t` iff `t >= expiresAt`
 *    (see `isExpired`). "End of a day" is the first instant of the next local day, so a day of
 *    23 or 25 hours (daylight saving) still ends at the next local midnight.
 *  - All calendar arithmetic uses the program's IANA zone. The local time of the earn is the
 *    highest reading the local clock has shown (during the hour repeated after clocks go back,
 *    that is the reading just before they went back), and a target local time that the clock
 *    skips resolves to the instant of the jump; so a later earn never expires earlier.
 *  - Adding months keeps the day of the month; when the target month is too short (31 Jan + 1
 *    month, 29 Feb + 12 months) the points last to the end of its last day, never less.
 */

export * from './expiry/schema.js';
export { validateExpiryPolicy } from './expiry/validate.js';
export { describeExpiryPolicy } from './expiry/describe.js';

export interface EarnContext {
  earnedAt: Date;
  /** The program's IANA time zone. */
  zone: string;
  /** The member's tier when the points are earned; only `byTier` policies read it. */
  tierCode?: string | null;
}

/** Whether points with this expiry are expired at `at` (`null` never expires). */
export function isExpired(expiresAt: Date | null, at: Date): boolean {
  return expiresAt !== null && at.getTime() >= expiresAt.getTime();
}

function programZone(zone: string): IANAZone {
  const resolved = IANAZone.create(zone);
  if (!resolved.isValid) {
    throw new AppError('validation_failed', `zone must be an IANA time zone (got ${JSON.stringify(zone)})`, { path: 'zone' });
  }
  return resolved;
}

function epochMsOf(at: Date, field: string): number {
  const ms = at instanceof Date ? at.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) throw new AppError('validation_failed', `${field} must be a valid date`, { path: field });
  return ms;
}

export type ResolvedExpiryPolicy = Exclude<ExpiryPolicy, { kind: 'byTier' | 'versioned' }>;

/**
 * The policy that governs one earn: the version in force on the earn's local date, then the
 * member's tier at that time (an unknown or missing tier takes the default). Worth storing with
 * the lot next to its expiry, to explain it later.
 */
export function resolveExpiryPolicy(policy: ExpiryPolicy, context: EarnContext): ResolvedExpiryPolicy {
  validateExpiryPolicy(policy);
  return resolve(policy, localEarn(context), context.tierCode);
}

/** The earn as the program's clock read it. */
function localEarn({ earnedAt, zone }: EarnContext): LocalEarn {
  const programTimeZone = programZone(zone);
  const at = epochMsOf(earnedAt, 'earnedAt');
  return { earnedAt: at, zone: programTimeZone, reading: latestReadingAt(at, programTimeZone) };
}

interface LocalEarn {
  earnedAt: number;
  zone: IANAZone;
  reading: WallReading;
}

function resolve(policy: ExpiryPolicy, earn: LocalEarn, tierCode: string | null | undefined): ResolvedExpiryPolicy {
  if (policy.kind === 'versioned') {
    const earnedOn = isoDateOf(earn.reading);
    // Versions are oldest first; the first also covers earns older than its own date.
    let inForce = policy.versions[0]!.policy;
    for (const version of policy.versions) if (version.effectiveFrom <= earnedOn) inForce = version.policy;
    return resolve(inForce, earn, tierCode);
  }
  if (policy.kind === 'byTier') {
    const forTier = tierCode != null && Object.hasOwn(policy.tiers, tierCode) ? policy.tiers[tierCode] : undefined;
    return forTier ?? policy.default;
  }
  return policy;
}

function dayBoundary(date: WallReading, at: DayBoundary, zone: IANAZone): number {
  return startOfLocalDay(at === 'startOfDay' ? date : date + DAY_MS, zone);
}

/** Adds a calendar period to a local reading and applies the rounding. */
function afterPeriod(reading: WallReading, period: { days: number } | { months: number }, roundTo: ExpiryRounding, zone: IANAZone): number {
  const { wall: target, monthTooShort } =
    'days' in period ? { wall: reading + period.days * DAY_MS, monthTooShort: false } : plusMonths(reading, period.months);
  if (roundTo === 'endOfMonth') {
    const { year, month } = civilDateOf(target);
    return startOfLocalDay(wallAt(year, month + 1, 1), zone);
  }
  // In a month too short for the day, points last to the end of its last day: never less, and
  // a later earn (31 Jan after 28 Jan at noon) never expires earlier.
  if (roundTo === 'endOfDay' || monthTooShort) return dayBoundary(target, 'endOfDay', zone);
  return firstInstantShowing(target, zone);
}

function lotExpiry(policy: ResolvedExpiryPolicy, { earnedAt, zone, reading }: LocalEarn): number | null {
  const earned = civilDateOf(reading);
  switch (policy.kind) {
    case 'never':
    case 'inactivity':
      return null;
    case 'afterDays':
      return afterPeriod(reading, { days: policy.days }, policy.roundTo, zone);
    case 'afterMonths':
      return afterPeriod(reading, { months: policy.months }, policy.roundTo, zone);
    case 'firstOfMonthAfter':
      return dayBoundary(wallAt(earned.year, earned.month + policy.months, 1), policy.at, zone);
    case 'endOfYearAfter':
      return startOfLocalDay(wallAt(earned.year + policy.years + 1, 1, 1), zone);
    case 'calendarAnchor': {
      const year = earned.year + policy.yearsAfter;
      // A 29 February anchor falls on 28 February in other years.
      return dayBoundary(wallAt(year, policy.month, Math.min(policy.day, daysInMonth(year, policy.month))), policy.at, zone);
    }
    case 'fixedDate': {
      const expiresAt = dayBoundary(parseIsoDate(policy.date)!, policy.at, zone);
      // A lot earned at or after the date would be born expired: refuse the earn loudly rather
      // than create points nobody can spend (or, worse, points that silently never expire).
      if (earnedAt >= expiresAt) {
        throw new AppError(
          'rule_invalid',
          `points can no longer be earned: the expiry policy ends all points at ${new Date(expiresAt).toISOString()} (${policy.at} ${policy.date})`,
          { path: 'date', date: policy.date, at: policy.at, expiresAt: new Date(expiresAt).toISOString(), earnedAt: new Date(earnedAt).toISOString() },
        );
      }
      return expiresAt;
    }
  }
}

/**
 * The instant a lot earned in this context expires, or `null` if it never does (`never`, and
 * `inactivity`, where the whole balance expires instead: see `inactivityDeadline`).
 * Throws `validation_failed` for an invalid policy, zone or date, and `rule_invalid` for an
 * earn after a `fixedDate` policy's date.
 */
export function computeExpiry(policy: ExpiryPolicy, context: EarnContext): Date | null {
  validateExpiryPolicy(policy);
  const earn = localEarn(context);
  const expiresAt = lotExpiry(resolve(policy, earn, context.tierCode), earn);
  return expiresAt === null ? null : new Date(expiresAt);
}

/**
 * The instant the whole balance expires under an `inactivity` policy if no activity of the
 * listed kinds happens after `lastQualifyingActivityAt`; the arithmetic is `afterMonths`'.
 * Each qualifying activity moves the deadline, so the caller recomputes it from the latest one.
 */
export function inactivityDeadline(policy: InactivityExpiryPolicy, lastQualifyingActivityAt: Date, zone: string): Date {
  validateExpiryPolicy(policy);
  if (policy.kind !== 'inactivity') {
    throw new AppError('validation_failed', `inactivityDeadline needs an inactivity policy (got ${String((policy as ExpiryPolicy).kind)})`, { path: 'kind' });
  }
  const programTimeZone = programZone(zone);
  const lastActivity = latestReadingAt(epochMsOf(lastQualifyingActivityAt, 'lastQualifyingActivityAt'), programTimeZone);
  return new Date(afterPeriod(lastActivity, { months: policy.months }, policy.roundTo, programTimeZone));
}
