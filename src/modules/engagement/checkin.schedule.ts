import { Type, type Static } from 'typebox';
import { DateTime } from 'luxon';
import { AppError } from '../../core/errors.js';

/**
 * The check-in reward schedule and its pure arithmetic.
 *
 * - `streak`: consecutive local days checked in (or made up) ending on a day.
 * - `cycleDay`: the position in the schedule that day pays:
 *   - `weekly`: the schedule restarts every Monday: min(streak, ISO weekday);
 *   - `monthly`: it restarts on the 1st: min(streak, day of month);
 *   - `continuous`: the streak alone decides; past the end the pattern repeats
 *     (`afterLast: repeat`) or its last entry keeps paying (`afterLast: last`).
 *   A weekly or monthly schedule shorter than its cycle pays its last entry for the remaining days.
 */
const Amount = Type.Integer({ minimum: 0, maximum: 1_000_000_000 });
const Code = Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' });

export const ScheduleBody = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean({ default: true })),
    cycle: Type.Union([Type.Literal('weekly'), Type.Literal('monthly'), Type.Literal('continuous')]),
    afterLast: Type.Optional(Type.Union([Type.Literal('repeat'), Type.Literal('last')], { description: 'continuous cycle: repeat the pattern (default) or keep paying the last entry' })),
    pointType: Type.Optional(Code),
    rewards: Type.Array(Amount, { minItems: 1, maxItems: 366, description: 'points by cycle day, e.g. [5,5,10,10,15,15,50]' }),
    growth: Type.Optional(
      Type.Union([
        Type.Object(
          { pointType: Type.Optional(Code), rewards: Type.Array(Amount, { minItems: 1, maxItems: 366 }) },
          { additionalProperties: false, description: 'growth value by cycle day; omit or null: check-in earns no growth' },
        ),
        Type.Null(),
      ]),
    ),
    makeUp: Type.Optional(
      Type.Object(
        {
          perMonth: Type.Integer({ minimum: 0, maximum: 31, description: 'make-ups a member may do per local month; 0 disables them' }),
          windowDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 31, default: 7, description: 'how many days back a missed day may be made up' })),
          cost: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0, description: 'points spent per make-up' })),
          costPointType: Type.Optional(Code),
          rewarded: Type.Optional(Type.Boolean({ default: false, description: 'whether a made-up day pays its schedule entry' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type ScheduleInput = Static<typeof ScheduleBody>;

export interface Schedule {
  enabled: boolean;
  cycle: 'weekly' | 'monthly' | 'continuous';
  afterLast: 'repeat' | 'last';
  pointType: string;
  rewards: number[];
  growth: { pointType: string; rewards: number[] } | null;
  makeUp: { perMonth: number; windowDays: number; cost: number; costPointType: string; rewarded: boolean };
}

export function normaliseSchedule(input: ScheduleInput): Schedule {
  const max = input.cycle === 'weekly' ? 7 : input.cycle === 'monthly' ? 31 : 366;
  for (const [field, list] of [['rewards', input.rewards], ['growth.rewards', input.growth?.rewards ?? []]] as const) {
    if (list.length > max) {
      throw new AppError('validation_failed', `${field}: a ${input.cycle} cycle has at most ${max} days`, { field });
    }
  }
  return {
    enabled: input.enabled ?? true,
    cycle: input.cycle,
    afterLast: input.afterLast ?? 'repeat',
    pointType: input.pointType ?? 'points',
    rewards: input.rewards,
    growth: input.growth ? { pointType: input.growth.pointType ?? 'growth', rewards: input.growth.rewards } : null,
    makeUp: {
      perMonth: input.makeUp?.perMonth ?? 0,
      windowDays: input.makeUp?.windowDays ?? 7,
      cost: input.makeUp?.cost ?? 0,
      costPointType: input.makeUp?.costPointType ?? 'points',
      rewarded: input.makeUp?.rewarded ?? false,
    },
  };
}

export interface DayReward {
  cycleDay: number;
  /** 1-based entry of the schedule that pays (the explanation of the amount) */
  entry: number;
  points: number;
  growth: number;
}

function pick(list: number[], entry: number): number {
  return list[Math.min(entry, list.length) - 1] ?? 0;
}

/** What a day pays for a member whose streak reaches `streak` on `date` (YYYY-MM-DD). */
export function rewardFor(schedule: Schedule, date: string, streak: number): DayReward {
  const d = DateTime.fromISO(date, { zone: 'utc' });
  const len = schedule.rewards.length;
  let cycleDay: number;
  switch (schedule.cycle) {
    case 'weekly':
      cycleDay = Math.min(streak, d.weekday);
      break;
    case 'monthly':
      cycleDay = Math.min(streak, d.day);
      break;
    case 'continuous':
      cycleDay = schedule.afterLast === 'repeat' ? ((streak - 1) % len) + 1 : Math.min(streak, len);
      break;
  }
  const entry = Math.min(cycleDay, len);
  return {
    cycleDay,
    entry,
    points: pick(schedule.rewards, cycleDay),
    growth: schedule.growth ? pick(schedule.growth.rewards, cycleDay) : 0,
  };
}
