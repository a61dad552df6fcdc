import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { log } from './report.js';

export const BENCH_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface BenchDatabase {
  name: string;
  url: string;
  /** open Laurel's own view of the database (Kysely over node-postgres) */
  open(poolSize: number): Promise<Database>;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: BENCH_DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

// The pid keeps two benchmark runs (or a leftover of a killed one) from colliding.
const nameFor = (tag: string) => `laurel_bench_${tag.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}`;

/**
 * A database this run created: dropped by drop(), or on SIGINT/SIGTERM if the run is cut short.
 * BENCH_KEEP_DATABASE=1 keeps it, to replay a traced statement against the same rows.
 */
function owned(name: string): BenchDatabase {
  const url = withDatabase(BENCH_DATABASE_URL, name);
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    if (process.env.BENCH_KEEP_DATABASE) {
      log(`kept database ${name} (BENCH_KEEP_DATABASE)`);
      dropped = true;
      return;
    }
    dropped = true;
    // FORCE: a pool that was not closed (an aborted run) must not keep the database alive.
    await admin((c) => c.query(`drop database if exists ${name} with (force)`));
    log(`dropped database ${name}`);
  };
  const onSignal = () => {
    void drop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    name,
    url,
    open: (poolSize) => openDatabase({ url, poolSize }),
    async drop() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await drop();
    },
  };
}

/** A fresh database named laurel_bench_<tag>_<pid>, migrated with Laurel's migrations. */
export async function createBenchDatabase(tag: string): Promise<BenchDatabase> {
  const name = nameFor(tag);
  await admin((c) => c.query(`create database ${name}`));
  const bench = owned(name);
  const migrator = await openDatabase({ url: bench.url, poolSize: 1 });
  try {
    await migrate(migrator.db);
  } finally {
    await migrator.close();
  }
  log(`created and migrated database ${name}`);
  return bench;
}

/**
 * A copy of a seeded database, so variants of one measurement start from identical data without
 * seeding again. The source must have no open connections. FILE_COPY copies the files instead of
 * writing the whole database to the WAL.
 */
export async function copyBenchDatabase(source: BenchDatabase, tag: string): Promise<BenchDatabase> {
  const name = nameFor(tag);
  await admin((c) => c.query(`create database ${name} template ${source.name} strategy file_copy`));
  return owned(name);
}

/** A plain node-postgres pool on the bench database, for raw baselines and seeding. */
export function rawPool(url: string, max: number): pg.Pool {
  // Idle connections go soon: several pools share the server's connection limit.
  const pool = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: 2_000 });
  pool.on('error', () => {});
  return pool;
}
