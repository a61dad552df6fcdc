import { describe, expect, it } from 'vitest';
import type { CampaignDefinition, MultiplierPolicy, Reward } from './schemas.js';
import { event, member, program, rule, run, total } from './test-helpers.js';
import type { MemberContext } from './types.js';

const perYuan: Reward = { type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '1', per: 100 };
const double8th: CampaignDefinition = {
  id: 'member_day',
  version: 1,
  name: 'Membership day',
  eventTypes: ['purchase'],
  schedule: { recurrence: { every: 'month', days: [8] } },
  multiplier: { rates: { points: '2' } },
};
const ON_8TH = '2025-03-08T12:00';
const NOT_8TH = '2025-03-07T12:00';
const goldPlus = member({ tierCode: 'gold', planCodes: ['plus'] });
const policy = (over: MultiplierPolicy = {}): MultiplierPolicy => ({ tiers: { gold: '1.5', silver: '0.5' }, plans: { plus: '2', family: '1.5' }, ...over });

function earn(p: MultiplierPolicy | undefined, m: MemberContext, at = NOT_8TH, amount = 10000, rewards: Reward[] = [perYuan]) {
  const prog = program([rule({ id: 'base', rewards, multiplierPolicy: p })], [double8th]);
  return run(prog, event('purchase', { amount }, at), m);
}

describe('sources', () => {
  it.each<[string, MemberContext, string, number]>([
    ['no tier, no plan, no campaign', member(), NOT_8TH, 100],
    ['gold tier ×1.5', member({ tierCode: 'gold' }), NOT_8TH, 150],
    ['a tier without a multiplier', member({ tierCode: 'platinum' }), NOT_8TH, 100],
    ['a tier below 1 (×0.5)', member({ tierCode: 'silver' }), NOT_8TH, 50],
    ['plus plan ×2', member({ planCodes: ['plus'] }), NOT_8TH, 200],
    ['two plans: the best one counts, they do not stack', member({ planCodes: ['family', 'plus'] }), NOT_8TH, 200],
    ['campaign ×2 on the 8th', member(), ON_8TH, 200],
  ])('%s', (_n, m, at, want) => {
    expect(total(earn(policy(), m, at))).toBe(want);
  });
});

describe('combine policies (gold ×1.5, plus ×2, membership day ×2)', () => {
  it.each<[MultiplierPolicy['combine'], number]>([
    ['multiply', 600], // 1.5 × 2 × 2
    ['add', 350], // 1 + 0.5 + 1 + 1
    ['max', 200], // max(1.5, 2, 2)
  ])('%s', (combine, want) => {
    expect(total(earn(policy({ combine }), goldPlus, ON_8TH))).toBe(want);
  });

  it('add can bring the multiplier to zero but not below', () => {
    // 1 + (0.5 − 1) + (1.5 − 1) − … : silver 0.5 and a 0.5 plan give 1 − 0.5 − 0.5 = 0
    const p = policy({ combine: 'add', plans: { family: '0.5' } });
    expect(total(earn(p, member({ tierCode: 'silver', planCodes: ['family'] })))).toBe(0);
  });

  it('records each source in order with the combined value', () => {
    const r = earn(policy({ combine: 'add' }), goldPlus, ON_8TH);
    const line = r.explanation!.rules[0]!.awards![0]!.lines[0]!;
    expect(line.multipliers).toEqual([
      { source: 'tier:gold', value: '1.5' },
      { source: 'plan:plus', value: '2' },
      { source: 'campaign:member_day', value: '2' },
    ]);
    expect(line.multiplier).toBe('3.5');
    expect(line.formula).toBe('10000 × 1 ÷ 100 × 3.5 = 350');
  });
});

describe('rounding happens once, after multipliers', () => {
  it('1.5 points × 2 is 3, not floor(1.5) × 2 = 2', () => {
    expect(total(earn(policy(), member({ planCodes: ['plus'] }), NOT_8TH, 150))).toBe(3);
  });

  it('1.01 × 1.5 = 1.515 floors to 1; with ceil to 2', () => {
    expect(total(earn(policy(), member({ tierCode: 'gold' }), NOT_8TH, 101))).toBe(1);
    expect(total(earn(policy(), member({ tierCode: 'gold' }), NOT_8TH, 101, [{ ...perYuan, rounding: 'ceil' }]))).toBe(2);
  });
});

describe('base only or bonuses too', () => {
  const rewards: Reward[] = [perYuan, { type: 'fixed', pointType: 'points', amount: 50, role: 'bonus' }];
  it.each<[MultiplierPolicy['appliesTo'], number]>([
    ['base', 150 + 50],
    ['all', 150 + 75],
  ])('appliesTo %s', (appliesTo, want) => {
    expect(total(earn(policy({ appliesTo }), member({ tierCode: 'gold' }), NOT_8TH, 10000, rewards))).toBe(want);
  });
});

describe('scoping', () => {
  it('tier and plan multipliers reach only the listed point types', () => {
    const rewards: Reward[] = [perYuan, { type: 'perUnit', pointType: 'growth', attribute: 'amount', rate: '1', per: 100 }];
    const r = earn(policy({ pointTypes: ['points'] }), member({ tierCode: 'gold' }), NOT_8TH, 10000, rewards);
    expect(r.totals).toMatchObject({ points: 150, growth: 100 });
  });

  it('campaign multipliers reach only the point types they name', () => {
    const rewards: Reward[] = [perYuan, { type: 'perUnit', pointType: 'growth', attribute: 'amount', rate: '1', per: 100 }];
    const r = earn(policy(), member(), ON_8TH, 10000, rewards);
    expect(r.totals).toMatchObject({ points: 200, growth: 100 });
  });

  it('a rule can refuse campaign multipliers', () => {
    expect(total(earn(policy({ campaigns: false }), member(), ON_8TH))).toBe(100);
  });

  it('a campaign can be limited to some rules', () => {
    const only = { ...double8th, multiplier: { rates: { points: '2' }, rules: ['other'] } };
    const prog = program([rule({ id: 'base', rewards: [perYuan] }), rule({ id: 'other', rewards: [perYuan] })], [only]);
    const r = run(prog, event('purchase', { amount: 10000 }, ON_8TH));
    expect(r.awards.map((a) => [a.ruleId, a.amount])).toEqual([
      ['base', 100],
      ['other', 200],
    ]);
  });

  it('the program default policy applies unless a rule overrides it key by key', () => {
    const over = { multiplierDefaults: { tiers: { gold: '2' }, combine: 'multiply' as const } };
    const prog = program(
      [rule({ id: 'a', rewards: [perYuan] }), rule({ id: 'b', rewards: [perYuan], multiplierPolicy: { tiers: { gold: '3' } } })],
      [],
      over,
    );
    const r = run(prog, event('purchase', { amount: 10000 }), member({ tierCode: 'gold' }));
    expect(r.awards.map((a) => [a.ruleId, a.amount])).toEqual([
      ['a', 200],
      ['b', 300],
    ]);
  });
});
