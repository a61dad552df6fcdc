import type { FastifyBaseLogger } from 'fastify';
import { rawQuery, type Database } from './database.js';

/**
 * PGlite has no autovacuum. Without statistics, a table first planned while empty keeps being
 * scanned sequentially as it grows, and dead rows pile up. The embedded engine therefore runs
 * ANALYZE on a schedule and VACUUM every sixth time. PostgreSQL does this itself.
 */
export function startEmbeddedMaintenance(database: Database, everyMinutes: number, log: FastifyBaseLogger): () => void {
  if (database.engine !== 'pglite') return () => {};
  let runs = 0;
  const timer = setInterval(() => {
    runs++;
    const statement = runs % 6 === 0 ? 'vacuum analyze' : 'analyze';
    const started = Date.now();
    rawQuery(database.db, statement)
      .then(() => log.debug({ statement, ms: Date.now() - started }, 'embedded maintenance'))
      .catch((err) => log.warn({ err }, 'embedded maintenance failed'));
  }, everyMinutes * 60_000);
  timer.unref();
  return () => clearInterval(timer);
}

export async function analyze(database: Database): Promise<void> {
  await rawQuery(database.db, 'analyze');
}
