import type { DayBoundary, ExpiryPolicy, ExpiryRounding, SimpleExpiryPolicy } from './schema.js';

export const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

function quantity(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

function roundingPrefix(roundTo: ExpiryRounding): string {
  if (roundTo === 'endOfDay') return 'at the end of the day, ';
  if (roundTo === 'endOfMonth') return 'at the end of the month, ';
  return '';
}

function boundary(at: DayBoundary): string {
  return at === 'startOfDay' ? 'at the start of' : 'at the end of';
}

function longDate(isoDate: string): string {
  const [year, month, day] = isoDate.split('-').map(Number) as [number, number, number];
  return `${day} ${MONTH_NAMES[month - 1]} ${year}`;
}

/** The rule without its subject, so nested policies can reuse it ("expire 90 days after …"). */
function clause(policy: SimpleExpiryPolicy): string {
  switch (policy.kind) {
    case 'never':
      return 'never expire';
    case 'afterDays':
      return `expire ${roundingPrefix(policy.roundTo)}${quantity(policy.days, 'day')} after they are earned`;
    case 'afterMonths':
      return `expire ${roundingPrefix(policy.roundTo)}${quantity(policy.months, 'month')} after they are earned`;
    case 'firstOfMonthAfter':
      return `expire ${boundary(policy.at)} the 1st of the month, ${quantity(policy.months, 'month')} after the month they are earned in`;
    case 'endOfYearAfter':
      if (policy.years === 0) return 'expire at the end of the calendar year they are earned in';
      if (policy.years === 1) return 'expire at the end of the calendar year after the one they are earned in';
      return `expire at the end of the calendar year ${quantity(policy.years, 'year')} after the one they are earned in`;
    case 'calendarAnchor': {
      const leapNote = policy.month === 2 && policy.day === 29 ? ' (28 February when there is no 29 February)' : '';
      return `expire ${boundary(policy.at)} ${policy.day} ${MONTH_NAMES[policy.month - 1]}${leapNote}, ${quantity(policy.yearsAfter, 'year')} after the year they are earned in`;
    }
    case 'fixedDate':
      return `expire ${boundary(policy.at)} ${longDate(policy.date)}, and none can be earned after that`;
  }
}

/** A short English sentence for the operator console. */
export function describeExpiryPolicy(policy: ExpiryPolicy): string {
  switch (policy.kind) {
    case 'inactivity':
      return `The whole balance expires ${roundingPrefix(policy.roundTo)}${quantity(policy.months, 'month')} after the member's last qualifying activity (${policy.activityKinds.join(', ')}); points have no date of their own.`;
    case 'byTier': {
      const perTier = Object.entries(policy.tiers).map(([tierCode, tierPolicy]) => `${tierCode}: points ${clause(tierPolicy)}`);
      return `Depends on the member's tier when the points are earned (${[...perTier, `any other tier: points ${clause(policy.default)}`].join('; ')}).`;
    }
    case 'versioned': {
      const [only] = policy.versions;
      if (policy.versions.length === 1 && only !== undefined) return describeExpiryPolicy(only.policy);
      const parts = policy.versions.map((version, index) => {
        const inner = describeExpiryPolicy(version.policy).replace(/\.$/, '');
        const from = index === 0 ? `Earned before ${policy.versions[1]?.effectiveFrom}` : `Earned from ${version.effectiveFrom}`;
        return `${from}: ${inner.charAt(0).toLowerCase()}${inner.slice(1)}`;
      });
      return `${parts.join('. ')}.`;
    }
    case 'fixedDate':
      return `All points ${clause(policy)}.`;
    default:
      return `Points ${clause(policy)}.`;
  }
}
