import { describe, expect, it } from 'vitest';
import type { Condition } from './schemas.js';
import { compactedRuleVersions, fromStoredExplanation, sameJson, toStoredExplanation, withoutOtherEventTypes, type RuleVersionFacts } from './stored-explanation.js';
import { event, member, program, rule, run } from './test-helpers.js';
import type { RuleDefinition } from './schemas.js';

const points = [{ type: 'fixed' as const, pointType: 'points', amount: 10 }];
const stayRule = (id: string, condition: Condition, over: Partial<RuleDefinition> = {}) =>
  rule({ id, name: `rule ${id}`, priority: 10, eventTypes: ['stay'], rewards: points, condition, ...over });

/** Conditions of every shape a failure can take: leaves of each kind of value, absent fields, any, not, all. */
const RULES: RuleDefinition[] = [
  stayRule('eq-string', { field: 'event.attributes.hotel', op: 'eq', value: 'SHA-1' }),
  stayRule('gte', { field: 'event.attributes.nights', op: 'gte', value: 5 }),
  stayRule('between', { field: 'event.attributes.score', op: 'between', value: [4, 5] }),
  stayRule('absent', { field: 'event.attributes.roomType', op: 'eq', value: 'suite' }),
  stayRule('exists', { field: 'event.attributes.checkIn', op: 'exists' }),
  stayRule('tags', { field: 'member.tags', op: 'contains', value: 'vip' }),
  stayRule('in', { field: 'event.attributes.coupons', op: 'containsAny', value: ['A', 'B'] }),
  stayRule('date-time', { field: 'event.attributes.bookedAt', op: 'gte', value: '2030-01-01T00:00:00Z' }),
  stayRule('any', { any: [{ field: 'event.attributes.nights', op: 'gt', value: 9 }, { not: { field: 'event.attributes.hotel', op: 'eq', value: 'BJ-2' } }] }),
  stayRule('all', { all: [{ field: 'event.attributes.nights', op: 'gte', value: 1 }, { field: 'time.weekday', op: 'eq', value: 7 }] }),
  stayRule('not', { not: { field: 'event.attributes.nights', op: 'gte', value: 1 } }),
  stayRule('matches', { field: 'event.attributes.nights', op: 'gte', value: 1 }, { priority: 1 }),
  rule({ id: 'purchase-only', name: 'other type', priority: 5, eventTypes: ['purchase'], rewards: points }),
];

const facts = (rules: RuleDefinition[]) => {
  const byKey = new Map<string, RuleVersionFacts>(rules.map((r) => [`${r.id}@${r.version}`, { name: r.name, priority: r.priority, stacking: r.stacking, condition: r.condition }]));
  return (id: string, version: number) => byKey.get(`${id}@${version}`);
};

describe('stored explanations', () => {
  const p = program(RULES);
  const conditionOf = (id: string) => RULES.find((r) => r.id === id)?.condition;
  const stays = [
    event('stay', { nights: 2, hotel: 'BJ-2', score: 3.5, coupons: ['C'], bookedAt: '2025-02-01T10:00:00Z' }),
    event('stay', { nights: 0, hotel: 'SH-9', checkIn: '2025-03-01' }),
    event('stay', { nights: 12 }),
  ];

  it.each(stays.map((e, i) => [i, e] as const))('read back whole, exactly as evaluated (stay %i)', (_i, e) => {
    const shown = withoutOtherEventTypes(run(p, e, member({ tags: ['new'] })).explanation!);
    const stored = toStoredExplanation(shown, conditionOf);
    const text = JSON.stringify(stored);
    expect(text.length).toBeLessThan(JSON.stringify(shown).length * 0.6);
    expect(stored.rules.filter((r) => !('name' in r)).length).toBeGreaterThanOrEqual(8);
    const back = fromStoredExplanation(JSON.parse(text), facts(RULES));
    expect(back).toEqual(JSON.parse(JSON.stringify(shown)));
  });

  it('counts the rules of other event types instead of listing them', () => {
    const shown = withoutOtherEventTypes(run(p, stays[0]!, member()).explanation!) as unknown as { otherEventTypes: unknown; rules: Array<{ ruleId: string }> };
    expect(shown.otherEventTypes).toEqual({ rules: 1, campaigns: 0 });
    expect(shown.rules.map((r) => r.ruleId)).not.toContain('purchase-only');
  });

  it('names the rule versions it needs, and leaves a trace compact when its version is unknown', () => {
    const shown = withoutOtherEventTypes(run(p, stays[0]!, member()).explanation!);
    const stored = toStoredExplanation(shown, conditionOf);
    expect(compactedRuleVersions(stored)).toContainEqual({ ruleId: 'gte', version: 1 });
    const back = fromStoredExplanation(stored, () => undefined);
    expect(back.rules.find((r) => r.ruleId === 'gte')).toEqual({ ruleId: 'gte', version: 1, outcome: 'notMatched', failed: { path: 'condition', actual: 2 } });
  });

  // Each part of a failure that its rule version would not give back, changed on its own.
  const tampered: Array<[string, (f: Record<string, unknown>) => void]> = [
    ['message', (f) => (f.message = `${String(f.message)}!`)],
    ['expected', (f) => (f.expected = 6)],
    ['field', (f) => (f.field = 'event.attributes.score')],
    ['op', (f) => (f.op = 'gt')],
    ['an extra key', (f) => (f.hint = 'x')],
    ['the order of its keys', (f) => {
      const { path, ...rest } = f;
      for (const k of Object.keys(f)) delete f[k];
      Object.assign(f, rest, { path });
    }],
  ];
  it.each(tampered)('stores a trace whole when its %s differs from what the rule version gives back', (_what, tamper) => {
    const shown = withoutOtherEventTypes(run(p, stays[0]!, member()).explanation!);
    const copy = JSON.parse(JSON.stringify(shown)) as typeof shown;
    const gte = copy.rules.find((r) => r.ruleId === 'gte')!;
    const failed = { ...gte.failed!, field: gte.failed!.field, expected: gte.failed!.expected, alternatives: undefined } as unknown as Record<string, unknown>;
    const ordered: Record<string, unknown> = {};
    for (const k of ['path', 'field', 'op', 'expected', 'actual', 'message', 'alternatives']) ordered[k] = failed[k];
    tamper(ordered);
    // The rule's reason is its failure's message (a trace whose two differ is never compacted).
    Object.assign(gte, { failed: ordered, reason: ordered.message });
    const untampered = toStoredExplanation(shown, conditionOf).rules.find((r) => r.ruleId === 'gte')!;
    expect(untampered).not.toHaveProperty('name');
    const stored = toStoredExplanation(copy, conditionOf).rules.find((r) => r.ruleId === 'gte')!;
    expect(stored).toMatchObject({ name: 'rule gte', outcome: 'notMatched', failed: ordered });
  });

  it('stores a trace whole when its rule condition cannot give it back (a condition that differs from the one evaluated)', () => {
    const shown = withoutOtherEventTypes(run(p, stays[0]!, member()).explanation!);
    const stored = toStoredExplanation(shown, (id) => (id === 'gte' ? { field: 'event.attributes.nights', op: 'gte', value: 6 } : conditionOf(id)));
    expect(stored.rules.find((r) => r.ruleId === 'gte')).toMatchObject({ name: 'rule gte', outcome: 'notMatched' });
  });
});

describe('sameJson', () => {
  const pairs: Array<[unknown, unknown]> = [
    [1, 1], [1, 2], ['a', 'a'], ['1', 1], [null, null], [null, undefined], [0, -0], [Number.NaN, null],
    [[1, [2, 'x']], [1, [2, 'x']]], [[1, 2], [2, 1]], [[undefined], [null]], [[1], [1, 2]],
    [{ a: 1, b: [2] }, { a: 1, b: [2] }], [{ a: 1, b: 2 }, { b: 2, a: 1 }], [{ a: 1, c: undefined }, { a: 1 }], [{ a: 1 }, { a: 1, b: null }],
    [{ a: { b: { c: 'd' } } }, { a: { b: { c: 'e' } } }], [new Date(0), new Date(1)], [new Date(0), '1970-01-01T00:00:00.000Z'], [[], {}],
  ];
  it.each(pairs)('never says equal where JSON differs, and agrees on plain data: %j ~ %j', (a, b) => {
    const json = JSON.stringify(a) === JSON.stringify(b);
    const same = sameJson(a, b);
    if (same) expect(json).toBe(true);
    // Plain data (no Dates, no NaN): the two agree exactly.
    const plain = !(a instanceof Date) && !(b instanceof Date) && !Number.isNaN(a) && !Number.isNaN(b);
    if (plain) expect(same).toBe(json);
  });
});
