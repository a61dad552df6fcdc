import { describe, expect, it } from 'vitest';
import type { Reward } from './schemas.js';
import { event, program, rule, run, total } from './test-helpers.js';

/** Awards of one rule with the given rewards for a purchase with `attrs`. */
function award(rewards: Reward[], attrs: Record<string, unknown>, type = 'purchase') {
  const p = program([rule({ id: 'r', eventTypes: [type], rewards })]);
  return run(p, event(type, attrs));
}

describe('fixed', () => {
  it.each<[string, Reward, number, string]>([
    ['whole points', { type: 'fixed', pointType: 'points', amount: 10 }, 10, 'points'],
    ['as a decimal string', { type: 'fixed', pointType: 'points', amount: '25' }, 25, 'points'],
    ['2.5 stars are 25 smallest units', { type: 'fixed', pointType: 'stars', amount: '2.5' }, 25, 'stars'],
  ])('%s', (_n, reward, want, pt) => {
    expect(total(award([reward], { amount: 1 }), pt)).toBe(want);
  });
});

describe('perUnit and percentage, with rounding', () => {
  const perYuan = (rounding: 'floor' | 'round' | 'ceil'): Reward => ({ type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '1', per: 100, rounding });
  const starsPer10 = (rounding: 'floor' | 'round' | 'ceil'): Reward => ({ type: 'perUnit', pointType: 'stars', attribute: 'amount', rate: '1.2', per: 1000, rounding });
  const pct = (percent: string, rounding: 'floor' | 'round' | 'ceil'): Reward => ({ type: 'percentage', pointType: 'points', attribute: 'amount', percent, rounding });
  it.each<[string, Reward, number, number, string]>([
    ['1 point per ¥1, floor', perYuan('floor'), 12345, 123, 'points'],
    ['1 point per ¥1, round down', perYuan('round'), 12345, 123, 'points'],
    ['1 point per ¥1, round half up', perYuan('round'), 12350, 124, 'points'],
    ['1 point per ¥1, ceil', perYuan('ceil'), 12345, 124, 'points'],
    ['1 point per ¥1, ceil of an exact amount', perYuan('ceil'), 12300, 123, 'points'],
    ['below one unit, floor', perYuan('floor'), 99, 0, 'points'],
    ['below one unit, ceil', perYuan('ceil'), 1, 1, 'points'],
    // 12345 fen × 1.2 stars / ¥10 = 14.814 stars = 148.14 tenths
    ['1.2 stars per ¥10, floor', starsPer10('floor'), 12345, 148, 'stars'],
    ['1.2 stars per ¥10, round', starsPer10('round'), 12345, 148, 'stars'],
    ['1.2 stars per ¥10, ceil', starsPer10('ceil'), 12345, 149, 'stars'],
    ['1.2 stars per ¥10, exact', starsPer10('floor'), 12500, 150, 'stars'],
    // 5% of 12345 = 617.25
    ['5%, floor', pct('5', 'floor'), 12345, 617, 'points'],
    ['5%, ceil', pct('5', 'ceil'), 12345, 618, 'points'],
    ['0.5%, round (61.725)', pct('0.5', 'round'), 12345, 62, 'points'],
    ['0.5%, floor', pct('0.5', 'floor'), 12345, 61, 'points'],
  ])('%s', (_n, reward, amount, want, pt) => {
    expect(total(award([reward], { amount }), pt)).toBe(want);
  });

  it('a decimal rate is exact, not binary floating point', () => {
    // 0.1 + 0.2 style traps: 3 × 0.1 per unit on 10 units is exactly 3, also with ceil
    const r = award([{ type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '0.3', per: 1, rounding: 'ceil' }], { amount: 10 });
    expect(total(r)).toBe(3);
  });

  it('an absent or negative attribute earns nothing and says why', () => {
    const reward: Reward = { type: 'perUnit', pointType: 'points', attribute: 'nights', rate: '100' };
    const absent = award([reward], { amount: 100 });
    expect(absent.awards).toEqual([]);
    const line = absent.explanation!.rules[0]!.awards![0]!.lines[0]!;
    expect(line.basis).toMatchObject({ value: 0, attribute: 'nights', missing: true });
    expect(line.amount).toBe(0);
    expect(total(award([reward], { amount: 100, nights: -3 }))).toBe(0);
  });
});

describe('array rewards over items', () => {
  const lines = [
    { sku: 'a', category: 'wine', amount: 10000, quantity: 2 },
    { sku: 'b', category: 'food', amount: 5000, quantity: 4 },
    { sku: 'c', category: 'wine', amount: 2550 },
  ];
  const wine = { field: 'item.category', op: 'eq', value: 'wine' } as const;

  it('2 points per ¥1 on wine lines', () => {
    const r = award([{ type: 'perUnit', pointType: 'points', rate: '2', per: 100, items: { array: 'lines', field: 'amount', where: wine } }], { amount: 17550, lines });
    expect(total(r)).toBe(251); // (10000 + 2550) × 2 / 100
    expect(r.explanation!.rules[0]!.awards![0]!.lines[0]!.basis.items).toEqual({ array: 'lines', field: 'amount', matched: [0, 2], of: 3 });
  });

  it('a fixed amount per matching line', () => {
    expect(total(award([{ type: 'fixed', pointType: 'points', amount: 5, items: { array: 'lines', where: wine } }], { amount: 1, lines }))).toBe(10);
  });

  it('a fixed amount per unit of an item field (per bottle)', () => {
    // quantities 2 and (absent → 0) on wine lines
    expect(total(award([{ type: 'fixed', pointType: 'points', amount: 10, items: { array: 'lines', field: 'quantity', where: wine } }], { amount: 1, lines }))).toBe(20);
  });

  it('an item condition may also read the event', () => {
    const where = { all: [wine, { field: 'event.channel', op: 'eq', value: 'store' }] } as const;
    const reward: Reward = { type: 'fixed', pointType: 'points', amount: 5, items: { array: 'lines', where: where as never } };
    const p = program([rule({ id: 'r', rewards: [reward] })]);
    expect(total(run(p, event('purchase', { amount: 1, lines }, undefined, 'store')))).toBe(10);
    expect(total(run(p, event('purchase', { amount: 1, lines }, undefined, 'app')))).toBe(0);
  });

  it('payment splits: 2 per ¥1 from stored value and 1 per ¥1 by card, in one event', () => {
    const sv = { field: 'item.method', op: 'eq', value: 'stored_value' } as const;
    const card = { field: 'item.method', op: 'eq', value: 'card' } as const;
    const r = award(
      [
        { type: 'perUnit', pointType: 'points', rate: '2', per: 100, items: { array: 'splits', field: 'amount', where: sv } },
        { type: 'perUnit', pointType: 'points', rate: '1', per: 100, items: { array: 'splits', field: 'amount', where: card } },
      ],
      { amount: 5049, splits: [{ method: 'stored_value', amount: 3050 }, { method: 'card', amount: 1999 }] },
      'payment',
    );
    // 61 + floor(19.99): each reward line is rounded on its own
    expect(total(r)).toBe(80);
    expect(r.awards).toEqual([{ kind: 'rule', ruleId: 'r', ruleVersion: 1, pointType: 'points', amount: 80 }]);
    expect(r.explanation!.rules[0]!.awards![0]!.lines.map((l) => l.amount)).toEqual([61, 19]);
  });

  it('sums a scalar integer array', () => {
    expect(total(award([{ type: 'perUnit', pointType: 'points', rate: '1', per: 100, items: { array: 'vouchers' } }], { nights: 1, vouchers: [100, 250] }, 'stay'))).toBe(3);
  });

  it('an absent array earns nothing', () => {
    expect(total(award([{ type: 'perUnit', pointType: 'points', rate: '2', per: 100, items: { array: 'lines', field: 'amount' } }], { amount: 1 }))).toBe(0);
  });
});

describe('several point types in one rule', () => {
  it('awards each point type separately', () => {
    const r = award(
      [
        { type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '1', per: 100 },
        { type: 'perUnit', pointType: 'growth', attribute: 'amount', rate: '2', per: 100 },
        { type: 'fixed', pointType: 'points', amount: 7 },
      ],
      { amount: 1000 },
    );
    expect(r.awards.map((a) => [a.pointType, a.amount])).toEqual([
      ['points', 17],
      ['growth', 20],
    ]);
    expect(r.totals).toEqual({ growth: 20, points: 17, stars: 0 });
  });
});

describe('the explanation of a line', () => {
  it('shows basis, exact base, rounding and a readable formula', () => {
    const r = award([{ type: 'perUnit', pointType: 'stars', attribute: 'amount', rate: '1.2', per: 1000, rounding: 'round', label: 'stars' }], { amount: 12345 });
    expect(r.explanation!.rules[0]!.awards![0]!.lines[0]).toMatchObject({
      reward: 0,
      type: 'perUnit',
      role: 'base',
      label: 'stars',
      base: '148.14',
      multiplier: '1',
      exact: '148.14',
      rounding: 'round',
      amount: 148,
      formula: 'round(12345 × 1.2 ÷ 1000 × 10) = round(148.14) = 148',
    });
  });
});
