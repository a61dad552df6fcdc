import { Type } from 'typebox';
import { DateTime, Nullable } from '../../http/schemas.js';
import { Code } from './benefits.schemas.js';

const TargetSchema = Type.Object(
  { type: Type.Union([Type.Literal('tier'), Type.Literal('plan')]), code: Code },
  { additionalProperties: false, description: 'the tier (of the ladder) or the paid plan the benefit is bound to' },
);
const Period = Type.Union([Type.Literal('once'), Type.Literal('month'), Type.Literal('year'), Type.Literal('unlimited')], {
  description: 'once per member; each calendar month or year (program zone) while held; or one entitlement with unlimited uses while held',
});
const ValiditySchema = Type.Union(
  [
    Type.Object({ kind: Type.Literal('benefit') }, { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('periodEnd') }, { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('days'), days: Type.Integer({ minimum: 1, maximum: 36_600 }) }, { additionalProperties: false }),
  ],
  { description: "the benefit's own validity, the end of the grant's month or year, or N days from the grant" },
);
const OnLeave = Type.Union([Type.Literal('keep'), Type.Literal('revoke')], {
  description: 'on leaving the tier or plan, keep what was granted or revoke what is unused (unlimited entitlements always end)',
});

export const BindingSchema = Type.Object(
  {
    id: Type.String(),
    benefitCode: Type.String(),
    target: TargetSchema,
    period: Period,
    quantity: Type.Integer(),
    validity: ValiditySchema,
    onLeave: OnLeave,
    active: Type.Boolean(),
    holders: Type.Integer({ description: 'members holding it now' }),
    createdAt: DateTime(),
    updatedAt: DateTime(),
  },
  { $id: 'BenefitBinding' },
);

export const CreateBindingBody = Type.Object(
  {
    benefitCode: Code,
    target: TargetSchema,
    period: Period,
    quantity: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'entitlements per period (default 1)' })),
    validity: Type.Optional(ValiditySchema),
    onLeave: Type.Optional(OnLeave),
  },
  { additionalProperties: false },
);

export const UpdateBindingBody = Type.Object(
  {
    quantity: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    validity: Type.Optional(ValiditySchema),
    onLeave: Type.Optional(OnLeave),
    active: Type.Optional(Type.Boolean({ description: 'false retires the binding: holders leave it under its leave policy' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const BindingListQuery = Type.Object(
  { targetType: Type.Optional(Type.Union([Type.Literal('tier'), Type.Literal('plan')])), targetCode: Type.Optional(Code) },
  { additionalProperties: false },
);

export const BirthdaySettingsSchema = Type.Object(
  {
    enabled: Type.Boolean(),
    when: Type.Union([Type.Literal('day'), Type.Literal('month')], { description: 'on the birthday, or in the birthday month (from its first day)' }),
    leapDay: Type.Union([Type.Literal('feb28'), Type.Literal('mar1')], { description: 'where 29 February birthdays fall in other years' }),
    benefit: Nullable(Type.Object({ code: Code, quantity: Type.Integer({ minimum: 1, maximum: 100 }) }, { additionalProperties: false })),
    points: Nullable(Type.Object({ pointType: Code, amount: Type.Integer({ minimum: 1 }) }, { additionalProperties: false })),
  },
  { $id: 'BirthdaySettings' },
);

export const BirthdaySettingsBody = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    when: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('month')])),
    leapDay: Type.Optional(Type.Union([Type.Literal('feb28'), Type.Literal('mar1')])),
    benefit: Type.Optional(Nullable(Type.Object({ code: Code, quantity: Type.Integer({ minimum: 1, maximum: 100 }) }, { additionalProperties: false }))),
    points: Type.Optional(Nullable(Type.Object({ pointType: Code, amount: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }) }, { additionalProperties: false }))),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const BirthdayGiftSchema = Type.Object({ year: Type.Integer(), date: Type.String(), transactionId: Nullable(Type.String()), grantedAt: DateTime() });
