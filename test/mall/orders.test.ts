import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawQuery } from '../../src/db/database.js';
import { STOCK_SHARDS } from '../../src/modules/mall/mall.stock.js';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';
import { SHIPPING, spendingFixture, stockOf, type SpendingFixture } from './fixture.js';

describe.each(engines)('points mall orders (%s)', (engine) => {
  let t: TestLaurel;
  let f: SpendingFixture;
  beforeAll(async () => {
    t = await createTestLaurel(engine, { poolSize: 60 });
    f = await spendingFixture(t);
  });
  afterAll(() => t.close());

  async function product(overrides: Record<string, unknown> = {}, sku: Record<string, unknown> = {}) {
    return f.tx((trx) =>
      f.mall.createItem(trx, f.ctx, {
        kind: 'product', name: 'Mug', onShelf: true, ...overrides,
        skus: [{ code: 'std', name: 'Standard', pointsPrice: 100, stock: 10, ...sku }],
      }),
    );
  }
  const order = (memberId: string, skuId: string, key: string, extra: Record<string, unknown> = {}) =>
    f.tx((trx) => f.mall.placeOrder(trx, f.ctx, { memberId, lines: [{ skuId, quantity: 1 }], shipping: SHIPPING, idempotencyKey: key, ...extra }));

  it('100 parallel orders for an item with stock 10: exactly 10 succeed, the rest are out_of_stock and keep their points', async () => {
    const item = await product();
    const sku = item.skus[0]!.id;
    const members = await Promise.all(Array.from({ length: 100 }, () => f.member(1000)));
    const results = await Promise.allSettled(members.map((m, i) => order(m, sku, `hot-${i}`)));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(ok).toHaveLength(10);
    expect(new Set(refused.map((r) => r.reason.code))).toEqual(new Set(['out_of_stock']));
    expect(await stockOf(f, item.id)).toBe(0);
    const balances = await Promise.all(members.map((m) => f.balance(m)));
    expect(balances.filter((b) => b.available === 900)).toHaveLength(10);
    expect(balances.filter((b) => b.available === 1000)).toHaveLength(90);
    await f.verify();
  });

  it('stock kept in parts: parallel orders take exactly the whole; set, delta, cancel and a large order see one figure', async () => {
    const item = await product({}, { stock: 40 });
    const sku = item.skus[0]!.id;
    const parts = async () => (await rawQuery<{ n: number }>(f.db, 'select count(*)::int as n from mall_sku_stock where sku_id = $1 and stock > 0', [sku])).rows[0]!.n;
    expect(await parts()).toBe(STOCK_SHARDS - 1);
    const members = await Promise.all(Array.from({ length: 50 }, () => f.member(2000)));
    const results = await Promise.allSettled(members.map((m, i) => order(m, sku, `part-${i}`)));
    const placed = results.filter((r) => r.status === 'fulfilled') as Array<PromiseFulfilledResult<Awaited<ReturnType<typeof order>>>>;
    expect(placed).toHaveLength(40);
    expect(new Set((results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[]).map((r) => r.reason.code))).toEqual(new Set(['out_of_stock']));
    expect(await stockOf(f, item.id)).toBe(0);
    const patch = (p: Record<string, unknown>) => f.tx((trx) => f.mall.updateSku(trx, f.ctx, item.id, sku, p));
    expect((await patch({ stockDelta: 20 })).skus[0]!.stock).toBe(20);
    expect(await parts()).toBe(STOCK_SHARDS - 1);
    await expect(patch({ stockDelta: -21 })).rejects.toMatchObject({ code: 'out_of_stock' });
    expect((await patch({ stockDelta: -5 })).skus[0]!.stock).toBe(15);
    await f.tx((trx) => f.mall.cancel(trx, f.ctx, placed[0]!.value.id, 'changed my mind'));
    expect(await stockOf(f, item.id)).toBe(16);
    const big = (quantity: number, key: string) =>
      f.tx((trx) => f.mall.placeOrder(trx, f.ctx, { memberId: members[0]!, lines: [{ skuId: sku, quantity }], shipping: SHIPPING, idempotencyKey: key }));
    await expect(big(17, 'big-17')).rejects.toMatchObject({ code: 'out_of_stock' });
    expect(await stockOf(f, item.id)).toBe(16);
    await big(16, 'big-16'); // more than any one part holds: taken from the parts gathered
    expect(await stockOf(f, item.id)).toBe(0);
    expect((await patch({ stock: 3 })).skus[0]!.stock).toBe(3);
    expect((await patch({ stock: null })).skus[0]!.stock).toBeNull();
    await f.verify();
  });

  it('a member with points for 3 orders placing 10 in parallel gets 3', async () => {
    const item = await product({}, { stock: 100 });
    const m = await f.member(350);
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => order(m, item.skus[0]!.id, `three-${i}`)));
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(new Set(refused.map((r) => r.reason.code))).toEqual(new Set(['insufficient_points']));
    expect(await f.balance(m)).toMatchObject({ available: 50 });
    expect(await stockOf(f, item.id)).toBe(97);
    await f.verify();
  });

  it('an order is idempotent: the same key answers with the first order; another payload is a conflict', async () => {
    const item = await product();
    const m = await f.member(1000);
    const [a, b] = await Promise.all([order(m, item.skus[0]!.id, 'idem'), order(m, item.skus[0]!.id, 'idem')].map((p) => p.catch((e) => e)));
    const orders = [a, b].filter((x) => x.id);
    expect(orders.length).toBeGreaterThanOrEqual(1);
    const again = await order(m, item.skus[0]!.id, 'idem');
    expect(again.replayed).toBe(true);
    expect(again.id).toBe(orders[0].id);
    await expect(f.tx((trx) => f.mall.placeOrder(trx, f.ctx, { memberId: m, lines: [{ skuId: item.skus[0]!.id, quantity: 2 }], shipping: SHIPPING, idempotencyKey: 'idem' }))).rejects.toMatchObject({ code: 'idempotency_conflict' });
    expect(await f.balance(m)).toMatchObject({ available: 900 });
    expect(await stockOf(f, item.id)).toBe(9);
  });

  it('cancel and refund return points and stock exactly once, even when repeated in parallel', async () => {
    const item = await product();
    const m = await f.member(1000);
    const o1 = await order(m, item.skus[0]!.id, 'c1');
    const o2 = await order(m, item.skus[0]!.id, 'c2');
    expect(await f.balance(m)).toMatchObject({ available: 800 });
    const cancels = await Promise.allSettled(Array.from({ length: 5 }, () => f.tx((trx) => f.mall.cancel(trx, f.ctx, o1.id, 'changed my mind'))));
    expect(cancels.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(new Set((cancels.filter((r) => r.status === 'rejected') as PromiseRejectedResult[]).map((r) => r.reason.code))).toEqual(new Set(['illegal_transition']));
    await f.tx((trx) => f.mall.ship(trx, f.ctx, o2.id, { carrier: 'SF', trackingNumber: 'SF123' }));
    const refunds = await Promise.allSettled(Array.from({ length: 5 }, () => f.tx((trx) => f.mall.refund(trx, f.ctx, o2.id, { reason: 'returned' }))));
    expect(refunds.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(await f.balance(m)).toMatchObject({ available: 1000 });
    expect(await stockOf(f, item.id)).toBe(10);
    expect((await f.mall.getOrder(f.ctx, o2.id)).history.map((h) => h.to)).toEqual(['paid', 'shipped', 'refunded']);
    await expect(f.tx((trx) => f.mall.complete(trx, f.ctx, o2.id))).rejects.toMatchObject({ code: 'illegal_transition' });
    await f.verify();
  });

  it('points + cash: points held until the host confirms; unconfirmed orders are cancelled by the job', async () => {
    const item = await product({}, { pointsPrice: null, mixed: { points: 60, cash: 990 } });
    const m = await f.member(1000);
    const o = await order(m, item.skus[0]!.id, 'mixed-1', { lines: [{ skuId: item.skus[0]!.id, quantity: 2, payment: 'mixed' }] });
    expect(o).toMatchObject({ status: 'awaiting_payment', pointsTotal: 120, cashTotal: 1980 });
    expect(await f.balance(m)).toMatchObject({ available: 880, reserved: 120 });
    await expect(f.tx((trx) => f.mall.confirmPayment(trx, f.ctx, o.id, { paymentRef: 'pay-1', amount: 1000 }))).rejects.toMatchObject({ code: 'invalid_amount' });
    const paid = await f.tx((trx) => f.mall.confirmPayment(trx, f.ctx, o.id, { paymentRef: 'pay-1', amount: 1980 }));
    expect(paid.status).toBe('paid');
    expect(await f.balance(m)).toMatchObject({ available: 880, reserved: 0 });

    const late = await order(m, item.skus[0]!.id, 'mixed-2', { lines: [{ skuId: item.skus[0]!.id, quantity: 1, payment: 'mixed' }] });
    expect(await stockOf(f, item.id)).toBe(7);
    const job = t.laurel.jobs.get('mall.cancel-unpaid')!;
    const due = await job.nextDue(f.db, f.ctx.program, new Date(0), new Date(Date.now() + 86_400_000));
    expect(due?.getTime()).toBe(late.paymentDueAt!.getTime());
    const ran = await job.run({ db: f.db, program: f.ctx.program, asOf: new Date(due!.getTime() + 1), progress: () => {} });
    expect(ran).toMatchObject({ cancelled: 1 });
    expect((await f.mall.getOrder(f.ctx, late.id)).status).toBe('cancelled');
    expect(await f.balance(m)).toMatchObject({ available: 880, reserved: 0 });
    expect(await stockOf(f, item.id)).toBe(8);
    await f.verify();
  });

  it('coupon items are fulfilled at once into entitlements; a refund revokes them unless one was used', async () => {
    await f.tx((trx) => f.benefits.create(trx, f.ctx, { code: 'coupon-5', name: '¥5 off', kind: 'coupon', parameters: { amountOff: 500 }, validityDays: 30, defaultUses: 1 }));
    const item = await f.tx((trx) => f.mall.createItem(trx, f.ctx, { kind: 'coupon', name: '¥5 coupon', benefitCode: 'coupon-5', onShelf: true, skus: [{ code: 'c', name: 'c', pointsPrice: 50 }] }));
    const m = await f.member(500);
    const o = await f.tx((trx) => f.mall.placeOrder(trx, f.ctx, { memberId: m, lines: [{ skuId: item.skus[0]!.id, quantity: 2 }], idempotencyKey: 'coupon-1' }));
    expect(o.status).toBe('fulfilled');
    const ents = await f.benefits.listEntitlements(f.ctx, m, {});
    expect(ents.data).toHaveLength(2);
    expect(ents.data.every((e) => e.status === 'active' && e.source?.id === o.id)).toBe(true);
    await f.tx((trx) => f.benefits.use(trx, f.ctx, { entitlementId: ents.data[0]!.id, idempotencyKey: 'checkout-1' }));
    await expect(f.tx((trx) => f.mall.refund(trx, f.ctx, o.id, { reason: 'x' }))).rejects.toMatchObject({ code: 'not_refundable' });
    expect(await f.balance(m)).toMatchObject({ available: 400 });
    const o2 = await f.tx((trx) => f.mall.placeOrder(trx, f.ctx, { memberId: m, lines: [{ skuId: item.skus[0]!.id, quantity: 1 }], idempotencyKey: 'coupon-2' }));
    const refunded = await f.tx((trx) => f.mall.refund(trx, f.ctx, o2.id, { reason: 'unused' }));
    expect(refunded.status).toBe('refunded');
    expect(await f.balance(m)).toMatchObject({ available: 400 });
    expect((await f.benefits.listEntitlements(f.ctx, m, { status: 'revoked' })).data).toHaveLength(1);
    await f.verify();
  });

  it('limits per order, per day and lifetime are enforced under concurrency', async () => {
    const item = await product({ limits: { perDay: 2, perOrder: 2, lifetime: 3 } }, { stock: 100 });
    const m = await f.member(10_000);
    const sku = item.skus[0]!.id;
    await expect(order(m, sku, 'l0', { lines: [{ skuId: sku, quantity: 3 }] })).rejects.toMatchObject({ code: 'limit_reached' });
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => order(m, sku, `l${i + 1}`)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(await stockOf(f, item.id)).toBe(98);
    // a cancelled order gives its quantity back to the limits
    const first = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ id: string }>).value;
    await f.tx((trx) => f.mall.cancel(trx, f.ctx, first.id, 'x'));
    await order(m, sku, 'l-again');
    await expect(order(m, sku, 'l-more')).rejects.toMatchObject({ code: 'limit_reached' });
    await f.verify();
  });

  it('bad input is refused with a clear code and changes nothing', async () => {
    const item = await product({ tierCodes: ['gold'] });
    const plain = await product({}, { pointsPrice: 100 });
    const off = await product({ onShelf: false });
    const later = await product({ shelfFrom: new Date(Date.now() + 86_400_000).toISOString() });
    const nc = await product({ combinable: false });
    const rich = await product({ minBalance: 5000 });
    const silver = await f.member(1000, { tier: 'silver' });
    const gold = await f.member(1000, { tier: 'gold' });
    const post = (body: unknown, key: string) => t.api('POST', `${f.base}/mall/orders`, { key: f.key, headers: { 'idempotency-key': key }, body });
    const cases: Array<[unknown, number, string]> = [
      [{ memberId: silver, lines: [{ skuId: plain.skus[0]!.id, quantity: -1 }], shipping: SHIPPING }, 400, 'validation_failed'],
      [{ memberId: silver, lines: [{ skuId: plain.skus[0]!.id, quantity: 0 }], shipping: SHIPPING }, 400, 'validation_failed'],
      [{ memberId: silver, lines: [{ skuId: plain.skus[0]!.id, quantity: 1 }], shipping: SHIPPING, extra: 1 }, 400, 'validation_failed'],
      [{ memberId: silver, lines: [{ skuId: plain.skus[0]!.id, quantity: 1, payment: 'mixed' }], shipping: SHIPPING }, 422, 'cash_not_accepted'],
      [{ memberId: silver, lines: [{ skuId: off.skus[0]!.id, quantity: 1 }], shipping: SHIPPING }, 422, 'not_on_shelf'],
      [{ memberId: silver, lines: [{ skuId: later.skus[0]!.id, quantity: 1 }], shipping: SHIPPING }, 422, 'not_on_shelf'],
      [{ memberId: silver, lines: [{ skuId: item.skus[0]!.id, quantity: 1 }], shipping: SHIPPING }, 422, 'not_eligible'],
      [{ memberId: silver, lines: [{ skuId: nc.skus[0]!.id, quantity: 1 }, { skuId: plain.skus[0]!.id, quantity: 1 }], shipping: SHIPPING }, 422, 'not_combinable'],
      [{ memberId: silver, lines: [{ skuId: rich.skus[0]!.id, quantity: 1 }], shipping: SHIPPING }, 422, 'not_eligible'],
      [{ memberId: silver, lines: [{ skuId: plain.skus[0]!.id, quantity: 1 }] }, 400, 'validation_failed'],
      [{ memberId: silver, lines: [{ skuId: 'sku_nope', quantity: 1 }], shipping: SHIPPING }, 404, 'sku_not_found'],
      [{ memberId: silver, lines: [{ skuId: plain.skus[0]!.id, quantity: 11 }], shipping: SHIPPING }, 422, 'insufficient_points'],
    ];
    for (const [i, [body, status, code]] of cases.entries()) {
      const res = await post(body, `bad-${i}`);
      expect({ i, status: res.status, code: res.body.error?.code }).toEqual({ i, status, code });
    }
    const missingKey = await t.api('POST', `${f.base}/mall/orders`, { key: f.key, body: { memberId: silver, lines: [{ skuId: plain.skus[0]!.id, quantity: 1 }], shipping: SHIPPING } });
    expect(missingKey.status).toBe(400);
    expect(await f.balance(silver)).toMatchObject({ available: 1000, reserved: 0 });
    for (const it of [item, plain, off, later, nc, rich]) expect(await stockOf(f, it.id)).toBe(10);
    expect((await f.mall.listOrders(f.ctx, { memberId: silver })).data).toHaveLength(0);
    // the gold member may order the gold item, over HTTP
    const ok = await post({ memberId: gold, lines: [{ skuId: item.skus[0]!.id, quantity: 1 }], shipping: SHIPPING }, 'gold-1');
    expect(ok.status).toBe(201);
    const illegal = await t.api('POST', `${f.base}/mall/orders/${ok.body.id}/confirm-payment`, { key: f.key, body: { paymentRef: 'x', amount: 1 } });
    expect(illegal.status).toBe(409);
    expect(illegal.body.error.code).toBe('illegal_transition');
    await f.verify();
  });

  it('the member is named by id or ext:{externalId}; an unknown one is member_not_found, a frozen one member_inactive, a replay still answers', async () => {
    const item = await product();
    const sku = item.skus[0]!.id;
    const id = await f.member(1000);
    const { externalId } = await t.laurel.services.members.get(f.ctx, id);
    const byExt = await order(`ext:${externalId}`, sku, 'by-ext');
    expect(byExt).toMatchObject({ memberId: id, replayed: false, pointsTotal: 100 });
    expect(await order(id, sku, 'by-ext')).toMatchObject({ id: byExt.id, replayed: true, lines: [{ skuId: sku, quantity: 1 }] });
    await expect(order('ext:nobody-by-that-name', sku, 'nobody')).rejects.toMatchObject({ code: 'member_not_found' });
    await expect(order('mem_nope', sku, 'nobody')).rejects.toMatchObject({ code: 'member_not_found' });
    await t.laurel.services.members.update(f.ctx, id, { status: 'frozen' });
    await expect(order(id, sku, 'frozen')).rejects.toMatchObject({ code: 'member_inactive' });
    expect(await order(id, sku, 'by-ext')).toMatchObject({ id: byExt.id, replayed: true });
    expect(await f.balance(id)).toMatchObject({ available: 900 });
    expect(await stockOf(f, item.id)).toBe(9);
  });

  it('external goods: the supplier reports through its own key; a rejection refunds', async () => {
    const created = await t.api('POST', `${f.base}/mall/suppliers`, { key: f.key, body: { name: 'Acme' } });
    expect(created.status).toBe(201);
    const supplier = created.body as { id: string; key: string };
    const itemRes = await t.api('POST', `${f.base}/mall/items`, {
      key: f.key,
      body: { kind: 'external', name: 'Headphones', supplierId: supplier.id, onShelf: true, images: ['https://example.com/h.png'], skus: [{ code: 'h', name: 'h', pointsPrice: 300, stock: 5 }] },
    });
    expect(itemRes.status).toBe(201);
    const sku = itemRes.body.skus[0].id;
    const m = await f.member(1000);
    const o1 = await order(m, sku, 'ext-1');
    const o2 = await order(m, sku, 'ext-2');
    expect(o1.status).toBe('submitted');
    const url = `${f.base}/mall/suppliers/${supplier.id}/callbacks`;
    const wrong = await t.api('POST', url, { key: null, headers: { 'x-supplier-key': 'nope' }, body: { orderId: o1.id, event: 'delivered' } });
    expect(wrong.status).toBe(401);
    const shipped = await t.api('POST', url, { key: null, headers: { 'x-supplier-key': supplier.key }, body: { orderId: o1.id, event: 'shipped', carrier: 'SF', trackingNumber: 'T1', supplierRef: 'A-1' } });
    expect(shipped.status).toBe(200);
    expect(shipped.body).toMatchObject({ status: 'shipped', carrier: 'SF', trackingNumber: 'T1', supplierRef: 'A-1' });
    const delivered = await t.api('POST', url, { key: null, headers: { 'x-supplier-key': supplier.key }, body: { orderId: o1.id, event: 'delivered' } });
    expect(delivered.body.status).toBe('fulfilled');
    const rejected = await t.api('POST', url, { key: null, headers: { 'x-supplier-key': supplier.key }, body: { orderId: o2.id, event: 'rejected', reason: 'discontinued' } });
    expect(rejected.body.status).toBe('refunded');
    expect(await f.balance(m)).toMatchObject({ available: 700 });
    expect(await stockOf(f, itemRes.body.id)).toBe(4);
    await f.verify();
  });

  it('promotional price applies inside its period; the catalogue lists what is on the shelf in display order', async () => {
    const now = Date.now();
    const promo = await product({ sortOrder: -10, category: 'promo-test' }, { promo: { points: 40, from: new Date(now - 3_600_000).toISOString(), until: new Date(now + 3_600_000).toISOString() } });
    await product({ sortOrder: -5, category: 'promo-test' });
    await product({ sortOrder: -20, category: 'promo-test', onShelf: false });
    expect(promo.skus[0]!.currentPointsPrice).toBe(40);
    const m = await f.member(1000);
    const o = await order(m, promo.skus[0]!.id, 'promo-1');
    expect(o.pointsTotal).toBe(40);
    const list = await t.api('GET', `${f.base}/mall/items?available=true&category=promo-test&limit=1`, { key: f.key });
    expect(list.status).toBe(200);
    expect(list.body.data[0].id).toBe(promo.id);
    const next = await t.api('GET', `${f.base}/mall/items?available=true&category=promo-test&limit=5&cursor=${list.body.nextCursor}`, { key: f.key });
    expect(next.body.data).toHaveLength(1);
  });
});
