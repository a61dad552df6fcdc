import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

describe.each(engines)('expiry and consumption over time (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
  });
  afterAll(() => t.close());

  async function sandbox(pointType: Record<string, unknown>, clockStart: string, timeZone = 'Asia/Shanghai') {
    const { program, key } = await t.createProgram({ mode: 'sandbox', timeZone, clockStart });
    const base = `/v1/programs/${program.id}`;
    const created = await t.api('POST', `${base}/point-types`, { key, body: { name: 'Test', kind: 'redeemable', ...pointType } });
    if (created.status !== 201) throw new Error(JSON.stringify(created.body));
    const member = (await t.api('POST', `${base}/members`, { key, body: { externalId: 'm' } })).body.id as string;
    let n = 0;
    const op = (path: string, body: Record<string, unknown>) =>
      t.api('POST', `${base}/members/${member}/${path}`, { key, headers: { 'idempotency-key': `op-${++n}` }, body: { pointType: pointType.code, ...body } });
    const balance = async () =>
      (await t.api('GET', `${base}/members/${member}/balances?expiringWithinDays=3650`, { key })).body.balances.find(
        (b: { pointType: string }) => b.pointType === pointType.code,
      );
    const advanceTo = (to: string) => t.api('POST', `${base}/clock/advance`, { key, body: { to } });
    const verify = async () => (await t.api('GET', `${base}/ledger/verify`, { key })).body;
    return { base, key, member, op, balance, advanceTo, verify };
  }

  it('clears points at the end of the calendar year after earning, at local midnight', async () => {
    const s = await sandbox({ code: 'pts', expiryPolicy: { kind: 'endOfYearAfter', years: 1 } }, '2025-03-15T04:00:00Z');
    await s.op('earn', { amount: 300 });
    await s.advanceTo('2026-06-01T00:00:00Z');
    await s.op('earn', { amount: 200 });
    expect((await s.balance()).expiring).toEqual([
      { expiresAt: '2026-12-31T16:00:00.000Z', amount: 300 },
      { expiresAt: '2027-12-31T16:00:00.000Z', amount: 200 },
    ]);
    // One second before midnight in Shanghai nothing has expired yet; at midnight the first lot goes.
    await s.advanceTo('2026-12-31T15:59:59Z');
    expect((await s.balance()).available).toBe(500);
    const adv = await s.advanceTo('2026-12-31T16:00:00Z');
    expect(adv.body.jobsRun.filter((j: { job: string }) => j.job === 'ledger.expire-lots')).toHaveLength(1);
    expect(await s.balance()).toMatchObject({ available: 200, lifetimeExpired: 300 });
    expect((await s.verify()).ok).toBe(true);
  });

  it('expires only what a lot has left after spends, and running the job again changes nothing', async () => {
    const s = await sandbox({ code: 'pts', expiryPolicy: { kind: 'afterDays', days: 10, roundTo: 'endOfDay' } }, '2026-01-25T02:00:00Z');
    await s.op('earn', { amount: 100 });
    await s.advanceTo('2026-01-28T02:00:00Z');
    await s.op('earn', { amount: 100 });
    await s.op('spend', { amount: 130 }); // 100 from the first lot, 30 from the second
    await s.advanceTo('2026-02-05T00:00:00Z'); // past the first lot's end (4 Feb local)
    expect(await s.balance()).toMatchObject({ available: 70, lifetimeExpired: 0 });
    await s.advanceTo('2026-02-10T00:00:00Z'); // past the second's (7 Feb local)
    expect(await s.balance()).toMatchObject({ available: 0, lifetimeExpired: 70 });
    const { sweepExpiry } = await import('../../src/modules/ledger/index.js');
    const program = (await t.api('GET', s.base, { key: s.key })).body;
    const again = await sweepExpiry(t.laurel.database.db, program, new Date('2026-02-10T00:00:00Z'), 'expiry');
    expect(again).toEqual({ accounts: 0, points: 0 });
    expect((await s.verify()).ok).toBe(true);
  });

  it('expires every due account exactly once when several walkers split the members into ranges', async () => {
    const s = await sandbox({ code: 'pts', expiryPolicy: { kind: 'afterDays', days: 5, roundTo: 'endOfDay' } }, '2026-03-01T02:00:00Z');
    const members: string[] = [s.member];
    for (let i = 0; i < 11; i++) members.push((await t.api('POST', `${s.base}/members`, { key: s.key, body: { externalId: `w${i}` } })).body.id);
    for (const [i, m] of members.entries()) {
      for (const amount of [10 + i, 100]) {
        const r = await t.api('POST', `${s.base}/members/${m}/earn`, { key: s.key, headers: { 'idempotency-key': `w-${i}-${amount}` }, body: { pointType: 'pts', amount } });
        expect(r.status).toBe(201);
      }
    }
    const { sweepExpiry } = await import('../../src/modules/ledger/index.js');
    const program = (await t.api('GET', s.base, { key: s.key })).body;
    const asOf = new Date('2026-03-10T00:00:00Z');
    const swept = await sweepExpiry(t.laurel.database.db, program, asOf, 'expiry', { walkers: 3 });
    const due = members.reduce((sum, _m, i) => sum + 110 + i, 0);
    expect(swept).toEqual({ accounts: members.length, points: due });
    expect(await sweepExpiry(t.laurel.database.db, program, asOf, 'expiry', { walkers: 3 })).toEqual({ accounts: 0, points: 0 });
    expect((await s.verify()).ok).toBe(true);
  });

  it.each([
    ['expiring_first', [60, 0, 100]],
    ['oldest_first', [0, 60, 100]],
    ['newest_first', [100, 60, 0]],
  ] as const)('draws lots %s', async (order, remainingByLot) => {
    // Three lots whose earning order differs from their expiry order, through a versioned policy:
    // L1 earned 1 Jan expires 11 Apr, L2 earned 2 Jan expires 11 Feb, L3 earned 3 Jan expires 22 Jul.
    const s = await sandbox(
      {
        code: 'pts',
        consumptionOrder: order,
        expiryPolicy: {
          kind: 'versioned',
          versions: [
            { effectiveFrom: '2026-01-01', policy: { kind: 'afterDays', days: 100, roundTo: 'instant' } },
            { effectiveFrom: '2026-01-02', policy: { kind: 'afterDays', days: 40, roundTo: 'instant' } },
            { effectiveFrom: '2026-01-03', policy: { kind: 'afterDays', days: 200, roundTo: 'instant' } },
          ],
        },
      },
      '2026-01-01T04:00:00Z',
    );
    await s.op('earn', { amount: 100 });
    await s.advanceTo('2026-01-02T04:00:00Z');
    await s.op('earn', { amount: 100 });
    await s.advanceTo('2026-01-03T04:00:00Z');
    await s.op('earn', { amount: 100 });
    await s.op('spend', { amount: 140 });
    const byExpiry = (await s.balance()).expiring as Array<{ expiresAt: string; amount: number }>;
    // what is left of [L1, L2, L3]
    const remaining = [byExpiry.find((e) => e.expiresAt.startsWith('2026-04-11'))?.amount ?? 0, byExpiry.find((e) => e.expiresAt.startsWith('2026-02-11'))?.amount ?? 0, byExpiry.find((e) => e.expiresAt.startsWith('2026-07-22'))?.amount ?? 0];
    expect(remaining).toEqual(remainingByLot);
  });

  it('refunds into an expired lot expire at once, or come back fresh, as the point type says', async () => {
    for (const [policy, expected] of [
      ['expire', { available: 0, lifetimeExpired: 100 }],
      ['recredit', { available: 40, lifetimeExpired: 60 }],
    ] as const) {
      const s = await sandbox({ code: 'pts', expiredRefund: policy, expiryPolicy: { kind: 'afterDays', days: 5, roundTo: 'endOfDay' } }, '2026-05-01T02:00:00Z');
      await s.op('earn', { amount: 100 });
      const spend = await s.op('spend', { amount: 40 });
      await s.advanceTo('2026-05-10T00:00:00Z'); // the lot's last 60 expire
      const refund = await t.api('POST', `${s.base}/transactions/${spend.body.id}/refund`, { key: s.key, headers: { 'idempotency-key': 'r' }, body: {} });
      expect(refund.status).toBe(201);
      expect(await s.balance()).toMatchObject(expected);
      expect((await s.verify()).ok).toBe(true);
    }
  });

  it('expires the whole balance after months without a qualifying activity; a transfer does not count', async () => {
    const s = await sandbox(
      { code: 'pts', expiryPolicy: { kind: 'inactivity', months: 6, roundTo: 'instant', activityKinds: ['earn', 'spend'] } },
      '2026-01-10T00:00:00Z',
    );
    await s.op('earn', { amount: 100 });
    await s.advanceTo('2026-05-10T00:00:00Z');
    await s.op('spend', { amount: 10 }); // activity: the six months start again
    await s.advanceTo('2026-10-09T00:00:00Z');
    expect((await s.balance()).available).toBe(90);
    await s.advanceTo('2026-11-11T00:00:00Z');
    expect(await s.balance()).toMatchObject({ available: 0, lifetimeExpired: 90 });
    expect((await s.verify()).ok).toBe(true);
  });

  it('records one upcoming-expiry notice per lot date, N days ahead', async () => {
    const s = await sandbox({ code: 'pts', expiryNoticeDays: 7, expiryPolicy: { kind: 'afterDays', days: 30, roundTo: 'endOfDay' } }, '2026-03-01T02:00:00Z');
    await s.op('earn', { amount: 100 });
    await s.advanceTo('2026-03-20T00:00:00Z');
    const { rawQuery } = await import('../../src/db/database.js');
    const count = async () => (await rawQuery<{ n: number }>(t.laurel.database.db, 'select count(*)::int as n from expiry_notices where member_id = $1', [s.member])).rows[0]!.n;
    expect(await count()).toBe(0);
    await s.advanceTo('2026-03-26T00:00:00Z');
    expect(await count()).toBe(1);
    await s.advanceTo('2026-03-29T00:00:00Z');
    expect(await count()).toBe(1);
  });

  it('earns fractional amounts on a point type with decimal places, as integers of the smallest unit', async () => {
    const s = await sandbox({ code: 'stars', decimals: 1 }, '2026-01-01T00:00:00Z');
    await s.op('earn', { amount: 12 }); // 1.2 stars
    await s.op('earn', { amount: 25 }); // 2.5 stars
    await s.op('spend', { amount: 31 });
    expect(await s.balance()).toMatchObject({ decimals: 1, available: 6 });
  });
});
