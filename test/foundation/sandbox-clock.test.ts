import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDefinition } from '../../src/jobs/job.js';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

describe.each(engines)('sandbox test clock (%s)', (engine) => {
  let t: TestLaurel;
  const runs: Array<{ job: string; asOf: string }> = [];
  beforeAll(async () => {
    t = await createTestLaurel(engine);
    // Two jobs due every local midnight and every 1st of the month at 03:00 UTC: an advance must
    // run each as of its own due time, in time order, ties by job order.
    const daily: JobDefinition = {
      name: 'test.daily',
      order: 1,
      everyMs: 60_000,
      async nextDue(_db, _program, after) {
        const d = new Date(after);
        d.setUTCHours(24, 0, 0, 0);
        return d;
      },
      async run({ asOf }) {
        runs.push({ job: 'daily', asOf: asOf.toISOString() });
        return { ok: true };
      },
    };
    const monthly: JobDefinition = {
      name: 'test.monthly',
      order: 0,
      everyMs: 60_000,
      async nextDue(_db, _program, after) {
        const d = new Date(Date.UTC(after.getUTCFullYear(), after.getUTCMonth(), 1, 0, 0, 0));
        if (d.getTime() <= after.getTime()) d.setUTCMonth(d.getUTCMonth() + 1);
        return d;
      },
      async run({ asOf }) {
        runs.push({ job: 'monthly', asOf: asOf.toISOString() });
        return {};
      },
    };
    t.laurel.jobs.register(daily);
    t.laurel.jobs.register(monthly);
  });
  afterAll(() => t.close());

  it('starts where it is told, advances by calendar steps and runs due jobs in order', async () => {
    const { program } = await t.createProgram({ mode: 'sandbox', timeZone: 'UTC', clockStart: '2026-01-30T12:00:00Z' });
    const base = `/v1/programs/${program.id}`;
    expect((await t.api('GET', `${base}/clock`)).body.now).toBe('2026-01-30T12:00:00.000Z');
    runs.length = 0;
    const adv = await t.api('POST', `${base}/clock/advance`, { body: { by: { days: 3 } } });
    expect(adv.status).toBe(200);
    expect(adv.body.now).toBe('2026-02-02T12:00:00.000Z');
    expect(runs).toEqual([
      { job: 'daily', asOf: '2026-01-31T00:00:00.000Z' },
      { job: 'monthly', asOf: '2026-02-01T00:00:00.000Z' },
      { job: 'daily', asOf: '2026-02-01T00:00:00.000Z' },
      { job: 'daily', asOf: '2026-02-02T00:00:00.000Z' },
    ]);
    expect(adv.body.jobsRun).toHaveLength(4);
    expect((await t.api('GET', `${base}/clock`)).body.now).toBe('2026-02-02T12:00:00.000Z');
  });

  it('refuses to move backwards and changes nothing', async () => {
    const { program } = await t.createProgram({ mode: 'sandbox', clockStart: '2026-06-01T00:00:00Z' });
    const base = `/v1/programs/${program.id}`;
    const back = await t.api('POST', `${base}/clock/advance`, { body: { to: '2026-05-01T00:00:00Z' } });
    expect(back.status).toBe(422);
    expect(back.body.error.code).toBe('clock_backwards');
    expect((await t.api('GET', `${base}/clock`)).body.now).toBe('2026-06-01T00:00:00.000Z');
  });

  it('has no test clock for a live program', async () => {
    const { program } = await t.createProgram({ mode: 'live' });
    const res = await t.api('POST', `/v1/programs/${program.id}/clock/advance`, { body: { by: { days: 1 } } });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('not_sandbox');
    const bad = await t.api('POST', '/v1/programs', { body: { name: 'x', mode: 'live', timeZone: 'UTC', currency: 'USD', clockStart: '2026-01-01T00:00:00Z' } });
    expect(bad.status).toBe(400);
  });

  it('runs a live program’s due jobs once per sweep across two schedulers', async () => {
    const { program } = await t.createProgram({ mode: 'live' });
    runs.length = 0;
    const { Scheduler } = await import('../../src/jobs/scheduler.js');
    const a = new Scheduler(t.laurel.database.db, t.laurel.jobs, t.laurel.http.log);
    const b = new Scheduler(t.laurel.database.db, t.laurel.jobs, t.laurel.http.log);
    await Promise.all([a.tick(), b.tick()]);
    const mine = runs.filter(() => true);
    // each job once for each live program, never twice
    const programs = (await t.api('GET', '/v1/programs?limit=200')).body.data.filter((p: { mode: string }) => p.mode === 'live');
    expect(mine.length).toBe(programs.length * 2);
    expect(programs.map((p: { id: string }) => p.id)).toContain(program.id);
    runs.length = 0;
    await Promise.all([a.tick(), b.tick()]);
    expect(runs).toEqual([]);
  });
});
