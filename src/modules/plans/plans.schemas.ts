import { Type } from 'typebox';
import { DateTime, Nullable } from '../../http/schemas.js';
import { Code } from '../benefits/benefits.schemas.js';

const Currency = Type.String({ pattern: '^[A-Z]{3}$' });
const Money = Type.Object({ amount: Type.Integer({ minimum: 0, maximum: 1e12, description: 'minor units' }), currency: Currency }, { additionalProperties: false });
const PointsPrice = Type.Object({ pointType: Code, amount: Type.Integer({ minimum: 1, maximum: 1e12 }) }, { additionalProperties: false });
const MixedPrice = Type.Object({ points: PointsPrice, cash: Money }, { additionalProperties: false });
const Period = Type.Object(
  { unit: Type.Union([Type.Literal('day'), Type.Literal('month')]), count: Type.Integer({ minimum: 1, maximum: 3660 }) },
  { additionalProperties: false, description: 'one month { unit: month, count: 1 }, a quarter (3 months), a year (12 months), or days' },
);
const Multiplier = Type.String({ pattern: '^\\d{1,6}(\\.\\d{1,6})?$', description: 'a decimal such as "2": applied by the earning rules to members holding the plan (the best plan counts)' });
const Gift = Type.Object(
  { benefitCode: Type.Optional(Code), quantity: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })), points: Type.Optional(PointsPrice) },
  { additionalProperties: false, description: 'granted once per member and plan, with the first paid period' },
);
const Growth = Type.Object(
  {
    pointType: Type.Optional(Code),
    perDay: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e9, description: 'growth credited per local day of an active plan' })),
    lossPerDayLapsed: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e9, description: 'growth taken per local day while lapsed, never below zero' })),
  },
  { additionalProperties: false },
);

export const PlanSchema = Type.Object(
  {
    id: Type.String(),
    code: Type.String(),
    name: Type.String(),
    description: Nullable(Type.String()),
    period: Period,
    price: Nullable(Money),
    pointsPrice: Nullable(PointsPrice),
    mixedPrice: Nullable(MixedPrice),
    trialDays: Type.Integer(),
    earningMultiplier: Nullable(Type.String()),
    growth: Type.Object({ pointType: Type.String(), perDay: Type.Integer(), lossPerDayLapsed: Type.Integer() }),
    firstPurchaseGift: Nullable(Gift),
    status: Type.Union([Type.Literal('active'), Type.Literal('retired')]),
    benefits: Type.Array(
      Type.Object({ id: Type.String(), benefitCode: Type.String(), period: Type.String(), quantity: Type.Integer(), onLeave: Type.String(), active: Type.Boolean() }),
      { description: 'benefit bindings with target { type: plan } (manage them under benefit-bindings)' },
    ),
    createdAt: DateTime(),
    updatedAt: DateTime(),
  },
  { $id: 'Plan' },
);

/** What a plan's owner may set at creation and change later (code and period are fixed). */
const MutablePlanFields = {
  description: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
  price: Type.Optional(Nullable(Money)),
  pointsPrice: Type.Optional(Nullable(PointsPrice)),
  mixedPrice: Type.Optional(Nullable(MixedPrice)),
  trialDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 366 })),
  earningMultiplier: Type.Optional(Nullable(Multiplier)),
  growth: Type.Optional(Growth),
  firstPurchaseGift: Type.Optional(Nullable(Gift)),
};

export const CreatePlanBody = Type.Object(
  { code: Code, name: Type.String({ minLength: 1, maxLength: 200 }), period: Period, ...MutablePlanFields },
  { additionalProperties: false },
);

export const UpdatePlanBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    ...MutablePlanFields,
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('retired')])),
  },
  { additionalProperties: false, minProperties: 1 },
);

const PaymentBody = Type.Object(
  { reference: Type.String({ minLength: 1, maxLength: 200, description: "the host platform's payment reference: a repeated report replays" }), amount: Type.Integer({ minimum: 0 }), currency: Currency },
  { additionalProperties: false },
);
const PayWith = Type.Union([Type.Literal('money'), Type.Literal('points'), Type.Literal('mixed')]);

export const StartBody = Type.Object(
  { plan: Code, trial: Type.Optional(Type.Boolean({ description: "start the plan's trial (once per member and plan, no payment)" })), payWith: Type.Optional(PayWith), payment: Type.Optional(PaymentBody) },
  { additionalProperties: false },
);
export const RenewBody = Type.Object({ payWith: Type.Optional(PayWith), payment: Type.Optional(PaymentBody) }, { additionalProperties: false });
export const CancelBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false });

export const SubscriptionSchema = Type.Object(
  {
    id: Type.String(),
    memberId: Type.String(),
    planId: Type.String(),
    planCode: Type.String(),
    status: Type.Union([Type.Literal('trialing'), Type.Literal('active'), Type.Literal('expired')]),
    startedAt: DateTime(),
    currentPeriodStart: DateTime(),
    currentPeriodEnd: DateTime(),
    cancelAtPeriodEnd: Type.Boolean(),
    cancelledAt: Nullable(DateTime()),
    endedAt: Nullable(DateTime()),
    renewals: Type.Integer(),
  },
  { $id: 'Subscription' },
);

export const PaymentSchema = Type.Object({
  id: Type.String(),
  subscriptionId: Type.String(),
  kind: Type.Union([Type.Literal('trial'), Type.Literal('start'), Type.Literal('renew')]),
  reference: Type.String(),
  money: Nullable(Money),
  points: Nullable(Type.Object({ pointType: Type.String(), amount: Type.Integer(), transactionId: Nullable(Type.String()) })),
  periodStart: DateTime(),
  periodEnd: DateTime(),
  recordedAt: DateTime(),
});

export const SubscriptionResultSchema = Type.Object({ subscription: SubscriptionSchema, payment: PaymentSchema, replayed: Type.Boolean() });
