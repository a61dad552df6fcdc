import type { Kysely } from 'kysely';
import { rawQuery } from '../../db/database.js';
import type { DB } from '../../db/schema.js';

export interface Violation {
  invariant: string;
  memberId: string;
  pointTypeId: string;
  expected: number | string;
  actual: number | string;
}

export interface VerifyReport {
  ok: boolean;
  accountsChecked: number;
  violations: Violation[];
}

/**
 * Every invariant of the ledger, checked with set-based SQL over the whole program (or the whole
 * deployment). Each query returns the accounts that break one invariant.
 */
const CHECKS: Array<{ invariant: string; sql: string }> = [
  {
    invariant: 'available = sum of entries',
    sql: `select a.member_id, a.point_type_id, a.available as expected, coalesce(e.total, 0) as actual
          from accounts a left join (select member_id, point_type_id, sum(amount)::bigint as total from ledger_entries group by 1, 2) e
            on e.member_id = a.member_id and e.point_type_id = a.point_type_id
          where ($1::text is null or a.program_id = $1) and a.available <> coalesce(e.total, 0)`,
  },
  {
    invariant: 'pending = sum of pending entries = sum of pending lots',
    sql: `select a.member_id, a.point_type_id, a.pending as expected, coalesce(l.total, 0) as actual
          from accounts a left join (select member_id, point_type_id, sum(remaining)::bigint as total from lots where status = 'pending' group by 1, 2) l
            on l.member_id = a.member_id and l.point_type_id = a.point_type_id
          left join (select member_id, point_type_id, sum(pending_delta)::bigint as total from ledger_entries group by 1, 2) e
            on e.member_id = a.member_id and e.point_type_id = a.point_type_id
          where ($1::text is null or a.program_id = $1) and (a.pending <> coalesce(l.total, 0) or a.pending <> coalesce(e.total, 0))`,
  },
  {
    invariant: 'spendable balance = sum of open lots',
    sql: `select a.member_id, a.point_type_id, greatest(a.available, 0) as expected, coalesce(l.total, 0) as actual
          from accounts a left join (select member_id, point_type_id, sum(remaining)::bigint as total from lots where status = 'active' group by 1, 2) l
            on l.member_id = a.member_id and l.point_type_id = a.point_type_id
          where ($1::text is null or a.program_id = $1) and greatest(a.available, 0) <> coalesce(l.total, 0)`,
  },
  {
    invariant: 'reserved = sum of open holds',
    sql: `select a.member_id, a.point_type_id, a.reserved as expected, coalesce(h.total, 0) as actual
          from accounts a left join (select member_id, point_type_id, sum(amount)::bigint as total from ledger_transactions where kind = 'reserve' and status = 'open' group by 1, 2) h
            on h.member_id = a.member_id and h.point_type_id = a.point_type_id
          where ($1::text is null or a.program_id = $1) and a.reserved <> coalesce(h.total, 0)`,
  },
  {
    invariant: 'no negative balance unless the point type allows debt',
    sql: `select a.member_id, a.point_type_id, 0 as expected, a.available as actual
          from accounts a join point_types pt on pt.id = a.point_type_id
          where ($1::text is null or a.program_id = $1) and a.available < 0 and pt.negative_balance <> 'allow'`,
  },
  {
    invariant: 'each entry follows the previous one',
    sql: `select member_id, point_type_id, prev_after + amount as expected, available_after as actual from (
            select member_id, point_type_id, amount, available_after,
              lag(available_after, 1, 0::bigint) over (partition by member_id, point_type_id order by id) as prev_after
            from ledger_entries where ($1::text is null or program_id = $1)) s
          where prev_after + amount <> available_after`,
  },
  {
    invariant: 'allocations never exceed what a lot held',
    sql: `select l.member_id, l.point_type_id, l.amount as expected, (l.remaining + l.expired_amount + coalesce(a.out, 0)) as actual
          from lots l left join (select member_id, lot_id, sum(amount - returned)::bigint as out from lot_allocations group by 1, 2) a
            on a.member_id = l.member_id and a.lot_id = l.id
          where ($1::text is null or l.program_id = $1) and l.status in ('active', 'expired')
            and l.remaining + coalesce(a.out, 0) > l.amount`,
  },
];

export async function verifyLedger(db: Kysely<DB>, programId: string | null = null): Promise<VerifyReport> {
  const violations: Violation[] = [];
  for (const check of CHECKS) {
    const { rows } = await rawQuery<{ member_id: string; point_type_id: string; expected: number; actual: number }>(db, `${check.sql} limit 100`, [programId]);
    for (const r of rows) {
      violations.push({ invariant: check.invariant, memberId: r.member_id, pointTypeId: r.point_type_id, expected: r.expected, actual: r.actual });
    }
  }
  const { rows } = await rawQuery<{ n: number }>(db, 'select count(*)::int as n from accounts where ($1::text is null or program_id = $1)', [programId]);
  return { ok: violations.length === 0, accountsChecked: rows[0]!.n, violations };
}
