import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';
import { setup } from './helpers.js';

// The host's own zone must not matter: days are the program's (Asia/Shanghai below).
process.env.TZ = 'America/Los_Angeles';

const WEEKLY = { cycle: 'weekly', rewards: [5, 5, 10, 10, 15, 15, 50] };

describe.each(engines)('check-in (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine, { poolSize: 12 });
  });
  afterAll(() => t.close());

  it('refuses check-in until a schedule exists, and validates the schedule', async () => {
    const s = await setup(t, '2026-03-02T02:00:00Z');
    const m = await s.member('a');
    const res = await s.call('POST', `/members/${m}/check-ins`);
    expect([res.status, res.body.error.code]).toEqual([422, 'checkin_disabled']);
    expect((await s.get('/check-in-schedule')).status).toBe(404);
    const tooLong = await s.call('PUT', '/check-in-schedule', { cycle: 'weekly', rewards: [1, 2, 3, 4, 5, 6, 7, 8] });
    expect([tooLong.status, tooLong.body.error.code]).toEqual([400, 'validation_failed']);
    const badType = await s.call('PUT', '/check-in-schedule', { cycle: 'weekly', rewards: [1], pointType: 'stars' });
    expect([badType.status, badType.body.error.code]).toEqual([404, 'point_type_not_found']);
    const extra = await s.call('PUT', '/check-in-schedule', { cycle: 'weekly', rewards: [1], bonus: 3 });
    expect(extra.status).toBe(400);
    const ok = await s.call('PUT', '/check-in-schedule', WEEKLY);
    expect(ok.body).toMatchObject({ version: 1, cycle: 'weekly', growth: null, makeUp: { perMonth: 0 } });
    expect((await s.call('PUT', '/check-in-schedule', WEEKLY)).body.version).toBe(2);
  });

  it("counts days in the program's zone, not the host's: 00:30 in Shanghai is that day", async () => {
    // 2026-03-01T16:30Z is 00:30 on Monday 2 March in Shanghai (and still 1 March in Los Angeles).
    const s = await setup(t, '2026-03-01T16:30:00Z');
    await s.call('PUT', '/check-in-schedule', WEEKLY);
    const m = await s.member('tz');
    const first = await s.call('POST', `/members/${m}/check-ins`);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ date: '2026-03-02', streak: 1, cycleDay: 1, alreadyCheckedIn: false, rewards: [{ pointType: 'points', amount: 5 }] });
    // 23:59 the same Shanghai day: the first result again, no second reward.
    await s.to('2026-03-02T15:59:00Z');
    const again = await s.call('POST', `/members/${m}/check-ins`);
    expect(again.body).toMatchObject({ id: first.body.id, date: '2026-03-02', alreadyCheckedIn: true });
    // 00:00 the next Shanghai day.
    await s.to('2026-03-02T16:00:00Z');
    const next = await s.call('POST', `/members/${m}/check-ins`);
    expect(next.body).toMatchObject({ date: '2026-03-03', streak: 2, rewards: [{ amount: 5 }] });
    expect(await s.balance(m)).toBe(10);
    const entry = (await s.get(`/members/${m}/ledger`)).body.data[0];
    expect(entry.source).toEqual({ type: 'check_in', id: next.body.id });
    expect((await s.verify()).ok).toBe(true);
  });

  it('pays the weekly schedule, 50 on day 7, and restarts the cycle on Monday while the streak goes on', async () => {
    const s = await setup(t, '2026-03-02T01:00:00Z'); // Monday 09:00 in Shanghai
    await s.call('PUT', '/check-in-schedule', { ...WEEKLY, growth: { rewards: [1] } });
    const m = await s.member('weekly');
    const paid: number[] = [];
    for (let day = 0; day < 9; day++) {
      if (day > 0) await s.advance({ days: 1 });
      const res = await s.call('POST', `/members/${m}/check-ins`);
      expect(res.status).toBe(201);
      paid.push(res.body.rewards.find((r: { pointType: string }) => r.pointType === 'points').amount);
      if (day === 6) expect(res.body).toMatchObject({ streak: 7, cycleDay: 7 });
      if (day === 7) expect(res.body).toMatchObject({ date: '2026-03-09', streak: 8, cycleDay: 1 });
    }
    expect(paid).toEqual([5, 5, 10, 10, 15, 15, 50, 5, 5]);
    expect(await s.balance(m)).toBe(120);
    // Growth only because the operator configured it (1 a day).
    expect(await s.balance(m, 'growth')).toBe(9);
    const entry = (await s.get(`/members/${m}/ledger?limit=200`)).body.data.find((e: { amount: number }) => e.amount === 50);
    expect(entry.details).toMatchObject({ streak: 7, cycle: 'weekly', cycleDay: 7, scheduleEntry: 7, scheduleVersion: 1 });
    // A continuous schedule with a repeating pattern: day 8 pays the pattern's first entry again.
    await s.call('PUT', '/check-in-schedule', { cycle: 'continuous', rewards: [1, 2, 3] });
    await s.advance({ days: 1 });
    const tenth = await s.call('POST', `/members/${m}/check-ins`);
    expect(tenth.body).toMatchObject({ streak: 10, cycleDay: 1, rewards: [{ amount: 1 }], scheduleVersion: 2 });
    expect((await s.verify()).ok).toBe(true);
  });

  it('keeps a streak across month ends; a monthly cycle restarts on the 1st; a missed day breaks the streak', async () => {
    const s = await setup(t, '2026-03-30T02:00:00Z');
    await s.call('PUT', '/check-in-schedule', { cycle: 'monthly', rewards: [1, 2, 3, 4] });
    const m = await s.member('months');
    const got: Array<[string, number, number, number]> = [];
    for (let day = 0; day < 4; day++) {
      if (day > 0) await s.advance({ days: 1 });
      const r = (await s.call('POST', `/members/${m}/check-ins`)).body;
      got.push([r.date, r.streak, r.cycleDay, r.rewards[0].amount]);
    }
    expect(got).toEqual([
      ['2026-03-30', 1, 1, 1],
      ['2026-03-31', 2, 2, 2],
      ['2026-04-01', 3, 1, 1],
      ['2026-04-02', 4, 2, 2],
    ]);
    await s.advance({ days: 2 }); // 3 April missed
    const after = await s.call('POST', `/members/${m}/check-ins`);
    expect(after.body).toMatchObject({ date: '2026-04-04', streak: 1 });
    const summary = (await s.get(`/members/${m}/check-ins`)).body;
    expect(summary).toMatchObject({ currentStreak: 1, longestStreak: 4, totalDays: 5, checkedInToday: true });
    expect(summary.next).toMatchObject({ date: '2026-04-05', streak: 2 });
  });

  it('makes up a missed day within its limits, at its cost, and repairs the streak', async () => {
    const s = await setup(t, '2026-03-01T02:00:00Z');
    await s.call('PUT', '/check-in-schedule', {
      cycle: 'continuous', afterLast: 'last', rewards: [10, 20, 30, 40],
      makeUp: { perMonth: 1, windowDays: 5, cost: 15, rewarded: false },
    });
    const m = await s.member('makeup');
    await s.call('POST', `/members/${m}/check-ins`); // 1 March: 10
    await s.advance({ days: 1 });
    await s.call('POST', `/members/${m}/check-ins`); // 2 March: 20
    await s.advance({ days: 2 }); // 3 March missed
    const fourth = await s.call('POST', `/members/${m}/check-ins`); // 4 March: streak 1, 10
    expect(fourth.body).toMatchObject({ streak: 1, rewards: [{ amount: 10 }] });
    expect(await s.balance(m)).toBe(40);

    const refusals: Array<[unknown, number, string, string | undefined]> = [
      [{ date: '2026-03-04' }, 422, 'make_up_not_allowed', 'not_in_the_past'],
      [{ date: '2026-03-02' }, 422, 'make_up_not_allowed', 'already_checked_in'],
      [{ date: '2026-02-26' }, 422, 'make_up_not_allowed', 'outside_window'],
      [{ date: '2026-02-28' }, 422, 'make_up_not_allowed', 'before_joining'],
      [{ date: '2026-02-30' }, 400, 'validation_failed', undefined],
      [{ date: '2026-03-03', extra: 1 }, 400, 'validation_failed', undefined],
    ];
    for (const [body, status, code, reason] of refusals) {
      const res = await s.call('POST', `/members/${m}/check-ins/make-ups`, body);
      expect([res.status, res.body.error.code, res.body.error.details?.reason], JSON.stringify(body)).toEqual([status, code, reason]);
    }

    const made = await s.call('POST', `/members/${m}/check-ins/make-ups`, { date: '2026-03-03' });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ kind: 'make_up', date: '2026-03-03', streak: 3, rewards: [], cost: { pointType: 'points', amount: 15 } });
    expect(await s.balance(m)).toBe(25);
    // The streak is repaired: 4 March now carries on from it, and 5 March is day 5 (the last entry, 40).
    await s.advance({ days: 1 });
    const fifth = await s.call('POST', `/members/${m}/check-ins`);
    expect(fifth.body).toMatchObject({ date: '2026-03-05', streak: 5, cycleDay: 4, rewards: [{ amount: 40 }] });
    expect(await s.balance(m)).toBe(65);

    // One make-up a month: a second missed day is refused for the limit.
    await s.advance({ days: 2 }); // 6 March missed; today 7 March
    const second = await s.call('POST', `/members/${m}/check-ins/make-ups`, { date: '2026-03-06' });
    expect([second.status, second.body.error.code, second.body.error.details.limit]).toEqual([422, 'limit_reached', 'make_ups_per_month']);

    const cal = (await s.get(`/members/${m}/check-ins/calendar?month=2026-03`)).body;
    expect(cal).toMatchObject({ month: '2026-03', today: '2026-03-07', currentStreak: 0, longestStreak: 5, makeUps: { perMonth: 1, usedThisMonth: 1, remaining: 0 } });
    const days = cal.days.slice(0, 9).map((d: { date: string; status: string; streak: number | null }) => [d.date.slice(8), d.status, d.streak]);
    expect(days).toEqual([
      ['01', 'checked', 1], ['02', 'checked', 2], ['03', 'made_up', 3], ['04', 'checked', 4], ['05', 'checked', 5],
      ['06', 'missed', null], ['07', 'today', null], ['08', 'upcoming', null], ['09', 'upcoming', null],
    ]);
    expect(cal.days[0].rewards).toEqual([{ pointType: 'points', amount: 10 }]);
    expect(cal.days[6]).toMatchObject({ projected: true, rewards: [{ amount: 10 }] });
    expect(cal.days[9]).toMatchObject({ rewards: [{ amount: 40 }] });
    expect(cal.days).toHaveLength(31);

    // In April the allowance is back; a member without the points is refused and nothing changes.
    await s.to('2026-04-03T02:00:00Z');
    await s.call('POST', `/members/${m}/check-ins`); // 3 April
    const poor = await s.member('poor');
    await s.advance({ days: 1 });
    await s.call('POST', `/members/${poor}/check-ins`); // 4 April: 10 points, cost 15
    await s.advance({ days: 2 });
    const noPoints = await s.call('POST', `/members/${poor}/check-ins/make-ups`, { date: '2026-04-05' });
    expect([noPoints.status, noPoints.body.error.code]).toEqual([422, 'insufficient_points']);
    expect((await s.get(`/members/${poor}/check-ins`)).body.makeUps).toMatchObject({ usedThisMonth: 0, remaining: 1 });
    expect(await s.balance(poor)).toBe(10);
    const april = await s.call('POST', `/members/${m}/check-ins/make-ups`, { date: '2026-04-02' });
    expect(april.body).toMatchObject({ streak: 1 });
    expect((await s.verify()).ok).toBe(true);
  });

  it('replays a check-in for the same Idempotency-Key and refuses frozen members', async () => {
    const s = await setup(t, '2026-03-02T02:00:00Z');
    await s.call('PUT', '/check-in-schedule', WEEKLY);
    const m = await s.member('idem');
    const a = await s.call('POST', `/members/${m}/check-ins`, undefined, 'same');
    const b = await s.call('POST', `/members/${m}/check-ins`, undefined, 'same');
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect(b.body.id).toBe(a.body.id);
    const f = await s.member('frozen');
    await t.api('PATCH', `${s.base}/members/${f}`, { key: s.key, body: { status: 'frozen' } });
    const refused = await s.call('POST', `/members/${f}/check-ins`);
    expect([refused.status, refused.body.error.code]).toEqual([422, 'member_inactive']);
    const missing = await s.call('POST', '/members/mem_missing/check-ins');
    expect([missing.status, missing.body.error.code]).toEqual([404, 'member_not_found']);
  });

  it('gives one check-in and one reward to many devices checking in at once', async () => {
    const s = await setup(t, '2026-03-02T02:00:00Z');
    await s.call('PUT', '/check-in-schedule', WEEKLY);
    const members = [await s.member('c1'), await s.member('c2'), await s.member('c3')];
    const results = await Promise.all(members.flatMap((m) => Array.from({ length: 6 }, () => s.call('POST', `/members/${m}/check-ins`))));
    for (const r of results) expect(r.status, JSON.stringify(r.body)).toBe(201);
    for (const m of members) {
      const mine = results.filter((r) => r.body.memberId === m);
      expect(new Set(mine.map((r) => r.body.id)).size).toBe(1);
      expect(mine.filter((r) => !r.body.alreadyCheckedIn)).toHaveLength(1);
      expect(await s.balance(m)).toBe(5);
      expect((await s.get(`/members/${m}/check-ins`)).body.totalDays).toBe(1);
    }
    expect((await s.verify()).ok).toBe(true);
  });
});
