/**
 * Micro-benchmark of the earning rules engine: 20 realistic rules and 3 campaigns, a mix of
 * events and members, evaluated in a loop. Run: `npx tsx src/modules/rules/engine/bench-eval.ts`.
 * Target: ≥ 200,000 events/s on one core. Counter snapshots are prepared outside the timed loop
 * (they come from the database in real use); one pass also times `requiredCounterKeys`.
 */
import { compileProgram, evaluate, requiredCounterKeys, type EngineEvent, type MemberContext, type RuleDefinition } from './index.js';
import type { CampaignDefinition } from './schemas.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);

const rules: RuleDefinition[] = [
  {
    id: 'purchase_base', version: 1, name: 'Purchase: 1 point per ¥1', priority: 100, stacking: 'cumulative', eventTypes: ['purchase'],
    condition: { field: 'event.attributes.amount', op: 'gt', value: 0 },
    rewards: [{ type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '1', per: 100 }],
    caps: { points: { day: 20000, month: 200000 } },
    multiplierPolicy: { tiers: { silver: '1.2', gold: '1.5', platinum: '2' }, plans: { plus: '2' }, combine: 'multiply' },
  },
  {
    id: 'purchase_growth_owned', version: 2, name: 'Growth from owned channels', priority: 95, stacking: 'cumulative', eventTypes: ['purchase'],
    condition: { field: 'event.channelKind', op: 'eq', value: 'owned' },
    rewards: [{ type: 'perUnit', pointType: 'growth', attribute: 'amount', rate: '1', per: 100 }],
    caps: { growth: { year: 500000 } },
  },
  {
    id: 'purchase_stars', version: 1, name: '1.2 stars per ¥10', priority: 90, stacking: 'cumulative', eventTypes: ['purchase'],
    condition: { all: [{ field: 'member.tier', op: 'in', value: ['gold', 'platinum'] }, { field: 'event.attributes.currency', op: 'eq', value: 'CNY' }] },
    rewards: [{ type: 'perUnit', pointType: 'stars', attribute: 'amount', rate: '1.2', per: 1000, rounding: 'round' }],
  },
  {
    id: 'wine_lines', version: 1, name: 'Wine lines: 2 points per ¥1', priority: 85, stacking: 'cumulative', eventTypes: ['purchase'],
    rewards: [{ type: 'perUnit', pointType: 'points', items: { array: 'lines', field: 'amount', where: { field: 'item.category', op: 'in', value: ['wine', 'spirits'] } }, rate: '2', per: 100 }],
  },
  {
    id: 'bottles', version: 1, name: '10 points per bottle', priority: 84, stacking: 'cumulative', eventTypes: ['purchase'],
    rewards: [{ type: 'fixed', pointType: 'points', amount: 10, items: { array: 'lines', field: 'quantity', where: { field: 'item.category', op: 'eq', value: 'wine' } } }],
  },
  {
    id: 'big_order', version: 3, name: 'Orders over ¥5000: 5% back', priority: 200, stacking: 'exclusive', eventTypes: ['purchase'],
    condition: { all: [{ field: 'event.attributes.amount', op: 'gte', value: 500000 }, { not: { field: 'member.tags', op: 'contains', value: 'staff' } }] },
    rewards: [{ type: 'percentage', pointType: 'points', attribute: 'amount', percent: '5' }],
    budget: { points: 100000000 },
  },
  {
    id: 'birthday_month', version: 1, name: 'Birthday month bonus', priority: 80, stacking: 'cumulative', eventTypes: ['purchase'],
    condition: { field: 'member.birthdayMonth', op: 'eq', value: true },
    rewards: [{ type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '1', per: 100, role: 'bonus' }],
    caps: { points: { year: 5000 } },
  },
  {
    id: 'new_member', version: 1, name: 'First 30 days: +50 per order', priority: 75, stacking: 'cumulative', eventTypes: ['purchase'],
    condition: { field: 'member.daysSinceJoining', op: 'lt', value: 30 },
    rewards: [{ type: 'fixed', pointType: 'points', amount: 50 }],
  },
  {
    id: 'weekend_store', version: 1, name: 'Weekend in store', priority: 70, stacking: 'cumulative', eventTypes: ['purchase'],
    condition: { all: [{ field: 'time.weekday', op: 'in', value: [6, 7] }, { field: 'event.channel', op: 'eq', value: 'store' }, { field: 'time.hour', op: 'between', value: [10, 22] }] },
    rewards: [{ type: 'fixed', pointType: 'points', amount: 20 }],
    caps: { points: { week: 100 } },
  },
  {
    id: 'vip_segment', version: 1, name: 'High-value segment', priority: 65, stacking: 'cumulative', eventTypes: ['purchase', 'payment'],
    condition: { any: [{ field: 'member.segments', op: 'containsAny', value: ['hv', 'whale'] }, { field: 'member.plans', op: 'contains', value: 'plus' }] },
    rewards: [{ type: 'fixed', pointType: 'growth', amount: 5 }],
  },
  {
    id: 'nights', version: 1, name: 'Night milestones', priority: 300, stacking: 'cumulative', eventTypes: ['purchase'],
    condition: { field: 'event.attributes.nights', op: 'gt', value: 0 },
    rewards: [],
    milestone: { window: 'year', countAttribute: 'nights', thresholds: [{ at: 40, every: 10, rewards: [{ type: 'fixed', pointType: 'points', amount: 1000 }] }, { at: 60, rewards: [{ type: 'fixed', pointType: 'points', amount: 5000 }] }] },
  },
  {
    id: 'payment_splits', version: 1, name: 'Stored value 2/¥, card 1/¥', priority: 100, stacking: 'cumulative', eventTypes: ['payment'],
    rewards: [
      { type: 'perUnit', pointType: 'points', items: { array: 'splits', field: 'amount', where: { field: 'item.method', op: 'eq', value: 'stored_value' } }, rate: '2', per: 100 },
      { type: 'perUnit', pointType: 'points', items: { array: 'splits', field: 'amount', where: { field: 'item.method', op: 'eq', value: 'card' } }, rate: '1', per: 100 },
    ],
    caps: { points: { day: 50000 } },
  },
  {
    id: 'sign_in', version: 4, name: 'Daily sign-in', priority: 100, stacking: 'cumulative', eventTypes: ['sign_in'],
    rewards: [{ type: 'fixed', pointType: 'points', amount: 5 }, { type: 'fixed', pointType: 'growth', amount: 1 }],
    caps: { points: { day: 5 }, growth: { day: 1 } },
  },
  {
    id: 'share', version: 1, name: 'Share: 2 points, 3 a day', priority: 100, stacking: 'cumulative', eventTypes: ['share'],
    rewards: [{ type: 'fixed', pointType: 'points', amount: 2 }],
    caps: { points: { day: 6 } },
  },
  {
    id: 'invite', version: 1, name: 'Invite: 100 on first purchase', priority: 100, stacking: 'cumulative', eventTypes: ['invite'],
    condition: { field: 'event.attributes.stage', op: 'eq', value: 'first_purchase' },
    rewards: [{ type: 'fixed', pointType: 'points', amount: 100 }],
    caps: { points: { month: 1000 } },
  },
  {
    id: 'review', version: 1, name: 'Good review', priority: 100, stacking: 'cumulative', eventTypes: ['review'],
    condition: { all: [{ field: 'event.attributes.rating', op: 'gte', value: 4 }, { field: 'event.attributes.length', op: 'gte', value: 20 }] },
    rewards: [{ type: 'fixed', pointType: 'points', amount: 10 }],
    caps: { points: { day: 30 } },
  },
  {
    id: 'review_image', version: 1, name: 'Review with photo', priority: 90, stacking: 'cumulative', eventTypes: ['review'],
    condition: { field: 'event.attributes.hasImage', op: 'eq', value: true },
    rewards: [{ type: 'fixed', pointType: 'points', amount: 5 }],
  },
  {
    id: 'profile', version: 1, name: 'Profile completed', priority: 100, stacking: 'cumulative', eventTypes: ['profile_completed'],
    rewards: [{ type: 'fixed', pointType: 'points', amount: 200 }],
    caps: { points: { lifetime: 200 } },
  },
  {
    id: 'bind_phone', version: 1, name: 'Phone bound', priority: 100, stacking: 'cumulative', eventTypes: ['bind_phone'],
    rewards: [{ type: 'fixed', pointType: 'points', amount: 100 }],
    caps: { points: { lifetime: 100 } },
  },
  {
    id: 'partner_half', version: 1, name: 'Partner channels: 0.5 per ¥1', priority: 60, stacking: 'cumulative', eventTypes: ['purchase'],
    condition: { all: [{ field: 'event.channelKind', op: 'eq', value: 'partner' }, { not: { field: 'event.attributes.category', op: 'in', value: ['gift_card', 'tobacco'] } }] },
    rewards: [{ type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '0.5', per: 100 }],
  },
];

const campaigns: CampaignDefinition[] = [
  { id: 'member_day', version: 1, name: 'Membership day ×2', eventTypes: ['purchase', 'payment'], schedule: { recurrence: { every: 'month', days: [8] } }, multiplier: { rates: { points: '2' } } },
  { id: 'tuesday_gold', version: 1, name: 'Gold Tuesdays ×1.5', eventTypes: ['purchase'], schedule: { from: '2025-01-01', to: '2025-12-31', recurrence: { every: 'week', weekdays: [2] } }, target: { field: 'member.tier', op: 'eq', value: 'gold' }, multiplier: { rates: { points: '1.5' }, rules: ['purchase_base'] } },
  { id: 'third_purchase', version: 1, name: '3rd purchase of the month', eventTypes: ['purchase'], milestone: { window: 'month', thresholds: [{ at: 3, rewards: [{ type: 'fixed', pointType: 'points', amount: 300 }] }] } },
];

const compileStart = performance.now();
const program = compileProgram({
  program: {
    timeZone: 'Asia/Shanghai',
    pointTypes: { points: { decimals: 0 }, growth: { decimals: 0 }, stars: { decimals: 1 } },
    channelKinds: { app: 'owned', mini: 'owned', store: 'owned', ota: 'partner', tmall: 'partner' },
    tierCodes: ['basic', 'silver', 'gold', 'platinum'],
    planCodes: ['plus'],
  },
  rules,
  campaigns,
});
const compileMs = performance.now() - compileStart;

// A deterministic generator, so every run measures the same work.
let seed = 42;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

const members: MemberContext[] = Array.from({ length: 50 }, (_, i) => ({
  tierCode: pick(['basic', 'silver', 'gold', 'platinum', null] as const),
  planCodes: rnd() < 0.2 ? ['plus'] : [],
  tags: rnd() < 0.3 ? ['newsletter'] : [],
  segments: rnd() < 0.1 ? ['hv'] : [],
  birthday: rnd() < 0.8 ? `1990-${String(1 + (i % 12)).padStart(2, '0')}-15` : null,
  joinedAt: new Date(Date.UTC(2024, i % 12, 1 + (i % 27))),
}));

const base = Date.UTC(2025, 2, 3); // a week in March, around membership day
function makeEvent(): EngineEvent {
  const occurredAt = new Date(base + Math.floor(rnd() * 7 * 86_400_000));
  const channel = pick(['app', 'mini', 'store', 'ota', 'tmall']);
  const r = rnd();
  if (r < 0.55) {
    const lines = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => ({
      sku: `sku${Math.floor(rnd() * 1000)}`,
      category: pick(['wine', 'food', 'spirits', 'apparel']),
      amount: 500 + Math.floor(rnd() * 50000),
      quantity: 1 + Math.floor(rnd() * 3),
    }));
    const amount = lines.reduce((s, l) => s + l.amount, 0);
    return { type: 'purchase', occurredAt, channel, attributes: { amount, currency: 'CNY', category: lines[0]!.category, store: 's1', lines, ...(rnd() < 0.1 ? { nights: 1 + Math.floor(rnd() * 5) } : {}) } };
  }
  if (r < 0.7) {
    const amount = 1000 + Math.floor(rnd() * 100000);
    const sv = Math.floor(amount * rnd());
    return { type: 'payment', occurredAt, channel, attributes: { amount, splits: [{ method: 'stored_value', amount: sv }, { method: 'card', amount: amount - sv }] } };
  }
  if (r < 0.85) return { type: 'sign_in', occurredAt, channel, attributes: {} };
  if (r < 0.92) return { type: 'share', occurredAt, channel, attributes: { target: 'wechat' } };
  if (r < 0.97) return { type: 'review', occurredAt, channel, attributes: { rating: 1 + Math.floor(rnd() * 5), length: Math.floor(rnd() * 200), hasImage: rnd() < 0.3 } };
  return { type: pick(['invite', 'profile_completed', 'bind_phone']), occurredAt, channel, attributes: { stage: 'first_purchase' } };
}

const N = 2000;
const cases = Array.from({ length: N }, () => {
  const event = makeEvent();
  const member = pick(members);
  const counters = new Map<string, number>();
  for (const k of requiredCounterKeys(program, event)) counters.set(k, k.includes(':milestone:') ? Math.floor(rnd() * 60) : Math.floor(rnd() * 50));
  return { event, member, counters };
});

/**
 * Events per second of wall time and of CPU time: on a shared machine the process may not get a
 * whole core, and CPU time is then the fairer measure of "one core".
 */
function run(mode: 'none' | 'full', withKeys = false): { wall: number; cpu: number } {
  let n = 0;
  let sink = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 1000; i++) {
      const k = cases[(n + i) % N]!;
      if (withKeys) sink += requiredCounterKeys(program, k.event).length;
      const r = evaluate(program, k.event, k.member, k.counters, { explain: mode });
      sink += r.awards.length;
    }
    n += 1000;
    now = performance.now();
  }
  const cpu = process.cpuUsage(cpu0);
  if (sink < 0) console.log(sink);
  return { wall: n / ((now - start) / 1000), cpu: n / ((cpu.user + cpu.system) / 1e6) };
}

// BENCH_MODES=full runs one mode only (for profiling).
const modes = new Set((process.env.BENCH_MODES ?? 'none,full,keys').split(','));
const fmt = (x: number) => Math.round(x).toLocaleString('en-US').padStart(9);
const show = (label: string, r: { wall: number; cpu: number }) =>
  console.log(`${label.padEnd(40)} ${fmt(r.wall)} events/s (wall)  ${fmt(r.cpu)} events/s (CPU time)`);
console.log(`rules: ${rules.length}, campaigns: ${campaigns.length}, compiled in ${compileMs.toFixed(1)} ms (first, cold); distinct events: ${N}, ${SECONDS}s per mode, Node ${process.version}`);
// Each mode runs once to warm up the JIT, then is measured.
if (modes.has('none')) {
  run('none');
  const none = run('none');
  show("evaluate, explain 'none'", none);
  console.log(none.wall >= 200_000 ? '  target ≥ 200,000 events/s on one core: met' : '  target ≥ 200,000 events/s on one core: NOT met (is the machine busy? compare the CPU-time figure)');
}
if (modes.has('full')) {
  run('full');
  show("evaluate, explain 'full'", run('full'));
}
if (modes.has('keys')) {
  run('none', true);
  show("requiredCounterKeys + evaluate 'none'", run('none', true));
}
const purchase = cases.find((k) => k.event.type === 'purchase')!;
const sample = evaluate(program, purchase.event, purchase.member, purchase.counters);
console.log(`explanation of one purchase: ${JSON.stringify(sample.explanation).length} bytes of JSON`);
