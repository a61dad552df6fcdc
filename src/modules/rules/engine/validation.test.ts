import Value from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { compileCampaign } from './campaigns.js';
import { compileProgram } from './compile.js';
import { MAX_CONDITION_DEPTH, MAX_CONDITION_NODES } from './conditions.js';
import { compileRule, validateRule } from './rules.js';
import { CampaignSchema, RuleSchema, type CampaignDefinition, type Condition, type RuleDefinition } from './schemas.js';
import { expectRuleInvalid, PROGRAM, rule, STAY } from './test-helpers.js';
import type { RuleContext } from './types.js';

const CTX: RuleContext = { program: PROGRAM, eventTypes: STAY };
const withCondition = (condition: unknown, eventTypes = ['purchase']) => rule({ id: 'r', eventTypes, condition: condition as Condition });
const perYuan = { type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '1', per: 100 } as const;

function nested(depth: number): Condition {
  let c: Condition = { field: 'event.attributes.amount', op: 'gt', value: 0 };
  for (let i = 1; i < depth; i++) c = { not: c };
  return c;
}

describe('bad conditions are refused at save time, pointed', () => {
  it.each<[string, unknown, string, RegExp, string[]?]>([
    ['unknown field', { field: 'member.age', op: 'gt', value: 18 }, 'condition.field', /unknown field 'member.age'/],
    ['unknown attribute', { all: [{ field: 'event.attributes.colour', op: 'eq', value: 'red' }] }, 'condition.all[0].field', /unknown attribute 'colour'/],
    ['attribute missing from one of the event types', { field: 'event.attributes.category', op: 'eq', value: 'wine' }, 'condition.field', /'payment'/, ['purchase', 'payment']],
    ['nested attribute path', { field: 'event.attributes.lines.amount', op: 'gt', value: 0 }, 'condition.field', /one level/],
    ['item field outside an item condition', { field: 'item.category', op: 'eq', value: 'wine' }, 'condition.field', /item condition/],
    ['a string against an integer attribute', { field: 'event.attributes.amount', op: 'eq', value: '100' }, 'condition.value', /must be an integer, got the string "100"/],
    ['an integer against a string attribute', { field: 'event.attributes.category', op: 'eq', value: 5 }, 'condition.value', /must be a string/],
    ['a float against an integer attribute', { field: 'event.attributes.amount', op: 'gt', value: 1.5 }, 'condition.value', /integer/],
    ['between with one bound', { field: 'event.attributes.amount', op: 'between', value: [1] }, 'condition.value', /two bounds/],
    ['between with a scalar', { field: 'event.attributes.amount', op: 'between', value: 5 }, 'condition.value', /two bounds/],
    ['between with inverted bounds', { field: 'event.attributes.amount', op: 'between', value: [10, 1] }, 'condition.value', /low bound is above/],
    ['between with a bad bound', { field: 'event.attributes.amount', op: 'between', value: [1, 'x'] }, 'condition.value[1]', /integer/],
    ['gt on a string enum', { field: 'event.attributes.roomType', op: 'gt', value: 'standard' }, 'condition.op', /'gt' does not apply to an enum/, ['stay']],
    ['gt on a string', { field: 'event.attributes.category', op: 'gt', value: 'a' }, 'condition.op', /does not apply to a string/],
    ['contains on a scalar', { field: 'event.attributes.amount', op: 'contains', value: 1 }, 'condition.op', /does not apply/],
    ['eq on an array of objects', { field: 'event.attributes.lines', op: 'eq', value: 1 }, 'condition.op', /objectArray/],
    ['unknown op', { field: 'event.attributes.amount', op: 'approx', value: 1 }, 'condition.op', /unknown op "approx"/],
    ['a value for exists', { field: 'event.attributes.amount', op: 'exists', value: true }, 'condition.value', /takes no value/],
    ['no value for eq', { field: 'event.attributes.amount', op: 'eq' }, 'condition.value', /needs a value/],
    ['an empty in list', { field: 'event.channel', op: 'in', value: [] }, 'condition.value', /non-empty array/],
    ['a bad element in an in list', { field: 'event.channel', op: 'in', value: ['app', 3] }, 'condition.value[1]', /string/],
    ['a value outside an enum', { field: 'event.attributes.roomType', op: 'eq', value: 'villa' }, 'condition.value', /'villa' is not one of standard, suite/, ['stay']],
    ['an unknown tier', { field: 'member.tier', op: 'eq', value: 'diamond' }, 'condition.value', /not one of silver, gold, platinum/],
    ['an unknown plan', { field: 'member.plans', op: 'contains', value: 'vip' }, 'condition.value', /not one of plus, family/],
    ['a weekday out of range', { field: 'time.weekday', op: 'eq', value: 8 }, 'condition.value', /≤ 7/],
    ['an hour out of range', { field: 'time.hour', op: 'between', value: [-1, 5] }, 'condition.value[0]', /≥ 0/],
    ['a malformed date', { field: 'time.date', op: 'gte', value: 'March 8' }, 'condition.value', /YYYY-MM-DD/],
    ['a date-time without offset', { field: 'event.attributes.bookedAt', op: 'gt', value: '2025-03-08T10:00' }, 'condition.value', /offset/, ['stay']],
    ['birthdayMonth against a month number', { field: 'member.birthdayMonth', op: 'eq', value: 3 }, 'condition.value', /true or false/],
    ['an empty all', { all: [] }, 'condition.all', /must not be empty/],
    ['an empty any deep inside', { all: [{ field: 'event.attributes.amount', op: 'gt', value: 0 }, { any: [] }] }, 'condition.all[1].any', /must not be empty/],
    ['all and any in one node', { all: [{ field: 'event.channel', op: 'exists' }], any: [] }, 'condition', /no other keys/],
    ['a misspelt leaf key', { field: 'event.channel', op: 'in', values: ['app'] }, 'condition.values', /not a known property/],
    ['a node that is not a condition', { every: [] }, 'condition', /unknown condition node/],
    ['a string as a condition', 'amount > 100', 'condition', /must be an object/],
    [`nesting deeper than ${MAX_CONDITION_DEPTH}`, nested(MAX_CONDITION_DEPTH + 1), `condition${'.not'.repeat(MAX_CONDITION_DEPTH)}`, /deeper than 8/],
    [
      `more than ${MAX_CONDITION_NODES} nodes`,
      { any: Array.from({ length: MAX_CONDITION_NODES }, () => ({ field: 'event.channel', op: 'exists' })) },
      'condition',
      /nodes/,
    ],
  ])('%s', (_n, condition, path, message, eventTypes) => {
    expectRuleInvalid(() => compileRule(withCondition(condition, eventTypes), CTX), path, message);
  });

  it(`accepts nesting of exactly ${MAX_CONDITION_DEPTH}`, () => {
    expect(() => compileRule(withCondition(nested(MAX_CONDITION_DEPTH)), CTX)).not.toThrow();
  });
});

describe('bad rewards, caps, policies and milestones', () => {
  const r = (over: Partial<RuleDefinition>) => rule({ id: 'r', ...over }) as unknown as RuleDefinition;
  it.each<[string, Partial<RuleDefinition>, string, RegExp]>([
    ['a negative rate', { rewards: [{ ...perYuan, rate: '-1' }] }, 'rewards[0].rate', /decimal string/],
    ['a zero rate', { rewards: [{ ...perYuan, rate: '0' }] }, 'rewards[0].rate', /must be positive/],
    ['a zero integer rate', { rewards: [{ ...perYuan, rate: 0 }] }, 'rewards[0].rate', /must be positive/],
    ['a float rate in JSON', { rewards: [{ ...perYuan, rate: 1.2 }] }, 'rewards[0].rate', /decimal string/],
    ['a zero percentage', { rewards: [{ type: 'percentage', pointType: 'points', attribute: 'amount', percent: '0.000' }] }, 'rewards[0].percent', /positive/],
    ['a zero fixed amount', { rewards: [{ type: 'fixed', pointType: 'points', amount: 0 }] }, 'rewards[0].amount', /positive/],
    ['finer than the point type', { rewards: [{ type: 'fixed', pointType: 'points', amount: '1.5' }] }, 'rewards[0].amount', /more decimal places than point type 'points' allows \(0\)/],
    ['finer than a 1-decimal point type', { rewards: [{ type: 'fixed', pointType: 'stars', amount: '1.25' }] }, 'rewards[0].amount', /allows \(1\)/],
    ['an unknown point type', { rewards: [{ type: 'fixed', pointType: 'miles', amount: 1 }] }, 'rewards[0].pointType', /unknown point type "miles"/],
    ['an unknown reward type', { rewards: [{ type: 'cashback', pointType: 'points' } as never] }, 'rewards[0].type', /one of "fixed", "perUnit", "percentage"/],
    ['a per of zero', { rewards: [{ ...perYuan, per: 0 }] }, 'rewards[0].per', /≥ 1/],
    ['perUnit on a string attribute', { rewards: [{ ...perYuan, attribute: 'category' }] }, 'rewards[0].attribute', /integer attributes only/],
    ['perUnit on an unknown attribute', { rewards: [{ ...perYuan, attribute: 'total' }] }, 'rewards[0].attribute', /unknown attribute 'total'/],
    ['perUnit with neither attribute nor items', { rewards: [{ type: 'perUnit', pointType: 'points', rate: '1' }] }, 'rewards[0]', /exactly one of/],
    ['items over a scalar', { rewards: [{ type: 'perUnit', pointType: 'points', rate: '1', items: { array: 'amount', field: 'amount' } }] }, 'rewards[0].items.array', /not an array/],
    ['items summing a string field', { rewards: [{ type: 'perUnit', pointType: 'points', rate: '1', items: { array: 'lines', field: 'category' } }] }, 'rewards[0].items.field', /integer fields only/],
    ['items without a field to sum', { rewards: [{ type: 'perUnit', pointType: 'points', rate: '1', items: { array: 'lines' } }] }, 'rewards[0].items.field', /needs the integer item field/],
    [
      'an unknown item field in the item condition',
      { rewards: [{ type: 'fixed', pointType: 'points', amount: 1, items: { array: 'lines', where: { field: 'item.colour', op: 'eq', value: 'red' } } }] },
      'rewards[0].items.where.field',
      /unknown field 'colour' in items of 'lines'/,
    ],
    ['no rewards and no milestone', { rewards: [] }, 'rewards', /at least one reward or a milestone/],
    ['a cap on a point type the rule never awards', { caps: { growth: { day: 5 } } }, 'caps.growth', /never awards/],
    ['a cap on an unknown point type', { caps: { miles: { day: 5 } } }, 'caps.miles', /unknown point type/],
    ['an unknown cap period', { caps: { points: { fortnight: 5 } as never } }, 'caps.points.fortnight', /not a known property/],
    ['a zero cap', { caps: { points: { day: 0 } } }, 'caps.points.day', /positive/],
    ['a budget finer than the point type', { budget: { points: '10.5' } }, 'budget.points', /decimal places/],
    ['an unknown tier in the multiplier policy', { multiplierPolicy: { tiers: { diamond: '2' } } }, 'multiplierPolicy.tiers.diamond', /unknown tier 'diamond'/],
    ['a zero multiplier', { multiplierPolicy: { plans: { plus: '0' } } }, 'multiplierPolicy.plans.plus', /positive/],
    ['an unknown combine policy', { multiplierPolicy: { combine: 'stack' as never } }, 'multiplierPolicy.combine', /one of "multiply", "add", "max"/],
    [
      'upTo without every',
      { rewards: [], milestone: { window: 'year', thresholds: [{ at: 40, upTo: 60, rewards: [{ type: 'fixed', pointType: 'points', amount: 1 }] }] } },
      'milestone.thresholds[0].upTo',
      /set 'every'/,
    ],
    [
      'a non-fixed milestone reward',
      { rewards: [], milestone: { window: 'year', thresholds: [{ at: 40, rewards: [perYuan as never] }] } },
      'milestone.thresholds[0].rewards[0].type',
      /"fixed"/,
    ],
    [
      'a milestone counting a string attribute',
      { rewards: [], milestone: { window: 'year', countAttribute: 'category', thresholds: [{ at: 1, rewards: [{ type: 'fixed', pointType: 'points', amount: 1 }] }] } },
      'milestone.countAttribute',
      /integer attributes only/,
    ],
    [
      'a rolling window',
      { rewards: [], milestone: { window: 'rolling30' as never, thresholds: [{ at: 1, rewards: [{ type: 'fixed', pointType: 'points', amount: 1 }] }] } },
      'milestone.window',
      /one of/,
    ],
    ['validTo before validFrom', { validFrom: '2025-03-01T00:00:00+08:00', validTo: '2025-02-01T00:00:00+08:00' }, 'validTo', /after validFrom/],
    ['validFrom without an offset', { validFrom: '2025-03-01T00:00:00' }, 'validFrom', /offset/],
    ['an unknown event type', { eventTypes: ['checkout'] }, 'eventTypes[0]', /unknown event type 'checkout'/],
    ['no event types', { eventTypes: [] }, 'eventTypes', /must not be empty/],
    ['a misspelt property', { priorty: 5 } as never, 'priorty', /not a known property/],
    ['a bad stacking', { stacking: 'exclusve' as never }, 'stacking', /one of "exclusive", "cumulative"/],
    ['a bad id', { id: 'rule one' }, 'id', /must be an id/],
    ['version zero', { version: 0 }, 'version', /≥ 1/],
  ])('%s', (_n, over, path, message) => {
    expectRuleInvalid(() => compileRule(r(over), CTX), path, message);
  });

  it('collects every issue, not just the first', () => {
    const issues = validateRule(
      rule({
        id: 'r',
        condition: { all: [{ field: 'member.age', op: 'eq', value: 1 }, { field: 'event.attributes.amount', op: 'eq', value: 'x' }] },
        rewards: [{ ...perYuan, rate: '0' }],
        caps: { growth: { day: 1 } },
      }),
      CTX,
    );
    expect(issues.list.map((i) => i.path)).toEqual(['condition.all[0].field', 'condition.all[1].value', 'rewards[0].rate', 'caps.growth']);
  });

  it('a valid rule passes TypeBox and our checks alike', () => {
    const good = rule({ id: 'r', rewards: [perYuan], caps: { points: { day: 100 } }, multiplierPolicy: { tiers: { gold: '1.5' } } });
    expect(validateRule(good, CTX).list).toEqual([]);
    expect(Value.Check(RuleSchema, good)).toBe(true);
  });
});

describe('bad campaigns', () => {
  const c = (over: Partial<CampaignDefinition>): CampaignDefinition => ({
    id: 'c',
    version: 1,
    name: 'C',
    eventTypes: ['purchase'],
    multiplier: { rates: { points: '2' } },
    ...over,
  });
  it.each<[string, Partial<CampaignDefinition>, string, RegExp]>([
    ['no effect', { multiplier: undefined }, 'multiplier', /needs a multiplier, a bonus or a milestone/],
    ['a multiplier for an unknown point type', { multiplier: { rates: { miles: '2' } } }, 'multiplier.rates.miles', /unknown point type/],
    ['a zero multiplier', { multiplier: { rates: { points: '0' } } }, 'multiplier.rates.points', /positive/],
    ['an empty multiplier', { multiplier: { rates: {} } }, 'multiplier.rates', /at least one point type/],
    ['an end before the start', { schedule: { from: '2025-03-31', to: '2025-03-01' } }, 'schedule.to', /before schedule.from/],
    ['day 0 of the month', { schedule: { recurrence: { every: 'month', days: [8, 0] } } }, 'schedule.recurrence.days[1]', /last day/],
    ['day 32 of the month', { schedule: { recurrence: { every: 'month', days: [32] } } }, 'schedule.recurrence.days[0]', /≤ 31/],
    ['weekday 0', { schedule: { recurrence: { every: 'week', weekdays: [0] } } }, 'schedule.recurrence.weekdays[0]', /≥ 1/],
    ['an unknown recurrence', { schedule: { recurrence: { every: 'year' } as never } }, 'schedule.recurrence.every', /one of "month", "week"/],
    ['a bad date', { schedule: { from: '2025-02-30' } }, 'schedule.from', /calendar date/],
    ['a target reading items', { target: { field: 'item.category', op: 'eq', value: 'x' } }, 'target.field', /item condition/],
    ['a target with an unknown attribute', { target: { field: 'event.attributes.colour', op: 'exists' } }, 'target.field', /unknown attribute/],
    ['a bonus with a zero rate', { bonus: [{ ...perYuan, rate: '0' }] }, 'bonus[0].rate', /positive/],
  ])('%s', (_n, over, path, message) => {
    expectRuleInvalid(() => compileCampaign(c(over), CTX), path, message);
  });

  it('a campaign naming an unknown rule is refused in the program', () => {
    expectRuleInvalid(
      () => compileProgram({ program: PROGRAM, rules: [rule({ id: 'base' })], campaigns: [c({ multiplier: { rates: { points: '2' }, rules: ['nope'] } })] }),
      'campaigns[0].multiplier.rules[0]',
      /unknown rule 'nope'/,
    );
  });

  it('a valid campaign passes TypeBox and our checks alike', () => {
    const good = c({ schedule: { from: '2025-03-01', recurrence: { every: 'month', days: [8, -1] } }, bonus: [{ type: 'fixed', pointType: 'points', amount: 5 }] });
    expect(() => compileCampaign(good, CTX)).not.toThrow();
    expect(Value.Check(CampaignSchema, good)).toBe(true);
  });
});

describe('program-level checks', () => {
  it('points at the rule inside the program', () => {
    expectRuleInvalid(
      () => compileProgram({ program: PROGRAM, rules: [rule({ id: 'a' }), withCondition({ field: 'member.age', op: 'eq', value: 1 })] }),
      'rules[1].condition.field',
      /rule r is invalid/,
    );
  });

  it('refuses two versions of a rule with overlapping windows, accepts consecutive ones', () => {
    const v1 = rule({ id: 'a', version: 1, validTo: '2025-03-01T00:00:00+08:00' });
    const v2 = rule({ id: 'a', version: 2, validFrom: '2025-02-01T00:00:00+08:00' });
    expectRuleInvalid(() => compileProgram({ program: PROGRAM, rules: [v1, v2] }), 'rules', /overlapping/);
    const v2b = { ...v2, validFrom: '2025-03-01T00:00:00+08:00' };
    expect(() => compileProgram({ program: PROGRAM, rules: [v1, v2b] })).not.toThrow();
    expectRuleInvalid(() => compileProgram({ program: PROGRAM, rules: [v1, { ...v1 }] }), 'rules', /given twice/);
  });

  it.each<[string, Partial<typeof PROGRAM>, string]>([
    ['an unknown time zone', { timeZone: 'Asia/Peking' }, 'program.timeZone'],
    ['too many decimals', { pointTypes: { points: { decimals: 7 } } }, 'program.pointTypes.points.decimals'],
    ['no point types', { pointTypes: {} }, 'program.pointTypes'],
    ['a point type code with a colon (it would break counter keys)', { pointTypes: { 'a:b': { decimals: 0 } } }, 'program.pointTypes.a:b'],
  ])('refuses %s', (_n, over, path) => {
    expectRuleInvalid(() => compileProgram({ program: { ...PROGRAM, ...over }, rules: [] }), path);
  });

  it('refuses a bad custom event type', () => {
    expectRuleInvalid(
      () => compileProgram({ program: PROGRAM, eventTypes: { stay: { type: 'object', properties: { n: { type: 'float' } } } as never }, rules: [] }),
      'eventTypes.stay.properties.n.type',
    );
  });
});
