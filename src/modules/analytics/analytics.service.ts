import type { Kysely } from 'kysely';
import { DateTime } from 'luxon';
import type { ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { rawQuery, type Executor } from '../../db/database.js';
import type { DB } from '../../db/schema.js';

export const REPORTS = ['points', 'consumption', 'rules', 'tasks', 'tiers', 'benefits', 'check-ins', 'streaks', 'exchanges', 'draws', 'members', 'settlement'] as const;
export type ReportName = (typeof REPORTS)[number];
export type GroupBy = 'day' | 'week' | 'month';
export type Cell = string | number | null;

export interface ReportRequest {
  /** local dates in the program's zone, both inclusive */
  from: string;
  to: string;
  groupBy?: GroupBy | undefined;
}

export interface Report {
  report: ReportName;
  from: string;
  to: string;
  groupBy: GroupBy;
  timeZone: string;
  columns: string[];
  rows: Array<Record<string, Cell>>;
  /** why a report has no rows although it was asked for (e.g. no tiers module) */
  note?: string;
}

interface Range {
  from: string;
  to: string;
  start: Date;
  end: Date;
  zone: string;
  unit: GroupBy;
}

const MAX_DAYS = 3_700;
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const ratio = (a: number, b: number): number | null => (b === 0 ? null : Math.round((a / b) * 10_000) / 10_000);
/** A local date of a bucket, as SQL gives it (a date column is text on both engines here). */
const day = (v: unknown): string => (v instanceof Date ? v.toISOString().slice(0, 10) : String(v).slice(0, 10));

/** The program's tier ladder, as the tiers module reads it: where a member without a stored state stands. */
export type LadderSource = (programId: string) => Promise<{ id: string; baseRank: number } | null>;

/**
 * Reports over the ledger and the domain tables, in set-based SQL.
 *
 * Every query reads one period of one program through an index on (program_id, time), so its
 * cost follows the activity in the period, not the number of members or the length of the
 * history (migration 0007 adds the indexes). The one figure that depends on all history, the
 * outstanding balance, is taken backwards from the cached balances (`accounts`) minus what moved
 * after each bucket, never by summing the ledger from the beginning. Buckets are local dates of
 * the program's zone (`date_trunc` on the local time; weeks start on Monday).
 */
export class AnalyticsService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly ladderOf: LadderSource = async () => null,
  ) {}

  range(ctx: ProgramContext, req: ReportRequest): Range {
    const zone = ctx.program.timeZone;
    const from = DateTime.fromISO(req.from, { zone });
    const to = DateTime.fromISO(req.to, { zone });
    if (!from.isValid || !to.isValid) throw new AppError('validation_failed', 'from and to must be dates (YYYY-MM-DD)', { fields: ['from', 'to'] });
    if (to < from) throw new AppError('validation_failed', 'to is before from', { fields: ['from', 'to'] });
    if (to.diff(from, 'days').days > MAX_DAYS) throw new AppError('validation_failed', `a report covers at most ${MAX_DAYS} days`, { fields: ['from', 'to'] });
    return {
      from: from.toISODate()!,
      to: to.toISODate()!,
      start: from.startOf('day').toJSDate(),
      end: to.plus({ days: 1 }).startOf('day').toJSDate(),
      zone,
      unit: req.groupBy ?? 'day',
    };
  }

  async run(ctx: ProgramContext, name: ReportName, req: ReportRequest): Promise<Report> {
    const r = this.range(ctx, req);
    const make = (columns: string[], rows: Array<Record<string, Cell>>, note?: string): Report => ({
      report: name,
      from: r.from,
      to: r.to,
      groupBy: r.unit,
      timeZone: r.zone,
      columns,
      rows,
      ...(note ? { note } : {}),
    });
    const p = ctx.program.id;
    switch (name) {
      case 'points':
        return make(['period', 'pointType', 'issued', 'spent', 'refunded', 'expired', 'reversed', 'adjusted', 'netChange', 'outstanding', 'pendingOutstanding'], await this.points(p, r));
      case 'consumption':
        return make(['period', 'pointType', 'issued', 'spent', 'expired', 'consumptionRate', 'medianDaysToSpend', 'breakage'], await this.consumption(p, r));
      case 'rules':
        return make(['period', 'kind', 'ruleId', 'name', 'pointType', 'awards', 'members', 'points'], await this.rules(p, r));
      case 'tasks':
        return make(['period', 'taskId', 'code', 'name', 'completions', 'members'], await this.tasks(p, r));
      case 'tiers': {
        if (!(await this.tableExists(this.db, 'member_tiers'))) return make([], [], 'tiers are not installed in this deployment');
        return make(['period', 'ladderId', 'tier', 'rank', 'members', 'upgrades', 'downgrades'], await this.tiers(p, r));
      }
      case 'benefits':
        return make(['benefitId', 'code', 'name', 'granted', 'usedEntitlements', 'uses', 'utilisation'], await this.benefits(p, r));
      case 'check-ins':
        return make(['period', 'checkIns', 'makeUps', 'members'], await this.checkIns(p, r));
      case 'streaks':
        return make(['streak', 'members'], await this.streaks(p, r));
      case 'exchanges':
        return make(['period', 'itemId', 'name', 'category', 'orders', 'quantity', 'points', 'cancelled'], await this.exchanges(p, r));
      case 'draws':
        return make(['period', 'drawId', 'code', 'plays', 'players', 'freePlays', 'pointsSpent', 'prizesWon'], await this.draws(p, r));
      case 'members':
        return make(['period', 'newMembers', 'activeMembers', 'totalMembers'], await this.members(p, r));
      case 'settlement':
        return make(
          ['period', 'apiKeyId', 'apiKeyName', 'channel', 'pointType', 'issued', 'reversed', 'netIssued', 'redeemed', 'refunded', 'netRedeemed', 'adjusted', 'transactions'],
          await this.settlement(p, r),
        );
    }
  }

  private bucket(column: string): string {
    return `to_char(date_trunc($4, ${column} at time zone $3), 'YYYY-MM-DD')`;
  }

  /** Every bucket of the range, as local dates, so periods without activity still appear. */
  private periods(r: Range): string[] {
    const out: string[] = [];
    const unit = r.unit;
    let d = DateTime.fromISO(r.from, { zone: r.zone }).startOf(unit === 'week' ? 'week' : unit);
    const last = DateTime.fromISO(r.to, { zone: r.zone });
    while (d <= last) {
      out.push(d.toISODate()!);
      d = d.plus({ [unit + 's']: 1 });
    }
    return out;
  }

  private params(programId: string, r: Range): unknown[] {
    return [programId, r.start, r.zone, r.unit, r.end];
  }

  private async tableExists(exec: Executor, table: string): Promise<boolean> {
    const { rows } = await rawQuery<{ t: string | null }>(exec, 'select to_regclass($1)::text as t', [table]);
    return rows[0]?.t != null;
  }

  private async points(programId: string, r: Range) {
    const params = this.params(programId, r);
    const moves = await rawQuery<Record<string, unknown>>(
      this.db,
      `select ${this.bucket('t.occurred_at')} as period, t.point_type_id,
         sum(t.amount) filter (where t.kind = 'earn') as issued,
         sum(t.amount) filter (where t.kind in ('spend', 'capture')) as spent,
         sum(t.amount) filter (where t.kind = 'refund') as refunded,
         sum(t.amount) filter (where t.kind = 'expiry') as expired,
         sum(t.amount) filter (where t.kind in ('reversal', 'cancel_pending')) as reversed
       from ledger_transactions t
       where t.program_id = $1 and t.occurred_at >= $2 and t.occurred_at < $5
       group by 1, 2`,
      params,
    );
    const entries = await rawQuery<Record<string, unknown>>(
      this.db,
      `select ${this.bucket('e.occurred_at')} as period, e.point_type_id,
         sum(e.amount) as net, sum(e.pending_delta) as pending_net,
         sum(e.amount) filter (where e.kind = 'adjustment') as adjusted
       from ledger_entries e
       where e.program_id = $1 and e.occurred_at >= $2 and e.occurred_at < $5
       group by 1, 2`,
      params,
    );
    // Outstanding at the end of the range = today's cached balances minus what moved since.
    const now = await rawQuery<{ id: string; code: string; available: unknown; pending: unknown; later: unknown; later_pending: unknown }>(
      this.db,
      `select pt.id, pt.code,
         (select coalesce(sum(a.available), 0) from accounts a where a.program_id = $1 and a.point_type_id = pt.id) as available,
         (select coalesce(sum(a.pending), 0) from accounts a where a.program_id = $1 and a.point_type_id = pt.id) as pending,
         (select coalesce(sum(e.amount), 0) from ledger_entries e where e.program_id = $1 and e.occurred_at >= $2 and e.point_type_id = pt.id) as later,
         (select coalesce(sum(e.pending_delta), 0) from ledger_entries e where e.program_id = $1 and e.occurred_at >= $2 and e.point_type_id = pt.id) as later_pending
       from point_types pt where pt.program_id = $1 order by pt.code`,
      [programId, r.end],
    );
    const key = (period: unknown, type: unknown) => `${day(period)}|${String(type)}`;
    const m = new Map(moves.rows.map((x) => [key(x.period, x.point_type_id), x]));
    const e = new Map(entries.rows.map((x) => [key(x.period, x.point_type_id), x]));
    const periods = this.periods(r);
    const rows: Array<Record<string, Cell>> = [];
    for (const type of now.rows) {
      let outstanding = num(type.available) - num(type.later);
      let pendingOutstanding = num(type.pending) - num(type.later_pending);
      const perType: Array<Record<string, Cell>> = [];
      for (let i = periods.length - 1; i >= 0; i--) {
        const mv = m.get(key(periods[i], type.id)) ?? {};
        const en = e.get(key(periods[i], type.id)) ?? {};
        perType.unshift({
          period: periods[i]!,
          pointType: type.code,
          issued: num(mv.issued),
          spent: num(mv.spent),
          refunded: num(mv.refunded),
          expired: num(mv.expired),
          reversed: num(mv.reversed),
          adjusted: num(en.adjusted),
          netChange: num(en.net),
          outstanding,
          pendingOutstanding,
        });
        outstanding -= num(en.net);
        pendingOutstanding -= num(en.pending_net);
      }
      rows.push(...perType);
    }
    return rows.sort((a, b) => String(a.period).localeCompare(String(b.period)) || String(a.pointType).localeCompare(String(b.pointType)));
  }

  /**
   * Partner settlement: points issued and redeemed per API client and channel. A transaction
   * counts for the client and channel it is attributed to (`api_key_id`, `channel`, migration
   * 0012): a refund or clawback made later, by anyone, reduces the figures of the partner whose
   * request placed the original. Rows without a key are operators, the admin key and jobs.
   */
  private async settlement(programId: string, r: Range) {
    const { rows } = await rawQuery<Record<string, unknown>>(
      this.db,
      `select ${this.bucket('t.occurred_at')} as period, t.api_key_id, k.name as api_key_name, t.channel, pt.code,
         coalesce(sum(t.amount) filter (where t.kind = 'earn'), 0) as issued,
         coalesce(sum(t.amount) filter (where t.kind in ('reversal', 'cancel_pending')), 0) as reversed,
         coalesce(sum(t.amount) filter (where t.kind in ('spend', 'capture')), 0) as redeemed,
         coalesce(sum(t.amount) filter (where t.kind = 'refund'), 0) as refunded,
         coalesce(sum(case when t.status = 'debit' then -t.amount else t.amount end) filter (where t.kind = 'adjustment'), 0) as adjusted,
         count(*) as transactions
       from ledger_transactions t
       join point_types pt on pt.id = t.point_type_id
       left join api_keys k on k.id = t.api_key_id
       where t.program_id = $1 and t.occurred_at >= $2 and t.occurred_at < $5
         and t.kind in ('earn', 'reversal', 'cancel_pending', 'spend', 'capture', 'refund', 'adjustment')
       group by 1, 2, 3, 4, 5`,
      this.params(programId, r),
    );
    const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
    return rows
      .map((x) => {
        const [issued, reversed, redeemed, refunded] = [x.issued, x.reversed, x.redeemed, x.refunded].map(num) as [number, number, number, number];
        const who = { period: day(x.period), apiKeyId: text(x.api_key_id), apiKeyName: text(x.api_key_name), channel: text(x.channel), pointType: String(x.code) };
        return { ...who, issued, reversed, netIssued: issued - reversed, redeemed, refunded, netRedeemed: redeemed - refunded, adjusted: num(x.adjusted), transactions: num(x.transactions) };
      })
      .sort(
        (a, b) =>
          a.period.localeCompare(b.period) ||
          (a.apiKeyId ?? '~').localeCompare(b.apiKeyId ?? '~') ||
          (a.channel ?? '~').localeCompare(b.channel ?? '~') ||
          a.pointType.localeCompare(b.pointType),
      );
  }

  private async consumption(programId: string, r: Range) {
    const params = this.params(programId, r);
    const totals = await rawQuery<Record<string, unknown>>(
      this.db,
      `select ${this.bucket('t.occurred_at')} as period, pt.code,
         coalesce(sum(t.amount) filter (where t.kind = 'earn'), 0) as issued,
         coalesce(sum(t.amount) filter (where t.kind in ('spend', 'capture')), 0) as spent,
         coalesce(sum(t.amount) filter (where t.kind = 'expiry'), 0) as expired
       from ledger_transactions t join point_types pt on pt.id = t.point_type_id and pt.kind = 'redeemable'
       where t.program_id = $1 and t.occurred_at >= $2 and t.occurred_at < $5
       group by 1, 2`,
      params,
    );
    // Days from earning to spending: each lot a spend (or captured hold) drew from is one observation.
    const ages = await rawQuery<{ period: string; code: string; median: unknown }>(
      this.db,
      `select ${this.bucket('t.occurred_at')} as period, pt.code,
         percentile_cont(0.5) within group (order by extract(epoch from (t.occurred_at - l.earned_at)) / 86400.0) as median
       from ledger_transactions t
       join point_types pt on pt.id = t.point_type_id
       join lot_allocations a on a.member_id = t.member_id and a.transaction_id = t.id
       join lots l on l.member_id = a.member_id and l.id = a.lot_id
       where t.program_id = $1 and t.occurred_at >= $2 and t.occurred_at < $5
         and (t.kind = 'spend' or (t.kind = 'reserve' and t.status = 'captured'))
       group by 1, 2`,
      params,
    );
    const median = new Map(ages.rows.map((a) => [`${day(a.period)}|${a.code}`, a.median === null ? null : Math.round(Number(a.median) * 100) / 100]));
    return totals.rows
      .map((t) => {
        const issued = num(t.issued);
        const spent = num(t.spent);
        const expired = num(t.expired);
        return {
          period: day(t.period),
          pointType: String(t.code),
          issued,
          spent,
          expired,
          consumptionRate: ratio(spent, issued),
          medianDaysToSpend: median.get(`${day(t.period)}|${String(t.code)}`) ?? null,
          // the share of points leaving the program that left unspent
          breakage: ratio(expired, spent + expired),
        };
      })
      .sort((a, b) => a.period.localeCompare(b.period) || a.pointType.localeCompare(b.pointType));
  }

  private async rules(programId: string, r: Range) {
    const { rows } = await rawQuery<Record<string, unknown>>(
      this.db,
      `select ${this.bucket('t.occurred_at')} as period, x.kind, x.id as rule_id, er.name, pt.code as point_type,
         count(*) as awards, count(distinct t.member_id) as members, sum((x.amount)::bigint) as points
       from ledger_transactions t
       join point_types pt on pt.id = t.point_type_id
       cross join lateral jsonb_to_recordset(case when jsonb_typeof(t.details -> 'rules') = 'array' then t.details -> 'rules' else '[]'::jsonb end)
         as x(kind text, id text, amount numeric)
       left join earning_rules er on er.id = x.id
       where t.program_id = $1 and t.occurred_at >= $2 and t.occurred_at < $5 and t.kind = 'earn'
       group by 1, 2, 3, 4, 5 order by 1, 3, 5`,
      this.params(programId, r),
    );
    return rows.map((x) => ({
      period: day(x.period),
      kind: x.kind as string,
      ruleId: x.rule_id as string,
      name: (x.name as string | null) ?? null,
      pointType: x.point_type as string,
      awards: num(x.awards),
      members: num(x.members),
      points: num(x.points),
    }));
  }

  private async tasks(programId: string, r: Range) {
    const { rows } = await rawQuery<Record<string, unknown>>(
      this.db,
      `select ${this.bucket('p.completed_at')} as period, k.id, k.code, k.name, count(*) as completions, count(distinct p.member_id) as members
       from tasks k join task_progress p on p.task_id = k.id
       where k.program_id = $1 and p.completed_at >= $2 and p.completed_at < $5
       group by 1, 2, 3, 4 order by 1, 3`,
      this.params(programId, r),
    );
    return rows.map((x) => ({ period: day(x.period), taskId: x.id as string, code: x.code as string, name: x.name as string, completions: num(x.completions), members: num(x.members) }));
  }

  /** The distribution now (period null), and upgrades and downgrades per period from the tier history. */
  private async tiers(programId: string, r: Range) {
    const ladder = await this.ladderOf(programId);
    const now = await rawQuery<Record<string, unknown>>(
      this.db,
      // A member without a stored state is at the ladder's base tier: the tier path writes a
      // state only when a member first moves.
      `with counted as (
         select m.ladder_id, m.rank, count(*) as members from member_tiers m where m.program_id = $1 group by 1, 2
         union all
         select $2::text, $3::int, count(*) from members mm
         where $2::text is not null and mm.program_id = $1 and not exists (select 1 from member_tiers s where s.member_id = mm.id)
         having count(*) > 0)
       select c.ladder_id, c.rank, t.code, sum(c.members)::bigint as members
       from counted c left join tiers t on t.ladder_id = c.ladder_id and t.rank = c.rank and t.active
       group by 1, 2, 3 order by 1, 2`,
      [programId, ladder?.id ?? null, ladder?.baseRank ?? 0],
    );
    const moves = await rawQuery<Record<string, unknown>>(
      this.db,
      `select ${this.bucket('h.occurred_at')} as period, h.ladder_id, h.to_rank as rank, t.code,
         count(*) filter (where h.to_rank > h.from_rank) as upgrades, count(*) filter (where h.to_rank < h.from_rank) as downgrades
       from tier_history h left join tiers t on t.ladder_id = h.ladder_id and t.rank = h.to_rank and t.active
       where h.program_id = $1 and h.occurred_at >= $2 and h.occurred_at < $5
       group by 1, 2, 3, 4 order by 1, 2, 3`,
      this.params(programId, r),
    );
    return [
      ...now.rows.map((x) => ({ period: null, ladderId: x.ladder_id as string, tier: (x.code as string | null) ?? null, rank: num(x.rank), members: num(x.members), upgrades: null, downgrades: null })),
      ...moves.rows.map((x) => ({
        period: day(x.period),
        ladderId: x.ladder_id as string,
        tier: (x.code as string | null) ?? null,
        rank: num(x.rank),
        members: null,
        upgrades: num(x.upgrades),
        downgrades: num(x.downgrades),
      })),
    ];
  }

  /** Per benefit, of the entitlements granted in the period: how many were used at all, and the uses in the period. */
  private async benefits(programId: string, r: Range) {
    const { rows } = await rawQuery<Record<string, unknown>>(
      this.db,
      `with g as (
         select e.benefit_id, count(*) as granted,
           count(*) filter (where exists (select 1 from entitlement_uses u where u.entitlement_id = e.id)) as used
         from entitlements e where e.program_id = $1 and e.granted_at >= $2 and e.granted_at < $3 group by 1),
       u as (select benefit_id, count(*) as uses from entitlement_uses where program_id = $1 and used_at >= $2 and used_at < $3 group by 1)
       select b.id, b.code, b.name, coalesce(g.granted, 0) as granted, coalesce(g.used, 0) as used, coalesce(u.uses, 0) as uses
       from benefits b left join g on g.benefit_id = b.id left join u on u.benefit_id = b.id
       where b.program_id = $1 and (g.granted is not null or u.uses is not null) order by b.code`,
      [programId, r.start, r.end],
    );
    return rows.map((x) => ({
      benefitId: x.id as string,
      code: x.code as string,
      name: x.name as string,
      granted: num(x.granted),
      usedEntitlements: num(x.used),
      uses: num(x.uses),
      utilisation: ratio(num(x.used), num(x.granted)),
    }));
  }

  private async checkIns(programId: string, r: Range) {
    const { rows } = await rawQuery<Record<string, unknown>>(
      this.db,
      `select to_char(date_trunc($3, c.local_date::timestamp), 'YYYY-MM-DD') as period,
         count(*) filter (where c.kind = 'check_in') as check_ins, count(*) filter (where c.kind = 'make_up') as make_ups,
         count(distinct c.member_id) as members
       from check_ins c where c.program_id = $1 and c.local_date >= $2::date and c.local_date <= $4::date
       group by 1 order by 1`,
      [programId, r.from, r.unit, r.to],
    );
    const by = new Map(rows.map((x) => [day(x.period), x]));
    return this.periods(r).map((period) => {
      const x = by.get(period) ?? {};
      return { period, checkIns: num(x.check_ins), makeUps: num(x.make_ups), members: num(x.members) };
    });
  }

  /** Members by the longest streak they reached on a day of the period. */
  private async streaks(programId: string, r: Range) {
    const { rows } = await rawQuery<Record<string, unknown>>(
      this.db,
      `select s.streak, count(*) as members from (
         select member_id, max(streak) as streak from check_ins
         where program_id = $1 and local_date >= $2::date and local_date <= $3::date group by member_id) s
       group by 1 order by 1`,
      [programId, r.from, r.to],
    );
    return rows.map((x) => ({ streak: num(x.streak), members: num(x.members) }));
  }

  private async exchanges(programId: string, r: Range) {
    const { rows } = await rawQuery<Record<string, unknown>>(
      this.db,
      `select ${this.bucket('o.placed_at')} as period, i.id, i.name, i.category,
         count(distinct o.id) as orders, sum(l.quantity) as quantity, sum(l.quantity * l.unit_points) as points,
         count(distinct o.id) filter (where o.status in ('cancelled', 'refunded')) as cancelled
       from mall_orders o join mall_order_lines l on l.order_id = o.id join mall_items i on i.id = l.item_id
       where o.program_id = $1 and o.placed_at >= $2 and o.placed_at < $5
       group by 1, 2, 3, 4 order by 1, 5 desc, 2`,
      this.params(programId, r),
    );
    return rows.map((x) => ({
      period: day(x.period),
      itemId: x.id as string,
      name: x.name as string,
      category: (x.category as string | null) ?? null,
      orders: num(x.orders),
      quantity: num(x.quantity),
      points: num(x.points),
      cancelled: num(x.cancelled),
    }));
  }

  private async draws(programId: string, r: Range) {
    const { rows } = await rawQuery<Record<string, unknown>>(
      this.db,
      `select ${this.bucket('p.played_at')} as period, d.id, d.code, count(*) as plays, count(distinct p.member_id) as players,
         count(*) filter (where p.free) as free_plays, sum(p.cost_points) as points_spent,
         count(*) filter (where z.kind is not null and z.kind <> 'thanks') as prizes_won
       from draw_plays p join draws d on d.id = p.draw_id left join draw_prizes z on z.id = p.prize_id
       where p.program_id = $1 and p.played_at >= $2 and p.played_at < $5
       group by 1, 2, 3 order by 1, 3`,
      this.params(programId, r),
    );
    return rows.map((x) => ({
      period: day(x.period),
      drawId: x.id as string,
      code: x.code as string,
      plays: num(x.plays),
      players: num(x.players),
      freePlays: num(x.free_plays),
      pointsSpent: num(x.points_spent),
      prizesWon: num(x.prizes_won),
    }));
  }

  /** Active: a member with a behaviour event or a ledger operation of their own (not expiry or activation) in the period. */
  private async members(programId: string, r: Range) {
    const params = this.params(programId, r);
    const joined = await rawQuery<Record<string, unknown>>(
      this.db,
      `select ${this.bucket('m.joined_at')} as period, count(*) as n from members m
       where m.program_id = $1 and m.joined_at >= $2 and m.joined_at < $5 group by 1`,
      params,
    );
    const active = await rawQuery<Record<string, unknown>>(
      this.db,
      `select period, count(distinct member_id) as n from (
         select ${this.bucket('e.occurred_at')} as period, e.member_id from events e
         where e.program_id = $1 and e.occurred_at >= $2 and e.occurred_at < $5 and e.status <> 'rejected'
         union all
         select ${this.bucket('t.occurred_at')}, t.member_id from ledger_transactions t
         where t.program_id = $1 and t.occurred_at >= $2 and t.occurred_at < $5
           and t.kind not in ('expiry', 'activation', 'release')
       ) a group by 1`,
      params,
    );
    const before = await rawQuery<{ n: unknown }>(this.db, 'select count(*) as n from members where program_id = $1 and joined_at < $2', [programId, r.start]);
    const j = new Map(joined.rows.map((x) => [day(x.period), num(x.n)]));
    const a = new Map(active.rows.map((x) => [day(x.period), num(x.n)]));
    let total = num(before.rows[0]?.n);
    return this.periods(r).map((period) => {
      total += j.get(period) ?? 0;
      return { period, newMembers: j.get(period) ?? 0, activeMembers: a.get(period) ?? 0, totalMembers: total };
    });
  }
}

/** CSV per RFC 4180: a header of the columns, then one line per row; fields quoted when needed. */
export function toCsv(report: Report): string {
  const field = (v: Cell | undefined): string => {
    if (v === null || v === undefined) return '';
    const s = String(v);
    // a leading = + - @ would be a formula to a spreadsheet: prefix it (CSV injection)
    const safe = /^[=+\-@]/.test(s) && typeof v === 'string' ? `'${s}` : s;
    return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  const lines = [report.columns.join(','), ...report.rows.map((row) => report.columns.map((c) => field(row[c])).join(','))];
  return lines.join('\r\n') + '\r\n';
}
