import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction, rawQuery, type Database, type Engine } from '../../src/db/database.js';
import { createTestDatabase, engines } from '../engines.js';

/**
 * On PostgreSQL a transaction's BEGIN is held back and sent with its first statement (see
 * `preparing` in src/db/database.ts): what a transaction does must still be all or nothing.
 */

/** A database of the engine's own with a one-column table, for the tests of one describe. */
function probeTable(engine: Engine) {
  let database: Database;
  beforeAll(async () => {
    database = await createTestDatabase(engine, 4);
    await sql`create table tx_probe (id text primary key)`.execute(database.db);
  });
  afterAll(() => database.close());
  return {
    db: () => database.db,
    ids: async () => (await rawQuery<{ id: string }>(database.db, 'select id from tx_probe order by id')).rows.map((r) => r.id),
    insert: (exec: Parameters<typeof rawQuery>[0], id: string) => rawQuery(exec, 'insert into tx_probe (id) values ($1)', [id]),
  };
}

describe.each(engines)('transactions (%s)', (engine) => {
  const { db, ids, insert } = probeTable(engine);

  it('undoes the first statement when the transaction fails: its BEGIN went out with it', async () => {
    await expect(
      inTransaction(db(), async (trx) => {
        await insert(trx, 'first');
        await insert(trx, 'second');
        throw new Error('stop');
      }),
    ).rejects.toThrow('stop');
    // A statement that fails inside the transaction undoes the one before it too.
    await expect(
      inTransaction(db(), async (trx) => {
        await insert(trx, 'third');
        await insert(trx, 'third');
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await ids()).toEqual([]);
    await inTransaction(db(), async (trx) => {
      await insert(trx, 'kept');
      expect((await rawQuery<{ n: number }>(trx, 'select count(*)::int as n from tx_probe')).rows[0]!.n).toBe(1);
    });
    expect(await ids()).toEqual(['kept']);
  });

  it('ends a transaction that ran no statement, and the connection serves the next one', async () => {
    expect(await inTransaction(db(), async () => 'nothing')).toBe('nothing');
    await expect(
      inTransaction(db(), async () => {
        throw new Error('before any statement');
      }),
    ).rejects.toThrow('before any statement');
    // Every connection of the pool, each reused after an empty transaction, still isolates.
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        inTransaction(db(), async (trx) => {
          await insert(trx, `undone-${i}`);
          throw new Error('undo');
        }).catch(() => {}),
      ),
    );
    expect(await ids()).toEqual(['kept']);
  });
});

// The embedded engine has one connection: a second transaction waits for the first to end.
describe.each(engines.filter((e) => e === 'postgres'))('concurrent transactions (%s)', (engine) => {
  const { db, ids, insert } = probeTable(engine);

  it('keeps concurrent transactions apart: one sees none of the other’s uncommitted rows', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let written!: () => void;
    const inserted = new Promise<void>((r) => (written = r));
    const writer = inTransaction(db(), async (trx) => {
      await insert(trx, 'pending');
      written();
      await gate;
    });
    await inserted;
    expect(await ids()).toEqual([]);
    release();
    await writer;
    expect(await ids()).toEqual(['pending']);
  });
});
