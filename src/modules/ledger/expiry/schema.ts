import { Type, type Static } from 'typebox';

/**
 * The expiry policies a point type can carry. The schema describes shape and ranges (it is
 * what the HTTP layer and the OpenAPI document use); `validateExpiryPolicy` adds what JSON
 * Schema cannot say (real dates, ordered versions, no nesting of the wrong kind).
 *
 * Nesting is structural, not recursive: a `byTier` holds simple policies, a `versioned`
 * holds simple or `byTier` policies. `inactivity` works on the whole balance, so it stands
 * only at the top.
 */

/** Upper bounds keep calendar arithmetic within a century of the earn. */
export const EXPIRY_LIMITS = { days: 36_600, months: 1_200, years: 100 } as const;

const LOCAL_DATE_PATTERN = '^\\d{4}-\\d{2}-\\d{2}$';
const LocalDate = Type.String({ pattern: LOCAL_DATE_PATTERN, description: 'A local date YYYY-MM-DD in the program time zone' });

export const ExpiryRoundingSchema = Type.Enum(['instant', 'endOfDay', 'endOfMonth'], {
  description: 'instant: the same local time; endOfDay / endOfMonth: the end of that local day / month',
});
export const DayBoundarySchema = Type.Enum(['startOfDay', 'endOfDay'], {
  description: 'startOfDay: points expire as that local day begins; endOfDay: as it ends (the next local midnight)',
});

const strict = (description: string) => ({ additionalProperties: false, description }) as const;
const count = (max: number, min = 1) => Type.Integer({ minimum: min, maximum: max });

export const NeverPolicySchema = Type.Object({ kind: Type.Literal('never') }, strict('Points never expire.'));

export const AfterDaysPolicySchema = Type.Object(
  { kind: Type.Literal('afterDays'), days: count(EXPIRY_LIMITS.days), roundTo: ExpiryRoundingSchema },
  strict('`days` local calendar days after the earn, at the same local time or rounded to the end of that day / month.'),
);

export const AfterMonthsPolicySchema = Type.Object(
  { kind: Type.Literal('afterMonths'), months: count(EXPIRY_LIMITS.months), roundTo: ExpiryRoundingSchema },
  strict('`months` months after the earn, same day of the month (the last day if the month is shorter, then until its end), at the same local time or rounded to the end of that day / month.'),
);

export const FirstOfMonthAfterPolicySchema = Type.Object(
  { kind: Type.Literal('firstOfMonthAfter'), months: count(EXPIRY_LIMITS.months), at: DayBoundarySchema },
  strict('The 1st of the month `months` months after the month of the earn, at its start or end.'),
);

export const EndOfYearAfterPolicySchema = Type.Object(
  { kind: Type.Literal('endOfYearAfter'), years: count(EXPIRY_LIMITS.years, 0) },
  strict('The end of the calendar year `years` after the year of the earn (0: this year, 1: next year).'),
);

export const CalendarAnchorPolicySchema = Type.Object(
  {
    kind: Type.Literal('calendarAnchor'),
    month: Type.Integer({ minimum: 1, maximum: 12 }),
    day: Type.Integer({ minimum: 1, maximum: 31 }),
    yearsAfter: count(EXPIRY_LIMITS.years),
    at: DayBoundarySchema,
  },
  strict('`day` `month` (29 February: 28 February in common years) of the year `yearsAfter` after the year of the earn, at its start or end.'),
);

export const FixedDatePolicySchema = Type.Object(
  { kind: Type.Literal('fixedDate'), date: LocalDate, at: DayBoundarySchema },
  strict('All points expire at the start or end of `date`; an earn at or after that instant is refused (rule_invalid).'),
);

export const InactivityPolicySchema = Type.Object(
  {
    kind: Type.Literal('inactivity'),
    months: count(EXPIRY_LIMITS.months),
    roundTo: ExpiryRoundingSchema,
    activityKinds: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, uniqueItems: true }),
  },
  strict('No per-lot date: the whole balance expires `months` months after the last activity of one of `activityKinds`. Top level only.'),
);

/** A policy that gives each lot its own date and may sit inside `byTier` or `versioned`. */
export const SimpleExpiryPolicySchema = Type.Union([
  NeverPolicySchema,
  AfterDaysPolicySchema,
  AfterMonthsPolicySchema,
  FirstOfMonthAfterPolicySchema,
  EndOfYearAfterPolicySchema,
  CalendarAnchorPolicySchema,
  FixedDatePolicySchema,
]);

export const ByTierPolicySchema = Type.Object(
  {
    kind: Type.Literal('byTier'),
    tiers: Type.Record(Type.String(), SimpleExpiryPolicySchema, { minProperties: 1 }),
    default: SimpleExpiryPolicySchema,
  },
  strict("The policy of the member's tier at the time of the earn; `default` for any other tier or none."),
);

export const VersionedPolicySchema = Type.Object(
  {
    kind: Type.Literal('versioned'),
    versions: Type.Array(
      Type.Object(
        { effectiveFrom: LocalDate, policy: Type.Union([SimpleExpiryPolicySchema, ByTierPolicySchema]) },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
  },
  strict('The version in force on the local date of the earn (oldest first, strictly increasing dates; the first also covers earlier earns).'),
);

export const ExpiryPolicySchema = Type.Union([
  NeverPolicySchema,
  AfterDaysPolicySchema,
  AfterMonthsPolicySchema,
  FirstOfMonthAfterPolicySchema,
  EndOfYearAfterPolicySchema,
  CalendarAnchorPolicySchema,
  FixedDatePolicySchema,
  InactivityPolicySchema,
  ByTierPolicySchema,
  VersionedPolicySchema,
]);

export type ExpiryRounding = Static<typeof ExpiryRoundingSchema>;
export type DayBoundary = Static<typeof DayBoundarySchema>;
export type ExpiryPolicy = Static<typeof ExpiryPolicySchema>;
export type ExpiryPolicyKind = ExpiryPolicy['kind'];
export type SimpleExpiryPolicy = Static<typeof SimpleExpiryPolicySchema>;
export type ByTierExpiryPolicy = Static<typeof ByTierPolicySchema>;
export type VersionedExpiryPolicy = Static<typeof VersionedPolicySchema>;
export type InactivityExpiryPolicy = Static<typeof InactivityPolicySchema>;
export type ExpiryPolicyOf<K extends ExpiryPolicyKind> = Extract<ExpiryPolicy, { kind: K }>;

/** The schema of each kind, so a policy can be checked against its own variant (pointed errors, not union noise). */
export const expiryPolicySchemaByKind = {
  never: NeverPolicySchema,
  afterDays: AfterDaysPolicySchema,
  afterMonths: AfterMonthsPolicySchema,
  firstOfMonthAfter: FirstOfMonthAfterPolicySchema,
  endOfYearAfter: EndOfYearAfterPolicySchema,
  calendarAnchor: CalendarAnchorPolicySchema,
  fixedDate: FixedDatePolicySchema,
  inactivity: InactivityPolicySchema,
  byTier: ByTierPolicySchema,
  versioned: VersionedPolicySchema,
} as const;

export const SIMPLE_KINDS = [
  'never',
  'afterDays',
  'afterMonths',
  'firstOfMonthAfter',
  'endOfYearAfter',
  'calendarAnchor',
  'fixedDate',
] as const satisfies readonly SimpleExpiryPolicy['kind'][];
