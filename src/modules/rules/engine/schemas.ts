import Type from 'typebox';
import { DECIMAL_PATTERN } from './decimal.js';

/**
 * The JSON formats of rules and campaigns, as TypeBox schemas: the HTTP layer publishes them in
 * OpenAPI and `shape.ts` checks stored JSON against them before the semantic checks in
 * `compile.ts`. Amounts in rule JSON (fixed amounts, caps, budgets) are in the point type's
 * display unit and may carry as many decimals as the point type has ("2.5" stars); rates and
 * multipliers are decimal strings of any precision. Everything the engine returns is integer
 * smallest units.
 */

const Id = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
  errorMessage: 'must be an id (letters, digits, _ . -; at most 64)',
});
const Code = Type.String({ minLength: 1, maxLength: 64 });

/** A non-negative decimal: a string such as "1.2" or a JSON integer (never a JSON float). */
export const DecimalSchema = Type.Union([Type.String({ pattern: DECIMAL_PATTERN }), Type.Integer({ minimum: 0 })], {
  errorMessage: 'must be a decimal string such as "1.5" (at most 9 integer and 6 fraction digits) or a non-negative integer',
});

export const OPS = [
  'eq',
  'ne',
  'in',
  'notIn',
  'gt',
  'gte',
  'lt',
  'lte',
  'between',
  'exists',
  'notExists',
  'contains',
  'containsAny',
  'containsAll',
] as const;
export type Op = (typeof OPS)[number];

export const LeafSchema = Type.Object(
  {
    field: Type.String({ minLength: 1, maxLength: 200 }),
    op: Type.Union(OPS.map((o) => Type.Literal(o))),
    value: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

export const ConditionSchema = Type.Cyclic(
  {
    Condition: Type.Union([
      Type.Object({ all: Type.Array(Type.Ref('Condition'), { minItems: 1 }) }, { additionalProperties: false }),
      Type.Object({ any: Type.Array(Type.Ref('Condition'), { minItems: 1 }) }, { additionalProperties: false }),
      Type.Object({ not: Type.Ref('Condition') }, { additionalProperties: false }),
      LeafSchema,
    ]),
  },
  'Condition',
);

export type LeafCondition = { field: string; op: Op; value?: unknown };
export type Condition = { all: Condition[] } | { any: Condition[] } | { not: Condition } | LeafCondition;

export const RoundingSchema = Type.Union([Type.Literal('floor'), Type.Literal('round'), Type.Literal('ceil')]);
const Role = Type.Union([Type.Literal('base'), Type.Literal('bonus')]);
const Label = Type.Optional(Type.String({ maxLength: 200 }));

/** A reward computed over the items of an array attribute (order lines, payment splits). */
export const ItemsSchema = Type.Object(
  {
    array: Type.String({ minLength: 1 }),
    /** the integer item field summed (e.g. `amount`, `quantity`); a fixed reward counts items without it */
    field: Type.Optional(Type.String({ minLength: 1 })),
    where: Type.Optional(ConditionSchema),
  },
  { additionalProperties: false },
);

export const FixedRewardSchema = Type.Object(
  {
    type: Type.Literal('fixed'),
    pointType: Code,
    amount: DecimalSchema,
    items: Type.Optional(ItemsSchema),
    rounding: Type.Optional(RoundingSchema),
    role: Type.Optional(Role),
    label: Label,
  },
  { additionalProperties: false },
);

export const PerUnitRewardSchema = Type.Object(
  {
    type: Type.Literal('perUnit'),
    pointType: Code,
    attribute: Type.Optional(Type.String({ minLength: 1 })),
    items: Type.Optional(ItemsSchema),
    /** points (display unit) per `per` units of the attribute */
    rate: DecimalSchema,
    per: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000 })),
    rounding: Type.Optional(RoundingSchema),
    role: Type.Optional(Role),
    label: Label,
  },
  { additionalProperties: false },
);

export const PercentageRewardSchema = Type.Object(
  {
    type: Type.Literal('percentage'),
    pointType: Code,
    attribute: Type.Optional(Type.String({ minLength: 1 })),
    items: Type.Optional(ItemsSchema),
    /** percent of the attribute's integer value, in the point type's display unit */
    percent: DecimalSchema,
    rounding: Type.Optional(RoundingSchema),
    role: Type.Optional(Role),
    label: Label,
  },
  { additionalProperties: false },
);

export const RewardSchema = Type.Union([FixedRewardSchema, PerUnitRewardSchema, PercentageRewardSchema]);

export const PeriodSchema = Type.Union([
  Type.Literal('day'),
  Type.Literal('week'),
  Type.Literal('month'),
  Type.Literal('year'),
  Type.Literal('lifetime'),
]);

/** Per point type: the most one event may earn and the most per member per calendar period. */
export const CapsSchema = Type.Record(
  Type.String(),
  Type.Object(
    {
      event: Type.Optional(DecimalSchema),
      day: Type.Optional(DecimalSchema),
      week: Type.Optional(DecimalSchema),
      month: Type.Optional(DecimalSchema),
      year: Type.Optional(DecimalSchema),
      lifetime: Type.Optional(DecimalSchema),
    },
    { additionalProperties: false },
  ),
);

/** Per point type: the most the rule may award in total, over all members. */
export const BudgetSchema = Type.Record(Type.String(), DecimalSchema);

export const MultiplierPolicySchema = Type.Object(
  {
    combine: Type.Optional(Type.Union([Type.Literal('multiply'), Type.Literal('add'), Type.Literal('max')])),
    appliesTo: Type.Optional(Type.Union([Type.Literal('base'), Type.Literal('all')])),
    tiers: Type.Optional(Type.Record(Type.String(), DecimalSchema)),
    plans: Type.Optional(Type.Record(Type.String(), DecimalSchema)),
    /** whether campaign multipliers reach this rule (default true) */
    campaigns: Type.Optional(Type.Boolean()),
    /** point types tier and plan multipliers apply to (default: all) */
    pointTypes: Type.Optional(Type.Array(Code, { minItems: 1 })),
  },
  { additionalProperties: false },
);

export const ThresholdSchema = Type.Object(
  {
    at: Type.Integer({ minimum: 1 }),
    every: Type.Optional(Type.Integer({ minimum: 1 })),
    upTo: Type.Optional(Type.Integer({ minimum: 1 })),
    rewards: Type.Array(FixedRewardSchema, { minItems: 1, maxItems: 10 }),
  },
  { additionalProperties: false },
);

/**
 * A running count in a calendar window of the program zone; thresholds crossed by this event's
 * contribution award bonuses. Rolling windows are left out on purpose: one counter per calendar
 * bucket cannot express them.
 */
export const MilestoneSchema = Type.Object(
  {
    window: PeriodSchema,
    /** integer attribute that adds to the count (e.g. `nights`); without it each event counts 1 */
    countAttribute: Type.Optional(Type.String({ minLength: 1 })),
    thresholds: Type.Array(ThresholdSchema, { minItems: 1, maxItems: 50 }),
  },
  { additionalProperties: false },
);

const Status = Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('draft'), Type.Literal('paused')]));

export const RuleSchema = Type.Object(
  {
    id: Id,
    version: Type.Integer({ minimum: 1 }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    status: Status,
    priority: Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 }),
    stacking: Type.Union([Type.Literal('exclusive'), Type.Literal('cumulative')]),
    eventTypes: Type.Array(Code, { minItems: 1, maxItems: 50 }),
    condition: Type.Optional(ConditionSchema),
    rewards: Type.Array(RewardSchema, { maxItems: 20 }),
    milestone: Type.Optional(MilestoneSchema),
    validFrom: Type.Optional(Type.String({ format: 'date-time' })),
    validTo: Type.Optional(Type.String({ format: 'date-time' })),
    caps: Type.Optional(CapsSchema),
    budget: Type.Optional(BudgetSchema),
    multiplierPolicy: Type.Optional(MultiplierPolicySchema),
  },
  { additionalProperties: false },
);

export const RecurrenceSchema = Type.Union([
  Type.Object(
    {
      every: Type.Literal('month'),
      /** days of the month; -1 is the last day */
      days: Type.Array(Type.Integer({ minimum: -1, maximum: 31 }), { minItems: 1, maxItems: 31 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      every: Type.Literal('week'),
      /** ISO weekdays, 1 = Monday … 7 = Sunday */
      weekdays: Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), { minItems: 1, maxItems: 7 }),
    },
    { additionalProperties: false },
  ),
]);

export const ScheduleSchema = Type.Object(
  {
    /** first local date (inclusive), in the program zone */
    from: Type.Optional(Type.String({ format: 'date' })),
    /** last local date (inclusive) */
    to: Type.Optional(Type.String({ format: 'date' })),
    recurrence: Type.Optional(RecurrenceSchema),
  },
  { additionalProperties: false },
);

export const CampaignSchema = Type.Object(
  {
    id: Id,
    version: Type.Integer({ minimum: 1 }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    status: Status,
    priority: Type.Optional(Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 })),
    eventTypes: Type.Array(Code, { minItems: 1, maxItems: 50 }),
    schedule: Type.Optional(ScheduleSchema),
    /** who and what it targets: member, event and time fields */
    target: Type.Optional(ConditionSchema),
    multiplier: Type.Optional(
      Type.Object(
        {
          /** point type → multiplier */
          rates: Type.Record(Type.String(), DecimalSchema),
          /** rule ids it multiplies (default: every rule) */
          rules: Type.Optional(Type.Array(Id, { minItems: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    bonus: Type.Optional(Type.Array(RewardSchema, { minItems: 1, maxItems: 20 })),
    milestone: Type.Optional(MilestoneSchema),
    caps: Type.Optional(CapsSchema),
    budget: Type.Optional(BudgetSchema),
  },
  { additionalProperties: false },
);

export type DecimalValue = string | number;
export type Rounding = Type.Static<typeof RoundingSchema>;
export type ItemsSelector = { array: string; field?: string; where?: Condition };
type WithCondition<T, K extends string> = Omit<T, K> & { [P in K]?: ItemsSelector };
export type FixedReward = WithCondition<Type.Static<typeof FixedRewardSchema>, 'items'>;
export type PerUnitReward = WithCondition<Type.Static<typeof PerUnitRewardSchema>, 'items'>;
export type PercentageReward = WithCondition<Type.Static<typeof PercentageRewardSchema>, 'items'>;
export type Reward = FixedReward | PerUnitReward | PercentageReward;
export type Caps = Type.Static<typeof CapsSchema>;
export type Budget = Type.Static<typeof BudgetSchema>;
export type MultiplierPolicy = Type.Static<typeof MultiplierPolicySchema>;
export type Threshold = Omit<Type.Static<typeof ThresholdSchema>, 'rewards'> & { rewards: FixedReward[] };
export type Milestone = Omit<Type.Static<typeof MilestoneSchema>, 'thresholds'> & { thresholds: Threshold[] };
export type Recurrence = Type.Static<typeof RecurrenceSchema>;
export type Schedule = Type.Static<typeof ScheduleSchema>;

/** A rule version as stored (JSON). */
export type RuleDefinition = Omit<
  Type.Static<typeof RuleSchema>,
  'condition' | 'rewards' | 'milestone'
> & { condition?: Condition; rewards: Reward[]; milestone?: Milestone };

/** A campaign version as stored (JSON). */
export type CampaignDefinition = Omit<
  Type.Static<typeof CampaignSchema>,
  'target' | 'bonus' | 'milestone'
> & { target?: Condition; bonus?: Reward[]; milestone?: Milestone };
