import type { Kysely } from 'kysely';
import { DateTime } from 'luxon';
import { fixedClock } from '../../core/clock.js';
import type { ProgramContext, ProgramSnapshot } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { recordAudit } from '../../core/hooks.js';
import { addLocalDays, localDate } from '../../core/zoned-time.js';
import { inTransaction, rawQuery, type Executor, type Trx } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import type { LedgerService } from '../ledger/index.js';
import type { BenefitsService } from './benefits.service.js';
import { grantMany } from './grant-sql.js';

export interface BirthdaySettings {
  enabled: boolean;
  /** on the birthday itself, or from the first day of the birthday month */
  when: 'day' | 'month';
  /** members born on 29 February, in a year without one (day mode) */
  leapDay: 'feb28' | 'mar1';
  benefit: { code: string; quantity: number } | null;
  points: { pointType: string; amount: number } | null;
}

const DEFAULTS: BirthdaySettings = { enabled: false, when: 'day', leapDay: 'feb28', benefit: null, points: null };

/** At most this many local dates are caught up in one run (a live program long asleep). */
const MAX_DAYS = 400;

/** The birthdays (MM-DD) celebrated on a local date: 29 February moves to 28 February or 1 March in other years. */
export function birthdaysOn(date: string, leapDay: BirthdaySettings['leapDay']): string[] {
  const d = DateTime.fromISO(date);
  const md = date.slice(5);
  if (d.isInLeapYear) return [md];
  if ((md === '02-28' && leapDay === 'feb28') || (md === '03-01' && leapDay === 'mar1')) return [md, '02-29'];
  return [md];
}

/**
 * Birthday care: a gift (a benefit, points, or both) once a year, on the birthday or in the
 * birthday month in the program's zone. `birthday_gifts` (member, year) is the guard; the job
 * handles each local date once, in order.
 */
export class BirthdayService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly benefits: BenefitsService,
    private readonly ledger: LedgerService,
  ) {}

  async get(ctx: ProgramContext, exec: Executor = this.db): Promise<BirthdaySettings> {
    const { rows } = await rawQuery<{ config: BirthdaySettings }>(exec, 'select config from birthday_settings where program_id = $1', [ctx.program.id]);
    return { ...DEFAULTS, ...(rows[0]?.config ?? {}) };
  }

  async put(trx: Trx, ctx: ProgramContext, input: Partial<BirthdaySettings>): Promise<BirthdaySettings> {
    const before = await this.get(ctx, trx);
    const next: BirthdaySettings = { ...before, ...input };
    if (next.benefit) await this.benefits.get(ctx, next.benefit.code, trx);
    if (next.enabled && !next.benefit && !next.points) {
      throw new AppError('validation_failed', 'a birthday gift needs a benefit, points, or both', { field: 'benefit' });
    }
    // Switched on today: gifts start with tomorrow's birthdays (month mode: with this month's).
    const today = localDate(ctx.clock.now(), ctx.program.timeZone);
    const from = next.when === 'month' ? addLocalDays(`${today.slice(0, 7)}-01`, -1) : today;
    await rawQuery(
      trx,
      `insert into birthday_settings (program_id, config, processed_through, updated_at) values ($1, $2, $3, $4)
       on conflict (program_id) do update set config = excluded.config, updated_at = excluded.updated_at,
         processed_through = case when birthday_settings.processed_through is null or not (birthday_settings.config ->> 'enabled')::boolean
           then excluded.processed_through else birthday_settings.processed_through end`,
      [ctx.program.id, JSON.stringify(next), from, ctx.clock.now()],
    );
    await recordAudit(trx, ctx, { action: 'update', resourceType: 'birthday_settings', resourceId: ctx.program.id, before, after: next });
    return next;
  }

  /** Sandbox: the next local midnight in (after, until] on which somebody's gift is due. */
  async nextDue(db: Kysely<DB>, program: ProgramSnapshot, after: Date, until: Date): Promise<Date | null> {
    const { rows } = await rawQuery<{ config: BirthdaySettings }>(db, 'select config from birthday_settings where program_id = $1', [program.id]);
    const s = rows[0] ? { ...DEFAULTS, ...rows[0].config } : null;
    if (!s?.enabled) return null;
    const zone = program.timeZone;
    let day = DateTime.fromJSDate(after, { zone }).startOf('day').plus({ days: 1 });
    if (s.when === 'month') {
      const first = DateTime.fromJSDate(after, { zone }).startOf('month').plus({ months: 1 });
      return first.toMillis() <= until.getTime() ? first.toJSDate() : null;
    }
    const { rows: mds } = await rawQuery<{ md: string }>(
      db,
      `select distinct to_char(birthday, 'MM-DD') as md from members where program_id = $1 and birthday is not null and status = 'active'`,
      [program.id],
    );
    const known = new Set(mds.map((r) => r.md));
    if (!known.size) return null;
    for (let i = 0; i < 3700 && day.toMillis() <= until.getTime(); i++, day = day.plus({ days: 1 })) {
      if (birthdaysOn(day.toISODate()!, s.leapDay).some((md) => known.has(md))) return day.toJSDate();
    }
    return null;
  }

  /** Every local date in (processed_through, today], in order, each once. */
  async run(program: ProgramSnapshot, asOf: Date): Promise<{ dates: number; gifts: number }> {
    const ctx: ProgramContext = { program, clock: fixedClock(asOf), actor: { type: 'system', job: 'benefits.birthday' } };
    const { rows } = await rawQuery<{ config: BirthdaySettings; processed_through: string | null }>(
      this.db,
      `select config, to_char(processed_through, 'YYYY-MM-DD') as processed_through from birthday_settings where program_id = $1`,
      [program.id],
    );
    const s = rows[0] ? { ...DEFAULTS, ...rows[0].config } : null;
    if (!s?.enabled) return { dates: 0, gifts: 0 };
    const today = localDate(asOf, program.timeZone);
    let date = rows[0]!.processed_through ? addLocalDays(rows[0]!.processed_through, 1) : today;
    // Only dates (or months) somebody celebrates cost a transaction; the others are passed over.
    const { rows: mds } = await rawQuery<{ md: string }>(
      this.db,
      `select distinct to_char(birthday, 'MM-DD') as md from members where program_id = $1 and birthday is not null and status = 'active'`,
      [program.id],
    );
    const known = new Set(mds.map((r) => (s.when === 'month' ? r.md.slice(0, 2) : r.md)));
    const seenMonths = new Set<string>();
    let dates = 0;
    let gifts = 0;
    let last: string | null = null;
    for (; date <= today && dates < MAX_DAYS; date = addLocalDays(date, 1), dates++) {
      const day = date;
      last = day;
      const due = s.when === 'month' ? !seenMonths.has(day.slice(0, 7)) && known.has(day.slice(5, 7)) : birthdaysOn(day, s.leapDay).some((md) => known.has(md));
      seenMonths.add(day.slice(0, 7));
      if (!due) continue;
      gifts += await inTransaction(this.db, async (trx) => {
        const n = await this.giftOn(trx, ctx, s, day);
        await rawQuery(trx, 'update birthday_settings set processed_through = $2 where program_id = $1', [program.id, day]);
        return n;
      });
    }
    if (last) await rawQuery(this.db, 'update birthday_settings set processed_through = greatest(processed_through, $2::date) where program_id = $1', [program.id, last]);
    return { dates, gifts };
  }

  private async giftOn(trx: Trx, ctx: ProgramContext, s: BirthdaySettings, date: string): Promise<number> {
    const year = Number(date.slice(0, 4));
    // Month mode: the whole month's celebrants on its first day handled (or the first date caught up).
    const match =
      s.when === 'month'
        ? { sql: `to_char(m.birthday, 'MM') = $4`, value: date.slice(5, 7) as unknown }
        : { sql: `to_char(m.birthday, 'MM-DD') = any($4::text[])`, value: birthdaysOn(date, s.leapDay) as unknown };
    const { rows } = await rawQuery<{ member_id: string }>(
      trx,
      `insert into birthday_gifts (member_id, year, program_id, gift_date, granted_at)
       select m.id, $2, $1, $3::date, $5 from members m
       where m.program_id = $1 and m.status = 'active' and m.birthday is not null and ${match.sql}
       on conflict (member_id, year) do nothing
       returning member_id`,
      [ctx.program.id, year, date, match.value, ctx.clock.now()],
    );
    const members = rows.map((r) => r.member_id);
    if (!members.length) return 0;
    if (s.benefit) {
      const benefit = await this.benefits.get(ctx, s.benefit.code, trx);
      if (benefit.status === 'active') {
        const validUntil = benefit.validityDays ? new Date(ctx.clock.now().getTime() + benefit.validityDays * 86_400_000) : null;
        await grantMany(
          trx,
          ctx,
          `select m as member_id, $2::text as benefit_id, $3::text as benefit_code, $4::int as quantity, 'birthday:' || $5::text as grant_key,
             $6::int as uses, $7::timestamptz as valid_until, 'birthday' as source_type, $5::text as source_id
           from unnest($1::text[]) as m`,
          [members, benefit.id, benefit.code, s.benefit.quantity, String(year), benefit.defaultUses, validUntil],
        );
      }
    }
    if (s.points) {
      const points = s.points;
      const result = await this.ledger.earnBatch(
        ctx,
        members.map((memberId) => ({
          memberId,
          pointType: points.pointType,
          amount: points.amount,
          idempotencyKey: `birthday:${memberId}:${year}`,
          source: { type: 'birthday', id: String(year) },
          reason: `birthday gift ${year}`,
        })),
        trx,
      );
      await rawQuery(
        trx,
        `update birthday_gifts g set transaction_id = x.t from unnest($1::text[], $2::text[]) as x(m, t) where g.member_id = x.m and g.year = $3`,
        [members, result.results.map((r) => r?.transactionId ?? null), year],
      );
    }
    return members.length;
  }

  /** The gifts a member received, newest first. */
  async history(ctx: ProgramContext, memberId: string): Promise<Array<{ year: number; date: string; transactionId: string | null; grantedAt: Date }>> {
    const { rows } = await rawQuery<{ year: number; date: string; transaction_id: string | null; granted_at: Date }>(
      this.db,
      `select year, to_char(gift_date, 'YYYY-MM-DD') as date, transaction_id, granted_at from birthday_gifts where program_id = $1 and member_id = $2 order by year desc`,
      [ctx.program.id, memberId],
    );
    return rows.map((r) => ({ year: r.year, date: r.date, transactionId: r.transaction_id, grantedAt: r.granted_at }));
  }
}

