import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

type Api = TestLaurel['api'];

/** A program with one member and helpers that call the ledger routes with fresh keys. */
async function setup(t: TestLaurel, pointTypes: Array<Record<string, unknown>> = []) {
  const { program, key } = await t.createProgram({ mode: 'sandbox', timeZone: 'Asia/Shanghai', clockStart: '2026-03-01T02:00:00Z' });
  const base = `/v1/programs/${program.id}`;
  for (const pt of pointTypes) {
    const res = await t.api('POST', `${base}/point-types`, { key, body: pt });
    if (res.status !== 201) throw new Error(JSON.stringify(res.body));
  }
  let n = 0;
  const call = (method: string, url: string, body?: unknown, idem?: string) =>
    t.api(method, `${base}${url}`, { key, body, headers: { 'idempotency-key': idem ?? `k${++n}-${Math.random()}` } });
  const member = async (externalId: string) => (await t.api('POST', `${base}/members`, { key, body: { externalId } })).body.id as string;
  const balance = async (memberId: string, pointType = 'points') =>
    (await t.api("GET", `${base}/members/${memberId}/balances?expiringWithinDays=365`, { key })).body.balances.find((b: { pointType: string }) => b.pointType === pointType);
  const verify = async () => (await t.api('GET', `${base}/ledger/verify`, { key })).body;
  const advance = (by: Record<string, number>) => t.api('POST', `${base}/clock/advance`, { key, body: { by } });
  return { program, key, base, call, member, balance, verify, advance, api: t.api as Api };
}

describe.each(engines)('ledger operations (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
  });
  afterAll(() => t.close());

  it('gives every program redeemable points and growth value', async () => {
    const s = await setup(t);
    const types = await t.api('GET', `${s.base}/point-types`, { key: s.key });
    expect(types.body.data.map((p: { code: string; kind: string }) => [p.code, p.kind])).toEqual([
      ['points', 'redeemable'],
      ['growth', 'growth'],
    ]);
  });

  it('replays an earn for the same key, refuses the key for another amount, and changes nothing', async () => {
    const s = await setup(t);
    const m = await s.member('a');
    const first = await s.call('POST', `/members/${m}/earn`, { pointType: 'points', amount: 50 }, 'same');
    const again = await s.call('POST', `/members/${m}/earn`, { pointType: 'points', amount: 50 }, 'same');
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ id: first.body.id, replayed: true, availableAfter: 50 });
    const other = await s.call('POST', `/members/${m}/earn`, { pointType: 'points', amount: 60 }, 'same');
    expect([other.status, other.body.error.code]).toEqual([409, 'idempotency_conflict']);
    expect((await s.balance(m)).available).toBe(50);
  });

  it('requires an idempotency key on every ledger write', async () => {
    const s = await setup(t);
    const m = await s.member('nokey');
    const res = await t.api('POST', `${s.base}/members/${m}/earn`, { key: s.key, body: { pointType: 'points', amount: 5 } });
    expect(res.status).toBe(400);
    expect((await s.balance(m)).available).toBe(0);
  });

  it('refuses bad ledger input with clear codes and changes nothing', async () => {
    const s = await setup(t);
    const m = await s.member('bad');
    await s.call('POST', `/members/${m}/earn`, { pointType: 'points', amount: 100 });
    await s.call('POST', `/members/${m}/earn`, { pointType: 'growth', amount: 100 });
    const cases: Array<[string, unknown, number, string]> = [
      [`/members/${m}/earn`, { pointType: 'points', amount: 0 }, 400, 'validation_failed'],
      [`/members/${m}/earn`, { pointType: 'points', amount: -5 }, 400, 'validation_failed'],
      [`/members/${m}/earn`, { pointType: 'points', amount: 1.5 }, 400, 'validation_failed'],
      [`/members/${m}/earn`, { pointType: 'points', amount: '10' }, 400, 'validation_failed'],
      [`/members/${m}/earn`, { pointType: 'miles', amount: 10 }, 404, 'point_type_not_found'],
      [`/members/${m}/spend`, { pointType: 'growth', amount: 10 }, 422, 'point_type_not_spendable'],
      [`/members/${m}/spend`, { pointType: 'points', amount: 101 }, 422, 'insufficient_points'],
      [`/members/mem_missing/earn`, { pointType: 'points', amount: 10 }, 404, 'member_not_found'],
      [`/members/${m}/adjust`, { pointType: 'points', amount: 0, reason: 'x' }, 400, 'validation_failed'],
    ];
    for (const [url, body, status, code] of cases) {
      const res = await s.call('POST', url, body);
      expect([res.status, res.body.error?.code], `${url} ${JSON.stringify(body)}`).toEqual([status, code]);
    }
    expect(await s.balance(m)).toMatchObject({ available: 100, lifetimeSpent: 0 });
    expect((await s.balance(m, 'growth')).available).toBe(100);
    expect((await s.verify()).ok).toBe(true);
  });

  it('lets a frozen member neither earn nor spend, and says why', async () => {
    const s = await setup(t);
    const m = await s.member('frozen');
    await s.call('POST', `/members/${m}/earn`, { pointType: 'points', amount: 10 });
    await t.api('PATCH', `${s.base}/members/${m}`, { key: s.key, body: { status: 'frozen' } });
    const earn = await s.call('POST', `/members/${m}/earn`, { pointType: 'points', amount: 10 });
    expect([earn.status, earn.body.error.code]).toEqual([422, 'member_inactive']);
    const spend = await s.call('POST', `/members/${m}/spend`, { pointType: 'points', amount: 5 });
    expect([spend.status, spend.body.error.code]).toEqual([422, 'member_inactive']);
    expect((await s.balance(m)).available).toBe(10);
  });

  it('spends soonest-expiring lots first, never-expiring last, and refunds to the same lots', async () => {
    const s = await setup(t, [{ code: 'coins', name: 'Coins', kind: 'redeemable', expiryPolicy: { kind: 'afterDays', days: 30, roundTo: 'endOfDay' } }]);
    const m = await s.member('lots');
    await s.call('POST', `/members/${m}/earn`, { pointType: 'coins', amount: 100 }); // expires ~31 Mar
    await s.advance({ days: 10 });
    await s.call('POST', `/members/${m}/earn`, { pointType: 'coins', amount: 100 }); // expires ~10 Apr
    const spend = await s.call('POST', `/members/${m}/spend`, { pointType: 'coins', amount: 150 });
    expect(spend.body.availableAfter).toBe(50);
    let bal = await s.balance(m, 'coins');
    // What remains is the later lot's 50.
    expect(bal.expiring).toEqual([{ expiresAt: expect.stringMatching(/^2026-04-10T16:00:00/), amount: 50 }]);
    // Refund 120 to the lots the spend drew from, latest-expiring first: the 50 drawn from the
    // later lot go back to it (100), the other 70 to the earlier lot.
    await s.call('POST', `/transactions/${spend.body.id}/refund`, { amount: 120 });
    bal = await s.balance(m, 'coins');
    expect(bal.available).toBe(170);
    expect(bal.expiring.map((e: { amount: number }) => e.amount)).toEqual([70, 100]);
    expect((await s.verify()).ok).toBe(true);
  });

  it('refuses refunds beyond the spend and refunds of refunds', async () => {
    const s = await setup(t);
    const m = await s.member('refunds');
    await s.call('POST', `/members/${m}/earn`, { pointType: 'points', amount: 100 });
    const spend = await s.call('POST', `/members/${m}/spend`, { pointType: 'points', amount: 40 });
    const r1 = await s.call('POST', `/transactions/${spend.body.id}/refund`, { amount: 30 });
    expect(r1.status).toBe(201);
    const tooMuch = await s.call('POST', `/transactions/${spend.body.id}/refund`, { amount: 11 });
    expect([tooMuch.status, tooMuch.body.error.code]).toEqual([422, 'refund_exceeds_spend']);
    const ofRefund = await s.call('POST', `/transactions/${r1.body.id}/refund`, { amount: 1 });
    expect([ofRefund.status, ofRefund.body.error.code]).toEqual([422, 'not_refundable']);
    const rest = await s.call('POST', `/transactions/${spend.body.id}/refund`, {});
    expect(rest.body.amount).toBe(10);
    expect(await s.balance(m)).toMatchObject({ available: 100, lifetimeSpent: 0 });
    // The same refund key again: once only.
    const replay = await s.call('POST', `/transactions/${spend.body.id}/refund`, { amount: 30 }, 'refund-once');
    expect(replay.status).toBe(422);
    expect((await s.verify()).ok).toBe(true);
  });

  it('holds points, captures part of a hold and releases the rest; a second capture is refused', async () => {
    const s = await setup(t);
    const m = await s.member('holds');
    await s.call('POST', `/members/${m}/earn`, { pointType: 'points', amount: 100 });
    const hold = await s.call('POST', `/members/${m}/reserve`, { pointType: 'points', amount: 60 });
    expect(hold.body).toMatchObject({ status: 'open', availableAfter: 40 });
    expect(await s.balance(m)).toMatchObject({ available: 40, reserved: 60 });
    const over = await s.call('POST', `/members/${m}/spend`, { pointType: 'points', amount: 41 });
    expect(over.body.error.code).toBe('insufficient_points');
    const capture = await s.call('POST', `/transactions/${hold.body.id}/capture`, { amount: 45 });
    expect(capture.status).toBe(201);
    expect(await s.balance(m)).toMatchObject({ available: 55, reserved: 0, lifetimeSpent: 45 });
    const again = await s.call('POST', `/transactions/${hold.body.id}/capture`, {});
    expect([again.status, again.body.error.code]).toEqual([422, 'reservation_not_open']);
    const hold2 = await s.call('POST', `/members/${m}/reserve`, { pointType: 'points', amount: 50 });
    await s.call('POST', `/transactions/${hold2.body.id}/release`, {});
    expect(await s.balance(m)).toMatchObject({ available: 55, reserved: 0 });
    // A captured spend can be refunded like any spend.
    const refund = await s.call('POST', `/transactions/${capture.body.id}/refund`, { amount: 45 });
    expect(refund.status).toBe(201);
    expect(await s.balance(m)).toMatchObject({ available: 100, lifetimeSpent: 0 });
    expect((await s.verify()).ok).toBe(true);
  });

  it('releases a hold by itself when its time is up', async () => {
    const s = await setup(t);
    const m = await s.member('timeout');
    await s.call('POST', `/members/${m}/earn`, { pointType: 'points', amount: 100 });
    const hold = await s.call('POST', `/members/${m}/reserve`, { pointType: 'points', amount: 70, holdMinutes: 15 });
    const adv = await s.advance({ minutes: 20 });
    expect(adv.body.jobsRun.map((j: { job: string }) => j.job)).toContain('ledger.release-holds');
    expect(await s.balance(m)).toMatchObject({ available: 100, reserved: 0 });
    const late = await s.call('POST', `/transactions/${hold.body.id}/capture`, {});
    expect(late.body.error.code).toBe('reservation_not_open');
  });

  it('keeps earned points pending until they activate, and a reversal while pending cancels them', async () => {
    const s = await setup(t);
    const m = await s.member('pending');
    const pending = await s.call('POST', `/members/${m}/earn`, { pointType: 'points', amount: 80, activatesAt: '2026-03-08T02:00:00Z' });
    expect(pending.body).toMatchObject({ status: 'pending', availableAfter: 0, pendingAfter: 80 });
    const spend = await s.call('POST', `/members/${m}/spend`, { pointType: 'points', amount: 1 });
    expect(spend.body.error.code).toBe('insufficient_points');
    const other = await s.call('POST', `/members/${m}/earn`, { pointType: 'points', amount: 20, activatesAt: '2026-03-08T02:00:00Z' });
    const cancel = await s.call('POST', `/transactions/${other.body.id}/reverse`, {});
    expect(cancel.body).toMatchObject({ kind: 'cancel_pending', amount: 20 });
    expect(await s.balance(m)).toMatchObject({ available: 0, pending: 80 });
    await s.advance({ days: 7 });
    expect(await s.balance(m)).toMatchObject({ available: 80, pending: 0, lifetimeEarned: 80 });
    expect((await s.verify()).ok).toBe(true);
  });

  it('claws back an earn from its own lot, and into debt only where the point type allows it', async () => {
    const s = await setup(t, [{ code: 'credit', name: 'Credit', kind: 'redeemable', negativeBalance: 'allow' }]);
    const m = await s.member('claw');
    const earn = await s.call('POST', `/members/${m}/earn`, { pointType: 'points', amount: 100 });
    await s.call('POST', `/members/${m}/spend`, { pointType: 'points', amount: 70 });
    const refused = await s.call('POST', `/transactions/${earn.body.id}/reverse`, { amount: 50 });
    expect([refused.status, refused.body.error.code]).toEqual([422, 'insufficient_points']);
    const partial = await s.call('POST', `/transactions/${earn.body.id}/reverse`, { amount: 30 });
    expect(partial.body.availableAfter).toBe(0);

    const c = await s.call('POST', `/members/${m}/earn`, { pointType: 'credit', amount: 100 });
    await s.call('POST', `/members/${m}/spend`, { pointType: 'credit', amount: 90 });
    const debt = await s.call('POST', `/transactions/${c.body.id}/reverse`, {});
    expect(debt.body.availableAfter).toBe(-90);
    const tooMuch = await s.call('POST', `/transactions/${c.body.id}/reverse`, { amount: 1 });
    expect(tooMuch.body.error.code).toBe('not_reversible');
    // The next credit repays the debt first.
    await s.call('POST', `/members/${m}/earn`, { pointType: 'credit', amount: 100 });
    expect((await s.balance(m, 'credit')).available).toBe(10);
    const spendAll = await s.call('POST', `/members/${m}/spend`, { pointType: 'credit', amount: 10 });
    expect(spendAll.body.availableAfter).toBe(0);
    expect((await s.verify()).ok).toBe(true);
  });

  it('records manual adjustments with reason and actor', async () => {
    const s = await setup(t);
    const m = await s.member('adjust');
    const credit = await s.call('POST', `/members/${m}/adjust`, { pointType: 'points', amount: 25, reason: 'goodwill: late delivery' });
    expect(credit.body).toMatchObject({ kind: 'adjustment', availableAfter: 25, reason: 'goodwill: late delivery' });
    expect(credit.body.actor).toMatch(/^api_key:key_/);
    const debit = await s.call('POST', `/members/${m}/adjust`, { pointType: 'points', amount: -30, reason: 'correction' });
    expect(debit.body.error.code).toBe('insufficient_points');
    const ok = await s.call('POST', `/members/${m}/adjust`, { pointType: 'points', amount: -20, reason: 'correction' });
    expect(ok.body.availableAfter).toBe(5);
    const noReason = await s.call('POST', `/members/${m}/adjust`, { pointType: 'points', amount: 5 });
    expect(noReason.status).toBe(400);
    const hist = await t.api('GET', `${s.base}/members/${m}/ledger?kind=adjustment`, { key: s.key });
    expect(hist.body.data.map((e: { amount: number; reason: string }) => [e.amount, e.reason])).toEqual([
      [-20, 'correction'],
      [25, 'goodwill: late delivery'],
    ]);
  });

  it('transfers points between members with their expiry, once per key, and never growth', async () => {
    const s = await setup(t, [{ code: 'coins', name: 'Coins', kind: 'redeemable', expiryPolicy: { kind: 'afterDays', days: 5, roundTo: 'endOfDay' } }]);
    const a = await s.member('from');
    const b = await s.member('to');
    await s.call('POST', `/members/${a}/earn`, { pointType: 'coins', amount: 100 });
    const tr = await s.call('POST', '/transfers', { from: a, to: `ext:to`, pointType: 'coins', amount: 60 }, 'tr-1');
    expect(tr.status).toBe(201);
    expect(tr.body.out).toMatchObject({ kind: 'transfer_out', availableAfter: 40, counterpartMemberId: b });
    expect(tr.body.in).toMatchObject({ kind: 'transfer_in', availableAfter: 60, counterpartMemberId: a });
    const again = await s.call('POST', '/transfers', { from: a, to: `ext:to`, pointType: 'coins', amount: 60 }, 'tr-1');
    expect(again.body.in.id).toBe(tr.body.in.id);
    expect((await s.balance(b, 'coins')).available).toBe(60);
    expect((await s.balance(b, 'coins')).expiring).toHaveLength(1);
    const growth = await s.call('POST', '/transfers', { from: a, to: b, pointType: 'growth', amount: 1 });
    expect(growth.body.error.code).toBe('point_type_not_spendable');
    const self = await s.call('POST', '/transfers', { from: a, to: a, pointType: 'coins', amount: 1 });
    expect(self.status).toBe(400);
    await s.advance({ days: 6 });
    expect((await s.balance(b, 'coins')).available).toBe(0);
    expect((await s.verify()).ok).toBe(true);
  });

  it('pages through history newest first with its causes', async () => {
    const s = await setup(t);
    const m = await s.member('history');
    for (let i = 1; i <= 5; i++) {
      await s.call('POST', `/members/${m}/earn`, { pointType: 'points', amount: i, source: { type: 'order', id: `o-${i}` } });
    }
    const page1 = await t.api('GET', `${s.base}/members/${m}/ledger?limit=2`, { key: s.key });
    expect(page1.body.data.map((e: { amount: number }) => e.amount)).toEqual([5, 4]);
    expect(page1.body.data[0].source).toEqual({ type: 'order', id: 'o-5' });
    const page2 = await t.api('GET', `${s.base}/members/${m}/ledger?limit=2&cursor=${page1.body.nextCursor}`, { key: s.key });
    expect(page2.body.data.map((e: { amount: number }) => e.amount)).toEqual([3, 2]);
    const byExt = await t.api('GET', `${s.base}/members/ext:history/ledger?limit=200`, { key: s.key });
    expect(byExt.body.data).toHaveLength(5);
  });
});
