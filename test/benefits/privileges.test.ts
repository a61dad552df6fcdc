import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction, rawQuery } from '../../src/db/database.js';
import type { PrivilegesModuleService } from '../../src/modules/benefits/index.js';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';
import { sandboxProgram, webhookSink } from '../plans/helpers.js';

const GROWTH_RULE = {
  name: 'growth per ¥10',
  status: 'active',
  priority: 10,
  stacking: 'cumulative',
  eventTypes: ['purchase'],
  rewards: [{ type: 'perUnit', pointType: 'growth', attribute: 'amount', rate: '1', per: 1000, rounding: 'floor' }],
};

const LADDER = {
  metrics: [{ code: 'growth', name: 'Growth', source: { kind: 'pointType', pointType: 'growth' } }],
  evaluation: { schedule: 'monthly', dayOfMonth: 1 },
  downgrade: { policy: 'recompute', noticeDays: 5 },
  tiers: [
    { code: 'basic', name: 'Basic' },
    { code: 'gold', name: 'Gold', qualification: { metric: 'growth', window: { kind: 'rollingDays', days: 30 }, min: 300 } },
  ],
};

describe.each(engines)('privileges and birthday care (%s)', (engine) => {
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
    const p = await sandboxProgram(t, sink.url, clockStart);
    const entitlements = async (ext: string, benefitCode?: string) =>
      (await t.api('GET', `${p.base}/members/ext:${ext}/entitlements?limit=200${benefitCode ? `&benefitCode=${benefitCode}` : ''}`, { key: p.key })).body.data as Array<Record<string, any>>;
    const ctx = async () => t.laurel.systemContext(await t.laurel.services.programs.get(p.program.id), 'test');
    return { ...p, entitlements, ctx };
  }

  it('grants tier benefits on entry and monthly while held, never twice in a period, and revokes them on downgrade with a reason', async () => {
    const s = await setup('2026-01-05T02:00:00Z');
    await s.ok('POST', '/rules', GROWTH_RULE);
    await s.ok('PUT', '/tiers', LADDER, 200);
    await s.ok('POST', '/benefits', { code: 'coupon', name: '¥20 off', kind: 'coupon', defaultUses: 1, parameters: { amountOff: 2000 } });
    await s.ok('POST', '/benefits', { code: 'lounge', name: 'Lounge', kind: 'special_function' });
    const coupons = await s.ok('POST', '/benefit-bindings', { benefitCode: 'coupon', target: { type: 'tier', code: 'gold' }, period: 'month', quantity: 2, validity: { kind: 'days', days: 45 }, onLeave: 'revoke' });
    expect(coupons).toMatchObject({ period: 'month', quantity: 2, holders: 0, active: true });
    const dup = await t.api('POST', `${s.base}/benefit-bindings`, { key: s.key, body: { benefitCode: 'coupon', target: { type: 'tier', code: 'gold' }, period: 'year' } });
    expect(dup.body.error.code).toBe('already_exists');
    const bad = await t.api('POST', `${s.base}/benefit-bindings`, { key: s.key, body: { benefitCode: 'lounge', target: { type: 'tier', code: 'gold' }, period: 'once', validity: { kind: 'periodEnd' } } });
    expect(bad.body.error.code).toBe('validation_failed');
    await s.ok('POST', '/members', { externalId: 'u1' });
    await s.ok('POST', '/members', { externalId: 'u2' });

    // Gold on 5 Jan: two January coupons valid 45 days, granted in the event's transaction.
    await s.ok('POST', '/events', { eventId: 'e1', member: 'ext:u1', type: 'purchase', attributes: { amount: 350_000 } });
    let list = await s.entitlements('u1', 'coupon');
    expect(list).toHaveLength(2);
    expect(list.every((e) => e.status === 'active' && e.validUntil === '2026-02-19T02:00:00.000Z' && e.source.type === 'binding')).toBe(true);
    // Bound after u1 reached gold: held at once, unlimited uses while held.
    const lounge = await s.ok('POST', '/benefit-bindings', { benefitCode: 'lounge', target: { type: 'tier', code: 'gold' }, period: 'unlimited' });
    expect(lounge.holders).toBe(1);
    expect(await s.entitlements('u1', 'lounge')).toMatchObject([{ status: 'active', usesLeft: null, validUntil: null }]);
    expect(await s.entitlements('u2')).toEqual([]);

    // A re-run of the grant and a replayed tier change grant nothing more.
    const privileges = t.laurel.services.privileges as PrivilegesModuleService;
    const ctx = await s.ctx();
    expect(await inTransaction(t.laurel.database.db, (trx) => privileges.bindings.grantDue(trx, ctx))).toBe(0);
    const u1 = (await t.api('GET', `${s.base}/members/ext:u1`, { key: s.key })).body.id;
    const change = { memberId: u1, ladderId: 'x', from: { code: 'basic', rank: 1 }, to: { code: 'gold', rank: 2 }, source: 'qualified', cause: 'event', validUntil: null, at: ctx.clock.now() };
    await inTransaction(t.laurel.database.db, (trx) => privileges.bindings.tierChanged(trx, ctx, [change]));
    expect(await s.entitlements('u1')).toHaveLength(3);

    // 27 Jan: five days before the 1 Feb evaluation u1 keeps gold (5 Jan is in the window): no notice.
    // 1 Feb: kept; the February quota follows the evaluation.
    await s.advanceTo('2026-02-01T00:00:00Z');
    list = await s.entitlements('u1', 'coupon');
    expect(list.map((e) => e.status)).toEqual(['active', 'active', 'active', 'active']);
    expect(await s.outbox('tier.will_downgrade')).toEqual([]);
    const feb = list.filter((e) => e.grantedAt === '2026-01-31T16:00:00.000Z');
    expect(feb.map((e) => e.validUntil)).toEqual(['2026-03-17T16:00:00.000Z', '2026-03-17T16:00:00.000Z']);
    const used = await t.api('POST', `${s.base}/members/ext:u1/entitlements/${feb[0]!.id}/uses`, { key: s.key, headers: { 'idempotency-key': 'use-1' }, body: {} });
    expect(used.status).toBe(201);

    // 24 Feb 00:00 (Shanghai): the 1 Mar evaluation would drop u1 (nothing in the window): tier.will_downgrade.
    await s.advanceTo('2026-02-24T00:00:00Z');
    expect(await s.outbox('tier.will_downgrade')).toMatchObject([{ memberId: u1, tier: 'gold', to: 'basic', evaluationAt: '2026-02-28T16:00:00.000Z', noticeDays: 5 }]);

    // 1 Mar: downgraded. The unused February coupon and the lounge are revoked with why; the used one
    // stays used and the January ones stay expired.
    await s.advanceTo('2026-03-02T00:00:00Z');
    expect((await t.api('GET', `${s.base}/members/ext:u1/tier`, { key: s.key })).body.tier.code).toBe('basic');
    list = await s.entitlements('u1', 'coupon');
    expect(list).toHaveLength(4); // no March coupons
    const revoked = list.filter((e) => e.status === 'revoked');
    expect(revoked).toHaveLength(1);
    expect(revoked[0]!.id).toBe(feb[1]!.id);
    expect(revoked[0]!.revokeReason).toBe('tier gold → basic (evaluation)');
    expect(list.find((e) => e.id === feb[0]!.id)!.status).toBe('used_up');
    expect(list.filter((e) => e.status === 'expired')).toHaveLength(2);
    expect((await s.entitlements('u1', 'lounge'))[0]!.status).toBe('revoked');
    const refused = await t.api('POST', `${s.base}/members/ext:u1/entitlements/${feb[1]!.id}/uses`, { key: s.key, headers: { 'idempotency-key': 'use-2' }, body: {} });
    expect(refused.body.error.code).toBe('entitlement_not_usable');
    expect((await s.ok('GET', `/benefit-bindings/${coupons.id}`, undefined, 200)).holders).toBe(0);

    // Webhooks, written in the transactions of the changes.
    expect((await s.outbox('tier.changed')).map((p) => [p.from.code, p.to.code, p.direction, p.cause])).toEqual([
      ['basic', 'gold', 'up', 'event'],
      ['gold', 'basic', 'down', 'evaluation'],
    ]);
    expect((await s.outbox('benefit.granted')).map((p) => `${p.benefitCode}×${p.entitlementIds.length}`).sort()).toEqual(['coupon×2', 'coupon×2', 'lounge×1']);
    expect((await s.outbox('benefit.revoked')).map((p) => p.benefitCode).sort()).toEqual(['coupon', 'lounge']);
    const audit = await rawQuery<{ n: number }>(t.laurel.database.db, `select count(*)::int as n from audit_log where program_id = $1 and resource_type = 'benefit_binding'`, [s.program.id]);
    expect(audit.rows[0]!.n).toBe(2);
  });

  it('binds benefits to a paid plan: granted on the start, kept on expiry when the policy keeps them', async () => {
    const s = await setup('2026-05-10T02:00:00Z');
    await s.ok('POST', '/benefits', { code: 'ship', name: 'Free shipping', kind: 'free_shipping', defaultUses: 3 });
    await s.ok('POST', '/plans', { code: 'plus', name: 'Plus', period: { unit: 'day', count: 10 }, price: { amount: 900, currency: 'CNY' } });
    await s.ok('POST', '/benefit-bindings', { benefitCode: 'ship', target: { type: 'plan', code: 'plus' }, period: 'once', onLeave: 'keep' });
    expect((await s.ok('GET', '/plans/plus', undefined, 200)).benefits).toMatchObject([{ benefitCode: 'ship', period: 'once' }]);
    await s.ok('POST', '/members', { externalId: 'u1' });
    const start = await t.api('POST', `${s.base}/members/ext:u1/subscriptions`, { key: s.key, headers: { 'idempotency-key': 'p1' }, body: { plan: 'plus', payment: { reference: 'r1', amount: 900, currency: 'CNY' } } });
    expect(start.status).toBe(201);
    expect(await s.entitlements('u1', 'ship')).toMatchObject([{ status: 'active', usesLeft: 3, source: { type: 'binding' } }]);
    await s.advanceTo('2026-05-21T00:00:00Z');
    expect((await t.api('GET', `${s.base}/members/ext:u1/subscriptions`, { key: s.key })).body.data[0].status).toBe('expired');
    expect(await s.entitlements('u1', 'ship')).toMatchObject([{ status: 'active' }]);
    // Bought again: "once" means once per member, so nothing new.
    await t.api('POST', `${s.base}/members/ext:u1/subscriptions`, { key: s.key, headers: { 'idempotency-key': 'p2' }, body: { plan: 'plus', payment: { reference: 'r2', amount: 900, currency: 'CNY' } } });
    expect(await s.entitlements('u1', 'ship')).toHaveLength(1);
  });

  it('gives a birthday gift once a year; born on 29 February: on the day in a leap year, on 28 February (or 1 March) otherwise', async () => {
    const s = await setup('2027-12-30T02:00:00Z');
    await s.ok('POST', '/benefits', { code: 'cake', name: 'Birthday cake', kind: 'birthday_gift', defaultUses: 1, validityDays: 30 });
    const refused = await t.api('PUT', `${s.base}/birthday-gift`, { key: s.key, body: { enabled: true } });
    expect(refused.body.error.code).toBe('validation_failed');
    expect(await s.ok('PUT', '/birthday-gift', { enabled: true, when: 'day', leapDay: 'feb28', benefit: { code: 'cake', quantity: 1 }, points: { pointType: 'points', amount: 888 } }, 200)).toMatchObject({ enabled: true, leapDay: 'feb28' });
    await s.ok('POST', '/members', { externalId: 'leap', birthday: '2000-02-29' });
    await s.ok('POST', '/members', { externalId: 'feb28', birthday: '1990-02-28' });
    await s.ok('POST', '/members', { externalId: 'mar1', birthday: '1991-03-01' });
    const gifts = async (ext: string) => ((await s.ok('GET', `/members/ext:${ext}/birthday-gifts`, undefined, 200)).data as Array<{ year: number; date: string }>).map((g) => `${g.year}:${g.date}`);

    await s.advanceTo('2028-03-02T00:00:00Z'); // 2028 is a leap year
    expect(await gifts('leap')).toEqual(['2028:2028-02-29']);
    expect(await gifts('feb28')).toEqual(['2028:2028-02-28']);
    expect(await gifts('mar1')).toEqual(['2028:2028-03-01']);
    await s.advanceTo('2029-03-02T00:00:00Z'); // 2029 is not
    expect(await gifts('leap')).toEqual(['2029:2029-02-28', '2028:2028-02-29']);
    expect(await gifts('mar1')).toEqual(['2029:2029-03-01', '2028:2028-03-01']);
    const cakes = await s.entitlements('leap', 'cake');
    expect(cakes).toHaveLength(2);
    expect(cakes[0]!.source).toEqual({ type: 'birthday', id: '2029' });
    const balances = (await t.api('GET', `${s.base}/members/ext:leap/balances`, { key: s.key })).body.balances;
    expect(balances.find((b: { pointType: string }) => b.pointType === 'points').available).toBe(1776);

    // Once a year: running the job again for a date already handled gives nothing.
    const privileges = t.laurel.services.privileges as PrivilegesModuleService;
    const program = await t.laurel.services.programs.get(s.program.id);
    await rawQuery(t.laurel.database.db, `update birthday_settings set processed_through = '2029-02-01' where program_id = $1`, [s.program.id]);
    expect(await privileges.birthday.run(t.laurel.systemContext(program, 'test').program, new Date('2029-03-01T16:00:00Z'))).toMatchObject({ gifts: 0 });

    // Configured to 1 March: a non-leap year moves 29 February there.
    await s.ok('PUT', '/birthday-gift', { leapDay: 'mar1' }, 200);
    await s.advanceTo('2030-03-02T00:00:00Z');
    expect((await gifts('leap'))[0]).toBe('2030:2030-03-01');
    expect((await gifts('feb28'))[0]).toBe('2030:2030-02-28');
    expect((await s.outbox('benefit.granted')).filter((p) => p.source.type === 'birthday')).toHaveLength(9);
  });

  it('gives the birthday gift from the first day of the birthday month when so configured', async () => {
    const s = await setup('2026-06-20T02:00:00Z');
    await s.ok('POST', '/members', { externalId: 'july', birthday: '1995-07-15' });
    await s.ok('POST', '/members', { externalId: 'june', birthday: '1995-06-25' });
    await s.ok('PUT', '/birthday-gift', { enabled: true, when: 'month', points: { pointType: 'points', amount: 100 } }, 200);
    await s.advanceTo('2026-08-15T00:00:00Z');
    const gifts = async (ext: string) => ((await s.ok('GET', `/members/ext:${ext}/birthday-gifts`, undefined, 200)).data as Array<{ date: string }>).map((g) => g.date);
    expect(await gifts('july')).toEqual(['2026-07-01']);
    // Switched on in June: June's celebrants are caught up on the next run.
    expect(await gifts('june')).toHaveLength(1);
  });
});
