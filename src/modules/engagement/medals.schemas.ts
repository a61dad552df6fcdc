import { Type, type Static } from 'typebox';
import { DateTime, Nullable } from '../../http/schemas.js';
import { ConditionsSchema } from './conditions.js';

const Code = Type.String({ pattern: '^[a-z][a-z0-9_.-]{0,63}$' });
const EventType = Type.String({ pattern: '^[a-z][a-z0-9_.:-]{0,63}$' });
const Attribute = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' });

export const CriterionSchema = Type.Union(
  [
    Type.Object({ kind: Type.Literal('event_count'), eventType: EventType, conditions: Type.Optional(ConditionsSchema) }, { additionalProperties: false, description: 'how many matching events' }),
    Type.Object(
      { kind: Type.Literal('attribute_sum'), eventType: EventType, attribute: Attribute, conditions: Type.Optional(ConditionsSchema) },
      { additionalProperties: false, description: 'the lifetime sum of an attribute of matching events (e.g. spend: purchase.amount)' },
    ),
    Type.Object({ kind: Type.Literal('checkin_streak') }, { additionalProperties: false, description: 'the longest check-in streak in days' }),
    Type.Object(
      { kind: Type.Literal('tasks_completed'), taskCodes: Type.Optional(Type.Array(Code, { minItems: 1, maxItems: 50 })) },
      { additionalProperties: false, description: 'completed tasks (any, or those listed), each period counting once' },
    ),
    Type.Object({ kind: Type.Literal('tier_reached') }, { additionalProperties: false, description: 'the highest tier rank reached, as reported by the tiers module' }),
    Type.Object({ kind: Type.Literal('manual') }, { additionalProperties: false, description: 'awarded by a task or an operator only' }),
  ],
  { description: 'what a member accumulates toward the levels' },
);
export type Criterion = Static<typeof CriterionSchema>;

const LevelSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, description: 'e.g. Bronze, Silver, Gold' }),
    threshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000_000, description: 'the value that earns this level (not for manual medals)' })),
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type LevelInput = Static<typeof LevelSchema>;

export const CreateMedalBody = Type.Object(
  {
    code: Code,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    criterion: CriterionSchema,
    levels: Type.Array(LevelSchema, { minItems: 1, maxItems: 10, description: 'in ascending order: level 1, 2, …' }),
    position: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
  },
  { additionalProperties: false },
);
export type CreateMedalInput = Static<typeof CreateMedalBody>;

export const UpdateMedalBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
    levels: Type.Optional(Type.Array(LevelSchema, { minItems: 1, maxItems: 10 })),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('archived')])),
    position: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateMedalInput = Static<typeof UpdateMedalBody>;

const LevelView = Type.Object({ level: Type.Integer(), name: Type.String(), threshold: Nullable(Type.Integer()), description: Nullable(Type.String()) });

export const MedalSchema = Type.Object(
  {
    id: Type.String(),
    code: Type.String(),
    name: Type.String(),
    description: Nullable(Type.String()),
    criterion: Type.Unknown(),
    levels: Type.Array(LevelView),
    status: Type.String(),
    position: Type.Integer(),
    createdAt: DateTime(),
    updatedAt: DateTime(),
  },
);

export const MemberMedalSchema = Type.Object(
  {
    medal: Type.Object({ id: Type.String(), code: Type.String(), name: Type.String(), description: Nullable(Type.String()), criterion: Type.Unknown() }),
    value: Type.Integer({ description: 'what the member has accumulated toward the levels' }),
    level: Type.Integer({ description: 'highest level awarded; 0 while locked' }),
    locked: Type.Boolean(),
    levels: Type.Array(
      Type.Object({
        level: Type.Integer(),
        name: Type.String(),
        threshold: Nullable(Type.Integer()),
        awarded: Type.Boolean(),
        awardedAt: Nullable(DateTime()),
      }),
    ),
    next: Nullable(Type.Object({ level: Type.Integer(), name: Type.String(), threshold: Nullable(Type.Integer()), remaining: Nullable(Type.Integer()) })),
  },
);

export const AwardMedalBody = Type.Object(
  { level: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })), reason: Type.String({ minLength: 1, maxLength: 500 }) },
  { additionalProperties: false },
);
