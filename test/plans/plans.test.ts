import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawQuery } from '../../src/db/database.js';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';
import { sandboxProgram, webhookSink } from './helpers.js';

const POINTS_RULE = {
  name: 'a point per ¥1',
  status: 'active',
  priority: 10,
  stacking: 'cumulative',
  eventTypes: ['purchase'],
  rewards: [{ type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '1', per: 100, rounding: 'floor' }],
};

const growthLadder = {
  metrics: [{ code: 'growth', name: 'Growth', source: { kind: 'pointType', pointType: 'growth' } }],
  evaluation: { schedule: 'none' },
  tiers: [
    { code: 'basic', name: 'Basic' },
    { code: 'silver', name: 'Silver', qualification: { metric: 'growth', window: { kind: 'lifetime' }, min: 60 } },
  ],
};

describe.each(engines)('paid membership (%s)', (engine) => {
  let t: TestLaurel;
  let sink: Awaited<ReturnType<typeof webhookSink>>;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
    sink = await webhookSink();
  });
  afterAll(async () => {
    await t.close();
    await sink.close();
  });

  async function setup(clockStart: string) {
    const { program, key, base, ok, advanceTo, outbox } = await sandboxProgram(t, sink.url, clockStart);
    await ok('POST', '/rules', POINTS_RULE);
    const ids: Record<string, string> = {};
    const member = async (ext: string) => (ids[ext] = (await ok('POST', '/members', { externalId: ext })).id);
    let n = 0;
    const purchase = (ext: string, amount: number) => ok('POST', '/events', { eventId: `e${++n}`, member: `ext:${ext}`, type: 'purchase', attributes: { amount } });
    const balance = async (ext: string, pointType: string) =>
      ((await t.api('GET', `${base}/members/ext:${ext}/balances`, { key })).body.balances as Array<{ pointType: string; available: number }>).find((b) => b.pointType === pointType)?.available ?? 0;
    const subscribe = (ext: string, idem: string, body: Record<string, unknown>) =>
      t.api('POST', `${base}/members/ext:${ext}/subscriptions`, { key, headers: { 'idempotency-key': idem }, body });
    return { program, base, key, ids, member, purchase, balance, advanceTo, subscribe, outbox };
  }

  it('a plan doubles points and accrues growth per day; cancelled, it lapses and loses growth per day, never below zero', async () => {
    const s = await setup('2026-01-05T02:00:00Z'); // 10:00 in Shanghai
    expect((await t.api('PUT', `${s.base}/tiers`, { key: s.key, body: growthLadder })).status).toBe(200);
    const plan = await t.api('POST', `${s.base}/plans`, {
      key: s.key,
      body: {
        code: 'plus',
        name: 'Plus',
        period: { unit: 'day', count: 10 },
        price: { amount: 1500, currency: 'CNY' },
        earningMultiplier: '2',
        growth: { perDay: 10, lossPerDayLapsed: 30 },
        firstPurchaseGift: { points: { pointType: 'points', amount: 500 } },
      },
    });
    expect(plan.status).toBe(201);
    expect(plan.body).toMatchObject({ code: 'plus', earningMultiplier: '2', growth: { pointType: 'growth', perDay: 10, lossPerDayLapsed: 30 } });
    await s.member('u1');
    await s.member('u2');

    // The host reports the payment; the same report again (any Idempotency-Key) replays it.
    const payment = { reference: 'pay-1', amount: 1500, currency: 'CNY' };
    const started = await s.subscribe('u1', 'k1', { plan: 'plus', payment });
    expect(started.status).toBe(201);
    expect(started.body.subscription).toMatchObject({ planCode: 'plus', status: 'active', currentPeriodEnd: '2026-01-15T02:00:00.000Z', cancelAtPeriodEnd: false });
    expect(started.body.payment).toMatchObject({ kind: 'start', reference: 'pay-1', money: { amount: 1500, currency: 'CNY' } });
    const again = await s.subscribe('u1', 'k2', { plan: 'plus', payment });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ replayed: true, subscription: { id: started.body.subscription.id }, payment: { id: started.body.payment.id } });
    const otherAmount = await s.subscribe('u1', 'k3', { plan: 'plus', payment: { ...payment, amount: 1000 } });
    expect(otherAmount.body.error.code).toBe('idempotency_conflict');
    const wrongPrice = await s.subscribe('u2', 'k4', { plan: 'plus', payment: { reference: 'pay-2', amount: 1000, currency: 'CNY' } });
    expect(wrongPrice.status).toBe(422);
    expect(wrongPrice.body.error.code).toBe('payment_mismatch');
    const twice = await s.subscribe('u1', 'k5', { plan: 'plus', payment: { reference: 'pay-3', amount: 1500, currency: 'CNY' } });
    expect(twice.body.error.code).toBe('illegal_transition');
    expect((await t.api('GET', `${s.base}/members/ext:u1/subscriptions`, { key: s.key })).body.data).toHaveLength(1);

    // The plan is a fact the rules see: the program's plan multiplier doubles u1's points, not u2's.
    expect((await s.purchase('u1', 10_000)).totals.points).toBe(200);
    expect((await s.purchase('u2', 10_000)).totals.points).toBe(100);
    expect(await s.balance('u1', 'points')).toBe(700); // 500 first-purchase gift + 200

    // Growth per local day of the active plan: 5 Jan … 9 Jan are credited by 10 Jan 00:00 (Shanghai).
    await s.advanceTo('2026-01-09T16:00:00Z');
    expect(await s.balance('u1', 'growth')).toBe(50);
    // Cancelled: kept until the period ends (15 Jan 10:00 Shanghai), then expired by the job.
    const cancel = await t.api('POST', `${s.base}/members/ext:u1/subscriptions/${started.body.subscription.id}/cancel`, { key: s.key, body: { reason: 'too dear' } });
    expect(cancel.body).toMatchObject({ status: 'active', cancelAtPeriodEnd: true });
    await s.advanceTo('2026-01-10T16:00:00Z');
    expect((await t.api('GET', `${s.base}/members/ext:u1/tier`, { key: s.key })).body.tier.code).toBe('silver'); // plan growth counts toward tiers: 60 by 11 Jan
    await s.advanceTo('2026-01-15T16:00:00Z'); // 16 Jan 00:00 Shanghai
    const subs = (await t.api('GET', `${s.base}/members/ext:u1/subscriptions`, { key: s.key })).body.data;
    expect(subs[0]).toMatchObject({ status: 'expired', endedAt: '2026-01-15T02:00:00.000Z' });
    // 10 days credited (5 Jan … 14 Jan), then 15 Jan lost while lapsed.
    expect(await s.balance('u1', 'growth')).toBe(100 - 30);
    expect((await s.purchase('u1', 10_000)).totals.points).toBe(100); // no plan, no multiplier

    // Lapsed: 30 a day until nothing is left, never below zero (100 = 3 × 30 + 10).
    await s.advanceTo('2026-01-20T00:00:00Z');
    expect(await s.balance('u1', 'growth')).toBe(0);
    const ledger = (await t.api('GET', `${s.base}/members/ext:u1/ledger?pointType=growth&limit=200`, { key: s.key })).body.data as Array<{ kind: string; amount: number }>;
    const losses = ledger.filter((e) => e.kind === 'adjustment').map((e) => Math.abs(e.amount));
    expect(losses).toEqual([10, 30, 30, 30]); // newest first
    expect((await t.api('GET', `${s.base}/ledger/verify`, { key: s.key })).body).toMatchObject({ ok: true });

    expect((await s.outbox('plan.subscription_started')).map((p) => p.plan)).toEqual(['plus']);
    expect(await s.outbox('plan.subscription_cancelled')).toMatchObject([{ plan: 'plus', reason: 'too dear', cancelAtPeriodEnd: true }]);
    expect(await s.outbox('plan.subscription_expired')).toMatchObject([{ plan: 'plus', cancelled: true }]);
    // The multiplier change is audited like any configuration change.
    const audit = await rawQuery<{ n: number }>(t.laurel.database.db, `select count(*)::int as n from audit_log where program_id = $1 and resource_type = 'plan'`, [s.program.id]);
    expect(audit.rows[0]!.n).toBe(1);
  });

  it('a plan bought with points, with points and cash, renewed, and a trial once per member', async () => {
    const s = await setup('2026-03-01T02:00:00Z');
    for (const body of [
      { code: 'lite', name: 'Lite', period: { unit: 'day', count: 30 }, pointsPrice: { pointType: 'points', amount: 1000 }, trialDays: 7 },
      { code: 'duo', name: 'Duo', period: { unit: 'month', count: 3 }, mixedPrice: { points: { pointType: 'points', amount: 400 }, cash: { amount: 500, currency: 'CNY' } } },
    ]) {
      const res = await t.api('POST', `${s.base}/plans`, { key: s.key, body });
      expect(res.status).toBe(201);
    }
    await s.member('u1');
    await s.member('u2');
    expect((await t.api('POST', `${s.base}/members/ext:u1/earn`, { key: s.key, headers: { 'idempotency-key': 'seed' }, body: { pointType: 'points', amount: 1500 } })).status).toBe(201);

    const bought = await s.subscribe('u1', 'buy-1', { plan: 'lite', payWith: 'points' });
    expect(bought.status).toBe(201);
    expect(bought.body.payment).toMatchObject({ money: null, points: { pointType: 'points', amount: 1000 } });
    expect(bought.body.subscription.currentPeriodEnd).toBe('2026-03-31T02:00:00.000Z');
    expect(await s.balance('u1', 'points')).toBe(500);
    const replay = await s.subscribe('u1', 'buy-1', { plan: 'lite', payWith: 'points' });
    expect(replay.body.replayed).toBe(true);
    expect(await s.balance('u1', 'points')).toBe(500); // spent once
    // Too few points: refused, and nothing is recorded.
    const poor = await s.subscribe('u2', 'buy-2', { plan: 'lite', payWith: 'points' });
    expect(poor.body.error.code).toBe('insufficient_points');
    expect((await t.api('GET', `${s.base}/members/ext:u2/subscriptions`, { key: s.key })).body.data).toEqual([]);

    // Points and cash together: the cash must match, the points are spent.
    const mixed = await s.subscribe('u1', 'buy-3', { plan: 'duo', payWith: 'mixed', payment: { reference: 'pay-m1', amount: 500, currency: 'CNY' } });
    expect(mixed.status).toBe(201);
    expect(mixed.body.payment).toMatchObject({ money: { amount: 500 }, points: { amount: 400 } });
    expect(await s.balance('u1', 'points')).toBe(100);
    // Renewed by a cash-less report: refused (the plan has no cash-only price); then with the mixed price again after a top-up.
    const noPrice = await t.api('POST', `${s.base}/members/ext:u1/subscriptions/${mixed.body.subscription.id}/renewals`, { key: s.key, headers: { 'idempotency-key': 'r0' }, body: { payWith: 'money', payment: { reference: 'pay-m2', amount: 500, currency: 'CNY' } } });
    expect(noPrice.body.error.code).toBe('plan_not_purchasable');
    await t.api('POST', `${s.base}/members/ext:u1/earn`, { key: s.key, headers: { 'idempotency-key': 'seed2' }, body: { pointType: 'points', amount: 400 } });
    const renewed = await t.api('POST', `${s.base}/members/ext:u1/subscriptions/${mixed.body.subscription.id}/renewals`, { key: s.key, headers: { 'idempotency-key': 'r1' }, body: { payWith: 'mixed', payment: { reference: 'pay-m3', amount: 500, currency: 'CNY' } } });
    expect(renewed.status).toBe(201);
    expect(renewed.body.subscription).toMatchObject({ renewals: 1, currentPeriodStart: '2026-06-01T02:00:00.000Z', currentPeriodEnd: '2026-09-01T02:00:00.000Z' });
    expect(renewed.body.payment).toMatchObject({ kind: 'renew', periodStart: '2026-06-01T02:00:00.000Z' });
    const payments = await t.api('GET', `${s.base}/members/ext:u1/subscriptions/${mixed.body.subscription.id}/payments`, { key: s.key });
    expect(payments.body.data.map((p: { kind: string }) => p.kind)).toEqual(['start', 'renew']);
    expect(await s.outbox('plan.subscription_renewed')).toMatchObject([{ plan: 'duo', currentPeriodEnd: '2026-09-01T02:00:00.000Z' }]);

    // A trial: once per member and plan, without payment, for trialDays.
    const trial = await s.subscribe('u2', 'trial-1', { plan: 'lite', trial: true });
    expect(trial.body.subscription).toMatchObject({ status: 'trialing', currentPeriodEnd: '2026-03-08T02:00:00.000Z' });
    await s.advanceTo('2026-03-09T00:00:00Z');
    expect((await t.api('GET', `${s.base}/members/ext:u2/subscriptions`, { key: s.key })).body.data[0].status).toBe('expired');
    const secondTrial = await s.subscribe('u2', 'trial-2', { plan: 'lite', trial: true });
    expect(secondTrial.body.error.code).toBe('not_eligible');
  });
});
