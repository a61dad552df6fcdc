import { createHash } from 'node:crypto';
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import type { Database } from '../../src/db/database.js';
import type { DB } from '../../src/db/schema.js';
import { pgTypeOverrides } from '../../src/db/types.js';
import { DEBIT_ACCOUNT, drawFromLots, EARN } from '../../src/modules/ledger/ledger.sql.js';

/**
 * Prototype for a suggestion to src/db: Laurel's PostgreSQL database exactly as openDatabase
 * builds it, except that the ledger's hot statements go out as named prepared statements.
 * node-postgres then sends Parse once per connection and PostgreSQL reuses the parsed query (and,
 * after five runs, a generic plan) instead of parsing, analysing and planning a five-CTE
 * statement on every call. The set is fixed, so each connection prepares a handful at most.
 */
export const HOT_LEDGER_SQL: ReadonlySet<string> = new Set([
  EARN,
  DEBIT_ACCOUNT,
  drawFromLots('expiring_first'),
  drawFromLots('oldest_first'),
  drawFromLots('newest_first'),
]);

function nameOf(text: string): string {
  return `lrl_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
}

function preparing(client: pg.PoolClient, hot: ReadonlySet<string>, names: Map<string, string>): PostgresPoolClient {
  return {
    query: ((text: unknown, values?: readonly unknown[]) => {
      if (typeof text === 'string' && hot.has(text)) {
        let name = names.get(text);
        if (!name) names.set(text, (name = nameOf(text)));
        return client.query({ name, text, values: values as unknown[] });
      }
      return client.query(text as string, values as unknown[]);
    }) as unknown as PostgresPoolClient['query'],
    release: (destroy?: boolean) => client.release(destroy),
  };
}

export function openPreparedPostgres(url: string, poolSize: number, hot: ReadonlySet<string> = HOT_LEDGER_SQL): Database {
  const { INT8, DATE, NUMERIC, parseInt8 } = pgTypeOverrides;
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    types: {
      getTypeParser: ((oid: number, format?: string) => {
        if (oid === INT8) return parseInt8;
        if (oid === DATE || oid === NUMERIC) return (v: string) => v;
        return pg.types.getTypeParser(oid, format as 'text');
      }) as pg.CustomTypesConfig['getTypeParser'],
    },
  });
  pool.on('error', () => {});
  const names = new Map<string, string>();
  const wrapped: PostgresPool = {
    connect: async () => preparing(await pool.connect(), hot, names),
    end: () => pool.end(),
  };
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: wrapped }) });
  return {
    engine: 'postgres',
    db,
    close: () => db.destroy(),
  };
}
