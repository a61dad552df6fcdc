import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickByValue } from '../../src/modules/draws/index.js';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';
import { spendingFixture, type SpendingFixture } from '../mall/fixture.js';

describe.each(engines)('lucky draws (%s)', (engine) => {
  let t: TestLaurel;
  let f: SpendingFixture;
  beforeAll(async () => {
    t = await createTestLaurel(engine, { poolSize: 40 });
    f = await spendingFixture(t);
    await f.tx((trx) => f.benefits.create(trx, f.ctx, { code: 'vip-lounge', name: 'Lounge pass', kind: 'special_function', defaultUses: 1 }));
  });
  afterAll(() => t.close());

  it('plays through the service: cost spent, prizes awarded as recorded, odds published, ledger balanced', async () => {
    const draw = await f.tx((trx) =>
      f.draws.create(trx, f.ctx, {
        code: 'wheel-1', name: 'Wheel', presentation: 'wheel', costPoints: 10,
        prizes: [
          { name: '50 points', kind: 'points', weight: 20, points: 50 },
          { name: 'Lounge', kind: 'benefit', weight: 10, benefitCode: 'vip-lounge' },
          { name: 'Thanks', kind: 'thanks', weight: 70, fallback: true },
        ],
      }),
    );
    const odds = await t.api('GET', `${f.base}/draws/${draw.id}`, { key: f.key });
    expect(odds.body.prizes.map((p: { probability: number }) => p.probability)).toEqual([0.2, 0.1, 0.7]);
    const members = await Promise.all(Array.from({ length: 10 }, () => f.member(1000)));
    const plays = [];
    for (let round = 0; round < 30; round++) {
      plays.push(...(await Promise.all(members.map((m, i) => f.tx((trx) => f.draws.play(trx, f.ctx, { drawId: draw.id, memberId: m, idempotencyKey: `p-${round}-${i}` }))))));
    }
    expect(plays).toHaveLength(300);
    for (const p of plays) {
      expect(p.randomValue).toBeGreaterThanOrEqual(0);
      expect(p.randomValue).toBeLessThan(100);
      expect(p.drawnPrizeId).toBe(pickByValue(draw.prizes, p.randomValue).id);
      expect(p.prize!.id).toBe(p.drawnPrizeId);
    }
    const won = plays.filter((p) => p.prize!.kind === 'points').length;
    const totalBalance = (await Promise.all(members.map((m) => f.balance(m)))).reduce((s, b) => s + b.available, 0);
    expect(totalBalance).toBe(10 * 1000 - 300 * 10 + won * 50);
    const lounges = plays.filter((p) => p.prize!.kind === 'benefit').length;
    expect((await f.benefits.utilisation(f.ctx, 'vip-lounge')).entitlementsGranted).toBe(lounges);
    const replay = await f.tx((trx) => f.draws.play(trx, f.ctx, { drawId: draw.id, memberId: members[0]!, idempotencyKey: 'p-0-0' }));
    expect(replay).toMatchObject({ replayed: true, id: plays[0]!.id });
    const listed = await t.api('GET', `${f.base}/draws/${draw.id}/plays?memberId=${members[0]}&limit=5`, { key: f.key });
    expect(listed.body.data).toHaveLength(5);
    await f.verify();
  });

  it('when a prize’s stock runs out, the fallback prize is awarded instead', async () => {
    const draw = await f.tx((trx) =>
      f.draws.create(trx, f.ctx, {
        code: 'box-1', name: 'Blind box', presentation: 'blind_box', costPoints: 5,
        prizes: [
          { name: 'Rare', kind: 'points', weight: 1_000_000, points: 100, stock: 3 },
          { name: 'Thanks', kind: 'thanks', weight: 1, fallback: true },
        ],
      }),
    );
    const members = await Promise.all(Array.from({ length: 4 }, () => f.member(100)));
    const plays = await Promise.all(
      Array.from({ length: 12 }, (_, i) => f.tx((trx) => f.draws.play(trx, f.ctx, { drawId: draw.id, memberId: members[i % 4]!, idempotencyKey: `box-${i}` }))),
    );
    const rare = plays.filter((p) => p.prize!.name === 'Rare');
    const fellBack = plays.filter((p) => p.fallbackReason === 'out_of_stock');
    expect(rare.length).toBe(3);
    expect(fellBack.length + plays.filter((p) => p.drawnPrizeId !== draw.prizes[0]!.id).length).toBe(9);
    expect(fellBack.every((p) => p.prize!.name === 'Thanks' && p.drawnPrizeId === draw.prizes[0]!.id)).toBe(true);
    expect((await f.draws.get(f.ctx, draw.id)).prizes[0]).toMatchObject({ stock: 0, awarded: 3 });
    await f.verify();
  });

  it('free plays per day, daily limits, win limits and the time window', async () => {
    const draw = await f.tx((trx) =>
      f.draws.create(trx, f.ctx, {
        code: 'scratch-1', name: 'Scratch', presentation: 'scratch', costPoints: 20, freePlaysPerDay: 2, dailyPlayLimit: 4, winLimitPerMember: 1,
        prizes: [
          { name: '10 points', kind: 'points', weight: 1_000_000, points: 10 },
          { name: 'Thanks', kind: 'thanks', weight: 1, fallback: true },
        ],
      }),
    );
    const m = await f.member(100);
    const play = (k: string) => f.tx((trx) => f.draws.play(trx, f.ctx, { drawId: draw.id, memberId: m, idempotencyKey: k }));
    const results = [await play('s1'), await play('s2'), await play('s3'), await play('s4')];
    expect(results.map((r) => r.free)).toEqual([true, true, false, false]);
    expect(results.filter((r) => r.prize!.kind === 'points')).toHaveLength(1);
    expect(results.filter((r) => r.fallbackReason === 'member_win_limit').length).toBeGreaterThanOrEqual(2);
    await expect(play('s5')).rejects.toMatchObject({ code: 'limit_reached' });
    expect(await f.balance(m)).toMatchObject({ available: 100 - 40 + 10 });
    const closed = await t.api('PATCH', `${f.base}/draws/${draw.id}`, { key: f.key, body: { endsAt: new Date(Date.now() - 1000).toISOString(), startsAt: new Date(Date.now() - 86_400_000).toISOString() } });
    expect(closed.status).toBe(200);
    const res = await t.api('POST', `${f.base}/draws/${draw.id}/plays`, { key: f.key, headers: { 'idempotency-key': 'late' }, body: { memberId: m } });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('draw_not_open');
    await f.verify();
  });

  it('twins (one key, played at once) get one play: paid or free, charged and counted once', async () => {
    const paid = await f.tx((trx) =>
      f.draws.create(trx, f.ctx, { code: 'twin-paid', name: 'Twins', presentation: 'wheel', costPoints: 10, dailyPlayLimit: 2, prizes: [{ name: 'T', kind: 'thanks', weight: 1, fallback: true }] }),
    );
    const free = await f.tx((trx) =>
      f.draws.create(trx, f.ctx, { code: 'twin-free', name: 'Twins', presentation: 'scratch', freePlaysPerDay: 2, dailyPlayLimit: 2, prizes: [{ name: 'T', kind: 'thanks', weight: 1, fallback: true }] }),
    );
    const m = await f.member(100);
    const play = (drawId: string, key: string) => f.tx((trx) => f.draws.play(trx, f.ctx, { drawId, memberId: m, idempotencyKey: key }));
    for (const draw of [paid, free]) {
      const twins = await Promise.all(Array.from({ length: 6 }, () => play(draw.id, `twin-${draw.code}`)));
      expect(new Set(twins.map((p) => p.id)).size).toBe(1);
      expect(twins.filter((p) => !p.replayed)).toHaveLength(1);
      // the twins counted one play of the daily two: one more goes, the next is over the limit
      await play(draw.id, `second-${draw.code}`);
      await expect(play(draw.id, `third-${draw.code}`)).rejects.toMatchObject({ code: 'limit_reached' });
      expect((await f.draws.listPlays(f.ctx, draw.id, {})).data).toHaveLength(2);
    }
    expect(await f.balance(m)).toMatchObject({ available: 100 - 2 * 10 });
    await expect(play(free.id, `twin-${paid.code}`)).rejects.toMatchObject({ code: 'idempotency_conflict' });
    await expect(f.tx((trx) => f.draws.play(trx, f.ctx, { drawId: 'twin-paid', memberId: 'ext:nobody-by-that-name', idempotencyKey: 'x' }))).rejects.toMatchObject({ code: 'member_not_found' });
    await expect(f.tx((trx) => f.draws.play(trx, f.ctx, { drawId: 'no-such-draw', memberId: m, idempotencyKey: 'x' }))).rejects.toMatchObject({ code: 'draw_not_found' });
    await f.verify();
  });

  it('bad configuration and a poor member are refused with clear codes; nothing changes', async () => {
    const bad = await t.api('POST', `${f.base}/draws`, {
      key: f.key,
      body: { code: 'bad', name: 'Bad', presentation: 'wheel', costPoints: 10, prizes: [{ name: 'A', kind: 'points', weight: 1, points: 5 }] },
    });
    expect(bad.status).toBe(400);
    const negative = await t.api('POST', `${f.base}/draws`, {
      key: f.key,
      body: { code: 'neg', name: 'Neg', presentation: 'slot', costPoints: -1, prizes: [{ name: 'T', kind: 'thanks', weight: 1, fallback: true }] },
    });
    expect(negative.body.error.code).toBe('validation_failed');
    const draw = await f.tx((trx) => f.draws.create(trx, f.ctx, { code: 'slot-1', name: 'Slot', presentation: 'slot', costPoints: 50, prizes: [{ name: 'T', kind: 'thanks', weight: 1, fallback: true }] }));
    const poor = await f.member(30);
    const res = await t.api('POST', `${f.base}/draws/${draw.id}/plays`, { key: f.key, headers: { 'idempotency-key': 'poor' }, body: { memberId: poor } });
    expect(res.body.error.code).toBe('insufficient_points');
    expect(await f.balance(poor)).toMatchObject({ available: 30 });
    expect((await f.draws.listPlays(f.ctx, draw.id, {})).data).toHaveLength(0);
    await f.verify();
  });
});
