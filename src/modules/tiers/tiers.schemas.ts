import { Type } from 'typebox';
import { DateTime, LocalDate, Nullable } from '../../http/schemas.js';

const Code = Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' });

// Conditions nest freely ({ all: [...] } / { any: [...] } / a metric leaf): checked in depth by the
// service, which names the offending path.
const ConditionSchema = Type.Unknown({
  description:
    'a condition: { "all": [..] } | { "any": [..] } | { "metric": code, "window": { "kind": "rollingDays", "days": 30 } | { "kind": "rollingMonths", "months": 12 } | { "kind": "calendarYear" | "membershipYear" | "tierYear" | "lifetime" }, "min"?: n, "max"?: n }',
});

const MetricSourceSchema = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('event'),
      eventTypes: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 20 }),
      attribute: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'a numeric attribute to sum; absent: count events' })),
      factor: Type.Optional(Type.Integer({ description: 'multiplies each contribution (e.g. -1 for a refund event)' })),
    },
    { additionalProperties: false },
  ),
  Type.Object({ kind: Type.Literal('pointType'), pointType: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false, description: 'what the rules award of a point type (earned only)' }),
  Type.Object({ kind: Type.Literal('host'), mode: Type.Union([Type.Literal('daily'), Type.Literal('value')]) }, { additionalProperties: false, description: 'set by the host platform through the API' }),
]);

const MetricSchema = Type.Object({ code: Code, name: Type.String({ minLength: 1, maxLength: 200 }), source: MetricSourceSchema }, { additionalProperties: false });

const ValiditySchema = Type.Union([
  Type.Object({ kind: Type.Literal('duration'), months: Type.Optional(Type.Integer({ minimum: 0 })), days: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false }),
  Type.Object(
    { kind: Type.Literal('calendar'), yearsAfter: Type.Integer({ minimum: 0, maximum: 20 }), month: Type.Integer({ minimum: 1, maximum: 12 }) },
    { additionalProperties: false, description: 'through the end of `month`, `yearsAfter` years after the year of qualification (end of next year: 1, 12)' },
  ),
]);

const PurchaseOptionSchema = Type.Object(
  {
    code: Code,
    months: Type.Optional(Type.Integer({ minimum: 0, maximum: 120 })),
    days: Type.Optional(Type.Integer({ minimum: 0, maximum: 3660 })),
    points: Type.Optional(Type.Object({ pointType: Type.String({ minLength: 1, maxLength: 64 }), amount: Type.Integer({ minimum: 1 }) }, { additionalProperties: false })),
    price: Type.Optional(Type.Object({ amount: Type.Integer({ minimum: 0, description: 'minor units' }), currency: Type.String({ pattern: '^[A-Z]{3}$' }) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

const TierInput = Type.Object(
  {
    code: Code,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    colour: Type.Optional(Nullable(Type.String({ maxLength: 32 }))),
    icon: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
    description: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
    qualification: Type.Optional(Nullable(ConditionSchema)),
    retention: Type.Optional(Nullable(ConditionSchema)),
    validity: Type.Optional(Nullable(ValiditySchema)),
    purchase: Type.Optional(Nullable(Type.Object({ options: Type.Array(PurchaseOptionSchema, { maxItems: 20 }) }, { additionalProperties: false }))),
  },
  { additionalProperties: false },
);

const ScheduleSchema = Type.Union([
  Type.Object({ schedule: Type.Literal('none') }, { additionalProperties: false }),
  Type.Object({ schedule: Type.Literal('daily') }, { additionalProperties: false }),
  Type.Object({ schedule: Type.Literal('monthly'), dayOfMonth: Type.Optional(Type.Integer({ minimum: 1, maximum: 28 })) }, { additionalProperties: false }),
  Type.Object({ schedule: Type.Literal('yearly'), month: Type.Optional(Type.Integer({ minimum: 1, maximum: 12 })), day: Type.Optional(Type.Integer({ minimum: 1, maximum: 28 })) }, { additionalProperties: false }),
  Type.Object({ schedule: Type.Literal('anniversary') }, { additionalProperties: false }),
]);

const Downgrade = Type.Object(
  {
    policy: Type.Optional(Type.Union([Type.Literal('recompute'), Type.Literal('oneTier'), Type.Literal('never')])),
    graceDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 3660 })),
    noticeDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 365, description: 'announce tier.will_downgrade this many days before a scheduled evaluation would drop a member' })),
  },
  { additionalProperties: false },
);
const Counters = Type.Object(
  { onUpgrade: Type.Union([Type.Literal('keep'), Type.Literal('reset'), Type.Literal('carrySurplus')]), carryCap: Type.Optional(Nullable(Type.Integer({ minimum: 0 }))) },
  { additionalProperties: false },
);
const Lifetime = Type.Array(Type.Object({ tier: Code, years: Type.Integer({ minimum: 1, maximum: 100 }) }, { additionalProperties: false }), { maxItems: 10 });

export const LadderBody = Type.Object(
  {
    code: Type.Optional(Code),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    metrics: Type.Array(MetricSchema, { maxItems: 50 }),
    tiers: Type.Array(TierInput, { minItems: 1, maxItems: 50, description: 'lowest first: the position is the rank' }),
    evaluation: Type.Optional(ScheduleSchema),
    downgrade: Type.Optional(Downgrade),
    counters: Type.Optional(Counters),
    lifetime: Type.Optional(Lifetime),
  },
  { additionalProperties: false },
);

export const LadderSchema = Type.Object({
  id: Type.String(),
  code: Type.String(),
  name: Type.String(),
  version: Type.Integer(),
  metrics: Type.Array(MetricSchema),
  tiers: Type.Array(
    Type.Object({
      id: Type.String(),
      code: Type.String(),
      name: Type.String(),
      rank: Type.Integer(),
      colour: Nullable(Type.String()),
      icon: Nullable(Type.String()),
      description: Nullable(Type.String()),
      qualification: Nullable(ConditionSchema),
      retention: Nullable(ConditionSchema),
      validity: Nullable(ValiditySchema),
      purchase: Nullable(Type.Object({ options: Type.Array(PurchaseOptionSchema) })),
    }),
  ),
  evaluation: ScheduleSchema,
  downgrade: Type.Object({ policy: Type.String(), graceDays: Type.Integer(), noticeDays: Type.Optional(Type.Integer()) }),
  counters: Type.Object({ onUpgrade: Type.String(), carryCap: Type.Optional(Nullable(Type.Integer())) }),
  lifetime: Lifetime,
  baseTier: Nullable(Type.String()),
  updatedAt: DateTime(),
});

export const TierRefSchema = Type.Object({ id: Type.String(), code: Type.String(), name: Type.String(), rank: Type.Integer(), colour: Nullable(Type.String()), icon: Nullable(Type.String()) });

const Leaf = Type.Object({
  op: Type.Literal('metric'),
  metric: Type.String(),
  window: Type.Object({ kind: Type.String(), from: Nullable(LocalDate()), to: Nullable(LocalDate()) }),
  value: Type.Number(),
  min: Nullable(Type.Number()),
  max: Nullable(Type.Number()),
  remaining: Type.Number({ description: 'still missing to reach min' }),
  headroom: Nullable(Type.Number({ description: 'how much more before max is exceeded' })),
  met: Type.Boolean(),
});
const Group = Type.Object({ op: Type.Union([Type.Literal('all'), Type.Literal('any')]), met: Type.Boolean(), items: Type.Array(Type.Unknown({ description: 'nested groups and metric leaves' })) });
const ProgressNode = Type.Union([Leaf, Group]);

export const MemberTierSchema = Type.Object({
  memberId: Type.String(),
  ladder: Type.Object({ id: Type.String(), code: Type.String(), name: Type.String() }),
  tier: Nullable(TierRefSchema),
  source: Type.String({ description: 'qualified, purchased, manual or lifetime' }),
  since: Nullable(DateTime()),
  qualified: Type.Object({ tier: Nullable(TierRefSchema), since: Nullable(DateTime()), validUntil: Nullable(DateTime()), graceUntil: Nullable(DateTime()) }),
  manual: Nullable(Type.Object({ tier: Nullable(TierRefSchema), until: DateTime(), reason: Nullable(Type.String()) })),
  purchased: Nullable(Type.Object({ tier: Nullable(TierRefSchema), until: DateTime() })),
  lifetime: Nullable(TierRefSchema),
  nextEvaluationAt: Nullable(DateTime()),
  progress: Type.Object({
    next: Nullable(Type.Object({ tier: TierRefSchema, met: Type.Boolean(), by: Nullable(LocalDate()), conditions: ProgressNode })),
    keep: Nullable(Type.Object({ tier: TierRefSchema, met: Type.Boolean(), by: Nullable(DateTime()), conditions: ProgressNode })),
  }),
});

export const PurchaseResultSchema = Type.Intersect([
  MemberTierSchema,
  Type.Object({
    purchase: Type.Object({ tier: Type.String(), option: Type.String(), until: DateTime(), paidWith: Type.String(), transactionId: Nullable(Type.String()) }),
  }),
]);

export const HistoryEntrySchema = Type.Object({
  id: Type.String(),
  from: Nullable(TierRefSchema),
  to: Nullable(TierRefSchema),
  fromCode: Nullable(Type.String()),
  toCode: Nullable(Type.String()),
  source: Type.String(),
  cause: Type.String({ description: 'event, evaluation, validity_end, metric, manual, manual_end, purchase, purchase_end, lifetime' }),
  causeId: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  actor: Type.String(),
  validUntil: Nullable(DateTime()),
  tierSnapshot: Type.Unknown(),
  metrics: Type.Unknown(),
  details: Type.Unknown(),
  occurredAt: DateTime(),
});

export const AssignBody = Type.Object(
  {
    tier: Code,
    until: DateTime('the assignment ends then; the member returns to the tier they otherwise hold'),
    reason: Type.String({ minLength: 1, maxLength: 500 }),
  },
  { additionalProperties: false },
);

export const PurchaseBody = Type.Object(
  {
    tier: Code,
    option: Code,
    payWith: Type.Optional(Type.Union([Type.Literal('points'), Type.Literal('money')])),
    payment: Type.Optional(
      Type.Object(
        { reference: Type.String({ minLength: 1, maxLength: 200 }), amount: Type.Integer({ minimum: 0 }), currency: Type.String({ pattern: '^[A-Z]{3}$' }) },
        { additionalProperties: false, description: 'the host platform’s payment, when bought with money' },
      ),
    ),
  },
  { additionalProperties: false },
);

export const MetricValueBody = Type.Object(
  {
    value: Type.Integer({ minimum: -1e15, maximum: 1e15 }),
    date: Type.Optional(LocalDate('daily metrics: the local day the value is for (default: today)')),
  },
  { additionalProperties: false },
);

export const MetricValueResult = Type.Object({ memberId: Type.String(), metric: Type.String(), date: Nullable(LocalDate()), value: Type.Integer(), tier: Nullable(TierRefSchema) });
