import { DateTime } from 'luxon';
import type { Kysely } from 'kysely';
import { fixedClock } from '../../core/clock.js';
import type { ProgramContext, ProgramSnapshot } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { inTransaction, rawQuery } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import type { SandboxClock } from '../../jobs/sandbox-clock.js';
import type { EventsService } from '../earning/index.js';
import type { EngagementService } from '../engagement/index.js';
import type { LedgerQueries, LedgerService } from '../ledger/index.js';
import type { MembersService } from '../members/index.js';

/** Members created, and events ingested, per transaction. */
const STEP = 100;

/**
 * Forward simulation of a sandbox program: synthetic members behave by simple parameters, drawn
 * from a seeded generator (the same seed gives the same behaviour), and the test clock advances
 * day by day through the real services (events, check-ins, spends, and every job due on the way:
 * expiry, tier evaluation, grants), with the program's figures read at the end of each month.
 */
export interface SimulationParams {
  members: number;
  months: number;
  seed: number;
  /** mean purchases per member per month (Poisson) */
  purchasesPerMonth: number;
  /** purchase amount in minor units, uniform in [min, max] */
  amount: { min: number; max: number };
  /** the chance a member checks in on a given day (needs the check-in schedule enabled) */
  checkInProbability: number;
  /** the chance a member redeems at the end of a month, and the share of the balance redeemed */
  redeemProbability: number;
  redeemShare: number;
  /** the point type redeemed and reported as liability */
  pointType: string;
  /** the event type purchases are reported as, with `amount` (and `category` when given) */
  eventType: string;
  channel: string | null;
}

export interface MonthFigures {
  month: number;
  from: string;
  to: string;
  members: number;
  purchases: number;
  purchaseAmount: number;
  checkIns: number;
  /** points the events awarded this month, per point type */
  issued: Record<string, number>;
  redemptions: number;
  redeemed: number;
  /** outstanding (available + pending) at the end of the month, per point type */
  liability: Record<string, number>;
  expired: Record<string, number>;
  tiers: Record<string, number>;
}

export interface SimulationResult {
  params: SimulationParams;
  start: string;
  end: string;
  months: MonthFigures[];
}

export interface SimulationDeps {
  db: Kysely<DB>;
  clock: SandboxClock;
  members: MembersService;
  events: EventsService;
  engagement: EngagementService;
  ledger: LedgerService;
  ledgerQueries: LedgerQueries;
}

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function poisson(rand: () => number, mean: number): number {
  // Knuth: fine for the small means a member's monthly behaviour has.
  const limit = Math.exp(-mean);
  let k = 0;
  let p = rand();
  while (p > limit) {
    k++;
    p *= rand();
  }
  return k;
}

export async function simulate(
  deps: SimulationDeps,
  program: ProgramSnapshot,
  startAt: Date,
  runId: string,
  params: SimulationParams,
  baseTier: string | null,
  step: (done: number, total: number) => Promise<boolean>,
): Promise<SimulationResult> {
  if (program.mode !== 'sandbox') throw new AppError('not_sandbox', 'a forward simulation runs on a sandbox program (its test clock advances)');
  const rand = prng(params.seed);
  const zone = program.timeZone;
  const ctxAt = (at: Date): ProgramContext => ({ program, clock: fixedClock(at), actor: { type: 'system', job: 'whatif.simulation' } });
  const start = DateTime.fromJSDate(startAt, { zone });
  const end = start.plus({ months: params.months });
  const totalDays = Math.round(end.diff(start, 'days').days);
  const prefix = `sim${params.seed}-`;

  // Small transactions throughout: on the embedded engine a transaction holds its one session,
  // and the API must keep answering while a simulation runs beside it.
  const ids: string[] = [];
  for (let from = 0; from < params.members; from += STEP) {
    await inTransaction(deps.db, async (trx) => {
      for (let i = from; i < Math.min(params.members, from + STEP); i++) {
        const m = await deps.members.create(ctxAt(startAt), { externalId: `${prefix}${i + 1}`, joinedAt: startAt.toISOString() }, trx);
        ids.push(m.id);
      }
    });
    // A cancel is heard between chunks of members too: ten thousand of them take a while.
    if (!(await step(0, totalDays))) return { params, start: start.toISO()!, end: end.toISO()!, months: [] };
  }

  const months: MonthFigures[] = [];
  let checkInsOn = params.checkInProbability > 0;
  let eventSeq = 0;
  let day = 0;
  for (let month = 0; month < params.months; month++) {
    const mStart = start.plus({ months: month });
    const mEnd = start.plus({ months: month + 1 });
    const days = Math.round(mEnd.diff(mStart, 'days').days);
    // The month's behaviour is drawn up front, member by member, so it depends on the seed only.
    const plan: Array<Array<{ member: number; amount: number }>> = Array.from({ length: days }, () => []);
    for (let i = 0; i < ids.length; i++) {
      const n = poisson(rand, params.purchasesPerMonth);
      for (let k = 0; k < n; k++) {
        const d = Math.floor(rand() * days);
        plan[d]!.push({ member: i, amount: params.amount.min + Math.floor(rand() * (params.amount.max - params.amount.min + 1)) });
      }
    }
    const figures: MonthFigures = { month: month + 1, from: mStart.toISO()!, to: mEnd.toISO()!, members: ids.length, purchases: 0, purchaseAmount: 0, checkIns: 0, issued: {}, redemptions: 0, redeemed: 0, liability: {}, expired: {}, tiers: {} };
    for (let d = 0; d < days; d++) {
      const at = mStart.plus({ days: d, hours: 12 }).toJSDate();
      await deps.clock.advance(program.id, { to: at.toISOString() });
      const ctx = ctxAt(at);
      const todays = plan[d]!;
      for (let i = 0; i < todays.length; i += STEP) {
        const batch = todays.slice(i, i + STEP).map((p) => ({
          eventId: `${prefix}e${++eventSeq}`,
          member: ids[p.member]!,
          type: params.eventType,
          occurredAt: at.toISOString(),
          channel: params.channel,
          attributes: { amount: p.amount },
        }));
        for (const r of await deps.events.ingestBatch(ctx, batch)) {
          if (r.status === 'invalid') throw new AppError('validation_failed', `simulated event refused: ${r.error?.message ?? r.reason}`, { event: r.eventId });
          for (const [pt, v] of Object.entries(r.totals)) figures.issued[pt] = (figures.issued[pt] ?? 0) + v;
        }
        figures.purchases += batch.length;
        for (const b of batch) figures.purchaseAmount += b.attributes.amount;
      }
      if (checkInsOn) {
        for (const id of ids) {
          if (rand() >= params.checkInProbability) continue;
          try {
            await inTransaction(deps.db, (trx) => deps.engagement.checkin.checkIn(ctx, id, trx));
            figures.checkIns++;
          } catch (err) {
            // No check-in schedule on this program: the parameter has nothing to drive.
            if ((err as AppError).code === 'checkin_disabled') checkInsOn = false;
            else throw err;
          }
        }
      }
      day++;
      if (!(await step(day, totalDays))) return { params, start: start.toISO()!, end: end.toISO()!, months };
    }
    // The month ends: members redeem, then the figures are read as of its last instant.
    await deps.clock.advance(program.id, { to: mEnd.toJSDate().toISOString() });
    const closing = ctxAt(new Date(mEnd.toMillis() - 1));
    for (let i = 0; i < ids.length; i++) {
      if (rand() >= params.redeemProbability) continue;
      const balance = (await deps.ledgerQueries.balances(closing, ids[i]!)).find((b) => b.pointType === params.pointType);
      const amount = Math.floor((balance?.available ?? 0) * params.redeemShare);
      if (amount <= 0) continue;
      await deps.ledger.spend(closing, {
        member: ids[i]!,
        pointType: params.pointType,
        amount,
        idempotencyKey: `whatif:${runId}:${month + 1}:${i}`,
        source: { type: 'whatif_simulation', id: runId },
        reason: 'simulated redemption',
      });
      figures.redemptions++;
      figures.redeemed += amount;
    }
    await monthEnd(deps.db, program.id, ids, baseTier, figures);
    months.push(figures);
  }
  return { params, start: start.toISO()!, end: end.toISO()!, months };
}

/** Liability, expiry and tiers of the simulated members at the end of a month. */
async function monthEnd(db: Kysely<DB>, programId: string, ids: string[], baseTier: string | null, into: MonthFigures): Promise<void> {
  // Read-only figures over the ledger's and the tiers module's tables, as the reports module reads them.
  const { rows } = await rawQuery<{ code: string; outstanding: number; expired: number }>(
    db,
    `select pt.code, coalesce(sum(a.available + a.pending), 0)::bigint as outstanding, coalesce(sum(a.expired), 0)::bigint as expired
     from point_types pt left join accounts a on a.point_type_id = pt.id and a.member_id = any($2::text[])
     where pt.program_id = $1 group by pt.code order by pt.code`,
    [programId, ids],
  );
  for (const r of rows) {
    into.liability[r.code] = Number(r.outstanding);
    into.expired[r.code] = Number(r.expired);
  }
  const tiers = await rawQuery<{ code: string | null; n: number }>(
    db,
    `select t.code, count(*)::int as n from unnest($2::text[]) m(id)
     left join member_tiers mt on mt.member_id = m.id
     left join tiers t on t.ladder_id = mt.ladder_id and t.rank = mt.rank and t.active
     where $1::text is not null group by t.code order by t.code`,
    [programId, ids],
  );
  // A member the ladder has not seen yet holds its base tier.
  for (const r of tiers.rows) into.tiers[r.code ?? baseTier ?? 'none'] = (into.tiers[r.code ?? baseTier ?? 'none'] ?? 0) + r.n;
}
