import { describe, expect, it } from 'vitest';
import { requiredCounterKeys } from './evaluate.js';
import { crossedValues, crossings, type CompiledThreshold } from './milestones.js';
import type { Milestone } from './schemas.js';
import { event, member, program, rule, run, total } from './test-helpers.js';

const threshold = (at: number, every: number | null = null, upTo: number | null = null): CompiledThreshold => ({ index: 0, at, every, upTo, rewards: [] });

describe('crossings', () => {
  it.each<[string, CompiledThreshold, number, number, number[]]>([
    ['not reached', threshold(40, 10), 38, 39, []],
    ['reached exactly', threshold(40, 10), 38, 40, [40]],
    ['passed', threshold(40, 10), 39, 41, [40]],
    ['already passed, next not reached', threshold(40, 10), 40, 49, []],
    ['the next repetition', threshold(40, 10), 40, 50, [50]],
    ['several in one event', threshold(40, 10), 38, 63, [40, 50, 60]],
    ['from zero', threshold(40, 10), 0, 100, [40, 50, 60, 70, 80, 90, 100]],
    ['limited by upTo', threshold(40, 10, 60), 38, 100, [40, 50, 60]],
    ['beyond upTo', threshold(40, 10, 60), 60, 100, []],
    ['one-off reached', threshold(60), 59, 60, [60]],
    ['one-off crossed from below', threshold(60), 50, 70, [60]],
    ['one-off already paid', threshold(60), 60, 70, []],
    ['no contribution', threshold(40, 10), 40, 40, []],
  ])('%s', (_n, t, before, after, want) => {
    const { first, count } = crossings(t, before, after);
    expect(count).toBe(want.length);
    expect(crossedValues(t, first, count)).toEqual(want);
  });
});

const nights: Milestone = {
  window: 'year',
  countAttribute: 'nights',
  thresholds: [
    { at: 40, every: 10, rewards: [{ type: 'fixed', pointType: 'points', amount: 1000 }] },
    { at: 60, rewards: [{ type: 'fixed', pointType: 'points', amount: 5000 }] },
  ],
};
const nightsProgram = (over: Parameters<typeof rule>[0] = { id: 'nights' }) =>
  program([rule({ eventTypes: ['stay'], rewards: [], milestone: nights, ...over })]);
const stay = (n: number, at = '2025-06-01T12:00') => event('stay', { nights: n }, at);
const KEY = 'rule:nights:milestone:year:2025';

describe('night milestones: 40th and every 10th after, 60th once', () => {
  it.each<[number, number, number]>([
    [35, 4, 0],
    [38, 2, 1000], // the 40th night
    [39, 12, 2000], // 40 and 50
    [38, 25, 3000 + 5000], // 40, 50, 60 and the one-off 60
    [59, 1, 1000 + 5000], // exactly the 60th
    [60, 5, 0], // 60 paid already, 70 not reached
    [65, 5, 1000], // 70
  ])('%i nights before, %i now → %i points', (before, n, want) => {
    const r = run(nightsProgram(), stay(n), member(), { [KEY]: before });
    expect(total(r)).toBe(want);
    expect(r.counterIncrements).toContainEqual({ key: KEY, scope: 'member', by: n, limit: null });
  });

  it('explains the count and each threshold crossed', () => {
    const r = run(nightsProgram(), stay(25), member(), { [KEY]: 38 });
    const trace = r.explanation!.rules[0]!;
    expect(trace.milestone).toEqual({ window: 'year', key: KEY, before: 38, contribution: 25, after: 63 });
    expect(trace.awards![0]!.lines.map((l) => [l.threshold!.at, l.threshold!.crossed, l.amount])).toEqual([
      [40, [40, 50, 60], 3000],
      [60, [60], 5000],
    ]);
  });

  it('counts in the local calendar year', () => {
    const p = nightsProgram();
    expect(requiredCounterKeys(p, stay(1, '2024-12-31T23:59'))).toEqual(['rule:nights:milestone:year:2024']);
    expect(requiredCounterKeys(p, stay(1, '2025-01-01T00:01'))).toEqual(['rule:nights:milestone:year:2025']);
  });

  it('a stay without nights adds nothing and pays nothing', () => {
    const r = run(nightsProgram(), stay(0), member(), { [KEY]: 39 });
    expect(r.awards).toEqual([]);
    expect(r.counterIncrements).toEqual([]);
  });

  it('milestone bonuses are bonuses: multiplied only when the policy says all', () => {
    const gold = member({ tierCode: 'gold' });
    const base = nightsProgram({ id: 'nights', multiplierPolicy: { tiers: { gold: '2' } } });
    const all = nightsProgram({ id: 'nights', multiplierPolicy: { tiers: { gold: '2' }, appliesTo: 'all' } });
    expect(total(run(base, stay(2), gold, { [KEY]: 38 }))).toBe(1000);
    expect(total(run(all, stay(2), gold, { [KEY]: 38 }))).toBe(2000);
  });

  it('milestone awards are capped like any other', () => {
    const p = nightsProgram({ id: 'nights', caps: { points: { year: 4000 } } });
    const r = run(p, stay(25), member(), { [KEY]: 38, 'rule:nights:cap:points:year:2025': 1000 });
    expect(total(r)).toBe(3000);
  });

  it('an excluded milestone rule does not count (give it a higher priority than exclusive rules)', () => {
    const p = program([
      rule({ id: 'promo', priority: 10, stacking: 'exclusive', eventTypes: ['stay'] }),
      rule({ id: 'nights', priority: 5, eventTypes: ['stay'], rewards: [], milestone: nights }),
    ]);
    const r = run(p, stay(5), member(), { [KEY]: 38 });
    expect(r.counterIncrements).toEqual([]);
    expect(r.explanation!.rules[1]).toMatchObject({ ruleId: 'nights', outcome: 'excluded', excludedBy: { ruleId: 'promo', version: 1 } });
  });
});

describe('one per event: the 3rd purchase of the month', () => {
  const third = program([
    rule({
      id: 'third',
      rewards: [],
      milestone: { window: 'month', thresholds: [{ at: 3, rewards: [{ type: 'fixed', pointType: 'points', amount: 300 }] }] },
    }),
  ]);
  it.each<[number, number]>([
    [0, 0],
    [1, 0],
    [2, 300],
    [3, 0],
  ])('%i purchases before this one → %i', (before, want) => {
    const r = run(third, event('purchase', { amount: 100 }, '2025-03-20T10:00'), member(), { 'rule:third:milestone:month:2025-03': before });
    expect(total(r)).toBe(want);
    expect(r.counterIncrements).toEqual([{ key: 'rule:third:milestone:month:2025-03', scope: 'member', by: 1, limit: null }]);
  });
});
