import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

describe.each(engines)('ledger smoke (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
  });
  afterAll(() => t.close());

  it('earns, spends, refunds and verifies', async () => {
    const { program, key } = await t.createProgram();
    const base = `/v1/programs/${program.id}`;
    const m = (await t.api('POST', `${base}/members`, { key, body: { externalId: 'a' } })).body;
    const earn = await t.api('POST', `${base}/members/${m.id}/earn`, { key, headers: { 'idempotency-key': 'e1' }, body: { pointType: 'points', amount: 100 } });
    expect(earn.status, JSON.stringify(earn.body)).toBe(201);
    expect(earn.body.availableAfter).toBe(100);
    const spend = await t.api('POST', `${base}/members/${m.id}/spend`, { key, headers: { 'idempotency-key': 's1' }, body: { pointType: 'points', amount: 30 } });
    expect(spend.status, JSON.stringify(spend.body)).toBe(201);
    expect(spend.body.availableAfter).toBe(70);
    const refund = await t.api('POST', `${base}/transactions/${spend.body.id}/refund`, { key, headers: { 'idempotency-key': 'r1' }, body: { amount: 10 } });
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    expect(refund.body.availableAfter).toBe(80);
    const bal = await t.api('GET', `${base}/members/${m.id}/balances`, { key });
    expect(bal.body.balances.find((b: any) => b.pointType === 'points')).toMatchObject({ available: 80, lifetimeEarned: 100, lifetimeSpent: 20 });
    const hist = await t.api('GET', `${base}/members/${m.id}/ledger`, { key });
    expect(hist.body.data.map((e: any) => e.kind)).toEqual(['refund', 'spend', 'earn']);
    const verify = await t.api('GET', `${base}/ledger/verify`, { key });
    expect(verify.body).toMatchObject({ ok: true });
  });
});
