import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

describe.each(engines)('tier medals from real tier movement (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
  });
  afterAll(() => t.close());

  it('awards the silver and then the gold level as purchases lift the member through the ladder', async () => {
    const { program, key } = await t.createProgram({ mode: 'sandbox', timeZone: 'Asia/Shanghai', clockStart: '2026-02-01T02:00:00Z' });
    const base = `/v1/programs/${program.id}`;
    const ok = (res: { status: number; body: unknown }) => {
      if (res.status >= 300) throw new Error(JSON.stringify(res.body));
      return res.body as any;
    };
    ok(await t.api('POST', `${base}/rules`, {
      key,
      body: { name: 'growth per ¥10', status: 'active', priority: 1, stacking: 'cumulative', eventTypes: ['purchase'], rewards: [{ type: 'perUnit', pointType: 'growth', attribute: 'amount', rate: '1', per: 1000 }] },
    }));
    ok(await t.api('PUT', `${base}/tiers`, {
      key,
      body: {
        metrics: [{ code: 'growth', name: 'Growth', source: { kind: 'pointType', pointType: 'growth' } }],
        evaluation: { schedule: 'monthly', dayOfMonth: 1 },
        downgrade: { policy: 'recompute' },
        tiers: [
          { code: 'basic', name: 'Basic' },
          { code: 'silver', name: 'Silver', qualification: { metric: 'growth', window: { kind: 'lifetime' }, min: 100 } },
          { code: 'gold', name: 'Gold', qualification: { metric: 'growth', window: { kind: 'lifetime' }, min: 300 } },
        ],
      },
    }));
    ok(await t.api('POST', `${base}/medals`, {
      key,
      body: { code: 'status', name: 'Status', criterion: { kind: 'tier_reached' }, levels: [{ name: 'Silver', threshold: 2 }, { name: 'Gold', threshold: 3 }] },
    }));
    const member = ok(await t.api('POST', `${base}/members`, { key, body: { externalId: 'climber' } })).id as string;
    const medals = async () =>
      ok(await t.api('GET', `${base}/members/${member}/medals`, { key })).data.find((m: { medal: { code: string } }) => m.medal.code === 'status');

    ok(await t.api('POST', `${base}/events`, { key, body: { eventId: 'p1', member, type: 'purchase', attributes: { amount: 150_000 } } }));
    expect(await medals()).toMatchObject({ level: 1, locked: false });
    ok(await t.api('POST', `${base}/events`, { key, body: { eventId: 'p2', member, type: 'purchase', attributes: { amount: 200_000 } } }));
    expect(await medals()).toMatchObject({ level: 2 });
  });
});
