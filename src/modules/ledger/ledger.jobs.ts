import type { Kysely } from 'kysely';
import type { ProgramContext, ProgramSnapshot } from '../../core/context.js';
import { fixedClock } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import { inTransaction, rawQuery, type Trx } from '../../db/database.js';
import { memberRangeCuts, rangesOf } from '../../db/member-ranges.js';
import type { DB } from '../../db/schema.js';
import type { JobDefinition, JobRunContext } from '../../jobs/job.js';
import type { LedgerService } from './ledger.service.js';
import type { PointTypesService } from './point-types.service.js';

/** Accounts handled per database transaction by the set-based sweeps. */
const BATCH_ACCOUNTS = 5_000;

type Sweep = 'expiry' | 'inactivity';

export interface SweepOptions {
  /**
   * Member-id ranges swept concurrently, each on its own connection. One set-based statement
   * uses one core; ranges are disjoint, so walkers never wait on each other's locks. The
   * embedded engine has one session: 1 there.
   */
  walkers?: number;
  progress?: JobRunContext['progress'];
}

interface AccountKey {
  member_id: string;
  point_type_id: string;
}

/**
 * The next accounts with work, after ($3, $4) and before member $5 (null: no end), in key order.
 * Each query gets $1 program, $2 asOf, then its own parameters from $6.
 */
type NextAccounts = (batch: number) => string;

/**
 * Walk the accounts with work in key order, a batch per transaction: lock the batch's accounts
 * in key order in their own statement (the set-based statement that follows then sees every
 * spend committed before the locks), act on them, and resume after the last account. Resuming
 * by key keeps each step's cost bounded by the batch, where re-searching from the start would
 * grow with what is left.
 */
async function walkAccounts<R extends { accounts: number; points: number }>(
  db: Kysely<DB>,
  program: ProgramSnapshot,
  asOf: Date,
  next: NextAccounts,
  extraParams: unknown[],
  walkers: number,
  act: (t: Trx, locked: AccountKey[]) => Promise<R>,
  onBatch: (totals: { accounts: number; points: number }) => void = () => {},
): Promise<{ accounts: number; points: number }> {
  const ranges = rangesOf(await memberRangeCuts(db, 'accounts', 'program_id', program.id, walkers));
  const totals = { accounts: 0, points: 0 };
  const walk = async (range: { from: string; to: string | null }) => {
    // ('m', '') sorts before every account of member m: the range starts at its first member.
    let last: AccountKey = { member_id: range.from, point_type_id: '' };
    for (;;) {
      const done = await inTransaction(db, async (t) => {
        const due = await rawQuery<AccountKey>(t, next(BATCH_ACCOUNTS), [program.id, asOf, last.member_id, last.point_type_id, range.to, ...extraParams]);
        if (due.rows.length === 0) return null;
        last = due.rows[due.rows.length - 1]!;
        const locked = await rawQuery<AccountKey>(
          t,
          `select member_id, point_type_id from accounts
           where (member_id, point_type_id) in (select * from unnest($1::text[], $2::text[]))
           order by member_id, point_type_id for update`,
          [due.rows.map((r) => r.member_id), due.rows.map((r) => r.point_type_id)],
        );
        return act(t, locked.rows);
      });
      if (!done) return;
      totals.accounts += done.accounts;
      totals.points += Number(done.points);
      onBatch(totals);
      // Yield between batches so a long sweep never starves requests on the embedded engine.
      await new Promise((r) => setImmediate(r));
    }
  };
  await Promise.all(ranges.map(walk));
  return totals;
}

/** Keyset bounds shared by the walks' candidate queries. */
const AFTER_LAST = `(member_id, point_type_id) > ($3, $4) and ($5::text is null or member_id < $5)`;

// The inner LIMIT bounds one step over lots; the outer one makes the batch. An account cut by
// the inner LIMIT is still handled whole: the statements take every due lot of a locked account.
const NEXT_WITH_DUE_LOTS = (lotCondition: string): NextAccounts => (batch) => `
select distinct member_id, point_type_id from (
  select member_id, point_type_id from lots
  where ${AFTER_LAST} and program_id = $1 and ${lotCondition}
  order by member_id, point_type_id limit ${batch * 4}
) s order by member_id, point_type_id limit ${batch}`;

const NEXT_EXPIRING = NEXT_WITH_DUE_LOTS(`status = 'active' and remaining > 0 and expires_at <= $2`);
const NEXT_ACTIVATING = NEXT_WITH_DUE_LOTS(`status = 'pending' and activates_at <= $2`);
const NEXT_INACTIVE: NextAccounts = (batch) => `
select member_id, point_type_id from accounts
where ${AFTER_LAST} and program_id = $1 and point_type_id = $6 and available > 0
  and last_activity_at + make_interval(months => $7) <= $2
order by member_id, point_type_id limit ${batch}`;

/**
 * Expire, for the locked accounts, every active lot that is due (by date, or all of them for
 * inactivity), and write one expiry transaction and entry per account. Re-running it changes
 * nothing: expired lots have nothing left.
 */
const EXPIRE_LOCKED = (allLots: boolean) => `
with target as (
  select * from unnest($3::text[], $4::text[], $5::text[]) as t(member_id, point_type_id, txn_id)
), due as (
  select l.id, l.member_id, l.point_type_id, l.remaining from lots l join target t
    on l.member_id = t.member_id and l.point_type_id = t.point_type_id
  where l.status = 'active' and l.remaining > 0 ${allLots ? '' : 'and l.expires_at <= $2'}
), expired as (
  update lots l set expired_amount = l.expired_amount + due.remaining, remaining = 0, status = 'expired'
  from due where l.member_id = due.member_id and l.id = due.id
  returning due.member_id, due.point_type_id, due.remaining
), sums as (
  select member_id, point_type_id, sum(remaining)::bigint as total from expired group by member_id, point_type_id
), acct as (
  update accounts a set available = a.available - s.total, expired = a.expired + s.total, updated_at = $2
  from sums s where a.member_id = s.member_id and a.point_type_id = s.point_type_id
  returning a.member_id, a.point_type_id, a.available, a.pending, s.total
), txn as (
  insert into ledger_transactions (id, program_id, member_id, point_type_id, kind, amount, actor, reason, occurred_at)
  select t.txn_id, $1, acct.member_id, acct.point_type_id, 'expiry', acct.total, $6, $7, $2
  from acct join target t on t.member_id = acct.member_id and t.point_type_id = acct.point_type_id
  returning id
), entries as (
  insert into ledger_entries (program_id, member_id, point_type_id, transaction_id, kind, amount, pending_delta, available_after, pending_after, occurred_at)
  select $1, acct.member_id, acct.point_type_id, t.txn_id, 'expiry', -acct.total, 0, acct.available, acct.pending, $2
  from acct join target t on t.member_id = acct.member_id and t.point_type_id = acct.point_type_id
  returning amount
)
select count(*)::int as accounts, coalesce(-sum(amount), 0)::bigint as points from entries`;

export async function sweepExpiry(
  db: Kysely<DB>,
  program: ProgramSnapshot,
  asOf: Date,
  kind: Sweep,
  options: SweepOptions = {},
  inactivity?: { pointTypeId: string; months: number },
): Promise<{ accounts: number; points: number }> {
  const progress = options.progress ?? (() => {});
  const next = kind === 'expiry' ? NEXT_EXPIRING : NEXT_INACTIVE;
  const extra = kind === 'expiry' ? [] : [inactivity!.pointTypeId, inactivity!.months];
  return walkAccounts(
    db,
    program,
    asOf,
    next,
    extra,
    options.walkers ?? 1,
    async (t, locked) => {
      const members = locked.map((r) => r.member_id);
      const { rows } = await rawQuery<{ accounts: number; points: number }>(t, EXPIRE_LOCKED(kind === 'inactivity'), [
        program.id,
        asOf,
        members,
        locked.map((r) => r.point_type_id),
        members.map(() => newId('transaction', asOf.getTime())),
        `system:${kind}`,
        kind === 'inactivity' ? 'inactivity' : 'lots reached their expiry',
      ]);
      return rows[0]!;
    },
    (totals) => progress(totals.accounts, null, `${totals.points} points expired`),
  );
}

const ACTIVATE_LOCKED = `
with target as (
  select * from unnest($3::text[], $4::text[]) as t(member_id, point_type_id)
), due as (
  select l.id, l.member_id, l.point_type_id, l.transaction_id, l.remaining as amount from lots l join target t
    on l.member_id = t.member_id and l.point_type_id = t.point_type_id
  where l.status = 'pending' and l.activates_at <= $2
), activated as (
  update lots l set status = 'active' from due where l.member_id = due.member_id and l.id = due.id
  returning due.*
), sums as (
  select member_id, point_type_id, sum(amount)::bigint as total from activated group by member_id, point_type_id
), acct as (
  update accounts a set available = a.available + s.total, pending = a.pending - s.total, earned = a.earned + s.total, updated_at = $2
  from sums s where a.member_id = s.member_id and a.point_type_id = s.point_type_id
  returning a.member_id, a.point_type_id, a.available, a.pending, s.total
), txns as (
  update ledger_transactions t set status = 'active' from activated a
  where t.member_id = a.member_id and t.id = a.transaction_id
  returning t.id
), entries as (
  insert into ledger_entries (program_id, member_id, point_type_id, transaction_id, kind, amount, pending_delta, available_after, pending_after, occurred_at)
  select $1, a.member_id, a.point_type_id, a.transaction_id, 'activation', a.amount, -a.amount,
    acct.available - acct.total + sum(a.amount) over w,
    acct.pending + acct.total - sum(a.amount) over w,
    $2
  from activated a join acct on acct.member_id = a.member_id and acct.point_type_id = a.point_type_id
  window w as (partition by a.member_id, a.point_type_id order by a.id)
  returning amount
)
select acct.member_id, acct.point_type_id, acct.available, acct.total from acct`;

/**
 * Make an account's active lots hold exactly what it may spend. After a credit lands on an
 * account in debt, its lots hold more than the balance: the debt is repaid from the lots that
 * would be spent first.
 */
async function repayDebtFromLots(t: Trx, memberId: string, pointTypeId: string): Promise<void> {
  await rawQuery(
    t,
    `with acct as (select greatest(available, 0) as spendable from accounts where member_id = $1 and point_type_id = $2),
     lots_held as (
       select id, remaining, sum(remaining) over (order by expires_at asc nulls last, earned_at, seq
         rows between current row and unbounded following) as from_here
       from lots where member_id = $1 and point_type_id = $2 and status = 'active' and remaining > 0
     ), cut as (
       select l.id, greatest(0, least(l.remaining, l.from_here - acct.spendable)) as excess from lots_held l, acct
     )
     update lots set remaining = lots.remaining - cut.excess from cut
     where lots.member_id = $1 and lots.id = cut.id and cut.excess > 0`,
    [memberId, pointTypeId],
  );
}

export async function sweepActivation(db: Kysely<DB>, program: ProgramSnapshot, asOf: Date, options: SweepOptions = {}): Promise<{ accounts: number; points: number }> {
  return walkAccounts(db, program, asOf, NEXT_ACTIVATING, [], options.walkers ?? 1, async (t, locked) => {
    const { rows } = await rawQuery<{ member_id: string; point_type_id: string; available: number; total: number }>(t, ACTIVATE_LOCKED, [
      program.id,
      asOf,
      locked.map((r) => r.member_id),
      locked.map((r) => r.point_type_id),
    ]);
    for (const r of rows) if (r.available - r.total < 0) await repayDebtFromLots(t, r.member_id, r.point_type_id);
    return { accounts: rows.length, points: rows.reduce((s, r) => s + r.total, 0) };
  });
}

async function minInstant(db: Kysely<DB>, sql: string, params: unknown[]): Promise<Date | null> {
  const { rows } = await rawQuery<{ at: Date | null }>(db, sql, params);
  return rows[0]?.at ?? null;
}

export function ledgerJobs(ledger: LedgerService, pointTypes: PointTypesService, sweep: { walkers: number } = { walkers: 1 }): JobDefinition[] {
  const systemCtx = (program: ProgramSnapshot, asOf: Date, job: string): ProgramContext => ({
    program,
    clock: fixedClock(asOf),
    actor: { type: 'system', job },
  });

  const inactivityTypes = async (program: ProgramSnapshot, asOf: Date) =>
    (await pointTypes.list(systemCtx(program, asOf, 'ledger.inactivity')))
      .filter((t) => t.expiryPolicy.kind === 'inactivity')
      .map((t) => ({ id: t.id, months: (t.expiryPolicy as { months: number }).months }));

  return [
    {
      name: 'ledger.activate-pending',
      order: 10,
      everyMs: 60_000,
      nextDue: (db, program, after, until) =>
        minInstant(db, `select min(activates_at) as at from lots where program_id = $1 and status = 'pending' and activates_at > $2 and activates_at <= $3`, [
          program.id,
          after,
          until,
        ]),
      run: async ({ db, program, asOf }) => sweepActivation(db, program, asOf, sweep),
    },
    {
      name: 'ledger.release-holds',
      order: 20,
      everyMs: 60_000,
      nextDue: (db, program, after, until) =>
        minInstant(db, `select min(hold_until) as at from ledger_transactions where program_id = $1 and status = 'open' and hold_until > $2 and hold_until <= $3`, [
          program.id,
          after,
          until,
        ]),
      run: async ({ db, program, asOf }) => {
        const { rows } = await rawQuery<{ id: string }>(
          db,
          `select id from ledger_transactions where program_id = $1 and status = 'open' and hold_until <= $2 order by hold_until limit 10000`,
          [program.id, asOf],
        );
        const ctx = systemCtx(program, asOf, 'ledger.release-holds');
        for (const { id } of rows) {
          await ledger.release(ctx, { transactionId: id, idempotencyKey: `auto-release:${id}`, reason: 'hold timed out' }).catch((err) => {
            // Captured or released by a request in the meantime: nothing left to do.
            if ((err as { code?: string }).code !== 'reservation_not_open') throw err;
          });
        }
        return { released: rows.length };
      },
    },
    {
      name: 'ledger.expiry-notices',
      order: 25,
      everyMs: 60 * 60_000,
      nextDue: (db, program, after, until) =>
        minInstant(
          db,
          `select min(l.expires_at - make_interval(days => pt.expiry_notice_days)) as at
           from lots l join point_types pt on pt.id = l.point_type_id
           where l.program_id = $1 and l.status = 'active' and l.remaining > 0 and pt.expiry_notice_days > 0
             and l.expires_at - make_interval(days => pt.expiry_notice_days) > $2
             and l.expires_at - make_interval(days => pt.expiry_notice_days) <= $3`,
          [program.id, after, until],
        ),
      run: async ({ db, program, asOf }) => {
        const { rowCount } = await rawQuery(
          db,
          `insert into expiry_notices (id, program_id, member_id, point_type_id, expires_at, amount, created_at)
           select 'ntc_' || md5(l.member_id || l.point_type_id || l.expires_at::text), $1, l.member_id, l.point_type_id, l.expires_at, sum(l.remaining), $2
           from lots l join point_types pt on pt.id = l.point_type_id
           where l.program_id = $1 and l.status = 'active' and l.remaining > 0 and pt.expiry_notice_days > 0
             and l.expires_at > $2 and l.expires_at - make_interval(days => pt.expiry_notice_days) <= $2
           group by l.member_id, l.point_type_id, l.expires_at
           on conflict (member_id, point_type_id, expires_at) do nothing`,
          [program.id, asOf],
        );
        return { notices: rowCount };
      },
    },
    {
      name: 'ledger.expire-lots',
      order: 30,
      everyMs: 60_000,
      nextDue: (db, program, after, until) =>
        minInstant(
          db,
          `select min(expires_at) as at from lots where program_id = $1 and status = 'active' and remaining > 0 and expires_at > $2 and expires_at <= $3`,
          [program.id, after, until],
        ),
      run: async ({ db, program, asOf, progress }) => sweepExpiry(db, program, asOf, 'expiry', { ...sweep, progress }),
    },
    {
      name: 'ledger.expire-inactive',
      order: 40,
      everyMs: 60 * 60_000,
      nextDue: async (db, program, after, until) => {
        let best: Date | null = null;
        for (const type of await inactivityTypes(program, after)) {
          const at = await minInstant(
            db,
            `select min(last_activity_at + make_interval(months => $3)) as at from accounts
             where program_id = $1 and point_type_id = $2 and available > 0
               and last_activity_at + make_interval(months => $3) > $4 and last_activity_at + make_interval(months => $3) <= $5`,
            [program.id, type.id, type.months, after, until],
          );
          if (at && (!best || at < best)) best = at;
        }
        return best;
      },
      run: async ({ db, program, asOf, progress }) => {
        let accounts = 0;
        let points = 0;
        for (const type of await inactivityTypes(program, asOf)) {
          const r = await sweepExpiry(db, program, asOf, 'inactivity', { ...sweep, progress }, { pointTypeId: type.id, months: type.months });
          accounts += r.accounts;
          points += r.points;
        }
        return { accounts, points };
      },
    },
  ];
}
