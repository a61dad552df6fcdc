import type { Kysely } from 'kysely';
import { fixedClock } from '../../core/clock.js';
import type { ProgramContext, ProgramSnapshot } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { emitMessages } from '../../core/hooks.js';
import { inZone, localDate } from '../../core/zoned-time.js';
import { inTransaction, rawQuery, type Trx } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import type { JobDefinition } from '../../jobs/job.js';
import type { PrivilegesService } from '../benefits/index.js';
import type { LedgerService } from '../ledger/index.js';
import type { TiersService } from '../tiers/index.js';

/** At most this many days are caught up in one run (a live program long asleep). */
const MAX_DAYS = 400;

function systemCtx(program: ProgramSnapshot, asOf: Date, job: string): ProgramContext {
  return { program, clock: fixedClock(asOf), actor: { type: 'system', job } };
}

/** The first local midnight strictly after `after`. */
function nextMidnight(after: Date, zone: string): Date {
  return inZone(after, zone).startOf('day').plus({ days: 1 }).toJSDate();
}

export interface PlanJobDeps {
  ledger: LedgerService;
  privileges: PrivilegesService;
  tiers: TiersService;
}

/**
 * Plans on the program clock: subscriptions whose period ended expire (set-based; privileges
 * bound to the plan leave with them), and each local day of an active plan credits growth
 * (one set-based ledger batch per day, keyed by subscription and date) while a lapsed plan
 * takes growth away, never below zero.
 */
export function planJobs(deps: PlanJobDeps): JobDefinition[] {
  return [
    {
      // Before privilege grants at the same instant: a plan that ends at a month start gets no new quota.
      name: 'plans.expire',
      order: 50,
      everyMs: 60_000,
      nextDue: async (db, program, after, until) => {
        const { rows } = await rawQuery<{ at: Date | null }>(
          db,
          `select min(current_period_end) as at from subscriptions where program_id = $1 and status <> 'expired' and current_period_end > $2 and current_period_end <= $3`,
          [program.id, after, until],
        );
        return rows[0]?.at ?? null;
      },
      run: async ({ db, program, asOf }) => {
        const ctx = systemCtx(program, asOf, 'plans.expire');
        const expired = await inTransaction(db, (trx) => expire(trx, ctx, deps.privileges));
        return { expired };
      },
    },
    {
      name: 'plans.growth',
      order: 52,
      everyMs: 10 * 60_000,
      nextDue: async (db, program, after, until) => {
        const { rows } = await rawQuery<{ any: boolean }>(
          db,
          `select exists (select 1 from subscriptions s join plans p on p.id = s.plan_id
             where s.program_id = $1 and (p.growth_per_day > 0 or p.growth_loss_per_day > 0)) as any`,
          [program.id],
        );
        if (!rows[0]?.any) return null;
        const at = nextMidnight(after, program.timeZone);
        return at.getTime() <= until.getTime() ? at : null;
      },
      run: ({ db, program, asOf }) => growthDays(db, program, asOf, deps),
    },
  ];
}

async function expire(trx: Trx, ctx: ProgramContext, privileges: PrivilegesService): Promise<number> {
  const now = ctx.clock.now();
  const { rows } = await rawQuery<{ id: string; member_id: string; code: string; started_at: Date; current_period_end: Date; cancel_at_period_end: boolean }>(
    trx,
    `with e as (
       update subscriptions s set status = 'expired', ended_at = s.current_period_end, updated_at = $2
       where s.program_id = $1 and s.status <> 'expired' and s.current_period_end <= $2
       returning s.id, s.member_id, s.plan_id, s.started_at, s.current_period_end, s.cancel_at_period_end)
     select e.id, e.member_id, p.code, e.started_at, e.current_period_end, e.cancel_at_period_end from e join plans p on p.id = e.plan_id order by e.id`,
    [ctx.program.id, now],
  );
  if (!rows.length) return 0;
  await privileges.move(
    trx,
    ctx,
    rows.map((r) => ({ memberId: r.member_id, leave: [{ type: 'plan' as const, code: r.code }], enter: [], reason: `plan ${r.code} expired` })),
  );
  await emitMessages(
    trx,
    ctx,
    'plan.subscription_expired',
    rows.map((r) => ({
      messageId: `msg_plan_expired_${r.id}_${r.current_period_end.getTime()}`,
      payload: { subscriptionId: r.id, memberId: r.member_id, plan: r.code, status: 'expired', endedAt: r.current_period_end, cancelled: r.cancel_at_period_end },
    })),
  );
  return rows.length;
}

/** Every local midnight in (growth_through, asOf], in order: the day before it is credited or lost. */
async function growthDays(db: Kysely<DB>, program: ProgramSnapshot, asOf: Date, deps: PlanJobDeps): Promise<Record<string, unknown>> {
  const { rows } = await rawQuery<{ growth_through: Date | null; first: Date | null }>(
    db,
    `select (select growth_through from plan_job_state where program_id = $1) as growth_through,
            (select min(started_at) from subscriptions where program_id = $1) as first`,
    [program.id],
  );
  const start = rows[0]?.growth_through ?? rows[0]?.first;
  if (!start) return { days: 0 };
  let midnight = nextMidnight(rows[0]?.growth_through ?? inZone(start, program.timeZone).startOf('day').toJSDate(), program.timeZone);
  const totals = { days: 0, credited: 0, lost: 0 };
  for (; midnight.getTime() <= asOf.getTime() && totals.days < MAX_DAYS; midnight = nextMidnight(midnight, program.timeZone)) {
    const ctx = systemCtx(program, midnight, 'plans.growth');
    totals.credited += await credit(db, ctx, deps);
    totals.lost += await lose(db, ctx, deps);
    await rawQuery(
      db,
      `insert into plan_job_state (program_id, growth_through) values ($1, $2)
       on conflict (program_id) do update set growth_through = excluded.growth_through`,
      [program.id, midnight],
    );
    totals.days++;
  }
  return totals;
}

/** Tier metrics fed by a point type: plan growth counts toward tiers as awarded growth does. */
async function metricsOf(db: Kysely<DB> | Trx, tiers: TiersService, programId: string, pointType: string): Promise<string[]> {
  const ladder = await tiers.config.ladder(programId, db);
  return (ladder?.metrics ?? []).filter((m) => m.source.kind === 'pointType' && m.source.pointType === pointType).map((m) => m.code);
}

/** The day that ended at the context's midnight, for every subscription active at its end. */
async function credit(db: Kysely<DB>, ctx: ProgramContext, deps: PlanJobDeps): Promise<number> {
  const midnight = ctx.clock.now();
  const day = localDate(new Date(midnight.getTime() - 1), ctx.program.timeZone);
  return inTransaction(db, async (trx) => {
    const { rows } = await rawQuery<{ id: string; member_id: string; plan_id: string; code: string; point_type: string; amount: string }>(
      trx,
      `select s.id, s.member_id, p.id as plan_id, p.code, p.growth_point_type as point_type, p.growth_per_day as amount
       from subscriptions s join plans p on p.id = s.plan_id join members m on m.id = s.member_id and m.status = 'active'
       where s.program_id = $1 and p.growth_per_day > 0 and s.started_at < $2 and coalesce(s.ended_at, s.current_period_end) >= $2
       order by s.member_id, s.id`,
      [ctx.program.id, midnight],
    );
    if (!rows.length) return 0;
    const result = await deps.ledger.earnBatch(
      ctx,
      rows.map((r) => ({
        memberId: r.member_id,
        pointType: r.point_type,
        amount: Number(r.amount),
        idempotencyKey: `plan-growth:${r.id}:${day}`,
        source: { type: 'subscription', id: r.id },
        reason: `plan ${r.code}, ${day}`,
      })),
      trx,
    );
    let n = 0;
    for (const [i, r] of rows.entries()) {
      if (!result.results[i]) continue; // credited by an earlier run
      n++;
      const metrics = await metricsOf(trx, deps.tiers, ctx.program.id, r.point_type);
      if (metrics.length) {
        await deps.tiers.contribute(trx, ctx, r.member_id, metrics.map((metric) => ({ metric, date: day, value: Number(r.amount) })), { cause: 'plan', causeId: r.id });
      }
    }
    return n;
  });
}

/**
 * The day that ended at the context's midnight, for members whose plan had lapsed by then and
 * who hold no subscription of it: growth taken away, at most what they have.
 */
async function lose(db: Kysely<DB>, ctx: ProgramContext, deps: PlanJobDeps): Promise<number> {
  const midnight = ctx.clock.now();
  const day = localDate(new Date(midnight.getTime() - 1), ctx.program.timeZone);
  const { rows } = await rawQuery<{ member_id: string; plan_id: string; code: string; point_type: string; amount: string }>(
    db,
    `select distinct s.member_id, p.id as plan_id, p.code, p.growth_point_type as point_type, p.growth_loss_per_day as amount
     from subscriptions s join plans p on p.id = s.plan_id join members m on m.id = s.member_id and m.status = 'active'
     where s.program_id = $1 and p.growth_loss_per_day > 0 and coalesce(s.ended_at, s.current_period_end) < $2
       and not exists (select 1 from subscriptions o where o.member_id = s.member_id and o.plan_id = s.plan_id
                       and o.started_at < $2 and coalesce(o.ended_at, o.current_period_end) >= $2)
     order by s.member_id, p.id`,
    [ctx.program.id, midnight],
  );
  let lost = 0;
  for (const r of rows) {
    let amount = Number(r.amount);
    // Never below zero: a loss larger than the balance takes what is there (one retry with that amount).
    for (let attempt = 0; attempt < 2 && amount > 0; attempt++) {
      try {
        const taken = amount;
        const replayed = await inTransaction(db, async (trx) => {
          const txn = await deps.ledger.ruleAdjust(
            ctx,
            { member: r.member_id, pointType: r.point_type, amount: -taken, idempotencyKey: `plan-lapse:${r.member_id}:${r.plan_id}:${day}`, source: { type: 'plan', id: r.plan_id }, reason: `plan ${r.code} lapsed, ${day}` },
            trx,
          );
          if (txn.replayed) return true;
          const metrics = await metricsOf(trx, deps.tiers, ctx.program.id, r.point_type);
          if (metrics.length) {
            await deps.tiers.contribute(trx, ctx, r.member_id, metrics.map((metric) => ({ metric, date: day, value: -taken })), { cause: 'plan_lapsed', causeId: r.plan_id });
          }
          return false;
        });
        if (!replayed) lost += taken;
        break;
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        const available = (err.details as { available?: number } | undefined)?.available;
        if (err.code !== 'insufficient_points' || !available || available <= 0) break;
        amount = Math.min(amount, available);
      }
    }
  }
  return lost;
}
