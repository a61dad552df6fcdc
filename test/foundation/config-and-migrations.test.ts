import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { openDatabase, rawQuery } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { migrations } from '../../src/db/migrations/index.js';
import { engines, withDatabase } from '../engines.js';

describe('configuration', () => {
  it('has defaults for a fresh machine', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 3000, host: '127.0.0.1', databaseUrl: undefined, databasePoolSize: 20, logLevel: 'info', scheduler: true });
    expect(loadConfig({ DATABASE_POOL_SIZE: '6' }).databasePoolSize).toBe(6);
    expect(c.dataDir).toMatch(/\.laurel$/);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ LAUREL_ADMIN_KEY: 'short' }, 'LAUREL_ADMIN_KEY'],
    [{ LAUREL_SCHEDULER: 'maybe' }, 'LAUREL_SCHEDULER'],
    [{ DATABASE_POOL_SIZE: '0' }, 'DATABASE_POOL_SIZE'],
    [{ DATABASE_POOL_SIZE: 'many' }, 'DATABASE_POOL_SIZE'],
  ])('stops on %j with a message naming %s', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });
});

describe.each(engines)('migrations from an empty database (%s)', (engine) => {
  it('applies every migration once, and a second run applies none', async () => {
    let url: string | undefined;
    let name = '';
    if (engine === 'postgres') {
      name = `laurel_t_${process.env.LAUREL_TEST_RUN ?? process.pid}_${randomBytes(4).toString('hex')}`;
      const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
      await admin.connect();
      await admin.query(`create database ${name}`);
      await admin.end();
      url = withDatabase(process.env.TEST_DATABASE_URL!, name);
    }
    const database = await openDatabase({ url });
    try {
      const first = await migrate(database.db);
      expect(first.applied.map((m) => m.version)).toEqual(migrations.map((m) => m.version));
      const second = await migrate(database.db);
      expect(second.applied).toEqual([]);
      const tables = await rawQuery<{ table_name: string }>(
        database.db,
        "select table_name from information_schema.tables where table_schema = 'public'",
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(['programs', 'members', 'api_keys', 'idempotency_keys']));
    } finally {
      await database.close();
      if (name) {
        const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
        await admin.connect();
        await admin.query(`drop database if exists ${name} with (force)`);
        await admin.end();
      }
    }
  });
});
