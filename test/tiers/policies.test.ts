import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TierChange } from '../../src/core/hooks.js';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

const GROWTH_RULE = {
  name: 'growth per ¥10',
  status: 'active',
  priority: 10,
  stacking: 'cumulative',
  eventTypes: ['purchase'],
  rewards: [{ type: 'perUnit', pointType: 'growth', attribute: 'amount', rate: '1', per: 1000, rounding: 'floor' }],
};
const growth = { code: 'growth', name: 'Growth', source: { kind: 'pointType', pointType: 'growth' } };

describe.each(engines)('tier policies (%s)', (engine) => {
  let t: TestLaurel;
  const changes: TierChange[] = [];
  beforeAll(async () => {
    t = await createTestLaurel(engine);
    t.laurel.hooks.onTierChanged('test', async (_trx, _ctx, list) => {
      changes.push(...list);
    });
  });
  afterAll(() => t.close());

  async function setup(ladder: Record<string, unknown>, clockStart: string, member: Record<string, unknown> = {}) {
    const { program, key } = await t.createProgram({ mode: 'sandbox', timeZone: 'Asia/Shanghai', clockStart });
    const base = `/v1/programs/${program.id}`;
    await t.api('POST', `${base}/rules`, { key, body: GROWTH_RULE });
    const put = await t.api('PUT', `${base}/tiers`, { key, body: ladder });
    if (put.status !== 200) throw new Error(JSON.stringify(put.body));
    const id = (await t.api('POST', `${base}/members`, { key, body: { externalId: 'u1', ...member } })).body.id as string;
    let n = 0;
    const buy = (amount: number) => t.api('POST', `${base}/events`, { key, body: { eventId: `e${++n}`, member: 'ext:u1', type: 'purchase', attributes: { amount } } });
    const tier = async () => (await t.api('GET', `${base}/members/ext:u1/tier`, { key })).body;
    const advanceTo = async (to: string) => (await t.api('POST', `${base}/clock/advance`, { key, body: { to } })).body;
    const history = async () => (await t.api('GET', `${base}/members/ext:u1/tier/history`, { key })).body.data;
    return { id, buy, tier, advanceTo, history };
  }

  it('carries the surplus into the new tier (capped), gives a grace period before a downgrade, and tells the tierChanged hook', async () => {
    const rolling = { kind: 'rollingDays', days: 30 };
    const s = await setup(
      {
        metrics: [growth],
        evaluation: { schedule: 'monthly', dayOfMonth: 1 },
        downgrade: { policy: 'recompute', graceDays: 10 },
        counters: { onUpgrade: 'carrySurplus', carryCap: 30 },
        tiers: [
          { code: 'basic', name: 'Basic' },
          { code: 'silver', name: 'Silver', qualification: { metric: 'growth', window: rolling, min: 100 } },
          { code: 'gold', name: 'Gold', qualification: { metric: 'growth', window: rolling, min: 300 } },
        ],
      },
      '2026-01-05T02:00:00Z',
    );
    await s.buy(150_000); // 150 growth: silver, counters restart with 50 surplus capped at 30
    const view = await s.tier();
    expect(view.tier.code).toBe('silver');
    expect(view.progress.next.conditions).toMatchObject({ metric: 'growth', value: 30, remaining: 270, window: { from: '2026-01-05' } });
    await s.buy(50_000); // +50 → 80 counted toward gold
    expect((await s.tier()).progress.next.conditions.value).toBe(80);
    expect(changes.filter((c) => c.memberId === s.id).map((c) => [c.from?.code, c.to?.code, c.cause])).toEqual([['basic', 'silver', 'event']]);

    // 1 Feb: 80 < 100, silver not kept → a 10-day grace, not a downgrade yet.
    await s.advanceTo('2026-02-01T00:00:00Z');
    const graced = await s.tier();
    expect(graced).toMatchObject({ tier: { code: 'silver' }, qualified: { graceUntil: '2026-02-10T16:00:00.000Z' } });
    await s.advanceTo('2026-02-11T00:00:00Z');
    expect((await s.tier()).tier.code).toBe('basic');
    expect((await s.history())[0]).toMatchObject({ fromCode: 'silver', toCode: 'basic', cause: 'validity_end' });
    expect(changes.filter((c) => c.memberId === s.id).map((c) => [c.from?.code, c.to?.code, c.cause])).toEqual([
      ['basic', 'silver', 'event'],
      ['silver', 'basic', 'validity_end'],
    ]);
  });

  it('grants lifetime status after a year at a tier: it outlasts the qualification', async () => {
    const year = { kind: 'rollingMonths', months: 12 };
    const s = await setup(
      {
        metrics: [growth],
        evaluation: { schedule: 'monthly', dayOfMonth: 1 },
        lifetime: [{ tier: 'gold', years: 1 }],
        tiers: [
          { code: 'basic', name: 'Basic' },
          { code: 'gold', name: 'Gold', qualification: { metric: 'growth', window: year, min: 100 } },
        ],
      },
      '2026-01-05T02:00:00Z',
    );
    await s.buy(100_000);
    await s.advanceTo('2026-12-20T00:00:00Z');
    await s.buy(100_000); // keeps gold through the next year's window
    await s.advanceTo('2027-02-02T00:00:00Z');
    expect((await s.tier())).toMatchObject({ tier: { code: 'gold' }, lifetime: { code: 'gold' } });
    expect((await s.history())[0]).toMatchObject({ cause: 'lifetime', toCode: 'gold' });
    await s.advanceTo('2028-03-02T00:00:00Z');
    expect(await s.tier()).toMatchObject({ tier: { code: 'gold' }, source: 'lifetime', qualified: { tier: { code: 'basic' } } });
  });

  it('evaluates on the membership anniversary', async () => {
    const s = await setup(
      {
        metrics: [growth],
        evaluation: { schedule: 'anniversary' },
        tiers: [
          { code: 'basic', name: 'Basic' },
          { code: 'gold', name: 'Gold', qualification: { metric: 'growth', window: { kind: 'membershipYear' }, min: 100 } },
        ],
      },
      '2026-01-05T02:00:00Z',
      { joinedAt: '2025-03-10T04:00:00Z' },
    );
    await s.buy(100_000); // gold in the membership year 10 Mar 2025 – 9 Mar 2026
    expect((await s.tier()).nextEvaluationAt).toBe('2026-03-09T16:00:00.000Z');
    const adv = await s.advanceTo('2026-03-11T00:00:00Z');
    expect(adv.jobsRun.filter((j: { job: string }) => j.job === 'tiers.evaluate').map((j: { asOf: string }) => j.asOf)).toEqual(['2026-03-09T16:00:00.000Z']);
    expect((await s.tier()).tier.code).toBe('gold'); // the year just ended counted 100
    await s.advanceTo('2027-03-11T00:00:00Z');
    expect((await s.tier()).tier.code).toBe('basic'); // nothing in the year to 9 Mar 2027
  });
});
