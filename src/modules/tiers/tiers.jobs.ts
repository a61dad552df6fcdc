import type { Kysely } from 'kysely';
import { DateTime } from 'luxon';
import { rawQuery } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import type { JobDefinition } from '../../jobs/job.js';
import type { ProgramSnapshot } from '../../core/context.js';
import { nextEvaluation, type Ladder } from './tiers.model.js';
import type { TiersService } from './tiers.service.js';

/** At most this many scheduled instants are caught up in one run (a live program long asleep). */
const MAX_CATCH_UP = 400;

async function anniversaryDays(db: Kysely<DB>, ladder: Ladder): Promise<Set<string>> {
  const { rows } = await rawQuery<{ md: string }>(db, `select distinct to_char(joined_on, 'MM-DD') as md from member_tiers where ladder_id = $1`, [ladder.id]);
  return new Set(rows.map((r) => r.md));
}

/** The month-days whose anniversary falls on `day`: 29 February is kept on the 28th in other years. */
function monthDaysOn(day: DateTime): string[] {
  const md = day.toFormat('MM-dd');
  return md === '02-28' && !day.isInLeapYear ? ['02-28', '02-29'] : [md];
}

/** The next scheduled evaluation strictly after `after` (null: none before `until`). */
async function nextScheduled(db: Kysely<DB>, ladder: Ladder, program: ProgramSnapshot, after: Date, until: Date): Promise<{ at: Date; monthDays?: string[] } | null> {
  const sched = ladder.policy.evaluation;
  if (sched.schedule !== 'anniversary') {
    const at = nextEvaluation(sched, after, program.timeZone);
    return at && at.getTime() <= until.getTime() ? { at } : null;
  }
  const days = await anniversaryDays(db, ladder);
  if (!days.size) return null;
  let day = DateTime.fromJSDate(after, { zone: program.timeZone }).startOf('day').plus({ days: 1 });
  for (let i = 0; i < 3700 && day.toMillis() <= until.getTime(); i++, day = day.plus({ days: 1 })) {
    const monthDays = monthDaysOn(day).filter((d) => days.has(d));
    if (monthDays.length) return { at: day.toJSDate(), monthDays: monthDaysOn(day) };
  }
  return null;
}

export function tierJobs(tiers: TiersService): JobDefinition[] {
  return [
    {
      // Before the scheduled evaluation at the same instant: overrides that end, validity and grace
      // that run out, so the evaluation sees members as they then are.
      name: 'tiers.expire',
      order: 55,
      everyMs: 60_000,
      nextDue: async (db, program, after, until) => {
        const { rows } = await rawQuery<{ at: Date | null }>(
          db,
          `select least(
             (select min(valid_until) from member_tiers where program_id = $1 and valid_until > $2 and valid_until <= $3),
             (select min(grace_until) from member_tiers where program_id = $1 and grace_until > $2 and grace_until <= $3),
             (select min(purchased_until) from member_tiers where program_id = $1 and purchased_until > $2 and purchased_until <= $3),
             (select min(manual_until) from member_tiers where program_id = $1 and manual_until > $2 and manual_until <= $3)) as at`,
          [program.id, after, until],
        );
        return rows[0]?.at ?? null;
      },
      run: async ({ program, asOf, progress }) => {
        const overrides = await tiers.endOverrides(program, asOf);
        const validity = await tiers.evaluate(program, asOf, { kind: 'due' }, 'validity_end', progress);
        return { ...overrides, validity };
      },
    },
    {
      name: 'tiers.evaluate',
      order: 60,
      everyMs: 10 * 60_000,
      nextDue: async (db, program, after, until) => {
        const ladder = await tiers.config.ladder(program.id, db);
        if (!ladder) return null;
        return (await nextScheduled(db, ladder, program, after, until))?.at ?? null;
      },
      // Every scheduled instant in (evaluated_through, asOf], in order, each once.
      run: async ({ db, program, asOf, progress }) => {
        const ladder = await tiers.config.ladder(program.id, db);
        if (!ladder) return { evaluations: 0 };
        const { rows } = await rawQuery<{ evaluated_through: Date | null; created_at: Date }>(db, 'select evaluated_through, created_at from tier_ladders where id = $1', [ladder.id]);
        let from = rows[0]?.evaluated_through ?? rows[0]?.created_at ?? asOf;
        const runs: Array<Record<string, unknown>> = [];
        for (let i = 0; i < MAX_CATCH_UP; i++) {
          const due = await nextScheduled(db, ladder, program, from, asOf);
          if (!due) break;
          const filter = due.monthDays ? { kind: 'anniversary' as const, monthDays: due.monthDays } : { kind: 'all' as const };
          const result = await tiers.evaluate(program, due.at, filter, 'evaluation', progress);
          await rawQuery(db, 'update tier_ladders set evaluated_through = $2 where id = $1', [ladder.id, due.at]);
          runs.push({ asOf: due.at.toISOString(), ...result });
          from = due.at;
        }
        return { evaluations: runs.length, runs };
      },
    },
  ];
}
