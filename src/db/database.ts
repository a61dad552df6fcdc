import { PGlite } from '@electric-sql/pglite';
import { CompiledQuery, Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient, type Transaction } from 'kysely';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import pg from 'pg';
import { PGliteDialect } from './pglite-dialect.js';
import type { DB } from './schema.js';
import { pgTypeOverrides, typeParsers } from './types.js';

export type Engine = 'pglite' | 'postgres';

/** Anything a repository can run SQL on: the database or an open transaction. */
export type Executor = Kysely<DB> | Transaction<DB>;
export type Trx = Transaction<DB>;

export interface Database {
  readonly engine: Engine;
  readonly db: Kysely<DB>;
  close(): Promise<void>;
  /** Embedded engine only: the whole data directory as a tarball (tests copy a migrated one). */
  dump?(): Promise<Blob>;
}

export interface DatabaseOptions {
  /** postgres://… selects PostgreSQL; absent selects the embedded engine. */
  url?: string | undefined;
  /** Embedded engine only: a data directory, or undefined for an in-memory database. */
  dataDir?: string | undefined;
  /** Embedded engine only: start from a dumped data directory (tests load a migrated template). */
  loadDataDir?: Blob | undefined;
  poolSize?: number | undefined;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url) return openPostgres(options.url, options.poolSize ?? 20);
  return openPGlite(options);
}

async function openPGlite(options: DatabaseOptions): Promise<Database> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const pglite = new PGlite({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
    parsers: typeParsers,
    relaxedDurability: false,
  });
  await pglite.waitReady;
  const db = new Kysely<DB>({ dialect: new PGliteDialect(pglite) });
  return {
    engine: 'pglite',
    db,
    async close() {
      await db.destroy();
    },
    dump: () => pglite.dumpDataDir('none'),
  };
}

function pgTypes(): pg.CustomTypesConfig {
  const { INT8, DATE, NUMERIC, parseInt8 } = pgTypeOverrides;
  return {
    getTypeParser: ((oid: number, format?: string) => {
      if (oid === INT8) return parseInt8;
      if (oid === DATE || oid === NUMERIC) return (v: string) => v;
      return pg.types.getTypeParser(oid, format as 'text');
    }) as pg.CustomTypesConfig['getTypeParser'],
  };
}

/**
 * Hot statements, sent on PostgreSQL as named prepared statements: each connection parses them
 * once and PostgreSQL reuses the parsed query (and, after five runs, a generic plan) instead of
 * parsing, analysing and planning a many-CTE statement on every call. Only fixed texts belong
 * here (each connection keeps every one it has run). The embedded engine ignores the mark.
 */
const preparedNames = new Map<string, string>();

export function prepared(sqlText: string): string {
  if (!preparedNames.has(sqlText)) preparedNames.set(sqlText, `lrl_${createHash('sha1').update(sqlText).digest('hex').slice(0, 20)}`);
  return sqlText;
}

/**
 * A set-based statement over arrays, prepared while its arrays are short and planned on every
 * call once they are long. A prepared statement soon runs a generic plan, estimated for a few
 * rows per array: right for one event, and many times slower than planning afresh for a
 * thousand (nested loops over what should be hash joins).
 */
const LONG_ARRAYS = 16;

export function preparedWhileShort(sqlText: string): (rows: number) => string {
  prepared(sqlText);
  const perCall = `${sqlText}\n-- planned per call: long arrays`;
  return (rows) => (rows > LONG_ARRAYS ? perCall : sqlText);
}

/** What PostgreSQL answers a statement that ran nothing: for a BEGIN held back, and for ending an empty transaction. */
const nothing = (command: string) => Promise.resolve({ command, rowCount: null, rows: [], fields: [] });

/**
 * The pool as Kysely sees it: named prepared statements (above), and a transaction's BEGIN held
 * back until its first statement and sent with it, pipelined, where Kysely would wait for it
 * alone: one round trip fewer per transaction (a quarter of an event's). The connections run in
 * pg's pipeline mode for that; every other statement is still awaited before the next is sent.
 * A transaction that ends before any statement never reaches the server.
 */
function preparing(pool: pg.Pool): PostgresPool {
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let held = false;
    const send = (text: string, values?: unknown[]) => {
      const name = preparedNames.get(text);
      return name ? client.query({ name, text, values: values ?? [] }) : client.query(text, values);
    };
    const withBegin = (text: string, values?: unknown[]) => {
      // Corked, BEGIN and the statement leave in one write.
      const stream = (client as unknown as { connection: { stream: { cork(): void; uncork(): void } } }).connection.stream;
      stream.cork();
      try {
        const begun = client.query('begin');
        const result = send(text, values);
        return Promise.all([begun, result]).then(([, r]) => r);
      } finally {
        stream.uncork();
      }
    };
    return {
      query: ((text: string, values?: unknown[]) => {
        if (text === 'begin' && !values?.length) {
          held = true;
          return nothing('BEGIN');
        }
        if (!held) return send(text, values);
        held = false;
        if (text === 'commit' || text === 'rollback') return nothing(text.toUpperCase());
        return withBegin(text, values);
      }) as unknown as PostgresPoolClient['query'],
      release: (destroy?: boolean) => {
        held = false;
        client.release(destroy);
      },
    };
  };
  return {
    connect: async () => {
      const client = await pool.connect();
      let wrapper = wrappers.get(client);
      if (!wrapper) wrappers.set(client, (wrapper = wrap(client)));
      return wrapper;
    },
    end: () => pool.end(),
  };
}

async function openPostgres(url: string, max: number): Promise<Database> {
  // pipeline: a held BEGIN goes out with the statement after it (see `preparing`)
  const pool = new pg.Pool({ connectionString: url, max, types: pgTypes(), pipeline: true } as pg.PoolConfig);
  // An idle client losing its server (a restart) must not crash the process: the pool drops it.
  pool.on('error', () => {});
  // A checked-out client losing its server emits 'error' on itself, where pg-pool listens no
  // more: unheard, it would kill the process. Heard, the failure reaches the waiting query as an
  // error (the API answers 503) and the pool discards the client when it is released.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: preparing(pool) }) });
  return {
    engine: 'postgres',
    db,
    async close() {
      await db.destroy();
    },
  };
}

/** Run raw SQL with positional parameters ($1…): the hot paths use it to skip query building. */
export async function rawQuery<R = Record<string, unknown>>(
  executor: Executor,
  sqlText: string,
  params: readonly unknown[] = [],
): Promise<{ rows: R[]; rowCount: number }> {
  const result = await executor.executeQuery<R>(CompiledQuery.raw(sqlText, params as unknown[]));
  return { rows: result.rows, rowCount: Number(result.numAffectedRows ?? 0n) };
}

const RETRYABLE = new Set(['40001', '40P01']); // serialization failure, deadlock detected

/**
 * Run `work` in one transaction, retrying the whole unit when PostgreSQL aborts it for a
 * serialization failure or a deadlock (the work must be safe to repeat: it is, since nothing
 * of an aborted attempt was committed).
 */
export async function inTransaction<T>(db: Kysely<DB>, work: (trx: Trx) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(work);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (!code || !RETRYABLE.has(code) || attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
    }
  }
}

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint);
}
