import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction } from '../../src/db/database.js';
import type { EngagementService } from '../../src/modules/engagement/index.js';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';
import { setup } from './helpers.js';

describe.each(engines)('tasks and medals (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
  });
  afterAll(() => t.close());

  it('validates task definitions and changes nothing on a refusal', async () => {
    const s = await setup(t, '2026-03-02T02:00:00Z');
    const base = { code: 'share3', name: 'Share 3 times', recurrence: 'weekly', eventType: 'share', target: 3, rewards: { points: [{ pointType: 'points', amount: 30 }] } };
    const cases: Array<[unknown, number, string]> = [
      [{ ...base, rewards: { points: [{ pointType: 'stars', amount: 1 }] } }, 404, 'point_type_not_found'],
      [{ ...base, rewards: { medal: { code: 'nope' } } }, 404, 'medal_not_found'],
      [{ ...base, rewards: {} }, 400, 'validation_failed'],
      [{ ...base, measure: 'sum' }, 400, 'validation_failed'],
      [{ ...base, target: 0 }, 400, 'validation_failed'],
      [{ ...base, recurrence: 'hourly' }, 400, 'validation_failed'],
      [{ ...base, conditions: [{ attribute: 'x', op: 'lt', value: 1 }] }, 400, 'validation_failed'],
      [{ ...base, startsAt: '2026-04-01T00:00:00Z', endsAt: '2026-03-01T00:00:00Z' }, 400, 'validation_failed'],
      [{ ...base, extra: true }, 400, 'validation_failed'],
    ];
    for (const [body, status, code] of cases) {
      const res = await s.call('POST', '/tasks', body);
      expect([res.status, res.body.error?.code], JSON.stringify(body)).toEqual([status, code]);
    }
    expect((await s.get('/tasks')).body.data).toEqual([]);
    expect((await s.call('POST', '/tasks', base)).status).toBe(201);
    const dup = await s.call('POST', '/tasks', base);
    expect([dup.status, dup.body.error.code]).toEqual([409, 'already_exists']);
  });

  it('counts batched events toward a weekly task, rewards it once, and starts again next week', async () => {
    const s = await setup(t, '2026-03-02T02:00:00Z'); // Monday
    const created = await s.call('POST', '/tasks', {
      code: 'share3', name: 'Share 3 times this week', recurrence: 'weekly', eventType: 'share', target: 3,
      conditions: [{ attribute: 'target', op: 'in', value: ['wechat', 'weibo'] }],
      rewards: { points: [{ pointType: 'points', amount: 30 }, { pointType: 'growth', amount: 3 }] },
    });
    expect(created.body).toMatchObject({ claim: 'auto', measure: 'count', version: 1 });
    const m = await s.member('sharer');
    // One batch of five events; one does not match the condition.
    await s.events(m, [
      { type: 'share', attributes: { target: 'wechat' } },
      { type: 'share', attributes: { target: 'email' } },
      { type: 'share', attributes: { target: 'weibo' } },
      { type: 'share', attributes: { target: 'wechat' } },
      { type: 'share', attributes: { target: 'wechat' } },
    ]);
    let list = (await s.get(`/members/${m}/tasks`)).body.data;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ progress: 3, target: 3, status: 'rewarded', claimable: false, period: { key: '2026-W10' } });
    expect(await s.balance(m)).toBe(30);
    expect(await s.balance(m, 'growth')).toBe(3);
    const entry = (await s.get(`/members/${m}/ledger`)).body.data.find((e: { pointType: string }) => e.pointType === 'points');
    expect(entry.source).toEqual({ type: 'task', id: created.body.id });
    expect(entry.details).toMatchObject({ task: 'share3', period: '2026-W10', target: 3 });

    // Sunday 23:30 in Shanghai is still week 10; Monday 00:00 starts week 11 from zero.
    await s.to('2026-03-08T15:30:00Z');
    await s.events(m, [{ type: 'share', attributes: { target: 'wechat' } }]);
    expect(await s.balance(m)).toBe(30);
    await s.to('2026-03-08T16:00:00Z');
    list = (await s.get(`/members/${m}/tasks`)).body.data;
    expect(list[0]).toMatchObject({ progress: 0, status: 'in_progress', period: { key: '2026-W11' } });
    await s.events(m, [1, 2, 3].map(() => ({ type: 'share', attributes: { target: 'weibo' } })));
    expect(await s.balance(m)).toBe(60);
    expect((await s.verify()).ok).toBe(true);
  });

  it('lets a one-time task with a condition be claimed once, paying points and a medal', async () => {
    const s = await setup(t, '2026-03-02T02:00:00Z');
    await s.call('POST', '/medals', { code: 'first-buyer', name: 'First buyer', criterion: { kind: 'manual' }, levels: [{ name: 'First buyer' }] });
    await s.call('POST', '/tasks', {
      code: 'first-purchase', name: 'First purchase of ¥10 or more', recurrence: 'once', eventType: 'purchase', target: 1, claim: 'manual',
      conditions: [{ attribute: 'amount', op: 'gte', value: 1000 }],
      rewards: { points: [{ pointType: 'points', amount: 100 }], medal: { code: 'first-buyer' } },
    });
    await s.call('POST', '/tasks', { code: 'profile', name: 'Complete your profile', recurrence: 'once', eventType: 'profile_completed', target: 1, rewards: { points: [{ pointType: 'points', amount: 20 }] } });
    const m = await s.member('buyer');
    const early = await s.call('POST', `/members/${m}/tasks/first-purchase/claim`, {});
    expect([early.status, early.body.error.code, early.body.error.details.reason]).toEqual([422, 'task_not_claimable', 'not_completed']);
    await s.events(m, [{ type: 'purchase', attributes: { amount: 500 } }]);
    expect((await s.get(`/members/${m}/tasks`)).body.data[0]).toMatchObject({ progress: 0, status: 'in_progress' });
    await s.events(m, [{ type: 'purchase', attributes: { amount: 2000 } }, { type: 'profile_completed' }]);
    const list = (await s.get(`/members/${m}/tasks`)).body.data;
    expect(list.map((x: { task: { code: string }; status: string; claimable: boolean }) => [x.task.code, x.status, x.claimable])).toEqual([
      ['first-purchase', 'completed', true],
      ['profile', 'rewarded', false],
    ]);
    expect(await s.balance(m)).toBe(20);
    const auto = await s.call('POST', `/members/${m}/tasks/profile/claim`, {});
    expect(auto.body).toMatchObject({ alreadyClaimed: true });
    const claim = await s.call('POST', `/members/${m}/tasks/first-purchase/claim`, {});
    expect(claim.status).toBe(201);
    expect(claim.body).toMatchObject({ period: 'once', rewards: [{ pointType: 'points', amount: 100 }], medal: { code: 'first-buyer', level: 1 }, alreadyClaimed: false });
    const again = await s.call('POST', `/members/${m}/tasks/first-purchase/claim`, {});
    expect(again.body).toMatchObject({ alreadyClaimed: true, rewards: claim.body.rewards });
    await s.events(m, [{ type: 'purchase', attributes: { amount: 9000 } }]);
    expect(await s.balance(m)).toBe(120);
    const medals = (await s.get(`/members/${m}/medals`)).body.data;
    expect(medals[0]).toMatchObject({ medal: { code: 'first-buyer' }, level: 1, locked: false, levels: [{ level: 1, awarded: true, awardedAt: '2026-03-02T02:00:00.000Z' }] });
    expect((await s.verify()).ok).toBe(true);
  });

  it('upgrades medals through their levels once each, with the date, and shows what is still locked', async () => {
    const s = await setup(t, '2026-03-02T02:00:00Z');
    await s.call('PUT', '/check-in-schedule', { cycle: 'continuous', rewards: [1] });
    const spend = await s.call('POST', '/medals', {
      code: 'big-spender', name: 'Big spender', criterion: { kind: 'attribute_sum', eventType: 'purchase', attribute: 'amount' },
      levels: [{ name: 'Bronze', threshold: 10_000 }, { name: 'Silver', threshold: 50_000 }, { name: 'Gold', threshold: 100_000 }],
    });
    expect(spend.status).toBe(201);
    const bad = await s.call('POST', '/medals', { code: 'bad', name: 'x', criterion: { kind: 'event_count', eventType: 'share' }, levels: [{ name: 'a', threshold: 5 }, { name: 'b', threshold: 5 }] });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'validation_failed']);
    await s.call('POST', '/medals', { code: 'streaker', name: 'Streaker', criterion: { kind: 'checkin_streak' }, levels: [{ name: '3 days', threshold: 3 }, { name: '7 days', threshold: 7 }] });
    await s.call('POST', '/medals', { code: 'doer', name: 'Doer', criterion: { kind: 'tasks_completed' }, levels: [{ name: 'One', threshold: 1 }, { name: 'Two', threshold: 2 }] });
    await s.call('POST', '/medals', { code: 'vip', name: 'VIP', criterion: { kind: 'tier_reached' }, levels: [{ name: 'Silver', threshold: 2 }, { name: 'Gold', threshold: 3 }] });
    await s.call('POST', '/tasks', { code: 'daily-share', name: 'Share today', recurrence: 'daily', eventType: 'share', target: 1, rewards: { points: [{ pointType: 'points', amount: 1 }] } });
    const m = await s.member('collector');

    await s.events(m, [{ type: 'purchase', attributes: { amount: 6000 } }, { type: 'purchase', attributes: { amount: 6000 } }, { type: 'share' }]);
    await s.call('POST', `/members/${m}/check-ins`);
    await s.advance({ days: 1 });
    await s.events(m, [{ type: 'purchase', attributes: { amount: 60_000 } }, { type: 'share' }]);
    await s.call('POST', `/members/${m}/check-ins`);
    await s.advance({ days: 1 });
    await s.call('POST', `/members/${m}/check-ins`);
    const engagement = t.laurel.services.engagement as EngagementService;
    const program = await t.laurel.services.programs.get(s.program.id);
    const ctx = t.laurel.systemContext(program, 'tiers');
    await inTransaction(t.laurel.database.db, (trx) => engagement.tiersReached(trx, ctx, [{ memberId: m, tier: { code: 'silver', rank: 2 } }]));

    const byCode = Object.fromEntries((await s.get(`/members/${m}/medals`)).body.data.map((x: { medal: { code: string } }) => [x.medal.code, x]));
    expect(byCode['big-spender']).toMatchObject({
      value: 72_000, level: 2, locked: false, next: { level: 3, name: 'Gold', remaining: 28_000 },
      levels: [
        { level: 1, awarded: true, awardedAt: '2026-03-02T02:00:00.000Z' },
        { level: 2, awarded: true, awardedAt: '2026-03-03T02:00:00.000Z' },
        { level: 3, awarded: false, awardedAt: null },
      ],
    });
    expect(byCode.streaker).toMatchObject({ value: 3, level: 1, next: { level: 2, remaining: 4 } });
    expect(byCode.doer).toMatchObject({ value: 2, level: 2, next: null });
    expect(byCode.vip).toMatchObject({ value: 2, level: 1, locked: false });

    // A further purchase does not award a level twice; a medal with nothing yet is locked.
    await s.events(m, [{ type: 'purchase', attributes: { amount: 1 } }]);
    const other = await s.member('newcomer');
    const fresh = (await s.get(`/members/${other}/medals`)).body.data;
    expect(fresh.every((x: { locked: boolean; level: number }) => x.locked && x.level === 0)).toBe(true);
    const manual = await s.call('POST', `/members/${m}/medals/big-spender/award`, { level: 2, reason: 'already had it' });
    expect(manual.body).toMatchObject({ alreadyAwarded: true, awardedAt: '2026-03-03T02:00:00.000Z' });
    const awarded = await t.api('GET', `${s.base}/members/${m}/medals`, { key: s.key });
    expect(awarded.body.data.find((x: { medal: { code: string } }) => x.medal.code === 'big-spender').levels.filter((l: { awarded: boolean }) => l.awarded)).toHaveLength(2);
  });

  it('makes no progress for a frozen member and honours a task validity window', async () => {
    const s = await setup(t, '2026-03-02T02:00:00Z');
    await s.call('POST', '/tasks', {
      code: 'spring', name: 'Spend ¥100 in spring week', recurrence: 'once', eventType: 'purchase', target: 10_000, measure: 'sum', sumAttribute: 'amount',
      startsAt: '2026-03-03T00:00:00Z', endsAt: '2026-03-10T00:00:00Z', rewards: { points: [{ pointType: 'points', amount: 50 }] },
    });
    const m = await s.member('window');
    await s.events(m, [{ type: 'purchase', attributes: { amount: 20_000 } }]); // before the window
    expect(await s.balance(m)).toBe(0);
    await s.advance({ days: 1 });
    await s.events(m, [{ type: 'purchase', attributes: { amount: 6000 } }, { type: 'purchase', attributes: { amount: 'n/a' } }]);
    expect((await s.get(`/members/${m}/tasks`)).body.data[0]).toMatchObject({ progress: 6000, status: 'in_progress' });
    const f = await s.member('frozen');
    await t.api('PATCH', `${s.base}/members/${f}`, { key: s.key, body: { status: 'frozen' } });
    await s.events(f, [{ type: 'purchase', attributes: { amount: 20_000 } }]);
    expect((await s.get(`/members/${f}/tasks`)).body.data[0]).toMatchObject({ progress: 0 });
    await s.events(m, [{ type: 'purchase', attributes: { amount: 6000 } }]);
    expect(await s.balance(m)).toBe(50);
    await s.advance({ days: 10 });
    expect((await s.get(`/members/${m}/tasks`)).body.data).toEqual([]);
  });
});
