import type { Kysely } from 'kysely';
import { DateTime } from 'luxon';
import type { ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { emitMessage } from '../../core/hooks.js';
import { addLocalDays, daysBetween, localDate } from '../../core/zoned-time.js';
import { rawQuery, type Executor, type Trx } from '../../db/database.js';
import { readProgramConfig, writeProgramConfig } from './program-config.js';
import type { DB } from '../../db/schema.js';
import type { LedgerService, PointTypesService } from '../ledger/index.js';
import type { Member, MembersService } from '../members/index.js';
import { normaliseSchedule, rewardFor, type Schedule, type ScheduleInput } from './checkin.schedule.js';
import { SIGNALS, ledgerKey, localId, type EngagementBus, type PaidReward } from './engagement.types.js';

export interface ScheduleView extends Schedule {
  version: number;
  updatedAt: Date;
}

export interface CheckIn {
  id: string;
  memberId: string;
  date: string;
  kind: 'check_in' | 'make_up';
  /** consecutive days ending on this day (a later make-up of an earlier gap repairs it) */
  streak: number;
  cycle: Schedule['cycle'];
  cycleDay: number;
  scheduleVersion: number;
  rewards: PaidReward[];
  cost: PaidReward | null;
  recordedAt: Date;
  /** true when the member had already checked in that day: this is the first result */
  alreadyCheckedIn: boolean;
}

export interface CheckinSummary {
  memberId: string;
  today: string;
  checkedInToday: boolean;
  currentStreak: number;
  longestStreak: number;
  totalDays: number;
  makeUps: { perMonth: number; usedThisMonth: number; remaining: number; cost: number; costPointType: string; windowDays: number };
  /** what checking in today (or tomorrow, when today is done) would pay */
  next: { date: string; streak: number; cycleDay: number; rewards: Array<{ pointType: string; amount: number }> } | null;
  checkIns: CheckIn[];
}

export type DayStatus = 'checked' | 'made_up' | 'missed' | 'today' | 'upcoming' | 'not_joined';

export interface CalendarDay {
  date: string;
  status: DayStatus;
  streak: number | null;
  /** paid (checked, made up) or what the day would pay if the streak goes on (today, upcoming) */
  rewards: Array<{ pointType: string; amount: number }>;
  projected: boolean;
  makeUpAllowed: boolean;
}

export interface Calendar {
  memberId: string;
  month: string;
  today: string;
  currentStreak: number;
  longestStreak: number;
  makeUps: CheckinSummary['makeUps'];
  days: CalendarDay[];
}

interface CheckInRow {
  id: string;
  member_id: string;
  local_date: string;
  kind: 'check_in' | 'make_up';
  streak: number;
  cycle_day: number;
  schedule_version: number;
  rewards: PaidReward[];
  cost: PaidReward | null;
  created_at: Date;
}

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/**
 * Daily check-in. One row per member and local day (the primary key): the database refuses a
 * second, and a member's check-ins and make-ups are serialised on the member's state row, so two
 * devices at once give one check-in and one reward; the second gets the first's result.
 */
export class CheckinService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly ledger: LedgerService,
    private readonly members: MembersService,
    private readonly pointTypes: PointTypesService,
    private readonly bus: EngagementBus,
  ) {}

  getSchedule(ctx: ProgramContext, exec: Executor = this.db): Promise<ScheduleView | null> {
    return readProgramConfig<Schedule>(exec, 'checkin_schedules', ctx.program.id);
  }

  async putSchedule(ctx: ProgramContext, input: ScheduleInput, trx: Trx): Promise<ScheduleView> {
    const schedule = normaliseSchedule(input);
    await this.pointTypes.get(ctx, schedule.pointType, trx);
    await this.pointTypes.get(ctx, schedule.makeUp.costPointType, trx);
    if (schedule.growth) await this.pointTypes.get(ctx, schedule.growth.pointType, trx);
    return writeProgramConfig(trx, ctx, 'checkin_schedules', 'checkin_schedule', schedule);
  }

  async checkIn(ctx: ProgramContext, memberRef: string, trx: Trx): Promise<CheckIn> {
    const member = await this.activeMember(ctx, memberRef, trx);
    const schedule = await this.enabledSchedule(ctx, trx);
    const now = ctx.clock.now();
    const today = localDate(now, ctx.program.timeZone);
    await this.lockState(ctx, trx, member.id, now);

    const existing = await this.row(trx, member.id, today);
    if (existing) return this.toCheckIn(existing, schedule, true);

    const previous = await this.row(trx, member.id, addLocalDays(today, -1));
    const streak = (previous?.streak ?? 0) + 1;
    const id = localId('chk', now);
    const day = rewardFor(schedule, today, streak);
    const rewards = await this.pay(ctx, trx, member.id, id, today, streak, day, schedule, 'check-in');
    await rawQuery(
      trx,
      `insert into check_ins (id, program_id, member_id, local_date, kind, streak, cycle_day, schedule_version, rewards, cost, recorded_on, created_at)
       values ($1, $2, $3, $4, 'check_in', $5, $6, $7, $8, null, $4, $9)`,
      [id, ctx.program.id, member.id, today, streak, day.cycleDay, schedule.version, JSON.stringify(rewards), now],
    );
    const longest = await this.recordDay(trx, member.id, streak, now);
    await this.bus.streak(trx, ctx, member.id, longest);
    await this.bus.behaviour(trx, ctx, member.id, { id, type: SIGNALS.checkIn, occurredAt: now, attributes: { streak, date: today } }, 0);
    await emitMessage(trx, ctx, 'checkin.completed', { checkInId: id, memberId: member.id, date: today, kind: 'check_in', streak, rewards }, `msg_${id}`);
    return {
      id, memberId: member.id, date: today, kind: 'check_in', streak, cycle: schedule.cycle, cycleDay: day.cycleDay,
      scheduleVersion: schedule.version, rewards, cost: null, recordedAt: now, alreadyCheckedIn: false,
    };
  }

  /** Make up a missed day: within the window, within the month's allowance, at the schedule's cost. */
  async makeUp(ctx: ProgramContext, memberRef: string, date: string, trx: Trx): Promise<CheckIn> {
    const member = await this.activeMember(ctx, memberRef, trx);
    const schedule = await this.enabledSchedule(ctx, trx);
    const rules = schedule.makeUp;
    const now = ctx.clock.now();
    const zone = ctx.program.timeZone;
    const today = localDate(now, zone);
    const refuse = (reason: string, message: string, extra: Record<string, unknown> = {}) =>
      new AppError('make_up_not_allowed', message, { reason, date, ...extra });
    if (!DateTime.fromISO(date, { zone: 'utc' }).isValid) throw new AppError('validation_failed', `date "${date}" is not a real date`, { field: 'date' });
    if (rules.perMonth === 0) throw refuse('disabled', 'this program does not offer make-up check-ins');
    if (date >= today) throw refuse('not_in_the_past', `only a past day can be made up; today is ${today}`, { today });
    const back = daysBetween(date, today);
    if (back > rules.windowDays) throw refuse('outside_window', `a missed day can be made up at most ${rules.windowDays} days later`, { windowDays: rules.windowDays });
    if (date < localDate(member.joinedAt, zone)) throw refuse('before_joining', 'the member had not joined on that day');

    await this.lockState(ctx, trx, member.id, now);
    if (await this.row(trx, member.id, date)) throw refuse('already_checked_in', `${date} is not a missed day`);
    const used = await this.makeUpsUsed(trx, member.id, today);
    if (used >= rules.perMonth) {
      throw new AppError('limit_reached', `${rules.perMonth} make-up check-ins per month are used up`, { limit: 'make_ups_per_month', perMonth: rules.perMonth, used });
    }
    const id = localId('chk', now);
    let cost: PaidReward | null = null;
    if (rules.cost > 0) {
      const spent = await this.ledger.spend(
        ctx,
        {
          member: member.id, pointType: rules.costPointType, amount: rules.cost,
          idempotencyKey: ledgerKey('check-in-make-up', date),
          source: { type: 'check_in_make_up', id },
          reason: `make-up check-in for ${date}`,
          details: { date, makeUpsUsedThisMonth: used + 1, perMonth: rules.perMonth },
        },
        trx,
      );
      cost = { pointType: rules.costPointType, amount: rules.cost, transactionId: spent.id };
    }
    const previous = await this.row(trx, member.id, addLocalDays(date, -1));
    const streak = (previous?.streak ?? 0) + 1;
    const day = rewardFor(schedule, date, streak);
    const rewards = rules.rewarded ? await this.pay(ctx, trx, member.id, id, date, streak, day, schedule, 'make-up') : [];
    await rawQuery(
      trx,
      `insert into check_ins (id, program_id, member_id, local_date, kind, streak, cycle_day, schedule_version, rewards, cost, recorded_on, created_at)
       values ($1, $2, $3, $4, 'make_up', $5, $6, $7, $8, $9, $10, $11)`,
      [id, ctx.program.id, member.id, date, streak, day.cycleDay, schedule.version, JSON.stringify(rewards), cost ? JSON.stringify(cost) : null, today, now],
    );
    const repaired = await this.repairRun(trx, member.id, date, streak, today);
    const longest = await this.recordDay(trx, member.id, repaired, now);
    await this.bus.streak(trx, ctx, member.id, longest);
    await emitMessage(trx, ctx, 'checkin.completed', { checkInId: id, memberId: member.id, date, kind: 'make_up', streak: repaired, rewards }, `msg_${id}`);
    return {
      id, memberId: member.id, date, kind: 'make_up', streak, cycle: schedule.cycle, cycleDay: day.cycleDay,
      scheduleVersion: schedule.version, rewards, cost, recordedAt: now, alreadyCheckedIn: false,
    };
  }

  async summary(ctx: ProgramContext, memberRef: string, range: { from?: string | undefined; to?: string | undefined }): Promise<CheckinSummary> {
    const member = await this.members.get(ctx, memberRef);
    const schedule = await this.getSchedule(ctx);
    const today = localDate(ctx.clock.now(), ctx.program.timeZone);
    const to = range.to ?? today;
    const from = range.from ?? addLocalDays(to, -30);
    if (daysBetween(from, to) < 0 || daysBetween(from, to) > 366) {
      throw new AppError('validation_failed', 'from must be before to, at most 366 days apart', { field: 'from' });
    }
    const rows = await this.rows(this.db, member.id, from < addLocalDays(today, -1) ? from : addLocalDays(today, -1), to > today ? to : today);
    const byDate = new Map(rows.map((r) => [r.local_date, r]));
    const state = await this.state(this.db, member.id);
    const current = this.currentStreak(byDate, today);
    const todayRow = byDate.get(today);
    let next: CheckinSummary['next'] = null;
    if (schedule?.enabled) {
      const date = todayRow ? addLocalDays(today, 1) : today;
      const streak = current + 1;
      const day = rewardFor(schedule, date, streak);
      next = { date, streak, cycleDay: day.cycleDay, rewards: this.amounts(schedule, day) };
    }
    return {
      memberId: member.id,
      today,
      checkedInToday: todayRow !== undefined,
      currentStreak: current,
      longestStreak: state.longest,
      totalDays: state.total,
      makeUps: await this.makeUpAllowance(this.db, member.id, schedule, today),
      next,
      checkIns: rows
        .filter((r) => r.local_date >= from && r.local_date <= to)
        .reverse()
        .map((r) => this.toCheckIn(r, schedule, false)),
    };
  }

  async calendar(ctx: ProgramContext, memberRef: string, month: string | undefined): Promise<Calendar> {
    const member = await this.members.get(ctx, memberRef);
    const schedule = await this.getSchedule(ctx);
    const zone = ctx.program.timeZone;
    const today = localDate(ctx.clock.now(), zone);
    const m = month ?? today.slice(0, 7);
    if (!MONTH.test(m)) throw new AppError('validation_failed', `month "${m}" is not YYYY-MM`, { field: 'month' });
    const first = `${m}-01`;
    const length = DateTime.fromISO(first, { zone: 'utc' }).daysInMonth!;
    const last = addLocalDays(first, length - 1);
    const rows = await this.rows(this.db, member.id, first < addLocalDays(today, -1) ? first : addLocalDays(today, -1), last > today ? last : today);
    const byDate = new Map(rows.map((r) => [r.local_date, r]));
    const state = await this.state(this.db, member.id);
    const current = this.currentStreak(byDate, today);
    const makeUps = await this.makeUpAllowance(this.db, member.id, schedule, today);
    const joined = localDate(member.joinedAt, zone);
    // The streak a day would reach if the member checks in every day from today on.
    const todayStreak = byDate.get(today)?.streak ?? current + 1;
    const days: CalendarDay[] = [];
    for (let i = 0; i < length; i++) {
      const date = addLocalDays(first, i);
      const row = byDate.get(date);
      if (row) {
        days.push({
          date, status: row.kind === 'make_up' ? 'made_up' : 'checked', streak: row.streak,
          rewards: row.rewards.map((r) => ({ pointType: r.pointType, amount: r.amount })), projected: false, makeUpAllowed: false,
        });
        continue;
      }
      if (date >= today) {
        const streak = todayStreak + daysBetween(today, date);
        const rewards = schedule?.enabled ? this.amounts(schedule, rewardFor(schedule, date, streak)) : [];
        days.push({ date, status: date === today ? 'today' : 'upcoming', streak: null, rewards, projected: true, makeUpAllowed: false });
        continue;
      }
      if (date < joined) {
        days.push({ date, status: 'not_joined', streak: null, rewards: [], projected: false, makeUpAllowed: false });
        continue;
      }
      const allowed = !!schedule?.enabled && makeUps.remaining > 0 && daysBetween(date, today) <= makeUps.windowDays;
      days.push({ date, status: 'missed', streak: null, rewards: [], projected: false, makeUpAllowed: allowed });
    }
    return { memberId: member.id, month: m, today, currentStreak: current, longestStreak: state.longest, makeUps, days };
  }

  /** The longest streak a member has reached (for medals). */
  async longestStreak(exec: Executor, memberId: string): Promise<number> {
    return (await this.state(exec, memberId)).longest;
  }

  // ---------------------------------------------------------------- internals

  private async activeMember(ctx: ProgramContext, ref: string, trx: Trx): Promise<Member> {
    const member = await this.members.get(ctx, ref, trx);
    if (member.status !== 'active') {
      throw new AppError('member_inactive', `member ${member.id} is ${member.status}: it cannot check in`, { status: member.status });
    }
    return member;
  }

  private async enabledSchedule(ctx: ProgramContext, trx: Trx): Promise<ScheduleView> {
    const schedule = await this.getSchedule(ctx, trx);
    if (!schedule || !schedule.enabled) throw new AppError('checkin_disabled', 'this program has no active check-in schedule');
    return schedule;
  }

  /** The member's state row, created on first use and locked: a member's check-ins run one at a time. */
  private async lockState(ctx: ProgramContext, trx: Trx, memberId: string, now: Date): Promise<void> {
    await rawQuery(
      trx,
      `insert into checkin_states (member_id, program_id, updated_at) values ($1, $2, $3) on conflict (member_id) do nothing`,
      [memberId, ctx.program.id, now],
    );
    await rawQuery(trx, 'select member_id from checkin_states where member_id = $1 for update', [memberId]);
  }

  private async recordDay(trx: Trx, memberId: string, streak: number, now: Date): Promise<number> {
    const { rows } = await rawQuery<{ longest_streak: number }>(
      trx,
      `update checkin_states set total_days = total_days + 1, longest_streak = greatest(longest_streak, $2), updated_at = $3
       where member_id = $1 returning longest_streak`,
      [memberId, streak, now],
    );
    if (!rows[0]) throw new Error(`check-in state of ${memberId} vanished under its lock`);
    return rows[0].longest_streak;
  }

  /**
   * After a make-up of `date` (now with `streak`), the consecutive days that follow carry on from
   * it. Returns the longest streak of the repaired run. What those days paid stays as paid.
   */
  private async repairRun(trx: Trx, memberId: string, date: string, streak: number, today: string): Promise<number> {
    const after = await this.rows(trx, memberId, addLocalDays(date, 1), today);
    const dates: string[] = [];
    const streaks: number[] = [];
    let expected = addLocalDays(date, 1);
    let s = streak;
    for (const r of after) {
      if (r.local_date !== expected) break;
      s += 1;
      if (r.streak !== s) {
        dates.push(r.local_date);
        streaks.push(s);
      }
      expected = addLocalDays(expected, 1);
    }
    if (dates.length > 0) {
      await rawQuery(
        trx,
        `update check_ins c set streak = u.streak from unnest($2::date[], $3::int[]) as u(local_date, streak)
         where c.member_id = $1 and c.local_date = u.local_date`,
        [memberId, dates, streaks],
      );
    }
    return s;
  }

  private async pay(
    ctx: ProgramContext, trx: Trx, memberId: string, checkInId: string, date: string, streak: number,
    day: ReturnType<typeof rewardFor>, schedule: ScheduleView, what: 'check-in' | 'make-up',
  ): Promise<PaidReward[]> {
    const details = {
      date, streak, cycle: schedule.cycle, cycleDay: day.cycleDay, scheduleEntry: day.entry,
      scheduleVersion: schedule.version, kind: what,
    };
    const out: PaidReward[] = [];
    const credits = this.amounts(schedule, day);
    for (const c of credits) {
      const txn = await this.ledger.earn(
        ctx,
        {
          member: memberId, pointType: c.pointType, amount: c.amount,
          idempotencyKey: ledgerKey('check-in', date, c.pointType),
          source: { type: 'check_in', id: checkInId },
          reason: `${what === 'make-up' ? 'make-up check-in' : 'check-in'} ${date}, day ${day.cycleDay} of the ${schedule.cycle} cycle (streak ${streak})`,
          details,
        },
        trx,
      );
      out.push({ ...c, transactionId: txn.id });
    }
    return out;
  }

  private amounts(schedule: Schedule, day: ReturnType<typeof rewardFor>): Array<{ pointType: string; amount: number }> {
    const out: Array<{ pointType: string; amount: number }> = [];
    if (day.points > 0) out.push({ pointType: schedule.pointType, amount: day.points });
    if (schedule.growth && day.growth > 0) out.push({ pointType: schedule.growth.pointType, amount: day.growth });
    return out;
  }

  private currentStreak(byDate: Map<string, CheckInRow>, today: string): number {
    return (byDate.get(today) ?? byDate.get(addLocalDays(today, -1)))?.streak ?? 0;
  }

  private async makeUpsUsed(exec: Executor, memberId: string, today: string): Promise<number> {
    const first = `${today.slice(0, 7)}-01`;
    const { rows } = await rawQuery<{ n: number }>(
      exec,
      `select count(*)::int as n from check_ins where member_id = $1 and kind = 'make_up' and recorded_on >= $2::date and recorded_on < ($2::date + interval '1 month')`,
      [memberId, first],
    );
    return rows[0]?.n ?? 0;
  }

  private async makeUpAllowance(exec: Executor, memberId: string, schedule: Schedule | null, today: string): Promise<CheckinSummary['makeUps']> {
    const rules = schedule?.makeUp ?? { perMonth: 0, windowDays: 0, cost: 0, costPointType: 'points', rewarded: false };
    const used = await this.makeUpsUsed(exec, memberId, today);
    return {
      perMonth: rules.perMonth, usedThisMonth: used, remaining: Math.max(rules.perMonth - used, 0),
      cost: rules.cost, costPointType: rules.costPointType, windowDays: rules.windowDays,
    };
  }

  private async state(exec: Executor, memberId: string): Promise<{ longest: number; total: number }> {
    const { rows } = await rawQuery<{ longest_streak: number; total_days: number }>(
      exec,
      'select longest_streak, total_days from checkin_states where member_id = $1',
      [memberId],
    );
    return { longest: rows[0]?.longest_streak ?? 0, total: rows[0]?.total_days ?? 0 };
  }

  private async row(exec: Executor, memberId: string, date: string): Promise<CheckInRow | undefined> {
    const { rows } = await rawQuery<CheckInRow>(exec, 'select * from check_ins where member_id = $1 and local_date = $2', [memberId, date]);
    return rows[0];
  }

  private async rows(exec: Executor, memberId: string, from: string, to: string): Promise<CheckInRow[]> {
    const { rows } = await rawQuery<CheckInRow>(
      exec,
      'select * from check_ins where member_id = $1 and local_date between $2 and $3 order by local_date',
      [memberId, from, to],
    );
    return rows;
  }

  private toCheckIn(r: CheckInRow, schedule: Schedule | null, again: boolean): CheckIn {
    return {
      id: r.id, memberId: r.member_id, date: r.local_date, kind: r.kind, streak: r.streak,
      cycle: schedule?.cycle ?? 'continuous', cycleDay: r.cycle_day, scheduleVersion: r.schedule_version,
      rewards: r.rewards, cost: r.cost, recordedAt: r.created_at, alreadyCheckedIn: again,
    };
  }
}
