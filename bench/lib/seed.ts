import type pg from 'pg';
import { step } from './report.js';

/**
 * Set-based seeding: every table is filled by one INSERT … SELECT over generate_series, which is
 * the only batching that pays on PostgreSQL. Seeded rows have the shapes Laurel itself writes,
 * so verifyLedger holds on a seeded program.
 */

/**
 * One seeding statement in its own transaction with foreign-key triggers off
 * (session_replication_role = replica, superuser only): seeded rows reference what the seed
 * itself created, and checking a million references one by one would dominate the seeding time.
 * Unique and check constraints still apply, and verifyLedger runs on the result.
 */
export async function bulk(pool: pg.Pool, text: string, params: unknown[] = []): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('begin');
    await c.query('set local session_replication_role = replica');
    await c.query(text, params);
    await c.query('commit');
  } catch (err) {
    await c.query('rollback').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

export function seededMemberId(prefix: string, i: number): string {
  return `${prefix}${String(i).padStart(9, '0')}`;
}

export interface MembersSeed {
  programId: string;
  /** ids are prefix + the member number on 9 digits; the prefix keeps programs apart */
  idPrefix: string;
  count: number;
}

export async function seedMembers(pool: pg.Pool, s: MembersSeed): Promise<void> {
  await step(`seed ${s.count.toLocaleString()} members`, () =>
    bulk(
      pool,
      `insert into members (id, program_id, external_id, status, attributes, tags, joined_at, created_at, updated_at)
       select $2 || lpad(i::text, 9, '0'), $1, 'ext-' || i, 'active', '{}', '{}',
         now() - (i % 1000) * interval '1 day', now() - (i % 1000) * interval '1 day', now() - (i % 1000) * interval '1 day'
       from generate_series(0, $3::int - 1) i`,
      [s.programId, s.idPrefix, s.count],
    ),
  );
}

export interface LotsSeed {
  /** distinguishes ids of several seeds in one database */
  tag: string;
  programId: string;
  memberPrefix: string;
  members: number;
  pointTypeIds: string[];
  /** lot n belongs to member n % members, in point type (n / members) % types */
  lots: number;
  /** SQL expressions over n (the lot number) and m (the member number) */
  amountSql: string;
  earnedAtSql: string;
  /** may evaluate to null: a lot that never expires */
  expiresAtSql: string;
}

/**
 * One earn per lot, as Laurel records it: the ledger transaction, its entry (with the running
 * balance after it), the lot, and one account per member and point type holding the sum.
 * Accounts must not exist yet for these members and point types.
 */
export async function seedEarnedLots(pool: pg.Pool, s: LotsSeed): Promise<void> {
  const stage = `bench_seed_${s.tag}`;
  const label = `${s.lots.toLocaleString()} lots (${s.tag})`;
  await step(`stage ${label}`, () =>
    pool.query(
      `create unlogged table ${stage} as
       select n, member_id, point_type_id, amount, earned_at, expires_at,
         'txn_${s.tag}' || lpad(n::text, 10, '0') as txn_id,
         'lot_${s.tag}' || lpad(n::text, 10, '0') as lot_id,
         sum(amount) over (partition by member_id, point_type_id order by n)::bigint as available_after
       from (
         select n, $1 || lpad(m::text, 9, '0') as member_id, ($2::text[])[(n / $3) % $4 + 1] as point_type_id,
           (${s.amountSql})::bigint as amount, (${s.earnedAtSql})::timestamptz as earned_at,
           (${s.expiresAtSql})::timestamptz as expires_at
         from (select n, n % $3 as m from generate_series(0, $5::bigint - 1) n) g
       ) x`,
      [s.memberPrefix, s.pointTypeIds, s.members, s.pointTypeIds.length, s.lots],
    ),
  );
  // Rows go in member order: each member's rows land together, as their primary keys lead with
  // it. Two tables at a time: each INSERT runs on one core, and the machine has two.
  await Promise.all([
    step(`insert ledger_transactions for ${label}`, () =>
      bulk(
        pool,
        `insert into ledger_transactions (id, program_id, member_id, point_type_id, kind, amount, status, idempotency_key, actor, occurred_at, created_at)
         select txn_id, $1, member_id, point_type_id, 'earn', amount, 'active', 'seed-' || txn_id, 'system:bench-seed', earned_at, earned_at
         from ${stage} order by member_id, point_type_id, n`,
        [s.programId],
      ),
    ),
    // Entry ids follow the insert order, so each account's entries chain in lot order.
    step(`insert ledger_entries for ${label}`, () =>
      bulk(
        pool,
        `insert into ledger_entries (program_id, member_id, point_type_id, transaction_id, kind, amount, pending_delta, available_after, pending_after, occurred_at, created_at)
         select $1, member_id, point_type_id, txn_id, 'earn', amount, 0, available_after, 0, earned_at, earned_at
         from ${stage} order by member_id, point_type_id, n`,
        [s.programId],
      ),
    ),
  ]);
  await Promise.all([
    step(`insert lots for ${label}`, () =>
      bulk(
        pool,
        `insert into lots (id, program_id, member_id, point_type_id, transaction_id, status, amount, remaining, earned_at, expires_at)
         select lot_id, $1, member_id, point_type_id, txn_id, 'active', amount, amount, earned_at, expires_at
         from ${stage} order by member_id, point_type_id, n`,
        [s.programId],
      ),
    ),
    step(`insert accounts for ${label}`, () =>
      bulk(
        pool,
        `insert into accounts (member_id, point_type_id, program_id, available, earned, last_activity_at, updated_at)
         select member_id, point_type_id, $1, sum(amount), sum(amount), max(earned_at), max(earned_at)
         from ${stage} group by member_id, point_type_id order by member_id, point_type_id`,
        [s.programId],
      ),
    ),
  ]);
  await pool.query(`drop table ${stage}`);
}

/**
 * VACUUM ANALYZE the seeded tables and checkpoint: the planner sees real sizes (empty-table
 * plans are the planner's mistake, not the system), visibility maps and hint bits are set as in
 * a database that has been running, and the seed's WAL is not flushed during a measurement.
 */
export async function settle(pool: pg.Pool, moreTables: string[] = []): Promise<void> {
  await step('vacuum analyze and checkpoint', async () => {
    for (const t of ['members', 'accounts', 'ledger_transactions', 'ledger_entries', 'lots', 'lot_allocations', 'point_types', 'api_keys', 'programs', ...moreTables]) {
      await pool.query(`vacuum (analyze) ${t}`);
    }
    await pool.query('checkpoint');
  });
}
