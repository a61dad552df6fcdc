import { describe, expect, it } from 'vitest';
import { program, rule } from './test-helpers.js';

describe('whether a compiled program reads member facts', () => {
  it('does not when nothing names a tier, plan or segment', () => {
    expect(program([rule({ id: 'base', condition: { field: 'event.attributes.amount', op: 'gte', value: 1 } })]).readsMemberFacts).toBe(false);
  });

  it.each([
    ['a tier condition', rule({ id: 'gold', condition: { field: 'member.tier', op: 'eq', value: 'gold' } })],
    ['a plan condition nested in any', rule({ id: 'plus', condition: { any: [{ field: 'member.plans', op: 'contains', value: 'plus' }, { field: 'event.attributes.amount', op: 'gte', value: 1 }] } })],
    ['a segment condition', rule({ id: 'seg', condition: { field: 'member.segments', op: 'contains', value: 'hv' } })],
    ['tier multipliers on a rule', rule({ id: 'mult', multiplierPolicy: { tiers: { gold: '2' } } })],
  ])('does with %s', (_label, r) => {
    expect(program([r]).readsMemberFacts).toBe(true);
  });

  it('does when the program default multiplies by plan', () => {
    expect(program([rule({ id: 'base' })], [], { multiplierDefaults: { plans: { plus: '2' } } }).readsMemberFacts).toBe(true);
  });
});
