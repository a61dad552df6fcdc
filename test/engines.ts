import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database, type Engine } from '../src/db/database.js';

/** The runner's pid, set by the global setup and inherited by the test workers. */
function runId(): string {
  return process.env.LAUREL_TEST_RUN ?? String(process.pid);
}
export const templateName = (): string => `laurel_tpl_${runId()}`;
export const PGLITE_TEMPLATE_FILE = join(process.cwd(), '.tmp', 'pglite-template.tar');

/** PGlite always; PostgreSQL too when TEST_DATABASE_URL is set (CI sets it). */
export const engines: Engine[] = process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A fresh migrated database of its own for one test file (or one test), dropped on close. */
export async function createTestDatabase(engine: Engine, poolSize = 10): Promise<Database> {
  if (engine === 'pglite') {
    const tarball = readFileSync(PGLITE_TEMPLATE_FILE);
    return openDatabase({ loadDataDir: new Blob([tarball]) });
  }
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set');
  const name = `laurel_t_${runId()}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`create database ${name} template ${templateName()}`);
  } finally {
    await admin.end();
  }
  const database = await openDatabase({ url: withDatabase(url, name), poolSize });
  return {
    ...database,
    async close() {
      await database.close();
      const dropper = new pg.Client({ connectionString: url });
      await dropper.connect();
      await dropper.query(`drop database if exists ${name} with (force)`).catch(() => {});
      await dropper.end();
    },
  };
}
