import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { DB } from './schema.js';
import { migrations, type Migration } from './migrations/index.js';

// An arbitrary constant: the advisory lock that makes concurrent starters migrate one at a time.
const MIGRATION_LOCK = 4_224_017;

export interface MigrationReport {
  applied: Migration[];
  current: number;
}

export async function migrate(db: Kysely<DB>, log: (line: string) => void = () => {}): Promise<MigrationReport> {
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn);
    try {
      await sql`create table if not exists laurel_migrations (
        version int primary key, name text not null, applied_at timestamptz not null default now())`.execute(conn);
      const done = await sql<{ version: number }>`select version from laurel_migrations`.execute(conn);
      const doneVersions = new Set(done.rows.map((r) => r.version));
      const applied: Migration[] = [];
      for (const m of migrations) {
        if (doneVersions.has(m.version)) continue;
        log(`migrating ${m.version} ${m.name}`);
        // One script per migration, inside its own transaction: a failed migration leaves nothing.
        await sql.raw(`begin;\n${m.sql}\n;insert into laurel_migrations (version, name) values (${m.version}, '${m.name}');\ncommit;`).execute(conn).catch(async (err) => {
          await sql.raw('rollback').execute(conn).catch(() => {});
          throw err;
        });
        applied.push(m);
      }
      return { applied, current: migrations[migrations.length - 1]?.version ?? 0 };
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn);
    }
  });
}
