import { describe, expect, it } from 'vitest';
import { AppError } from '../../../core/errors.js';
import { budgetKey, capKey, milestoneKey, parseCounterKey } from './caps.js';
import { evaluate, requiredCounterKeys } from './evaluate.js';
import type { Caps, Reward } from './schemas.js';
import { event, member, program, rule, run, total } from './test-helpers.js';

const perYuan: Reward = { type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '1', per: 100 };
const capped = (caps: Caps, budget?: Record<string, number>) => program([rule({ id: 'r', rewards: [perYuan], caps, budget })]);
const buy = (at: string, amount = 10000) => event('purchase', { amount }, at);

describe('per-event cap', () => {
  it('cuts the award to the cap and says so', () => {
    const r = run(capped({ points: { event: 30 } }), buy('2025-03-05T12:00'));
    expect(total(r)).toBe(30);
    expect(r.explanation!.rules[0]!.awards![0]).toMatchObject({
      subtotal: 100,
      amount: 30,
      caps: [{ cap: 'event', key: null, max: 30, used: 0, remaining: 30, cut: 70, message: 'cut by 70: at most 30 per event' }],
    });
    expect(r.counterIncrements).toEqual([]); // nothing to remember for a per-event cap
  });
});

describe('calendar caps use the program zone (Asia/Shanghai)', () => {
  // 80 of a cap of 100 already awarded in the bucket of the first instant; the award would be 100.
  it.each<[string, Caps, string, string, string]>([
    ['day: 23:59 and 00:01 local are different days', { points: { day: 100 } }, '2025-03-08T23:59', '2025-03-09T00:01', 'day:2025-03-08'],
    ['day: a UTC afternoon is the next local day', { points: { day: 100 } }, '2025-03-08T15:59:00Z', '2025-03-08T16:01:00Z', 'day:2025-03-08'],
    ['week: Sunday night and Monday morning (weeks start on Monday)', { points: { week: 100 } }, '2025-03-09T23:59', '2025-03-10T00:01', 'week:2025-W10'],
    ['month: 31 March and 1 April', { points: { month: 100 } }, '2025-03-31T23:59', '2025-04-01T00:01', 'month:2025-03'],
    ['year: New Year', { points: { year: 100 } }, '2024-12-31T23:59', '2025-01-01T00:01', 'year:2024'],
  ])('%s', (_n, caps, before, after, bucket) => {
    const p = capped(caps);
    const used = { [`rule:r:cap:points:${bucket}`]: 80 };
    const late = run(p, buy(before), member(), used);
    expect(total(late)).toBe(20);
    expect(late.explanation!.rules[0]!.awards![0]!.caps).toEqual([
      {
        cap: bucket.split(':')[0],
        key: `rule:r:cap:points:${bucket}`,
        max: 100,
        used: 80,
        remaining: 20,
        cut: 80,
        message: `cut by 80: the ${bucket.split(':')[0]} cap of 100 has 20 left (80 already awarded)`,
      },
    ]);
    const next = run(p, buy(after), member(), used);
    expect(total(next)).toBe(100);
    expect(requiredCounterKeys(p, buy(after))).not.toContain(`rule:r:cap:points:${bucket}`);
  });

  it('with the member known, rules whose condition fails need no counters', () => {
    const byCategory = (cat: string) =>
      rule({ id: `r-${cat}`, rewards: [perYuan], caps: { points: { day: 100 } }, condition: { field: 'event.attributes.category', op: 'eq', value: cat } });
    const vipOnly = rule({ id: 'vip', rewards: [perYuan], caps: { points: { day: 100 } }, condition: { field: 'member.tags', op: 'contains', value: 'vip' } });
    const p = program([byCategory('tea'), byCategory('cake'), vipOnly]);
    const tea = event('purchase', { amount: 1000, category: 'tea' }, '2025-03-05T12:00');
    expect(requiredCounterKeys(p, tea, member())).toEqual(['rule:r-tea:cap:points:day:2025-03-05']);
    expect(requiredCounterKeys(p, tea, member({ tags: ['vip'] }))).toEqual(['rule:r-tea:cap:points:day:2025-03-05', 'rule:vip:cap:points:day:2025-03-05']);
    // Without the member, every rule that listens to the type and is valid is listed.
    expect(requiredCounterKeys(p, tea)).toHaveLength(3);
    expect(total(run(p, tea, member({ tags: ['vip'] }), { 'r-tea:cap:points:day:2025-03-05': 95 }))).toBe(5 + 10);
  });

  it('a week straddling New Year is one ISO week', () => {
    const p = capped({ points: { week: 100 } });
    expect(requiredCounterKeys(p, buy('2024-12-31T12:00'))).toEqual(['rule:r:cap:points:week:2025-W01']);
    expect(requiredCounterKeys(p, buy('2025-01-05T12:00'))).toEqual(['rule:r:cap:points:week:2025-W01']);
    expect(requiredCounterKeys(p, buy('2025-01-06T00:00'))).toEqual(['rule:r:cap:points:week:2025-W02']);
  });

  it('lifetime: a once-only reward is not paid twice', () => {
    const p = program([rule({ id: 'profile', eventTypes: ['profile_completed'], rewards: [{ type: 'fixed', pointType: 'points', amount: 200 }], caps: { points: { lifetime: 200 } } })]);
    const first = run(p, event('profile_completed'), member(), { 'rule:profile:cap:points:lifetime:all': 0 });
    expect(total(first)).toBe(200);
    expect(first.counterIncrements).toEqual([{ key: 'rule:profile:cap:points:lifetime:all', scope: 'member', by: 200, limit: 200 }]);
    const again = run(p, event('profile_completed'), member(), { 'rule:profile:cap:points:lifetime:all': 200 });
    expect(again.awards).toEqual([]);
    expect(again.counterIncrements).toEqual([]);
    expect(again.explanation!.rules[0]!.awards![0]!.caps[0]).toMatchObject({ cap: 'lifetime', remaining: 0, cut: 200 });
  });
});

describe('several caps and a budget', () => {
  it('the tightest cap wins and every cap is reported', () => {
    const p = capped({ points: { event: 90, day: 100, month: 1000 } }, { points: 1_000_000 });
    const r = run(p, buy('2025-03-05T12:00'), member(), {
      'rule:r:cap:points:day:2025-03-05': 50,
      'rule:r:cap:points:month:2025-03': 980,
      'rule:r:budget:points': 10,
    });
    expect(total(r)).toBe(20);
    expect(r.explanation!.rules[0]!.awards![0]!.caps.map((c) => [c.cap, c.remaining, c.cut])).toEqual([
      ['event', 90, 10],
      ['day', 50, 40],
      ['month', 20, 30],
      ['budget', 999_990, 0],
    ]);
    expect(r.counterIncrements).toEqual([
      { key: 'rule:r:cap:points:day:2025-03-05', scope: 'member', by: 20, limit: 100 },
      { key: 'rule:r:cap:points:month:2025-03', scope: 'member', by: 20, limit: 1000 },
      { key: 'rule:r:budget:points', scope: 'program', by: 20, limit: 1_000_000 },
    ]);
  });

  it('a rule budget shared by all members runs out', () => {
    const p = capped({}, { points: 1000 });
    expect(total(run(p, buy('2025-03-05T12:00'), member(), { 'rule:r:budget:points': 990 }))).toBe(10);
    expect(total(run(p, buy('2025-03-05T12:00'), member(), { 'rule:r:budget:points': 1000 }))).toBe(0);
    expect(total(run(p, buy('2025-03-05T12:00'), member(), { 'rule:r:budget:points': 5000 }))).toBe(0); // overspent elsewhere: still 0, never negative
  });

  it('caps are in display units: 5 stars are 50 smallest units', () => {
    const p = program([rule({ id: 's', rewards: [{ type: 'fixed', pointType: 'stars', amount: '8.5' }], caps: { stars: { day: '5' } } })]);
    expect(total(run(p, buy('2025-03-05T12:00')), 'stars')).toBe(50);
  });
});

describe('counter snapshot', () => {
  it('lists exactly the keys evaluation reads, sorted', () => {
    const p = program([
      rule({ id: 'b', rewards: [perYuan], caps: { points: { day: 10, year: 100 } }, budget: { points: 1000 } }),
      rule({ id: 'a', rewards: [perYuan], milestone: { window: 'month', thresholds: [{ at: 3, rewards: [{ type: 'fixed', pointType: 'points', amount: 1 }] }] } }),
      rule({ id: 'other_type', eventTypes: ['sign_in'], caps: { points: { day: 5 } } }),
      rule({ id: 'expired', validTo: '2025-01-01T00:00:00+08:00', caps: { points: { day: 5 } } }),
    ]);
    const e = buy('2025-03-05T12:00');
    const keys = requiredCounterKeys(p, e);
    expect(keys).toEqual([
      'rule:a:milestone:month:2025-03',
      'rule:b:budget:points',
      'rule:b:cap:points:day:2025-03-05',
      'rule:b:cap:points:year:2025',
    ]);
    // and evaluation works with exactly those
    expect(() => evaluate(p, e, member(), new Map(keys.map((k) => [k, 0])))).not.toThrow();
  });

  it('refuses to evaluate with a required counter missing (it would lift the cap)', () => {
    const p = capped({ points: { day: 100 } });
    const e = buy('2025-03-05T12:00');
    let err: unknown;
    try {
      evaluate(p, e, member(), {});
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('validation_failed');
    expect((err as AppError).details).toEqual({ key: 'rule:r:cap:points:day:2025-03-05' });
  });

  it.each([[-1], [1.5], [Number.NaN]])('refuses a bad counter value %s', (v) => {
    const p = capped({ points: { day: 100 } });
    expect(() => evaluate(p, buy('2025-03-05T12:00'), member(), { 'rule:r:cap:points:day:2025-03-05': v })).toThrow(/non-negative integer/);
  });

  it('accepts a plain object as well as a Map', () => {
    const p = capped({ points: { day: 100 } });
    expect(total(evaluate(p, buy('2025-03-05T12:00'), member(), { 'rule:r:cap:points:day:2025-03-05': 70 }))).toBe(30);
  });

  it('parses its keys back', () => {
    expect(parseCounterKey(capKey('rule', 'r1', 'points', 'week', '2025-W10'))).toEqual({
      kind: 'rule', id: 'r1', counter: 'cap', pointType: 'points', period: 'week', bucket: '2025-W10', scope: 'member',
    });
    expect(parseCounterKey(budgetKey('campaign', 'c1', 'growth'))).toEqual({ kind: 'campaign', id: 'c1', counter: 'budget', pointType: 'growth', scope: 'program' });
    expect(parseCounterKey(milestoneKey('rule', 'n', 'year', '2025'))).toEqual({ kind: 'rule', id: 'n', counter: 'milestone', window: 'year', bucket: '2025', scope: 'member' });
    expect(parseCounterKey('rule:x:cap:points:fortnight:1')).toBeNull();
    expect(parseCounterKey('nonsense')).toBeNull();
  });
});
