import type { Laurel } from '../app.js';
import { systemClock } from '../core/clock.js';
import { inTransaction } from '../db/database.js';
import type { EarningService } from '../modules/earning/index.js';
import type { MallService } from '../modules/mall/index.js';
import type { TiersService } from '../modules/tiers/index.js';

export interface DemoSeed {
  programId: string;
  apiKey: string;
  members: string[];
}

const DEMO_MEMBERS = [
  { externalId: 'u-1001', name: 'Li Wei', phone: '+86 138 0000 1001', birthday: '1990-02-28', region: 'Shanghai', tags: ['vip'] },
  { externalId: 'u-1002', name: 'Zhang Min', phone: '+86 138 0000 1002', birthday: '1988-07-14', region: 'Beijing', tags: [] },
  { externalId: 'u-1003', name: 'Wang Fang', email: 'fang@example.com', birthday: '1996-02-29', region: 'Shenzhen', tags: ['student'] },
  { externalId: 'u-1004', name: 'Chen Jie', region: 'Hangzhou', tags: ['staff'] },
  { externalId: 'u-1005', name: 'Liu Yang', email: 'yang@example.com', birthday: '2000-12-01', region: 'Chengdu', tags: [] },
];

const perYuan = (pointType: string, per: number) => ({ type: 'perUnit', pointType, attribute: 'amount', rate: '1', per, rounding: 'floor' });

/** What a coffee chain starts with: points per ¥1, growth from its own channels, a daily sign-in, a big-order bonus. */
const DEMO_RULES: Array<Record<string, unknown>> = [
  { name: '1 point per ¥1', status: 'active', priority: 100, stacking: 'cumulative', eventTypes: ['purchase'], rewards: [perYuan('points', 100)] },
  {
    name: '1 growth per ¥10 in our app and stores',
    status: 'active', priority: 90, stacking: 'cumulative', eventTypes: ['purchase'],
    condition: { field: 'event.channel', op: 'in', value: ['app', 'store'] },
    rewards: [perYuan('growth', 1000)],
  },
  { name: 'Big order bonus (¥300 and more)', status: 'active', priority: 80, stacking: 'cumulative', eventTypes: ['purchase'], condition: { field: 'event.attributes.amount', op: 'gte', value: 30_000 }, rewards: [{ type: 'fixed', pointType: 'points', amount: 50 }] },
  { name: 'Daily sign-in', status: 'active', priority: 50, stacking: 'cumulative', eventTypes: ['sign_in'], rewards: [{ type: 'fixed', pointType: 'points', amount: 5 }], caps: { points: { day: 5 } } },
];

const DEMO_LADDER = {
  metrics: [{ code: 'growth', name: 'Growth', source: { kind: 'pointType', pointType: 'growth' } }],
  evaluation: { schedule: 'monthly', dayOfMonth: 1 },
  downgrade: { policy: 'oneTier', graceDays: 30 },
  tiers: [
    { code: 'green', name: 'Green' },
    { code: 'silver', name: 'Silver', qualification: { metric: 'growth', window: { kind: 'rollingMonths', months: 12 }, min: 100 } },
    { code: 'gold', name: 'Gold', qualification: { metric: 'growth', window: { kind: 'rollingMonths', months: 12 }, min: 500 } },
    { code: 'black', name: 'Black', qualification: { metric: 'growth', window: { kind: 'rollingMonths', months: 12 }, min: 2_000 } },
  ],
};

/** A few purchases, so balances, history and tiers have something to show. */
const DEMO_PURCHASES: Array<{ member: number; amount: number; channel: string }> = [
  { member: 0, amount: 68_000, channel: 'app' },
  { member: 0, amount: 45_000, channel: 'store' },
  { member: 1, amount: 3_800, channel: 'app' },
  { member: 2, amount: 12_500, channel: 'partner' },
  { member: 2, amount: 9_900, channel: 'store' },
  { member: 4, amount: 25_600, channel: 'app' },
];

/**
 * A small coffee-chain program to explore the API and the console with: members, earning rules,
 * a membership day, a tier ladder, a mall item and a few purchases.
 */
export async function seedDemo(laurel: Laurel): Promise<DemoSeed> {
  const { access, members } = laurel.services;
  const earning = laurel.services.earning as EarningService;
  const tiers = laurel.services.tiers as TiersService;
  const mall = laurel.services.mall as MallService;
  const seeded = await inTransaction(laurel.database.db, async (trx) => {
    const program = await laurel.createProgram(
      { name: 'Laurel Coffee (demo)', mode: 'live', timeZone: 'Asia/Shanghai', currency: 'CNY', settings: { demo: true } },
      trx,
    );
    const { secret } = await access.createKey(trx, program.id, { name: 'demo key', scopes: ['admin'] });
    const ctx = laurel.systemContext(program, 'seed-demo');
    const ids: string[] = [];
    for (const m of DEMO_MEMBERS) ids.push((await members.create(ctx, m, trx)).id);
    for (const rule of DEMO_RULES) await earning.config.create(ctx, trx, 'rule', rule);
    await earning.config.create(ctx, trx, 'campaign', {
      name: 'Membership day: double points on the 8th', status: 'active', priority: 1, eventTypes: ['purchase'],
      schedule: { recurrence: { every: 'month', days: [8] } }, multiplier: { rates: { points: '2' } },
    });
    await tiers.config.save(ctx, trx, DEMO_LADDER as Parameters<TiersService['config']['save']>[2]);
    await mall.createItem(trx, ctx, { kind: 'product', name: 'Laurel mug', onShelf: true, skus: [{ code: 'std', name: 'Standard', pointsPrice: 500, stock: 100 }] });
    return { program, programId: program.id, apiKey: secret, members: ids };
  });
  // The purchases run on the real clock, as the host's would.
  const ctx = { ...laurel.systemContext(seeded.program, 'seed-demo'), clock: systemClock };
  for (const [i, p] of DEMO_PURCHASES.entries()) {
    await earning.events.ingest(ctx, { eventId: `demo-order-${i + 1}`, member: seeded.members[p.member]!, type: 'purchase', channel: p.channel, attributes: { amount: p.amount } });
  }
  return { programId: seeded.programId, apiKey: seeded.apiKey, members: seeded.members };
}
