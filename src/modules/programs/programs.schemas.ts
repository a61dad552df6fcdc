import { Type } from 'typebox';
import { DateTime, Nullable } from '../../http/schemas.js';

export const ProgramSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    mode: Type.Union([Type.Literal('live'), Type.Literal('sandbox')]),
    timeZone: Type.String({ description: 'IANA time zone; every day, month and year of the program is local to it' }),
    currency: Type.String({ description: 'ISO 4217; money amounts are integers of its minor unit' }),
    settings: Type.Record(Type.String(), Type.Unknown()),
    clockAt: Nullable(DateTime('a sandbox program’s test clock')),
    createdAt: DateTime(),
    updatedAt: DateTime(),
  },
  { $id: 'Program' },
);

const Name = Type.String({ minLength: 1, maxLength: 200 });
const TimeZone = Type.String({ minLength: 1, maxLength: 64, examples: ['Asia/Shanghai'] });
const Currency = Type.String({ pattern: '^[A-Z]{3}$', examples: ['CNY'] });
const Settings = Type.Record(Type.String(), Type.Unknown());

export const CreateProgramBody = Type.Object(
  {
    name: Name,
    mode: Type.Union([Type.Literal('live'), Type.Literal('sandbox')], { default: 'live' }),
    timeZone: TimeZone,
    currency: Currency,
    settings: Type.Optional(Settings),
    clockStart: Type.Optional(DateTime('sandbox only: the test clock’s first reading')),
  },
  { additionalProperties: false },
);

export const UpdateProgramBody = Type.Object(
  {
    name: Type.Optional(Name),
    timeZone: Type.Optional(TimeZone),
    currency: Type.Optional(Currency),
    settings: Type.Optional(Settings),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const ClockSchema = Type.Object({
  programId: Type.String(),
  now: DateTime(),
  jobsRun: Type.Optional(
    Type.Array(Type.Object({ job: Type.String(), asOf: DateTime(), result: Type.Unknown() }), {
      description: 'the jobs the advance ran, in order, each as of its due time',
    }),
  ),
});

export const AdvanceClockBody = Type.Object(
  {
    to: Type.Optional(DateTime('move the clock to this instant')),
    by: Type.Optional(
      Type.Object(
        {
          days: Type.Optional(Type.Integer({ minimum: 0, maximum: 3660 })),
          hours: Type.Optional(Type.Integer({ minimum: 0, maximum: 87840 })),
          minutes: Type.Optional(Type.Integer({ minimum: 0, maximum: 5270400 })),
          months: Type.Optional(Type.Integer({ minimum: 0, maximum: 120 })),
        },
        { additionalProperties: false, minProperties: 1 },
      ),
    ),
  },
  { additionalProperties: false, minProperties: 1, maxProperties: 1 },
);
