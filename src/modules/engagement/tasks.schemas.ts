import { Type, type Static } from 'typebox';
import { DateTime, Nullable } from '../../http/schemas.js';
import { ConditionsSchema } from './conditions.js';

const Code = Type.String({ pattern: '^[a-z][a-z0-9_.-]{0,63}$', description: 'lower-case code, unique in the program' });
const PointCode = Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' });
const EventType = Type.String({ pattern: '^[a-z][a-z0-9_.:-]{0,63}$', description: 'a host event type (purchase, share…) or engagement.check_in, engagement.task_completed, engagement.invitation_qualified' });
export const Recurrence = Type.Union([Type.Literal('once'), Type.Literal('daily'), Type.Literal('weekly'), Type.Literal('monthly')]);
const Claim = Type.Union([Type.Literal('auto'), Type.Literal('manual')], { description: 'auto: rewarded on completion; manual: the member claims it' });

export const TaskRewardsSchema = Type.Object(
  {
    points: Type.Optional(
      Type.Array(
        Type.Object({ pointType: PointCode, amount: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }) }, { additionalProperties: false }),
        { maxItems: 5, description: 'credits per point type (points, growth, …)' },
      ),
    ),
    medal: Type.Optional(
      Type.Object({ code: Code, level: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })) }, { additionalProperties: false, description: 'a medal level awarded on completion' }),
    ),
    benefits: Type.Optional(
      Type.Array(
        Type.Object(
          { code: Type.String({ minLength: 1, maxLength: 64 }), quantity: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })) },
          { additionalProperties: false },
        ),
        { maxItems: 5, description: 'benefits granted on completion (e.g. a coupon), as entitlements' },
      ),
    ),
  },
  { additionalProperties: false },
);
export type TaskRewards = Static<typeof TaskRewardsSchema>;

export const CreateTaskBody = Type.Object(
  {
    code: Code,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    recurrence: Recurrence,
    eventType: EventType,
    conditions: Type.Optional(ConditionsSchema),
    measure: Type.Optional(Type.Union([Type.Literal('count'), Type.Literal('sum')], { description: 'count matching events (default) or sum an attribute' })),
    sumAttribute: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' })),
    target: Type.Integer({ minimum: 1, maximum: 1_000_000_000_000 }),
    rewards: TaskRewardsSchema,
    claim: Type.Optional(Claim),
    startsAt: Type.Optional(DateTime()),
    endsAt: Type.Optional(DateTime()),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('paused')])),
    position: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
  },
  { additionalProperties: false },
);
export type CreateTaskInput = Static<typeof CreateTaskBody>;

export const UpdateTaskBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
    conditions: Type.Optional(ConditionsSchema),
    target: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000_000 })),
    rewards: Type.Optional(TaskRewardsSchema),
    claim: Type.Optional(Claim),
    startsAt: Type.Optional(Nullable(DateTime())),
    endsAt: Type.Optional(Nullable(DateTime())),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('paused'), Type.Literal('archived')])),
    position: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateTaskInput = Static<typeof UpdateTaskBody>;

export const TaskSchema = Type.Object(
  {
    id: Type.String(),
    code: Type.String(),
    name: Type.String(),
    description: Nullable(Type.String()),
    recurrence: Recurrence,
    eventType: Type.String(),
    conditions: Type.Array(Type.Unknown()),
    measure: Type.String(),
    sumAttribute: Nullable(Type.String()),
    target: Type.Integer(),
    rewards: Type.Unknown(),
    claim: Type.String(),
    startsAt: Nullable(DateTime()),
    endsAt: Nullable(DateTime()),
    status: Type.String(),
    position: Type.Integer(),
    version: Type.Integer(),
    createdAt: DateTime(),
    updatedAt: DateTime(),
  },
);

const PeriodSchema = Type.Object({ key: Type.String(), startsAt: Nullable(DateTime()), endsAt: Nullable(DateTime()) });

export const MemberTaskSchema = Type.Object(
  {
    task: Type.Object({
      id: Type.String(),
      code: Type.String(),
      name: Type.String(),
      description: Nullable(Type.String()),
      recurrence: Recurrence,
      target: Type.Integer(),
      claim: Type.String(),
      rewards: Type.Unknown(),
      endsAt: Nullable(DateTime()),
    }),
    period: PeriodSchema,
    progress: Type.Integer(),
    target: Type.Integer(),
    status: Type.Union([Type.Literal('in_progress'), Type.Literal('completed'), Type.Literal('rewarded')]),
    claimable: Type.Boolean(),
    completedAt: Nullable(DateTime()),
    rewardedAt: Nullable(DateTime()),
  },
);

export const ClaimBody = Type.Object(
  { period: Type.Optional(Type.String({ maxLength: 20, description: 'the period to claim (default: the current one)' })) },
  { additionalProperties: false },
);

export const ClaimSchema = Type.Object({
  taskId: Type.String(),
  memberId: Type.String(),
  period: Type.String(),
  rewards: Type.Array(Type.Object({ pointType: Type.String(), amount: Type.Integer(), transactionId: Nullable(Type.String()) })),
  medal: Nullable(Type.Object({ code: Type.String(), level: Type.Integer() })),
  benefits: Type.Array(Type.Object({ code: Type.String(), entitlementIds: Type.Array(Type.String()) })),
  rewardedAt: DateTime(),
  alreadyClaimed: Type.Boolean(),
});
