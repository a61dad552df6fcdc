import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

/**
 * Many clients at once against one balance. On PostgreSQL these run truly in parallel (a pool of
 * 60 connections); on the embedded engine they interleave at every query.
 */
describe.each(engines)('ledger under concurrency (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine, { poolSize: 60 });
  });
  afterAll(() => t.close());

  async function programWithMember(balance: number) {
    const { program, key } = await t.createProgram();
    const base = `/v1/programs/${program.id}`;
    const member = (await t.api('POST', `${base}/members`, { key, body: { externalId: 'hot' } })).body.id as string;
    if (balance > 0) {
      await t.api('POST', `${base}/members/${member}/earn`, { key, headers: { 'idempotency-key': 'seed' }, body: { pointType: 'points', amount: balance } });
    }
    const ctx = t.laurel.systemContext(await t.laurel.services.programs.get(program.id), 'test');
    return { program, key, base, member, ctx };
  }

  it('50 parallel spends of 10 against 205: exactly 20 succeed, the balance is 5', async () => {
    const { member, ctx, base, key } = await programWithMember(205);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        t.laurel.services.ledger.spend(ctx, { member, pointType: 'points', amount: 10, idempotencyKey: `spend-${i}` }),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(ok).toHaveLength(20);
    expect(refused).toHaveLength(30);
    expect(new Set(refused.map((r) => r.reason.code))).toEqual(new Set(['insufficient_points']));
    const balances = (await t.api('GET', `${base}/members/${member}/balances`, { key })).body.balances;
    expect(balances.find((b: { pointType: string }) => b.pointType === 'points')).toMatchObject({ available: 5, lifetimeSpent: 200 });
    expect((await t.api('GET', `${base}/ledger/verify`, { key })).body).toMatchObject({ ok: true });
  });

  it('the same key sent 20 times at once spends once', async () => {
    const { member, ctx, base, key } = await programWithMember(100);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => t.laurel.services.ledger.spend(ctx, { member, pointType: 'points', amount: 30, idempotencyKey: 'once' })),
    );
    const values = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ id: string; replayed: boolean }>).value);
    expect(values).toHaveLength(20);
    expect(new Set(values.map((v) => v.id)).size).toBe(1);
    expect(values.filter((v) => !v.replayed)).toHaveLength(1);
    const balance = (await t.api('GET', `${base}/members/${member}/balances`, { key })).body.balances.find((b: { pointType: string }) => b.pointType === 'points');
    expect(balance.available).toBe(70);
  });

  it('the same earn key sent 20 times at once over HTTP earns once', async () => {
    const { member, base, key } = await programWithMember(0);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.api('POST', `${base}/members/${member}/earn`, { key, headers: { 'idempotency-key': 'earn-once' }, body: { pointType: 'points', amount: 25 } }),
      ),
    );
    expect(results.every((r) => r.status === 201)).toBe(true);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const balance = (await t.api('GET', `${base}/members/${member}/balances`, { key })).body.balances.find((b: { pointType: string }) => b.pointType === 'points');
    expect(balance.available).toBe(25);
  });

  it('opposite transfers, earns, holds and refunds in parallel neither deadlock nor break an invariant', async () => {
    const { program, key, base, ctx } = await programWithMember(0);
    const ids: string[] = [];
    for (const ext of ['a', 'b', 'c']) {
      const m = (await t.api('POST', `${base}/members`, { key, body: { externalId: ext } })).body.id as string;
      await t.laurel.services.ledger.earn(ctx, { member: m, pointType: 'points', amount: 1000, idempotencyKey: `seed-${ext}` });
      ids.push(m);
    }
    const { ledger } = t.laurel.services;
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      const [x, y] = i % 2 ? [ids[0]!, ids[1]!] : [ids[1]!, ids[0]!];
      work.push(ledger.transfer(ctx, { from: x, to: y, pointType: 'points', amount: 7, idempotencyKey: `tr-${i}` }));
      work.push(ledger.earn(ctx, { member: ids[i % 3]!, pointType: 'points', amount: 3, idempotencyKey: `e-${i}` }));
      work.push(
        ledger.spend(ctx, { member: ids[2]!, pointType: 'points', amount: 5, idempotencyKey: `s-${i}` }).then((s) =>
          i % 3 === 0 ? ledger.refund(ctx, { transactionId: s.id, idempotencyKey: `r-${i}`, amount: 2 }) : s,
        ),
      );
      work.push(
        ledger.reserve(ctx, { member: ids[i % 2]!, pointType: 'points', amount: 4, idempotencyKey: `h-${i}` }).then((h) =>
          i % 2 ? ledger.capture(ctx, { transactionId: h.id, idempotencyKey: `c-${i}` }) : ledger.release(ctx, { transactionId: h.id, idempotencyKey: `l-${i}` }),
        ),
      );
    }
    const results = await Promise.allSettled(work);
    const failures = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(failures.map((f) => String(f.reason))).toEqual([]);
    const verify = await t.api('GET', `/v1/programs/${program.id}/ledger/verify`, { key });
    expect(verify.body).toMatchObject({ ok: true, violations: [] });
    // 3000 seeded + 180 earned − 300 spent + 40 refunded − 30×4 captured; transfers move, never make
    const total = (
      await Promise.all(ids.map(async (m) => (await t.api('GET', `${base}/members/${m}/balances`, { key })).body.balances.find((b: { pointType: string }) => b.pointType === 'points').available))
    ).reduce((a: number, b: number) => a + b, 0);
    expect(total).toBe(3000 + 180 - 300 + 40 - 120);
  });
});
