import { Type } from 'typebox';
import { DateTime, Nullable, PageQuery } from '../../http/schemas.js';
import { BENEFIT_KINDS } from './benefits.service.js';

export const Code = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.\\-]+$' });
const Kind = Type.Union(BENEFIT_KINDS.map((k) => Type.Literal(k)));
const Quota = Type.Object(
  {
    period: Type.Union([Type.Literal('day'), Type.Literal('month'), Type.Literal('year')]),
    uses: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  },
  { additionalProperties: false, description: 'at most `uses` uses of one entitlement per period (program time zone)' },
);
const Parameters = Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), {
  maxProperties: 50,
  description: 'kind-specific parameters, e.g. { "amountOff": 500 } for a coupon or { "multiplier": 2 }',
});

export const BenefitSchema = Type.Object(
  {
    id: Type.String(),
    code: Type.String(),
    name: Type.String(),
    description: Nullable(Type.String()),
    kind: Kind,
    parameters: Type.Record(Type.String(), Type.Unknown()),
    validityDays: Nullable(Type.Integer()),
    defaultUses: Nullable(Type.Integer()),
    quota: Nullable(Quota),
    status: Type.Union([Type.Literal('active'), Type.Literal('retired')]),
    createdAt: DateTime(),
    updatedAt: DateTime(),
  },
  { $id: 'Benefit' },
);

export const CreateBenefitBody = Type.Object(
  {
    code: Code,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
    kind: Kind,
    parameters: Type.Optional(Parameters),
    validityDays: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 36_600 }))),
    defaultUses: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 1_000_000 }))),
    quota: Type.Optional(Nullable(Quota)),
  },
  { additionalProperties: false },
);

export const UpdateBenefitBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
    parameters: Type.Optional(Parameters),
    validityDays: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 36_600 }))),
    defaultUses: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 1_000_000 }))),
    quota: Type.Optional(Nullable(Quota)),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('retired')])),
  },
  { additionalProperties: false, minProperties: 1 },
);

const EntitlementStatus = Type.Union(['active', 'used_up', 'expired', 'revoked', 'scheduled'].map((s) => Type.Literal(s)));
export const SourceSchema = Type.Object(
  { type: Type.String({ minLength: 1, maxLength: 64 }), id: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

export const EntitlementSchema = Type.Object(
  {
    id: Type.String(),
    memberId: Type.String(),
    benefitId: Type.String(),
    benefitCode: Type.String(),
    benefitName: Type.String(),
    kind: Kind,
    parameters: Type.Record(Type.String(), Type.Unknown()),
    status: EntitlementStatus,
    usesTotal: Nullable(Type.Integer()),
    usesLeft: Nullable(Type.Integer()),
    validFrom: DateTime(),
    validUntil: Nullable(DateTime()),
    source: Nullable(SourceSchema),
    grantedAt: DateTime(),
    revokedAt: Nullable(DateTime()),
    revokeReason: Nullable(Type.String()),
  },
  { $id: 'Entitlement' },
);

export const GrantBody = Type.Object(
  {
    benefitCode: Code,
    quantity: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'separate entitlements to grant (default 1)' })),
    uses: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 1_000_000 }))),
    validFrom: Type.Optional(DateTime()),
    validUntil: Type.Optional(Nullable(DateTime())),
    source: Type.Optional(SourceSchema),
  },
  { additionalProperties: false },
);

export const GrantResponse = Type.Object({ entitlements: Type.Array(EntitlementSchema), replayed: Type.Boolean() });

export const UseBody = Type.Object(
  { context: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 20 })) },
  { additionalProperties: false },
);

export const UseSchema = Type.Object({
  id: Type.String(),
  entitlementId: Type.String(),
  memberId: Type.String(),
  benefitCode: Type.String(),
  usedAt: DateTime(),
  context: Type.Unknown(),
  usesLeft: Nullable(Type.Integer()),
  replayed: Type.Boolean(),
});

export const RevokeBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false });

export const EntitlementListQuery = Type.Object(
  { ...PageQuery.properties, status: Type.Optional(EntitlementStatus), benefitCode: Type.Optional(Code) },
  { additionalProperties: false },
);

export const UtilisationSchema = Type.Object({
  benefitCode: Type.String(),
  entitlementsGranted: Type.Integer(),
  entitlementsActive: Type.Integer(),
  entitlementsRevoked: Type.Integer(),
  uses: Type.Integer(),
  membersUsing: Type.Integer(),
});
