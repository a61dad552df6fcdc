import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

describe.each(engines)('campaigns, milestones, splits, bulk credits and grants (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
  });
  afterAll(() => t.close());

  async function setup(clockStart = '2026-04-07T02:00:00Z') {
    const { program, key } = await t.createProgram({ mode: 'sandbox', timeZone: 'Asia/Shanghai', clockStart });
    const base = `/v1/programs/${program.id}`;
    const member = (await t.api('POST', `${base}/members`, { key, body: { externalId: 'u1', tags: ['card'] } })).body.id as string;
    const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const res = await t.api('POST', `${base}${path}`, { key, body, headers });
      if (res.status >= 300) throw new Error(`${path}: ${JSON.stringify(res.body)}`);
      return res.body;
    };
    const send = (eventId: string, type: string, attributes: Record<string, unknown>) =>
      post('/events', { eventId, member: 'ext:u1', type, attributes });
    const balance = async (m = member) =>
      (await t.api('GET', `${base}/members/${m}/balances`, { key })).body.balances.find((b: { pointType: string }) => b.pointType === 'points').available;
    const advance = (by: Record<string, number>) => t.api('POST', `${base}/clock/advance`, { key, body: { by } });
    return { program, key, base, member, post, send, balance, advance };
  }

  it('doubles points on membership day, the 8th of each month in the program zone', async () => {
    const s = await setup('2026-04-07T15:30:00Z'); // 23:30 on the 7th in Shanghai
    await s.post('/rules', { name: 'base', status: 'active', priority: 1, stacking: 'cumulative', eventTypes: ['purchase'], rewards: [{ type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '1', per: 100 }] });
    await s.post('/campaigns', { name: 'Membership day', status: 'active', priority: 1, eventTypes: ['purchase'], schedule: { recurrence: { every: 'month', days: [8] } }, multiplier: { rates: { points: '2' } } });
    expect((await s.send('md-1', 'purchase', { amount: 1_000 })).totals.points).toBe(10);
    await s.advance({ hours: 1 }); // 00:30 on the 8th, local
    const doubled = await s.send('md-2', 'purchase', { amount: 1_000 });
    expect(doubled.totals.points).toBe(20);
    expect(doubled.explanation.campaigns[0]).toMatchObject({ outcome: 'applied', multiplier: { points: '2' } });
  });

  it('pays a bonus at the 40th night and every 10th after, and once at the 60th', async () => {
    const s = await setup();
    await t.api('PUT', `${s.base}/event-types/stay`, { key: s.key, body: { name: 'Stay', attributesSchema: { type: 'object', properties: { nights: { type: 'integer', minimum: 1 } }, required: ['nights'] } } });
    await s.post('/rules', {
      name: 'Night milestones',
      status: 'active',
      priority: 5,
      stacking: 'cumulative',
      eventTypes: ['stay'],
      rewards: [],
      milestone: {
        window: 'year',
        countAttribute: 'nights',
        thresholds: [
          { at: 40, every: 10, rewards: [{ type: 'fixed', pointType: 'points', amount: 1000 }] },
          { at: 60, rewards: [{ type: 'fixed', pointType: 'points', amount: 5000 }] },
        ],
      },
    });
    expect((await s.send('st-1', 'stay', { nights: 35 })).totals.points ?? 0).toBe(0);
    expect((await s.send('st-2', 'stay', { nights: 10 })).totals.points).toBe(1000); // 45: crossed 40
    expect((await s.send('st-3', 'stay', { nights: 20 })).totals.points).toBe(1000 * 2 + 5000); // 65: 50, 60 and the one-off 60
    expect(await s.balance()).toBe(8000);
  });

  it('earns per payment split: 2 per dollar from stored value, 1 per dollar by card, in one event', async () => {
    const s = await setup();
    await s.post('/rules', {
      name: 'Splits',
      status: 'active',
      priority: 1,
      stacking: 'cumulative',
      eventTypes: ['payment'],
      rewards: [
        { type: 'perUnit', pointType: 'points', rate: '2', per: 100, items: { array: 'splits', field: 'amount', where: { field: 'item.method', op: 'eq', value: 'stored_value' } } },
        { type: 'perUnit', pointType: 'points', rate: '1', per: 100, items: { array: 'splits', field: 'amount', where: { field: 'item.method', op: 'eq', value: 'card' } } },
      ],
    });
    const paid = await s.send('pay-1', 'payment', { amount: 5_000, splits: [{ method: 'stored_value', amount: 3_000 }, { method: 'card', amount: 2_000 }] });
    expect(paid.totals.points).toBe(60 + 20);
  });

  it('credits a CSV once per line, with a report of the lines it refused', async () => {
    const s = await setup();
    await t.api('POST', `${s.base}/members`, { key: s.key, body: { externalId: 'u2' } });
    const csv = 'externalId,pointType,amount,reason\nu1,points,100,welcome\nu2,points,50,welcome\nghost,points,10,x\nu1,miles,5,x\nu2,points,-3,x\n';
    const upload = () => t.api('POST', `${s.base}/bulk-credits`, { key: s.key, payload: csv, headers: { 'content-type': 'text/csv', 'idempotency-key': 'import-1' } });
    const first = await upload();
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ rows: 5, credited: 2, replayed: 0, points: { points: 150 } });
    expect(first.body.errors.map((e: { line: number; code: string }) => [e.line, e.code])).toEqual([
      [4, 'member_not_found'],
      [5, 'point_type_not_found'],
      [6, 'invalid_amount'],
    ]);
    const second = await upload();
    expect(second.body).toMatchObject({ credited: 0, replayed: 2 });
    expect(await s.balance()).toBe(100);
  });

  it('grants a yearly head start to card holders on the program clock, once per year', async () => {
    const s = await setup('2026-12-30T00:00:00Z');
    const other = (await t.api('POST', `${s.base}/members`, { key: s.key, body: { externalId: 'no-card' } })).body.id as string;
    const grant = await s.post('/grants', { name: 'Card head start', pointType: 'points', amount: 2_500, audience: { tags: ['card'] }, schedule: { every: 'year', month: 1, day: 1 } });
    expect(grant.nextRunAt).toBe('2026-12-31T16:00:00.000Z');
    await s.advance({ days: 3 });
    expect(await s.balance()).toBe(2_500);
    expect(await s.balance(other)).toBe(0);
    await s.advance({ months: 12 });
    expect(await s.balance()).toBe(5_000);
    expect((await t.api('GET', `${s.base}/ledger/verify`, { key: s.key })).body.ok).toBe(true);
  });
});
