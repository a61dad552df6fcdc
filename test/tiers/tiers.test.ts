import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction, rawQuery } from '../../src/db/database.js';
import type { TiersService } from '../../src/modules/tiers/index.js';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

const GROWTH_RULE = {
  name: 'growth per ¥10, points per ¥1',
  status: 'active',
  priority: 10,
  stacking: 'cumulative',
  eventTypes: ['purchase'],
  rewards: [
    { type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '1', per: 100, rounding: 'floor' },
    { type: 'perUnit', pointType: 'growth', attribute: 'amount', rate: '1', per: 1000, rounding: 'floor' },
  ],
};

const growth = { code: 'growth', name: 'Growth', source: { kind: 'pointType', pointType: 'growth' } };
/** a tier at `min` growth over the last 30 days */
const onGrowth = (code: string, min: number) => ({ code, name: code, qualification: { metric: 'growth', window: { kind: 'rollingDays', days: 30 }, min } });

describe.each(engines)('tiers over time (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
  });
  afterAll(() => t.close());

  async function setup(ladder: Record<string, unknown>, clockStart: string, opts: { rules?: Array<Record<string, unknown>>; members?: string[] } = {}) {
    const { program, key } = await t.createProgram({ mode: 'sandbox', timeZone: 'Asia/Shanghai', clockStart });
    const base = `/v1/programs/${program.id}`;
    for (const rule of opts.rules ?? [GROWTH_RULE]) {
      const r = await t.api('POST', `${base}/rules`, { key, body: rule });
      if (r.status !== 201) throw new Error(JSON.stringify(r.body));
    }
    const put = await t.api('PUT', `${base}/tiers`, { key, body: ladder });
    if (put.status !== 200) throw new Error(JSON.stringify(put.body));
    const ids: Record<string, string> = {};
    for (const m of opts.members ?? ['u1']) ids[m] = (await t.api('POST', `${base}/members`, { key, body: { externalId: m } })).body.id;
    let n = 0;
    const send = async (member: string, type: string, attributes: Record<string, unknown>) => {
      const res = await t.api('POST', `${base}/events`, { key, body: { eventId: `e${++n}`, member: `ext:${member}`, type, attributes } });
      if (res.status !== 201) throw new Error(JSON.stringify(res.body));
      return res.body;
    };
    const tier = async (member = 'u1') => (await t.api('GET', `${base}/members/ext:${member}/tier`, { key })).body;
    const code = async (member = 'u1') => (await tier(member)).tier?.code ?? null;
    const history = async (member = 'u1') => (await t.api('GET', `${base}/members/ext:${member}/tier/history`, { key })).body.data;
    const advanceTo = async (to: string) => {
      const res = await t.api('POST', `${base}/clock/advance`, { key, body: { to } });
      if (res.status !== 200) throw new Error(JSON.stringify(res.body));
      return res.body;
    };
    const setMetric = (member: string, metric: string, body: Record<string, unknown>) => t.api('PUT', `${base}/members/ext:${member}/tier/metrics/${metric}`, { key, body });
    return { base, key, ids, put: put.body, send, tier, code, history, advanceTo, setMetric };
  }

  it('upgrades in real time from events, shows member.tier to rules, and re-evaluates a 30-day rolling growth window monthly', async () => {
    const goldBonus = {
      name: 'gold bonus',
      status: 'active',
      priority: 20,
      stacking: 'cumulative',
      eventTypes: ['purchase'],
      condition: { field: 'member.tier', op: 'eq', value: 'gold' },
      rewards: [{ type: 'fixed', pointType: 'points', amount: 1000 }],
    };
    const s = await setup(
      {
        metrics: [growth],
        evaluation: { schedule: 'monthly', dayOfMonth: 1 },
        downgrade: { policy: 'recompute' },
        tiers: [
          { code: 'basic', name: 'Basic', colour: '#999999' },
          { code: 'silver', name: 'Silver', qualification: { metric: 'growth', window: { kind: 'rollingDays', days: 30 }, min: 100 } },
          { code: 'gold', name: 'Gold', qualification: { metric: 'growth', window: { kind: 'rollingDays', days: 30 }, min: 300 } },
        ],
      },
      '2026-01-05T02:00:00Z',
      { rules: [GROWTH_RULE, goldBonus] },
    );
    expect(s.put.tiers.map((x: { code: string; rank: number }) => [x.code, x.rank])).toEqual([['basic', 1], ['silver', 2], ['gold', 3]]);
    expect(await s.code()).toBe('basic');

    const first = await s.send('u1', 'purchase', { amount: 150_000 }); // growth 150
    expect(first.totals).toEqual({ points: 1500, growth: 150 });
    expect(await s.code()).toBe('silver');
    const view = await s.tier();
    expect(view.progress.next).toMatchObject({ tier: { code: 'gold' }, met: false, conditions: { op: 'metric', metric: 'growth', value: 150, min: 300, remaining: 150 } });
    expect(view.progress.keep).toMatchObject({ tier: { code: 'silver' }, met: true, by: '2026-01-31T16:00:00.000Z' });

    await s.send('u1', 'purchase', { amount: 200_000 }); // +200 → 350: gold in the same transaction
    expect(await s.code()).toBe('gold');
    // The member's tier is a fact the rules see: the gold bonus applies from now on.
    const third = await s.send('u1', 'purchase', { amount: 100 });
    expect(third.totals.points).toBe(1001);

    const h = await s.history();
    expect(h.map((x: { toCode: string; cause: string }) => [x.toCode, x.cause])).toEqual([
      ['gold', 'event'],
      ['silver', 'event'],
    ]);
    expect(h[0].tierSnapshot).toMatchObject({ code: 'gold', config: { qualification: { min: 300 } } });
    expect(h[0].metrics).toEqual({ 'growth|rollingDays30': 350 });

    // 1 Feb: the window (2 Jan – 31 Jan) still holds 350: kept. 1 Mar: (30 Jan – 28 Feb) is empty.
    const feb = await s.advanceTo('2026-02-01T00:00:00Z');
    expect(feb.jobsRun.map((j: { job: string }) => j.job)).toContain('tiers.evaluate');
    expect(await s.code()).toBe('gold');
    await s.advanceTo('2026-02-20T00:00:00Z');
    await s.send('u1', 'purchase', { amount: 120_000 }); // 120 growth on 20 Feb
    await s.advanceTo('2026-03-02T00:00:00Z');
    expect(await s.code()).toBe('silver'); // recompute: 120 qualifies for silver
    const down = (await s.history())[0];
    expect(down).toMatchObject({ fromCode: 'gold', toCode: 'silver', cause: 'evaluation', actor: 'system:tiers.evaluation' });
    await s.advanceTo('2026-04-02T00:00:00Z');
    expect(await s.code()).toBe('basic');
  });

  it('qualifies over a 12-month rolling window mixing payment amount, nights and completed tasks, with a no-show ceiling to keep it', async () => {
    const rolling = (months: number) => ({ kind: 'rollingMonths', months });
    const s = await setup(
      {
        metrics: [
          { code: 'spend', name: 'Spend', source: { kind: 'event', eventTypes: ['payment'], attribute: 'amount' } },
          { code: 'nights', name: 'Nights', source: { kind: 'event', eventTypes: ['purchase'], attribute: 'nights' } },
          { code: 'tasks', name: 'Completed tasks', source: { kind: 'host', mode: 'daily' } },
          { code: 'no_shows', name: 'No-shows', source: { kind: 'host', mode: 'daily' } },
        ],
        evaluation: { schedule: 'monthly', dayOfMonth: 1 },
        tiers: [
          { code: 'member', name: 'Member' },
          {
            code: 'gold',
            name: 'Gold',
            qualification: { all: [{ metric: 'spend', window: rolling(12), min: 500_000 }, { any: [{ metric: 'nights', window: rolling(12), min: 10 }, { metric: 'tasks', window: rolling(12), min: 3 }] }] },
            retention: { all: [{ metric: 'spend', window: rolling(12), min: 300_000 }, { metric: 'no_shows', window: rolling(12), max: 3 }] },
          },
        ],
      },
      '2026-02-10T02:00:00Z',
      { rules: [] },
    );
    await s.send('u1', 'payment', { amount: 600_000 });
    await s.send('u1', 'purchase', { amount: 1000, nights: 4 });
    expect(await s.code()).toBe('member');
    const progress = (await s.tier()).progress.next;
    expect(progress.conditions.items[0]).toMatchObject({ metric: 'spend', value: 600_000, met: true, window: { kind: 'rollingMonths', from: '2025-02-11', to: '2026-02-10' } });
    expect(progress.conditions.items[1].items.map((x: { metric: string; remaining: number }) => [x.metric, x.remaining])).toEqual([['nights', 6], ['tasks', 3]]);

    // The host reports completed tasks per day; setting the same value again changes nothing.
    expect((await s.setMetric('u1', 'tasks', { value: 2, date: '2026-02-09' })).body.tier.code).toBe('member');
    const set = await s.setMetric('u1', 'tasks', { value: 1 });
    expect(set.status).toBe(200);
    expect(set.body.tier.code).toBe('gold');
    expect((await s.history())[0]).toMatchObject({ toCode: 'gold', cause: 'metric', causeId: 'tasks' });
    expect((await s.setMetric('u1', 'spend', { value: 1 })).body.error.code).toBe('tier_metric_not_settable');

    // Four no-shows break the ceiling: the next monthly evaluation takes gold away despite the spend.
    await s.advanceTo('2026-05-15T00:00:00Z');
    expect(await s.code()).toBe('gold');
    await s.setMetric('u1', 'no_shows', { value: 4 });
    const keep = (await s.tier()).progress.keep;
    expect(keep).toMatchObject({ met: false, by: '2026-05-31T16:00:00.000Z' });
    expect(keep.conditions.items[1]).toMatchObject({ metric: 'no_shows', value: 4, max: 3, headroom: -1, met: false });
    await s.advanceTo('2026-06-02T00:00:00Z');
    expect(await s.code()).toBe('member');
  });

  it('qualifies by calendar year, keeps the tier through the end of the next year, then lands one tier lower', async () => {
    const year = (min: number) => ({ metric: 'growth', window: { kind: 'calendarYear' }, min });
    const validity = { kind: 'calendar', yearsAfter: 1, month: 12 };
    const s = await setup(
      {
        metrics: [growth],
        evaluation: { schedule: 'yearly', month: 1, day: 1 },
        downgrade: { policy: 'oneTier' },
        tiers: [
          { code: 'member', name: 'Member' },
          { code: 'silver', name: 'Silver', qualification: year(100), validity },
          { code: 'gold', name: 'Gold', qualification: year(300), validity },
          { code: 'platinum', name: 'Platinum', qualification: year(600), validity },
        ],
      },
      '2026-03-01T02:00:00Z',
    );
    await s.send('u1', 'purchase', { amount: 700_000 }); // growth 700 in 2026
    const view = await s.tier();
    expect(view.tier.code).toBe('platinum');
    expect(view.qualified.validUntil).toBe('2027-12-31T16:00:00.000Z'); // end of 2027, Shanghai
    expect(view.progress.keep).toMatchObject({ met: true, conditions: { window: { kind: 'calendarYear', from: '2026-01-01', to: '2026-12-31' } } });

    // 1 Jan 2027: 2026 counted 700, platinum retained (validity stays the end of 2027).
    await s.advanceTo('2027-06-01T00:00:00Z');
    expect((await s.tier()).tier.code).toBe('platinum');
    expect((await s.tier()).progress.keep).toMatchObject({ met: false, by: '2027-12-31T16:00:00.000Z' });
    // Nothing in 2027: at the end of its validity platinum drops one tier only, to gold, valid through 2028.
    await s.advanceTo('2028-01-02T00:00:00Z');
    const after = await s.tier();
    expect(after.tier.code).toBe('gold');
    expect(after.qualified.validUntil).toBe('2028-12-31T16:00:00.000Z');
    expect((await s.history())[0]).toMatchObject({ fromCode: 'platinum', toCode: 'gold', validUntil: '2028-12-31T16:00:00.000Z' });
    await s.advanceTo('2029-01-02T00:00:00Z');
    expect(await s.code()).toBe('silver');
  });

  it('qualifies by either branch of an OR', async () => {
    const s = await setup(
      {
        metrics: [
          { code: 'nights', name: 'Nights', source: { kind: 'event', eventTypes: ['purchase'], attribute: 'nights' } },
          { code: 'stays', name: 'Stays', source: { kind: 'event', eventTypes: ['purchase'] } },
        ],
        tiers: [
          { code: 'member', name: 'Member' },
          { code: 'elite', name: 'Elite', qualification: { any: [{ metric: 'nights', window: { kind: 'lifetime' }, min: 10 }, { metric: 'stays', window: { kind: 'lifetime' }, min: 3 }] } },
        ],
      },
      '2026-01-05T02:00:00Z',
      { rules: [], members: ['a', 'b', 'c'] },
    );
    await s.send('a', 'purchase', { amount: 100, nights: 10 }); // 10 nights in one stay
    for (let i = 0; i < 3; i++) await s.send('b', 'purchase', { amount: 100, nights: 1 }); // 3 stays
    await s.send('c', 'purchase', { amount: 100, nights: 9 });
    await s.send('c', 'purchase', { amount: 100 });
    expect([await s.code('a'), await s.code('b'), await s.code('c')]).toEqual(['elite', 'elite', 'member']);
  });

  it('upgrades on the award that exactly reaches a floor, through each leg of an AND and an OR, straight from no state, and never from the top', async () => {
    const days30 = { kind: 'rollingDays', days: 30 };
    const months12 = { kind: 'rollingMonths', months: 12 };
    const s = await setup(
      {
        metrics: [growth, { code: 'spend', name: 'Spend', source: { kind: 'event', eventTypes: ['purchase'], attribute: 'amount' } }],
        tiers: [
          { code: 'basic', name: 'Basic' },
          { code: 'silver', name: 'Silver', qualification: { metric: 'growth', window: days30, min: 100 } },
          { code: 'gold', name: 'Gold', qualification: { all: [{ metric: 'growth', window: days30, min: 300 }, { metric: 'spend', window: months12, min: 100_000 }] } },
          { code: 'platinum', name: 'Platinum', qualification: { any: [{ metric: 'growth', window: days30, min: 1000 }, { metric: 'spend', window: months12, min: 1_000_000 }] } },
        ],
      },
      '2026-01-05T02:00:00Z',
      { members: ['u1', 'u2'] },
    );
    await s.send('u1', 'purchase', { amount: 99_999 }); // growth 99
    expect(await s.code()).toBe('basic');
    await s.send('u1', 'purchase', { amount: 1_000 }); // growth 100: exactly silver's floor
    expect(await s.code()).toBe('silver');
    await s.send('u1', 'purchase', { amount: 199_999 }); // growth 299, spend 300,998: one leg of gold's AND
    expect(await s.code()).toBe('silver');
    await s.send('u1', 'purchase', { amount: 1_000 }); // growth 300: both legs
    expect(await s.code()).toBe('gold');
    await s.send('u1', 'purchase', { amount: 698_002 }); // spend exactly 1,000,000 (growth 998): platinum's OR by spend
    expect(await s.code()).toBe('platinum');
    await s.send('u1', 'purchase', { amount: 900_000 }); // at the top: nothing more to reach
    const h = await s.history();
    expect(h.map((x: { fromCode: string | null; toCode: string; cause: string }) => [x.fromCode, x.toCode, x.cause])).toEqual([
      ['gold', 'platinum', 'event'],
      ['silver', 'gold', 'event'],
      ['basic', 'silver', 'event'],
    ]);
    expect(h[0].metrics).toEqual({ 'growth|rollingDays30': 998, 'spend|rollingMonths12': 1_000_000 });
    expect(h[1].metrics).toEqual({ 'growth|rollingDays30': 300, 'spend|rollingMonths12': 301_998 });
    expect((await s.tier()).qualified.tier.code).toBe('platinum');

    // A member's first award may skip tiers: one change, from the base tier, with the award's metrics.
    await s.send('u2', 'purchase', { amount: 300_000 });
    expect(await s.code('u2')).toBe('gold');
    const h2 = await s.history('u2');
    expect(h2).toHaveLength(1);
    expect(h2[0]).toMatchObject({ fromCode: 'basic', toCode: 'gold', cause: 'event', metrics: { 'growth|rollingDays30': 300, 'spend|rollingMonths12': 300_000 } });
  });

  it('keeps a tier snapshot verbatim in the history of a real-time upgrade, whatever its text holds', async () => {
    // The real-time statement carries the ladder's tiers as literals: a `$1` or a quote in a
    // tier's text must stay text, not become a parameter or end a string.
    const name = "O'Brien $1 Club";
    const description = 'spend $2 get $10 \\ back';
    const s = await setup(
      {
        metrics: [growth],
        tiers: [
          { code: 'basic', name: 'Basic' },
          { code: 'club', name, description, qualification: { metric: 'growth', window: { kind: 'rollingDays', days: 30 }, min: 10 } },
        ],
      },
      '2026-03-01T02:00:00Z',
    );
    await s.send('u1', 'purchase', { amount: 10_000 });
    expect(await s.code()).toBe('club');
    const [up] = await s.history();
    expect(up).toMatchObject({ fromCode: 'basic', toCode: 'club', cause: 'event', tierSnapshot: { code: 'club', name, config: expect.objectContaining({ description }) } });
  });

  it('sells a tier for points or money for a period, and it lapses', async () => {
    const s = await setup(
      {
        metrics: [growth],
        tiers: [
          { code: 'member', name: 'Member' },
          {
            code: 'gold',
            name: 'Gold',
            qualification: { metric: 'growth', window: { kind: 'lifetime' }, min: 1000 },
            purchase: { options: [{ code: 'month', months: 1, points: { pointType: 'points', amount: 500 } }, { code: 'year', months: 12, price: { amount: 9900, currency: 'CNY' } }] },
          },
        ],
      },
      '2026-01-10T02:00:00Z',
    );
    const member = s.ids.u1!;
    await t.api('POST', `${s.base}/members/${member}/earn`, { key: s.key, headers: { 'idempotency-key': 'e1' }, body: { pointType: 'points', amount: 800 } });
    // Growth never comes from the spendable balance: 800 points do not make gold.
    expect(await s.code()).toBe('member');
    const buy = () => t.api('POST', `${s.base}/members/${member}/tier/purchases`, { key: s.key, headers: { 'idempotency-key': 'buy-1' }, body: { tier: 'gold', option: 'month' } });
    const bought = await buy();
    expect(bought.status).toBe(201);
    expect(bought.body).toMatchObject({ tier: { code: 'gold' }, source: 'purchased', purchase: { paidWith: 'points', until: '2026-02-10T02:00:00.000Z' } });
    const replay = await buy();
    expect(replay.headers['idempotent-replayed']).toBe('true');
    const balance = async () => (await t.api('GET', `${s.base}/members/${member}/balances`, { key: s.key })).body.balances.find((b: { pointType: string }) => b.pointType === 'points').available;
    expect(await balance()).toBe(300);
    const short = await t.api('POST', `${s.base}/members/${member}/tier/purchases`, { key: s.key, body: { tier: 'gold', option: 'month' } });
    expect(short.body.error.code).toBe('insufficient_points');
    const wrong = await t.api('POST', `${s.base}/members/${member}/tier/purchases`, { key: s.key, body: { tier: 'gold', option: 'year', payment: { reference: 'pay-1', amount: 100, currency: 'CNY' } } });
    expect(wrong.body.error.code).toBe('payment_mismatch');
    expect((await t.api('POST', `${s.base}/members/${member}/tier/purchases`, { key: s.key, body: { tier: 'member', option: 'x' } })).body.error.code).toBe('tier_not_purchasable');

    const lapse = await s.advanceTo('2026-02-10T03:00:00Z');
    expect(lapse.jobsRun.map((j: { job: string }) => j.job)).toContain('tiers.expire');
    expect(await s.code()).toBe('member');
    expect((await s.history()).map((x: { cause: string; toCode: string }) => [x.cause, x.toCode])).toEqual([
      ['purchase_end', 'member'],
      ['purchase', 'gold'],
    ]);
    // Bought with money the host collected: a year.
    const yearly = await t.api('POST', `${s.base}/members/${member}/tier/purchases`, { key: s.key, body: { tier: 'gold', option: 'year', payment: { reference: 'pay-2', amount: 9900, currency: 'CNY' } } });
    expect(yearly.body).toMatchObject({ source: 'purchased', purchase: { paidWith: 'money', until: '2027-02-10T03:00:00.000Z' } });
  });

  it('assigns a tier by hand until a date, explicitly and visibly, never as a silent floor', async () => {
    const s = await setup(
      {
        metrics: [growth],
        tiers: [
          { code: 'member', name: 'Member' },
          { code: 'silver', name: 'Silver', qualification: { metric: 'growth', window: { kind: 'lifetime' }, min: 100 } },
          { code: 'gold', name: 'Gold', qualification: { metric: 'growth', window: { kind: 'lifetime' }, min: 1000 } },
        ],
      },
      '2026-01-10T02:00:00Z',
    );
    const url = `${s.base}/members/ext:u1/tier/assignment`;
    const assigned = await t.api('PUT', url, { key: s.key, body: { tier: 'gold', until: '2026-01-20T00:00:00Z', reason: 'service recovery #42' } });
    expect(assigned.status).toBe(200);
    expect(assigned.body).toMatchObject({ tier: { code: 'gold' }, source: 'manual', manual: { until: '2026-01-20T00:00:00.000Z', reason: 'service recovery #42' }, qualified: { tier: { code: 'member' } } });
    await s.send('u1', 'purchase', { amount: 150_000 }); // earns silver underneath
    expect(await s.tier()).toMatchObject({ tier: { code: 'gold' }, qualified: { tier: { code: 'silver' } } });
    // The real-time upgrade under the assignment: the member still holds gold since the
    // assignment, and its history row says so, ending when the assignment does.
    expect((await s.tier()).since).toBe(assigned.body.since);
    expect((await s.history())[0]).toMatchObject({ cause: 'event', fromCode: 'gold', toCode: 'gold', source: 'manual', validUntil: '2026-01-20T00:00:00.000Z' });
    await s.advanceTo('2026-01-21T00:00:00Z');
    expect(await s.tier()).toMatchObject({ tier: { code: 'silver' }, source: 'qualified', manual: null });
    const h = await s.history();
    expect(h.map((x: { cause: string; toCode: string; reason: string | null }) => [x.cause, x.toCode, x.reason])).toEqual([
      ['manual_end', 'silver', null],
      ['event', 'gold', null],
      ['manual', 'gold', 'service recovery #42'],
    ]);
    // A demotion by hand is just as explicit, and can be ended early.
    await t.api('PUT', url, { key: s.key, body: { tier: 'member', until: '2026-03-01T00:00:00Z', reason: 'fraud review' } });
    expect(await s.code()).toBe('member');
    const ended = await t.api('DELETE', `${url}?reason=cleared`, { key: s.key });
    expect(ended.body.tier.code).toBe('silver');
    expect((await t.api('PUT', url, { key: s.key, body: { tier: 'diamond', until: '2026-03-01T00:00:00Z', reason: 'x' } })).body.error.code).toBe('tier_not_found');
    expect((await t.api('PUT', url, { key: s.key, body: { tier: 'gold', until: '2026-03-01T00:00:00Z', reason: 'x', extra: 1 } })).status).toBe(400);
  });

  it('writes a member’s state only when the member moves, and counts members without one at the base tier', async () => {
    const s = await setup(
      {
        metrics: [growth],
        tiers: [{ code: 'basic', name: 'Basic' }, onGrowth('silver', 100)],
      },
      '2026-04-01T02:00:00Z',
      { members: ['never', 'small', 'big', 'late'] },
    );
    await s.send('small', 'purchase', { amount: 10_000 }); // 10 growth: still basic
    await s.send('big', 'purchase', { amount: 150_000 }); // 150 growth: silver
    expect([await s.code('never'), await s.code('small'), await s.code('big')]).toEqual(['basic', 'basic', 'silver']);
    const { rows } = await rawQuery<{ member_id: string }>(t.laurel.database.db, 'select member_id from member_tiers where member_id = any($1::text[])', [Object.values(s.ids)]);
    expect(rows.map((r) => r.member_id)).toEqual([s.ids.big]);
    const report = await t.api('GET', `${s.base}/reports/tiers?from=2026-04-01&to=2026-04-30`, { key: s.key });
    const now = report.body.rows.filter((r: { period: string | null }) => r.period === null);
    expect(now.map((r: { tier: string; rank: number; members: number }) => [r.tier, r.rank, r.members])).toEqual([
      ['basic', 1, 3],
      ['silver', 2, 1],
    ]);
    const moves = report.body.rows.filter((r: { period: string | null }) => r.period !== null);
    expect(moves.map((r: { tier: string; upgrades: number }) => [r.tier, r.upgrades])).toEqual([['silver', 1]]);
    // A member who later moves gets a state from that award, the sum of every award before it included.
    await s.send('small', 'purchase', { amount: 90_000 });
    expect(await s.tier('small')).toMatchObject({ tier: { code: 'silver' } });
    // Floors lowered: the monthly evaluation upgrades a member who has contributions but no state.
    await s.send('late', 'purchase', { amount: 60_000 }); // 60 growth
    const lowered = await t.api('PUT', `${s.base}/tiers`, {
      key: s.key,
      body: {
        metrics: [growth],
        evaluation: { schedule: 'monthly', dayOfMonth: 1 },
        tiers: [{ code: 'basic', name: 'Basic' }, onGrowth('silver', 50)],
      },
    });
    expect(lowered.status).toBe(200);
    expect(await s.code('late')).toBe('basic');
    await s.advanceTo('2026-04-30T17:00:00Z'); // 1 May, 01:00 in Shanghai
    expect(await s.tier('late')).toMatchObject({ tier: { code: 'silver' } });
    expect((await s.history('late')).map((h: { cause: string; toCode: string }) => [h.cause, h.toCode])).toEqual([['evaluation', 'silver']]);
    expect(await s.code('never')).toBe('basic');
  });

  it('sums contributions of one metric and day given together, into one bucket', async () => {
    const s = await setup({ metrics: [growth], tiers: [{ code: 'basic', name: 'Basic' }, onGrowth('silver', 100)] }, '2026-04-01T02:00:00Z');
    const tiers = t.laurel.services.tiers as TiersService;
    const program = await t.laurel.services.programs.get(s.base.split('/')[3]!);
    const ctx = t.laurel.systemContext(program, 'test');
    const day = '2026-04-01';
    await inTransaction(t.laurel.database.db, (trx) =>
      tiers.contribute(trx, ctx, s.ids.u1!, [{ metric: 'growth', date: day, value: 60 }, { metric: 'growth', date: day, value: 50 }], { cause: 'metric' }),
    );
    expect(await s.tier()).toMatchObject({ tier: { code: 'silver' } });
    const { rows } = await rawQuery<{ value: string }>(t.laurel.database.db, 'select value from tier_metric_buckets where member_id = $1', [s.ids.u1]);
    expect(rows.map((r) => Number(r.value))).toEqual([110]);
  });

  it('moves a member once when concurrent awards cross the floor together: one state, one history row', async () => {
    const s = await setup(
      {
        metrics: [growth],
        tiers: [{ code: 'basic', name: 'Basic' }, onGrowth('silver', 100), onGrowth('gold', 10_000)],
      },
      '2026-04-01T02:00:00Z',
    );
    // each award alone reaches silver, from no state
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => t.api('POST', `${s.base}/events`, { key: s.key, body: { eventId: `c${i}`, member: 'ext:u1', type: 'purchase', attributes: { amount: 150_000 } } })));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(201));
    expect(await s.tier()).toMatchObject({ tier: { code: 'silver' } });
    expect((await s.history()).map((h: { cause: string; toCode: string }) => [h.cause, h.toCode])).toEqual([['event', 'silver']]);
    const { rows } = await rawQuery<{ version: number }>(t.laurel.database.db, 'select version from member_tiers where member_id = $1', [s.ids.u1]);
    expect(rows).toEqual([{ version: 1 }]);
  });

  it('refuses a bad ladder with the path of the problem', async () => {
    const { program, key } = await t.createProgram({ mode: 'sandbox', clockStart: '2026-01-01T00:00:00Z' });
    const bad = await t.api('PUT', `/v1/programs/${program.id}/tiers`, {
      key,
      body: { metrics: [growth], tiers: [{ code: 'a', name: 'A' }, { code: 'b', name: 'B', qualification: { any: [{ metric: 'spend', window: { kind: 'lifetime' }, min: 1 }] } }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual({ field: 'tiers[1].qualification.any[0].metric' });
    expect((await t.api('GET', `/v1/programs/${program.id}/tiers`, { key })).body.error.code).toBe('tier_ladder_not_found');
  });
});
