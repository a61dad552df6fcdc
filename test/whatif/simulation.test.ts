import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulationResult, WhatifService } from '../../src/modules/whatif/index.js';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';
import { prng } from '../../src/modules/whatif/index.js';
import { ladder, PER_YUAN } from './fixture.js';

// February: the shortest month keeps the day-by-day clock short.
const START = '2026-02-01T02:00:00Z';

const PARAMS = {
  members: 8,
  months: 1,
  purchasesPerMonth: 3,
  amount: { min: 5_000, max: 60_000 },
  checkInProbability: 0.3,
  redeemProbability: 0.5,
  redeemShare: 0.5,
  pointType: 'points',
  eventType: 'purchase',
  channel: 'app',
};

describe.each(engines)('what-if forward simulation (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
  });
  afterAll(() => t.close());

  /** A fresh sandbox program with the same rules, ladder, check-in schedule and expiry. */
  async function sandbox(mode = 'sandbox') {
    const { program, key } = await t.createProgram({ mode, timeZone: 'Asia/Shanghai', ...(mode === 'sandbox' ? { clockStart: START } : {}) });
    const base = `/v1/programs/${program.id}`;
    const ok = (res: { status: number; body: unknown }) => {
      if (res.status >= 300) throw new Error(JSON.stringify(res.body));
    };
    ok(await t.api('POST', `${base}/rules`, { key, body: PER_YUAN }));
    ok(await t.api('PUT', `${base}/tiers`, { key, body: ladder({ kind: 'rollingDays', days: 30 }) }));
    ok(await t.api('PUT', `${base}/check-in-schedule`, { key, body: { cycle: 'weekly', rewards: [5, 5, 10, 10, 15, 15, 50] } }));
    ok(await t.api('PATCH', `${base}/point-types/points`, { key, body: { expiryPolicy: { kind: 'afterDays', days: 7, roundTo: 'endOfDay' } } }));
    return { base, key, programId: program.id };
  }

  async function simulate(seed: number) {
    const s = await sandbox();
    const started = await t.api('POST', `${s.base}/whatif/simulations`, { key: s.key, body: { ...PARAMS, seed } });
    expect(started.status).toBe(202);
    const whatif = t.laurel.services.whatif as WhatifService;
    await whatif.wait(t.laurel.systemContext(await t.laurel.services.programs.get(s.programId), 'test'), started.body.id);
    const run = await t.api('GET', `${s.base}/whatif/runs/${started.body.id}`, { key: s.key });
    expect(run.body.status, JSON.stringify(run.body.error)).toBe('succeeded');
    return { ...s, runId: started.body.id as string, result: run.body.result as SimulationResult };
  }

  it('is reproducible with a seed, through the real services and the test clock', async () => {
    const a = await simulate(42);
    const b = await simulate(42);
    expect(a.result.months).toHaveLength(1);
    expect(b.result.months).toEqual(a.result.months);
    const [m] = a.result.months;
    expect(m!.purchases).toBeGreaterThan(0);
    expect(m!.checkIns).toBeGreaterThan(0);
    expect(m!.issued.points).toBeGreaterThan(0);
    expect(m!.redeemed).toBeGreaterThan(0);
    // Points expire a week after they are earned: some did within the month.
    expect(m!.expired.points).toBeGreaterThan(0);
    expect(m!.liability.points).toBeLessThan(m!.issued.points! + 50 * m!.checkIns - m!.redeemed);
    expect(Object.values(m!.tiers).reduce((x, y) => x + y, 0)).toBe(PARAMS.members);
    // The clock moved a month, through every job due on the way.
    const clock = await t.api('GET', `${a.base}/clock`, { key: a.key });
    expect(clock.body.now).toBe('2026-03-01T02:00:00.000Z');
    const csv = await t.api('GET', `${a.base}/whatif/runs/${a.runId}?format=csv`, { key: a.key });
    expect(String(csv.body).split('\r\n')[0]).toContain('month,from,to,point_type,members,purchases');
  }, 120_000);

  it('draws the same behaviour from the same seed, and other behaviour from another', () => {
    const draw = (seed: number) => Array.from({ length: 5 }, prng(seed));
    expect(draw(42)).toEqual(draw(42));
    expect(draw(7)).not.toEqual(draw(42));
  });

  it('refuses a simulation on a live program', async () => {
    const s = await sandbox('live');
    const res = await t.api('POST', `${s.base}/whatif/simulations`, { key: s.key, body: { ...PARAMS, seed: 1 } });
    expect([res.status, res.body.error.code]).toEqual([409, 'not_sandbox']);
  });
});
