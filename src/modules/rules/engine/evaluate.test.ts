import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../core/errors.js';
import { evaluate, requiredCounterKeys } from './evaluate.js';
import { toMemberView } from './explanation.js';
import type { CampaignDefinition, Reward, RuleDefinition } from './schemas.js';
import { event, member, program, rule, run, total } from './test-helpers.js';

const fixed = (amount: number): Reward[] => [{ type: 'fixed', pointType: 'points', amount }];

describe('priority and stacking', () => {
  const rules = (over: Partial<Record<'top' | 'excl' | 'low', Partial<RuleDefinition>>> = {}) => [
    rule({ id: 'low', priority: 10, rewards: fixed(300), ...over.low }),
    rule({ id: 'excl', priority: 20, stacking: 'exclusive', rewards: fixed(20), ...over.excl }),
    rule({ id: 'top', priority: 30, rewards: fixed(1), ...over.top }),
  ];

  it('an exclusive rule that applies stops the rules below it; those above still count', () => {
    const r = run(program(rules()), event('purchase', { amount: 1 }));
    expect(r.awards.map((a) => a.ruleId)).toEqual(['top', 'excl']);
    expect(total(r)).toBe(21);
    expect(r.explanation!.rules.map((t) => [t.ruleId, t.outcome])).toEqual([
      ['top', 'applied'],
      ['excl', 'applied'],
      ['low', 'excluded'],
    ]);
    expect(r.explanation!.rules[2]).toMatchObject({ excludedBy: { ruleId: 'excl', version: 1 }, reason: 'excluded by exclusive rule excl v1' });
  });

  it('an exclusive rule that does not match excludes nothing', () => {
    const r = run(program(rules({ excl: { condition: { field: 'event.channel', op: 'eq', value: 'store' } } })), event('purchase', { amount: 1 }));
    expect(total(r)).toBe(301);
    expect(r.explanation!.rules[1]).toMatchObject({ outcome: 'notMatched', failed: { field: 'event.channel', actual: 'app', expected: 'store' } });
  });

  it('an exclusive rule outside its validity excludes nothing', () => {
    const r = run(program(rules({ excl: { validTo: '2025-01-01T00:00:00+08:00' } })), event('purchase', { amount: 1 }));
    expect(total(r)).toBe(301);
  });

  it('an exclusive rule cut to zero by its cap still excludes (it matched)', () => {
    const p = program(rules({ excl: { caps: { points: { day: 20 } } } }));
    const r = run(p, event('purchase', { amount: 1 }), member(), { 'rule:excl:cap:points:day:2025-03-05': 20 });
    expect(r.awards.map((a) => a.ruleId)).toEqual(['top']);
    expect(r.explanation!.rules[2]!.outcome).toBe('excluded');
  });

  it('cumulative rules add up', () => {
    const r = run(program(rules({ excl: { stacking: 'cumulative' } })), event('purchase', { amount: 1 }));
    expect(total(r)).toBe(321);
  });

  it('equal priorities are ordered by id', () => {
    const p = program([
      rule({ id: 'b', priority: 5, stacking: 'exclusive', rewards: fixed(2) }),
      rule({ id: 'a', priority: 5, stacking: 'exclusive', rewards: fixed(1) }),
    ]);
    const r = run(p, event('purchase', { amount: 1 }));
    expect(r.awards.map((a) => a.ruleId)).toEqual(['a']);
    expect(r.explanation!.rules.map((t) => [t.ruleId, t.outcome])).toEqual([
      ['a', 'applied'],
      ['b', 'excluded'],
    ]);
  });
});

describe('validity, status, event types', () => {
  const v1 = rule({ id: 'x', version: 1, rewards: fixed(1), validTo: '2025-03-01T00:00:00+08:00' });
  const v2 = rule({ id: 'x', version: 2, rewards: fixed(2), validFrom: '2025-03-01T00:00:00+08:00' });

  it.each<[string, number | null]>([
    ['2025-02-28T23:59', 1],
    ['2025-03-01T00:00', 2], // validFrom is inclusive, validTo exclusive
    ['2025-03-01T00:01', 2],
  ])('at %s the version in force is %s', (at, version) => {
    const r = run(program([v1, v2]), event('purchase', { amount: 1 }, at));
    expect(r.awards).toEqual([{ kind: 'rule', ruleId: 'x', ruleVersion: version, pointType: 'points', amount: version }]);
  });

  it('explains a rule outside its window', () => {
    const r = run(program([v1]), event('purchase', { amount: 1 }, '2025-03-01T00:00'));
    expect(r.awards).toEqual([]);
    expect(r.explanation!.rules[0]).toMatchObject({ outcome: 'outsideValidity', reason: 'the event is at or after validTo 2025-02-28T16:00:00.000Z' });
  });

  it('a paused version does nothing', () => {
    const r = run(program([rule({ id: 'p', status: 'paused' })]), event('purchase', { amount: 1 }));
    expect(r.awards).toEqual([]);
    expect(r.explanation!.rules[0]!.outcome).toBe('inactive');
  });

  it('a rule for other event types is listed as such', () => {
    const r = run(program([rule({ id: 's', eventTypes: ['sign_in'] })]), event('purchase', { amount: 1 }));
    expect(r.explanation!.rules[0]).toMatchObject({ ruleId: 's', outcome: 'wrongEventType' });
    expect(r.awards).toEqual([]);
  });

  it('refuses an event without a valid time', () => {
    const p = program([rule({ id: 'a' })]);
    const bad = { type: 'purchase', occurredAt: new Date('nope'), channel: null, attributes: { amount: 1 } };
    expect(() => evaluate(p, bad, member(), {})).toThrow(AppError);
  });
});

// A program touching every feature, for the whole-result properties below.
const rich = () =>
  program(
    [
      rule({
        id: 'base',
        priority: 10,
        rewards: [
          { type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '1', per: 100 },
          { type: 'perUnit', pointType: 'stars', attribute: 'amount', rate: '1.2', per: 1000, rounding: 'round' },
        ],
        caps: { points: { day: 500, month: 3000 } },
        multiplierPolicy: { tiers: { gold: '1.5' }, plans: { plus: '2' }, combine: 'add' },
      }),
      rule({
        id: 'wine',
        priority: 20,
        condition: { field: 'event.attributes.lines', op: 'exists' },
        rewards: [{ type: 'perUnit', pointType: 'points', rate: '2', per: 100, items: { array: 'lines', field: 'amount', where: { field: 'item.category', op: 'eq', value: 'wine' } } }],
      }),
      rule({
        id: 'big',
        priority: 30,
        stacking: 'exclusive',
        condition: { field: 'event.attributes.amount', op: 'gte', value: 500000 },
        rewards: [{ type: 'percentage', pointType: 'points', attribute: 'amount', percent: '5' }],
        budget: { points: 100000 },
      }),
      rule({
        id: 'nights',
        priority: 40,
        condition: { field: 'event.attributes.nights', op: 'gt', value: 0 },
        rewards: [],
        milestone: { window: 'year', countAttribute: 'nights', thresholds: [{ at: 10, every: 5, rewards: [{ type: 'fixed', pointType: 'points', amount: 100 }] }] },
      }),
      rule({ id: 'growth', priority: 5, condition: { field: 'event.channelKind', op: 'eq', value: 'owned' }, rewards: [{ type: 'fixed', pointType: 'growth', amount: 3 }] }),
    ],
    [
      { id: 'day8', version: 1, name: 'Day 8', eventTypes: ['purchase'], schedule: { recurrence: { every: 'month', days: [8] } }, multiplier: { rates: { points: '2' } } },
      { id: 'hv', version: 2, name: 'HV bonus', eventTypes: ['purchase'], target: { field: 'member.segments', op: 'contains', value: 'hv' }, bonus: [{ type: 'fixed', pointType: 'points', amount: 7 }] },
    ] satisfies CampaignDefinition[],
  );

const arbitraryCase = fc.record({
  amount: fc.integer({ min: 0, max: 1_000_000 }),
  day: fc.integer({ min: 1, max: 28 }),
  hour: fc.integer({ min: 0, max: 23 }),
  channel: fc.constantFrom('app', 'store', 'ota', null),
  nights: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
  wine: fc.integer({ min: 0, max: 50000 }),
  tier: fc.constantFrom('gold', 'silver', null),
  plus: fc.boolean(),
  hv: fc.boolean(),
  used: fc.integer({ min: 0, max: 4000 }),
});

type Case = typeof arbitraryCase extends fc.Arbitrary<infer T> ? T : never;

function build(c: Case) {
  const at = `2025-03-${String(c.day).padStart(2, '0')}T${String(c.hour).padStart(2, '0')}:30`;
  const attrs: Record<string, unknown> = { amount: c.amount, lines: [{ category: 'wine', amount: c.wine }, { category: 'food', amount: 100 }] };
  if (c.nights !== undefined) attrs.nights = c.nights;
  const e = event('purchase', attrs, at, c.channel);
  const m = member({ tierCode: c.tier, planCodes: c.plus ? ['plus'] : [], segments: c.hv ? ['hv'] : [] });
  const p = rich();
  const counters = new Map(requiredCounterKeys(p, e).map((k) => [k, c.used]));
  return { p, e, m, counters };
}

describe('whole results', () => {
  it("explain 'none' gives the same awards, increments and totals as 'full'", () => {
    fc.assert(
      fc.property(arbitraryCase, (c) => {
        const { p, e, m, counters } = build(c);
        const full = evaluate(p, e, m, counters);
        const none = evaluate(p, e, m, counters, { explain: 'none' });
        expect(none.explanation).toBeNull();
        expect(none.awards).toEqual(full.awards);
        expect(none.counterIncrements).toEqual(full.counterIncrements);
        expect(none.totals).toEqual(full.totals);
      }),
      { numRuns: 300 },
    );
  });

  it('totals are the sum of awards, awards are positive integers, and explanations agree with both', () => {
    fc.assert(
      fc.property(arbitraryCase, (c) => {
        const { p, e, m, counters } = build(c);
        const r = evaluate(p, e, m, counters);
        const sums: Record<string, number> = { growth: 0, points: 0, stars: 0 };
        for (const a of r.awards) {
          expect(Number.isSafeInteger(a.amount) && a.amount > 0).toBe(true);
          sums[a.pointType]! += a.amount;
        }
        expect(r.totals).toEqual(sums);
        const traced = [...r.explanation!.rules, ...r.explanation!.campaigns].flatMap((t) => (t.awards ?? []).filter((a) => a.amount > 0).map((a) => a.amount));
        expect(traced).toEqual(r.awards.map((a) => a.amount));
        // caps never exceeded
        for (const inc of r.counterIncrements) if (inc.limit !== null) expect(counters.get(inc.key)! + inc.by).toBeLessThanOrEqual(inc.limit);
      }),
      { numRuns: 300 },
    );
  });

  it('is stable: same inputs, same JSON, even from a separately compiled program', () => {
    fc.assert(
      fc.property(arbitraryCase, (c) => {
        const a = build(c);
        const b = build(c);
        const ja = JSON.stringify(evaluate(a.p, a.e, a.m, a.counters));
        expect(JSON.stringify(evaluate(b.p, b.e, b.m, b.counters))).toBe(ja);
        expect(JSON.stringify(evaluate(a.p, a.e, a.m, a.counters))).toBe(ja);
      }),
      { numRuns: 100 },
    );
  });

  it('the explanation survives a JSON round trip unchanged', () => {
    const { p, e, m, counters } = build({ amount: 600000, day: 8, hour: 10, channel: 'app', nights: 12, wine: 3000, tier: 'gold', plus: true, hv: true, used: 0 });
    const r = evaluate(p, e, m, counters);
    expect(JSON.parse(JSON.stringify(r.explanation))).toEqual(r.explanation);
    expect(JSON.stringify(r.explanation)).not.toMatch(/undefined|NaN|Infinity/);
  });
});

describe('white box and black box', () => {
  it('lists every rule and campaign considered and totals per point type', () => {
    const { p, e, m, counters } = build({ amount: 12345, day: 8, hour: 10, channel: 'app', nights: 12, wine: 3000, tier: 'gold', plus: true, hv: true, used: 100 });
    const x = evaluate(p, e, m, counters).explanation!;
    expect(x.engine).toBe('laurel-rules/1');
    expect(x.event).toEqual({ type: 'purchase', occurredAt: '2025-03-08T02:30:00.000Z', channel: 'app', local: { timeZone: 'Asia/Shanghai', date: '2025-03-08', time: '10:30', weekday: 6 } });
    expect(x.rules.map((t) => [t.ruleId, t.outcome])).toEqual([
      ['nights', 'applied'],
      ['big', 'notMatched'],
      ['wine', 'applied'],
      ['base', 'applied'],
      ['growth', 'applied'],
    ]);
    expect(x.campaigns.map((t) => [t.campaignId, t.outcome])).toEqual([
      ['day8', 'applied'],
      ['hv', 'applied'],
    ]);
    const base = x.rules[3]!.awards!;
    // 123.45 × (1 + 0.5 + 1 + 1) = 432.075 → 432, then the day cap (500 − 100 used) leaves 400
    expect(base[0]).toMatchObject({ pointType: 'points', subtotal: 432, amount: 400 });
    expect(base[0]!.caps[0]).toMatchObject({ cap: 'day', max: 500, used: 100, remaining: 400, cut: 32 });
    expect(base[1]).toMatchObject({ pointType: 'stars', subtotal: 370, amount: 370 }); // 148.14 × 2.5 = 370.35
    // nights: 100 → 112 crosses 105 and 110 (2 × 100); wine: 3000 × 2 / 100 × 2 on day 8 = 120
    expect(x.totals).toEqual({ growth: 3, points: 200 + 120 + 400 + 7, stars: 370 });
  });

  it('the member view keeps names and totals, and no formula', () => {
    const { p, e, m, counters } = build({ amount: 12345, day: 8, hour: 10, channel: 'app', nights: 12, wine: 3000, tier: 'gold', plus: true, hv: true, used: 100 });
    const view = toMemberView(evaluate(p, e, m, counters).explanation!);
    expect(view).toEqual({
      totals: { growth: 3, points: 727, stars: 370 },
      items: [
        { name: 'Rule nights', pointType: 'points', amount: 200 },
        { name: 'Rule wine', pointType: 'points', amount: 120 },
        { name: 'Rule base', pointType: 'points', amount: 400 },
        { name: 'Rule base', pointType: 'stars', amount: 370 },
        { name: 'Rule growth', pointType: 'growth', amount: 3 },
        { name: 'HV bonus', pointType: 'points', amount: 7 },
      ],
    });
    expect(JSON.stringify(view)).not.toMatch(/formula|multiplier|cap|rate|condition/);
  });
});
