import type { Kysely } from 'kysely';
import type { ProgramSnapshot } from '../../src/core/context.js';
import { newId } from '../../src/core/ids.js';
import { inTransaction, rawQuery } from '../../src/db/database.js';
import type { DB } from '../../src/db/schema.js';

/**
 * Prototype for src/modules/ledger/ledger.jobs.ts `sweepExpiry(…, 'expiry')`. Per batch it runs
 * the same two statements (lock the accounts in key order, then the set-based expiry), and
 * differs in two ways:
 *
 * 1. Candidates come from a walk of lots_spendable in (member_id, point_type_id) order that
 *    resumes after the last account of the previous batch, instead of a DISTINCT over every
 *    remaining due lot for each batch (whose cost grows with what is left: quadratic overall).
 * 2. The member-id space is cut into `walkers` ranges swept concurrently, each on its own
 *    connection. Ranges are disjoint, so walkers never wait on each other's locks; a single
 *    set-based statement uses one core, and the sweep is otherwise CPU-bound.
 */
const EXPIRE_LOCKED = `
with target as (
  select * from unnest($3::text[], $4::text[], $5::text[]) as t(member_id, point_type_id, txn_id)
), due as (
  select l.id, l.member_id, l.point_type_id, l.remaining from lots l join target t
    on l.member_id = t.member_id and l.point_type_id = t.point_type_id
  where l.status = 'active' and l.remaining > 0 and l.expires_at <= $2
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

// The inner LIMIT bounds one walk step; the outer one makes the batch. An account cut by the
// inner LIMIT is still expired whole: EXPIRE_LOCKED takes every due lot of a locked account.
const NEXT_DUE = (batch: number) => `
select distinct member_id, point_type_id from (
  select member_id, point_type_id from lots
  where (member_id, point_type_id) > ($3, $4) and ($5::text is null or member_id < $5)
    and status = 'active' and remaining > 0 and expires_at <= $2 and program_id = $1
  order by member_id, point_type_id limit ${batch * 4}
) s order by member_id, point_type_id limit ${batch}`;

const LOCK = `
select member_id, point_type_id from accounts
where (member_id, point_type_id) in (select * from unnest($1::text[], $2::text[]))
order by member_id, point_type_id for update`;

export interface SweepOptions {
  walkers: number;
  batch: number;
  progress?: (accounts: number, points: number) => void;
}

/** Member ids that cut the program's accounts into `parts` ranges of about equal size. */
async function cuts(db: Kysely<DB>, programId: string, parts: number): Promise<string[]> {
  if (parts <= 1) return [];
  const fractions = Array.from({ length: parts - 1 }, (_, i) => (i + 1) / parts);
  const { rows } = await rawQuery<{ cuts: string[] }>(
    db,
    'select percentile_disc($2::float8[]) within group (order by member_id) as cuts from accounts where program_id = $1',
    [programId, fractions],
  );
  return [...new Set(rows[0]?.cuts ?? [])];
}

export async function sweepExpiryParallel(db: Kysely<DB>, program: ProgramSnapshot, asOf: Date, options: SweepOptions): Promise<{ accounts: number; points: number }> {
  const bounds = await cuts(db, program.id, options.walkers);
  const ranges = [...bounds, null].map((to, i) => ({ from: i === 0 ? '' : bounds[i - 1]!, to }));
  let accounts = 0;
  let points = 0;
  const walk = async (range: { from: string; to: string | null }) => {
    // Starts just before the range: ('x', '') sorts before every (x, point type).
    let last = { member: range.from, type: '' };
    for (;;) {
      const done = await inTransaction(db, async (t) => {
        const due = await rawQuery<{ member_id: string; point_type_id: string }>(t, NEXT_DUE(options.batch), [program.id, asOf, last.member, last.type, range.to]);
        if (due.rows.length === 0) return null;
        const end = due.rows[due.rows.length - 1]!;
        last = { member: end.member_id, type: end.point_type_id };
        const locked = await rawQuery<{ member_id: string; point_type_id: string }>(t, LOCK, [due.rows.map((r) => r.member_id), due.rows.map((r) => r.point_type_id)]);
        const members = locked.rows.map((r) => r.member_id);
        const { rows } = await rawQuery<{ accounts: number; points: number }>(t, EXPIRE_LOCKED, [
          program.id,
          asOf,
          members,
          locked.rows.map((r) => r.point_type_id),
          members.map(() => newId('transaction', asOf.getTime())),
          'system:expiry',
          'lots reached their expiry',
        ]);
        return rows[0]!;
      });
      if (!done) return;
      accounts += done.accounts;
      points += Number(done.points);
      options.progress?.(accounts, points);
    }
  };
  await Promise.all(ranges.map(walk));
  return { accounts, points };
}
