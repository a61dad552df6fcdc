import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawQuery } from '../../src/db/database.js';
import type { WhatifService } from '../../src/modules/whatif/index.js';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

describe.each(engines)('what-if runs after a process died (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
  });
  afterAll(() => t.close());

  it('ends a run left running without a heartbeat as abandoned, and leaves a live one alone', async () => {
    const { program, key } = await t.createProgram({ mode: 'live' });
    const db = t.laurel.database.db;
    const insert = (id: string, heartbeatMinutesAgo: number) =>
      rawQuery(
        db,
        `insert into whatif_runs (id, program_id, kind, params, status, created_by, created_at, started_at, heartbeat_at)
         values ($1, $2, 'replay', '{}', 'running', 'test', now(), now(), now() - make_interval(mins => $3))`,
        [id, program.id, heartbeatMinutesAgo],
      );
    await insert('wir_dead', 30);
    await insert('wir_alive', 1);
    const whatif = t.laurel.services.whatif as WhatifService;
    expect(await whatif.recover(program.id)).toEqual({ abandoned: 1, started: 0 });
    const run = (id: string) => t.api('GET', `/v1/programs/${program.id}/whatif/runs/${id}`, { key });
    expect((await run('wir_dead')).body).toMatchObject({ status: 'failed', error: { code: 'abandoned' } });
    expect((await run('wir_alive')).body).toMatchObject({ status: 'running' });
    expect(await whatif.recover(program.id)).toEqual({ abandoned: 0, started: 0 });
  });
});
