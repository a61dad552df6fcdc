import { createHash } from 'node:crypto';
import type pg from 'pg';
import { newId } from '../../src/core/ids.js';

// As Laurel fingerprints a ledger request (ledger.service.ts), where the schema has the column.
const fingerprint = (...parts: unknown[]) => createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 27);

/**
 * The baseline: earn and spend as straightforward hand-written SQL, one statement per step, in
 * one transaction over node-postgres. Same columns and values as Laurel writes (see
 * src/db/migrations/0002-ledger.ts), so any difference is the cost of Laurel's own work.
 */
export class RawLedger {
  /** migration 0009 added ledger_transactions.request_hash: written when the column is there */
  private requestHashColumn: Promise<boolean> | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly programId: string,
    private readonly pointTypeId: string,
    private readonly actor = 'system:bench-raw',
  ) {}

  /**
   * The request fingerprint column and value, as Laurel writes them, or nothing before 0009.
   * Asked on the caller's own connection: asking the pool from inside a transaction would wait
   * forever for a free connection once every connection is in a transaction.
   */
  private async requestHash(c: pg.PoolClient, kind: string, amount: number): Promise<{ column: string; values: string[] }> {
    this.requestHashColumn ??= c
      .query(`select 1 from information_schema.columns where table_name = 'ledger_transactions' and column_name = 'request_hash'`)
      .then((r) => r.rowCount === 1);
    return (await this.requestHashColumn) ? { column: ', request_hash', values: [fingerprint(kind, 'points', amount)] } : { column: '', values: [] };
  }

  async earn(memberId: string, amount: number, key: string): Promise<{ id: string; available: number }> {
    const now = new Date();
    const txnId = newId('transaction', now.getTime());
    return this.inTransaction(async (c) => {
      const acct = await c.query<{ available: string; pending: string }>(
        `insert into accounts as a (member_id, point_type_id, program_id, available, earned, last_activity_at, updated_at)
         values ($1, $2, $3, $4, $4, $5, $5)
         on conflict (member_id, point_type_id) do update set
           available = a.available + excluded.available, earned = a.earned + excluded.earned,
           last_activity_at = greatest(a.last_activity_at, excluded.last_activity_at), updated_at = excluded.updated_at
         returning available, pending`,
        [memberId, this.pointTypeId, this.programId, amount, now],
      );
      const { available, pending } = acct.rows[0]!;
      const hash = await this.requestHash(c, 'earn', amount);
      await c.query(
        `insert into ledger_transactions (id, program_id, member_id, point_type_id, kind, amount, status, idempotency_key, actor, occurred_at${hash.column})
         values ($1, $2, $3, $4, 'earn', $5, 'active', $6, $7, $8${hash.values.length ? ', $9' : ''})`,
        [txnId, this.programId, memberId, this.pointTypeId, amount, key, this.actor, now, ...hash.values],
      );
      await c.query(
        `insert into ledger_entries (program_id, member_id, point_type_id, transaction_id, kind, amount, pending_delta, available_after, pending_after, occurred_at)
         values ($1, $2, $3, $4, 'earn', $5, 0, $6, $7, $8)`,
        [this.programId, memberId, this.pointTypeId, txnId, amount, available, pending, now],
      );
      await c.query(
        `insert into lots (id, program_id, member_id, point_type_id, transaction_id, status, amount, remaining, earned_at, expires_at)
         values ($1, $2, $3, $4, $5, 'active', $6, $6, $7, null)`,
        [newId('lot', now.getTime()), this.programId, memberId, this.pointTypeId, txnId, amount, now],
      );
      return { id: txnId, available: Number(available) };
    });
  }

  async spend(memberId: string, amount: number, key: string): Promise<{ id: string; available: number }> {
    const now = new Date();
    const txnId = newId('transaction', now.getTime());
    return this.inTransaction(async (c) => {
      const acct = await c.query<{ available: string; pending: string }>(
        `update accounts set available = available - $3, spent = spent + $3,
           last_activity_at = greatest(last_activity_at, $4), updated_at = $4
         where member_id = $1 and point_type_id = $2 and available >= $3
         returning available, pending`,
        [memberId, this.pointTypeId, amount, now],
      );
      if (acct.rowCount !== 1) throw Object.assign(new Error(`insufficient points for ${memberId}`), { code: 'insufficient_points' });
      const { available, pending } = acct.rows[0]!;
      const lots = await c.query<{ id: string; remaining: string }>(
        `select id, remaining from lots
         where member_id = $1 and point_type_id = $2 and status = 'active' and remaining > 0
         order by expires_at asc nulls last, earned_at asc, id asc for update`,
        [memberId, this.pointTypeId],
      );
      const ids: string[] = [];
      const takes: number[] = [];
      let left = amount;
      for (const lot of lots.rows) {
        if (left <= 0) break;
        const take = Math.min(Number(lot.remaining), left);
        ids.push(lot.id);
        takes.push(take);
        left -= take;
      }
      if (left > 0) throw new Error(`ledger inconsistency: lots of ${memberId} hold less than its balance`);
      await c.query(
        `update lots l set remaining = l.remaining - t.take from unnest($2::text[], $3::bigint[]) as t(id, take)
         where l.member_id = $1 and l.id = t.id`,
        [memberId, ids, takes],
      );
      const hash = await this.requestHash(c, 'spend', amount);
      await c.query(
        `insert into ledger_transactions (id, program_id, member_id, point_type_id, kind, amount, idempotency_key, actor, occurred_at${hash.column})
         values ($1, $2, $3, $4, 'spend', $5, $6, $7, $8${hash.values.length ? ', $9' : ''})`,
        [txnId, this.programId, memberId, this.pointTypeId, amount, key, this.actor, now, ...hash.values],
      );
      await c.query(
        `insert into ledger_entries (program_id, member_id, point_type_id, transaction_id, kind, amount, pending_delta, available_after, pending_after, occurred_at)
         values ($1, $2, $3, $4, 'spend', $5, 0, $6, $7, $8)`,
        [this.programId, memberId, this.pointTypeId, txnId, -amount, available, pending, now],
      );
      await c.query(
        `insert into lot_allocations (member_id, transaction_id, lot_id, amount)
         select $1, $2, t.id, t.take from unnest($3::text[], $4::bigint[]) as t(id, take)`,
        [memberId, txnId, ids, takes],
      );
      return { id: txnId, available: Number(available) };
    });
  }

  private async inTransaction<T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('begin');
      const result = await work(c);
      await c.query('commit');
      return result;
    } catch (err) {
      await c.query('rollback').catch(() => {});
      throw err;
    } finally {
      c.release();
    }
  }
}
