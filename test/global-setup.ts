import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import pg from 'pg';
import { openDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { PGLITE_TEMPLATE_FILE, templateName, withDatabase } from './engines.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Migrate once, copy many times: a migrated PGlite data directory is dumped to a file that each
 * test file loads, and a migrated PostgreSQL database becomes the template each test database
 * is created from. Every test file then starts on a fresh, isolated database in about a second.
 * Database names carry the runner's pid, so concurrent runs on one server leave each other alone.
 */
export default async function setup(): Promise<() => Promise<void>> {
  process.env.LAUREL_TEST_RUN = String(process.pid);
  mkdirSync(dirname(PGLITE_TEMPLATE_FILE), { recursive: true });
  const embedded = await openDatabase({});
  await migrate(embedded.db);
  const dump = await embedded.dump!();
  writeFileSync(PGLITE_TEMPLATE_FILE, Buffer.from(await dump.arrayBuffer()));
  await embedded.close();

  const url = process.env.TEST_DATABASE_URL;
  if (!url) return async () => {};
  const template = templateName();
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  // Leftovers of runs that died before their teardown
  const stale = await admin.query<{ datname: string }>(
    "select datname from pg_database where datname ~ '^laurel_(tpl|t)_[0-9]+'",
  );
  for (const { datname } of stale.rows) {
    const pid = Number(/^laurel_(?:tpl|t)_(\d+)/.exec(datname)?.[1]);
    if (!alive(pid) || pid === process.pid) await admin.query(`drop database if exists ${datname} with (force)`);
  }
  await admin.query(`create database ${template}`);
  await admin.end();
  const db = await openDatabase({ url: withDatabase(url, template), poolSize: 1 });
  await migrate(db.db);
  await db.close();

  return async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`drop database if exists ${template} with (force)`);
    await client.end();
  };
}
