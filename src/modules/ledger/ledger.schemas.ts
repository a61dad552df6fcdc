import { Type } from 'typebox';
import { DateTime, Nullable, PageQuery } from '../../http/schemas.js';
import { ExpiryPolicySchema } from './expiry-policy.js';

const Code = Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$', description: 'lower-case code, e.g. points, growth, stars' });
const Kind = Type.Union([Type.Literal('redeemable'), Type.Literal('growth')]);
const Order = Type.Union([Type.Literal('expiring_first'), Type.Literal('oldest_first'), Type.Literal('newest_first')]);
const Negative = Type.Union([Type.Literal('forbid'), Type.Literal('allow')]);
const ExpiredRefund = Type.Union([Type.Literal('expire'), Type.Literal('recredit')]);

export const PointTypeSchema = Type.Object(
  {
    id: Type.String(),
    code: Type.String(),
    name: Type.String(),
    kind: Kind,
    decimals: Type.Integer(),
    expiryPolicy: Type.Unknown(),
    negativeBalance: Negative,
    consumptionOrder: Order,
    expiredRefund: ExpiredRefund,
    expiryNoticeDays: Type.Integer(),
    createdAt: DateTime(),
    updatedAt: DateTime(),
  },
  { $id: 'PointType' },
);

export const CreatePointTypeBody = Type.Object(
  {
    code: Code,
    name: Type.String({ minLength: 1, maxLength: 100 }),
    kind: Kind,
    decimals: Type.Optional(Type.Integer({ minimum: 0, maximum: 4 })),
    expiryPolicy: Type.Optional(ExpiryPolicySchema),
    negativeBalance: Type.Optional(Negative),
    consumptionOrder: Type.Optional(Order),
    expiredRefund: Type.Optional(ExpiredRefund),
    expiryNoticeDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 365 })),
  },
  { additionalProperties: false },
);

export const UpdatePointTypeBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    expiryPolicy: Type.Optional(ExpiryPolicySchema),
    negativeBalance: Type.Optional(Negative),
    consumptionOrder: Type.Optional(Order),
    expiredRefund: Type.Optional(ExpiredRefund),
    expiryNoticeDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 365 })),
  },
  { additionalProperties: false, minProperties: 1 },
);

const Amount = Type.Integer({ minimum: 1, maximum: 1_000_000_000_000, description: 'in the smallest unit of the point type' });
const SourceSchema = Type.Object(
  { type: Type.String({ minLength: 1, maxLength: 64 }), id: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);
const Reason = Type.String({ minLength: 1, maxLength: 500 });

export const EarnBody = Type.Object(
  {
    pointType: Code,
    amount: Amount,
    activatesAt: Type.Optional(DateTime('pending until then; spendable after')),
    source: Type.Optional(SourceSchema),
    reason: Type.Optional(Reason),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

export const SpendBody = Type.Object(
  {
    pointType: Code,
    amount: Amount,
    source: Type.Optional(SourceSchema),
    reason: Type.Optional(Reason),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

export const ReserveBody = Type.Object(
  { ...SpendBody.properties, holdMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 43_200 })) },
  { additionalProperties: false },
);

export const AdjustBody = Type.Object(
  {
    pointType: Code,
    amount: Type.Integer({ minimum: -1_000_000_000_000, maximum: 1_000_000_000_000, not: { const: 0 }, description: 'signed: a credit or a debit' }),
    reason: Reason,
  },
  { additionalProperties: false },
);

export const FollowUpBody = Type.Object(
  { amount: Type.Optional(Amount), reason: Type.Optional(Reason), source: Type.Optional(SourceSchema) },
  { additionalProperties: false },
);

export const TransferBody = Type.Object(
  {
    from: Type.String({ minLength: 1, maxLength: 300 }),
    to: Type.String({ minLength: 1, maxLength: 300 }),
    pointType: Code,
    amount: Amount,
    reason: Type.Optional(Reason),
  },
  { additionalProperties: false },
);

export const TransactionSchema = Type.Object(
  {
    id: Type.String(),
    kind: Type.String(),
    status: Nullable(Type.String()),
    memberId: Type.String(),
    pointType: Type.String(),
    amount: Type.Integer(),
    availableAfter: Type.Integer(),
    pendingAfter: Type.Integer(),
    relatedId: Nullable(Type.String()),
    counterpartMemberId: Nullable(Type.String()),
    source: Nullable(SourceSchema),
    reason: Nullable(Type.String()),
    actor: Type.String(),
    details: Type.Unknown(),
    refunded: Type.Integer(),
    reversed: Type.Integer(),
    holdUntil: Nullable(DateTime()),
    occurredAt: DateTime(),
    replayed: Type.Boolean(),
  },
  { title: 'LedgerTransaction' },
);

export const BalanceSchema = Type.Object({
  pointType: Type.String(),
  kind: Kind,
  decimals: Type.Integer(),
  available: Type.Integer(),
  pending: Type.Integer(),
  reserved: Type.Integer(),
  lifetimeEarned: Type.Integer(),
  lifetimeSpent: Type.Integer(),
  lifetimeExpired: Type.Integer(),
  expiring: Type.Array(Type.Object({ expiresAt: DateTime(), amount: Type.Integer() })),
  activating: Type.Array(Type.Object({ activatesAt: DateTime(), amount: Type.Integer() })),
});

export const HistoryEntrySchema = Type.Object({
  entryId: Type.Integer(),
  transactionId: Type.String(),
  kind: Type.String(),
  pointType: Type.String(),
  amount: Type.Integer(),
  pendingDelta: Type.Integer(),
  availableAfter: Type.Integer(),
  pendingAfter: Type.Integer(),
  occurredAt: DateTime(),
  source: Nullable(SourceSchema),
  relatedId: Nullable(Type.String()),
  counterpartMemberId: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  actor: Type.String(),
  details: Type.Unknown(),
});

export const HistoryQuery = Type.Object(
  {
    ...PageQuery.properties,
    pointType: Type.Optional(Code),
    kind: Type.Optional(Type.String({ maxLength: 32 })),
    from: Type.Optional(DateTime()),
    to: Type.Optional(DateTime()),
  },
  { additionalProperties: false },
);

export const VerifySchema = Type.Object({
  ok: Type.Boolean(),
  accountsChecked: Type.Integer(),
  violations: Type.Array(
    Type.Object({ invariant: Type.String(), memberId: Type.String(), pointTypeId: Type.String(), expected: Type.Unknown(), actual: Type.Unknown() }),
  ),
});
