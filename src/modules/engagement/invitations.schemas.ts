import { Type, type Static } from 'typebox';
import { DateTime, Nullable } from '../../http/schemas.js';
import { ConditionsSchema } from './conditions.js';

const PointCode = Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' });
const Rewards = Type.Array(
  Type.Object({ pointType: PointCode, amount: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }) }, { additionalProperties: false }),
  { maxItems: 5 },
);

export const InvitationSettingsBody = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean({ default: true })),
    qualifyingEvent: Type.Object(
      { eventType: Type.String({ pattern: '^[a-z][a-z0-9_.:-]{0,63}$' }), conditions: Type.Optional(ConditionsSchema) },
      { additionalProperties: false, description: 'what the invitee must do, e.g. a purchase of at least 5000' },
    ),
    withinDays: Type.Integer({ minimum: 1, maximum: 365, description: 'days after accepting the invitation the invitee has to qualify' }),
    inviterRewards: Rewards,
    inviteeRewards: Rewards,
    maxPerInviter: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 100_000, description: 'open and qualified invitations an inviter may have in all' }))),
    maxPerInviterPerMonth: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 100_000, description: 'invitations an inviter may make per local month' }))),
    inviteeJoinedWithinDays: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 365, description: 'only members who joined at most this many days ago may accept' }))),
  },
  { additionalProperties: false },
);
export type InvitationSettingsInput = Static<typeof InvitationSettingsBody>;

export const InvitationSettingsSchema = Type.Object({
  enabled: Type.Boolean(),
  qualifyingEvent: Type.Unknown(),
  withinDays: Type.Integer(),
  inviterRewards: Type.Array(Type.Object({ pointType: Type.String(), amount: Type.Integer() })),
  inviteeRewards: Type.Array(Type.Object({ pointType: Type.String(), amount: Type.Integer() })),
  maxPerInviter: Nullable(Type.Integer()),
  maxPerInviterPerMonth: Nullable(Type.Integer()),
  inviteeJoinedWithinDays: Nullable(Type.Integer()),
  version: Type.Integer(),
  updatedAt: DateTime(),
});

export const ReferralCodeBody = Type.Object(
  { deviceId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "the inviter's device: an invitee on it is refused" })) },
  { additionalProperties: false },
);

export const ReferralCodeSchema = Type.Object({ memberId: Type.String(), code: Type.String(), createdAt: DateTime() });

export const AcceptInvitationBody = Type.Object(
  {
    code: Type.String({ minLength: 4, maxLength: 32, description: "the inviter's referral code" }),
    invitee: Type.String({ minLength: 1, maxLength: 300, description: 'the invited member: a Laurel id or ext:{externalId}' }),
    deviceId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    phone: Type.Optional(Type.String({ minLength: 3, maxLength: 40, description: "default: the invitee's profile phone" })),
  },
  { additionalProperties: false },
);
export type AcceptInvitationInput = Static<typeof AcceptInvitationBody>;

const RewardPaid = Type.Object({ pointType: Type.String(), amount: Type.Integer(), transactionId: Nullable(Type.String()) });

export const InvitationSchema = Type.Object(
  {
    id: Type.String(),
    inviterId: Type.String(),
    inviteeId: Type.String(),
    code: Type.String(),
    status: Type.Union([Type.Literal('pending'), Type.Literal('qualified'), Type.Literal('expired')]),
    createdAt: DateTime(),
    expiresAt: DateTime(),
    qualifiedAt: Nullable(DateTime()),
    qualifyingEventId: Nullable(Type.String()),
    rewards: Nullable(Type.Object({ inviter: Type.Array(RewardPaid), invitee: Type.Array(RewardPaid), inviterSkipped: Nullable(Type.String()) })),
  },
);

export const MemberInvitationsSchema = Type.Object({
  memberId: Type.String(),
  code: Nullable(Type.String()),
  invitedBy: Nullable(InvitationSchema),
  counts: Type.Object({ pending: Type.Integer(), qualified: Type.Integer(), expired: Type.Integer() }),
  limit: Type.Object({ maxPerInviter: Nullable(Type.Integer()), remaining: Nullable(Type.Integer()) }),
  invitations: Type.Array(InvitationSchema),
});
