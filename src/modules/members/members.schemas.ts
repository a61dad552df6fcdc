import { Type } from 'typebox';
import { DateTime, LocalDate, Nullable, PageQuery } from '../../http/schemas.js';

const Status = Type.Union([Type.Literal('active'), Type.Literal('frozen'), Type.Literal('closed')]);

export const MemberSchema = Type.Object(
  {
    id: Type.String(),
    programId: Type.String(),
    externalId: Type.String(),
    status: Status,
    name: Nullable(Type.String()),
    phone: Nullable(Type.String()),
    email: Nullable(Type.String()),
    birthday: Nullable(Type.String({ format: 'date' })),
    gender: Nullable(Type.String()),
    region: Nullable(Type.String()),
    attributes: Type.Record(Type.String(), Type.Unknown()),
    tags: Type.Array(Type.String()),
    joinedAt: DateTime(),
    createdAt: DateTime(),
    updatedAt: DateTime(),
  },
  { $id: 'Member' },
);

const Tag = Type.String({ minLength: 1, maxLength: 64, pattern: '^[^,\\s][^,]*$' });

const profile = {
  name: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  phone: Type.Optional(Nullable(Type.String({ maxLength: 32, pattern: '^\\+?[0-9 ()\\-]{3,32}$' }))),
  email: Type.Optional(Nullable(Type.String({ maxLength: 254, format: 'email' }))),
  birthday: Type.Optional(Nullable(LocalDate())),
  gender: Type.Optional(Nullable(Type.String({ maxLength: 32 }))),
  region: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  attributes: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 100 })),
  tags: Type.Optional(Type.Array(Tag, { maxItems: 100 })),
};

export const CreateMemberBody = Type.Object(
  {
    externalId: Type.String({ minLength: 1, maxLength: 200, description: "the host platform's id of the user, unique in the program" }),
    joinedAt: Type.Optional(DateTime('when the member joined (default: now on the program clock)')),
    status: Type.Optional(Status),
    ...profile,
  },
  { additionalProperties: false },
);

export const UpdateMemberBody = Type.Object(
  { status: Type.Optional(Status), ...profile },
  { additionalProperties: false, minProperties: 1 },
);

export const MemberListQuery = Type.Object(
  {
    ...PageQuery.properties,
    status: Type.Optional(Status),
    tag: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
