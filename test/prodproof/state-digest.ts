import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { rawQuery } from '../../src/db/database.js';
import type { DB } from '../../src/db/schema.js';

/**
 * A hash of every row of each table, in one query. Rows are hashed in sorted order, so a
 * digest does not depend on where PostgreSQL happens to keep them.
 */
export async function tableDigests(db: Kysely<DB>): Promise<Record<string, string>> {
  const { rows: tables } = await rawQuery<{ t: string }>(db, `select tablename as t from pg_tables where schemaname = 'public' order by 1`);
  const parts = tables.map(({ t }) => `select '${t}' as t, md5(coalesce(string_agg(x::text, E'\\n' order by x::text), '')) as h from "${t}" x`);
  const { rows } = await rawQuery<{ t: string; h: string }>(db, parts.join(' union all '));
  return Object.fromEntries(rows.map((r) => [r.t, r.h]));
}

/** One hash of the whole database: equal before and after a request means it changed nothing. */
export async function stateDigest(db: Kysely<DB>): Promise<string> {
  return createHash('sha256').update(JSON.stringify(await tableDigests(db))).digest('hex');
}

/** The tables whose digests differ, for a readable failure. */
export function changedTables(before: Record<string, string>, after: Record<string, string>): string[] {
  return Object.keys({ ...before, ...after }).filter((t) => before[t] !== after[t]);
}
