import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';
import { spendingFixture, type SpendingFixture } from '../mall/fixture.js';

describe.each(engines)('benefits, entitlements and charity (%s)', (engine) => {
  let t: TestLaurel;
  let f: SpendingFixture;
  beforeAll(async () => {
    t = await createTestLaurel(engine, { poolSize: 30 });
    f = await spendingFixture(t);
  });
  afterAll(() => t.close());

  it('a benefit is granted once per key, used once per key, and its utilisation is reported', async () => {
    const created = await t.api('POST', `${f.base}/benefits`, {
      key: f.key,
      body: { code: 'free-ship', name: 'Free shipping', kind: 'free_shipping', defaultUses: 3, validityDays: 30, quota: { period: 'day', uses: 2 } },
    });
    expect(created.status).toBe(201);
    const m = await f.member(0);
    const grant = () => t.api('POST', `${f.base}/members/${m}/entitlements`, { key: f.key, headers: { 'idempotency-key': 'g1' }, body: { benefitCode: 'free-ship' } });
    const [g1, g2] = await Promise.all([grant(), grant()]);
    const ok = [g1, g2].filter((g) => g.status === 201);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    const again = await grant();
    expect(again.body.replayed).toBe(true);
    const ent = again.body.entitlements[0];
    expect(ent).toMatchObject({ status: 'active', usesLeft: 3, usesTotal: 3 });
    const use = (k: string) => t.api('POST', `${f.base}/members/${m}/entitlements/${ent.id}/uses`, { key: f.key, headers: { 'idempotency-key': k }, body: { context: { order: k } } });
    const uses = await Promise.all([use('u1'), use('u1'), use('u1')]);
    expect(uses.filter((u) => u.status === 201).length).toBeGreaterThanOrEqual(1);
    expect((await use('u2')).body.usesLeft).toBe(1);
    const third = await use('u3');
    expect(third.status).toBe(422);
    expect(third.body.error.code).toBe('limit_reached');
    const list = await t.api('GET', `${f.base}/members/${m}/entitlements?status=active`, { key: f.key });
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0].usesLeft).toBe(1);
    const util = await t.api('GET', `${f.base}/benefits/free-ship/utilisation`, { key: f.key });
    expect(util.body).toMatchObject({ entitlementsGranted: 1, uses: 2, membersUsing: 1 });
    const revoke = await t.api('POST', `${f.base}/members/${m}/entitlements/${ent.id}/revoke`, { key: f.key, body: { reason: 'abuse' } });
    expect(revoke.body.status).toBe('revoked');
    const afterRevoke = await use('u4');
    expect(afterRevoke.body.error.code).toBe('entitlement_not_usable');
  });

  it('an entitlement expires with its validity and is used up with its uses', async () => {
    await f.tx((trx) => f.benefits.create(trx, f.ctx, { code: 'bday', name: 'Birthday cake', kind: 'birthday_gift', defaultUses: 1 }));
    const m = await f.member(0);
    const [e1] = (await f.tx((trx) => f.benefits.grant(trx, f.ctx, { memberId: m, benefitCode: 'bday', idempotencyKey: 'b1' }))).entitlements;
    await f.tx((trx) => f.benefits.use(trx, f.ctx, { entitlementId: e1!.id, idempotencyKey: 'x' }));
    await expect(f.tx((trx) => f.benefits.use(trx, f.ctx, { entitlementId: e1!.id, idempotencyKey: 'y' }))).rejects.toMatchObject({ code: 'entitlement_not_usable' });
    const [e2] = (await f.tx((trx) => f.benefits.grant(trx, f.ctx, { memberId: m, benefitCode: 'bday', validFrom: new Date(f.ctx.clock.now().getTime() - 2000), validUntil: new Date(f.ctx.clock.now().getTime() - 1000), idempotencyKey: 'b2' }))).entitlements;
    expect(e2!.status).toBe('expired');
    await expect(f.tx((trx) => f.benefits.use(trx, f.ctx, { entitlementId: e2!.id, idempotencyKey: 'z' }))).rejects.toMatchObject({ code: 'entitlement_not_usable' });
    const bad = await t.api('POST', `${f.base}/members/${m}/entitlements`, { key: f.key, headers: { 'idempotency-key': 'neg' }, body: { benefitCode: 'bday', quantity: -2 } });
    expect(bad.body.error.code).toBe('validation_failed');
    const missing = await t.api('POST', `${f.base}/members/${m}/entitlements`, { key: f.key, headers: { 'idempotency-key': 'nf' }, body: { benefitCode: 'nope' } });
    expect(missing.body.error.code).toBe('benefit_not_found');
  });

  it('charity: donations are ledger spends with running totals; a refused donation changes nothing', async () => {
    const cause = await t.api('POST', `${f.base}/charity/causes`, { key: f.key, body: { code: 'trees', name: 'Plant trees', targetPoints: 1000 } });
    expect(cause.status).toBe(201);
    const a = await f.member(500);
    const b = await f.member(100);
    const donate = (m: string, points: number, k: string) =>
      t.api('POST', `${f.base}/charity/causes/trees/donations`, { key: f.key, headers: { 'idempotency-key': k }, body: { memberId: m, points } });
    expect((await donate(a, 300, 'd1')).status).toBe(201);
    expect((await donate(a, 300, 'd1')).body.replayed).toBe(true);
    expect((await donate(b, 50, 'd2')).status).toBe(201);
    const poor = await donate(b, 500, 'd3');
    expect(poor.body.error.code).toBe('insufficient_points');
    expect((await donate(b, -5, 'd4')).body.error.code).toBe('validation_failed');
    const after = await t.api('GET', `${f.base}/charity/causes/trees`, { key: f.key });
    expect(after.body).toMatchObject({ raisedPoints: 350, donations: 2, progress: 0.35 });
    const mine = await t.api('GET', `${f.base}/members/${a}/donations`, { key: f.key });
    expect(mine.body).toMatchObject({ totalPoints: 300 });
    expect(await f.balance(a)).toMatchObject({ available: 200 });
    expect(await f.balance(b)).toMatchObject({ available: 50 });
    await t.api('PATCH', `${f.base}/charity/causes/trees`, { key: f.key, body: { status: 'closed' } });
    expect((await donate(a, 10, 'd5')).body.error.code).toBe('cause_closed');
    await f.verify();
  });
});
