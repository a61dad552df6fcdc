import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileCondition } from './conditions.js';
import { EvalContext } from './context.js';
import { scopeFor } from './fields.js';
import { ZoneClock } from './local-time.js';
import type { Condition } from './schemas.js';
import { event, member, PROGRAM, STAY } from './test-helpers.js';
import type { EngineEvent, MemberContext } from './types.js';

const clock = new ZoneClock('Asia/Shanghai');
const scopeOf = (types: string[]) => scopeFor(types, { program: PROGRAM, eventTypes: STAY }, 'eventTypes', []);

/** Compiles, evaluates, and checks that the explaining path agrees with the fast path. */
function holds(cond: Condition, e: EngineEvent, m: MemberContext = member()): boolean {
  const compiled = compileCondition(cond, scopeOf([e.type]));
  const ctx = new EvalContext(e, m, clock, PROGRAM.channelKinds);
  const result = compiled.test(ctx);
  expect(compiled.explain(ctx) === null).toBe(result);
  return result;
}

const stay = (attrs: Record<string, unknown>, at?: string, channel?: string | null) => event('stay', { nights: 1, ...attrs }, at, channel);

describe('every operator', () => {
  type Row = [string, Condition, EngineEvent, boolean, MemberContext?];
  const rows: Row[] = [
    // eq / ne on each scalar kind, and on absent values
    ['eq integer, equal', { field: 'event.attributes.nights', op: 'eq', value: 3 }, stay({ nights: 3 }), true],
    ['eq integer, different', { field: 'event.attributes.nights', op: 'eq', value: 3 }, stay({ nights: 4 }), false],
    ['eq string', { field: 'event.attributes.hotel', op: 'eq', value: 'SH01' }, stay({ hotel: 'SH01' }), true],
    ['eq string is case-sensitive', { field: 'event.attributes.hotel', op: 'eq', value: 'SH01' }, stay({ hotel: 'sh01' }), false],
    ['eq enum', { field: 'event.attributes.roomType', op: 'eq', value: 'suite' }, stay({ roomType: 'suite' }), true],
    ['eq number', { field: 'event.attributes.score', op: 'eq', value: 4.5 }, stay({ score: 4.5 }), true],
    ['eq boolean', { field: 'event.attributes.hasImage', op: 'eq', value: true }, event('review', { hasImage: true }), true],
    ['eq boolean false vs true', { field: 'event.attributes.hasImage', op: 'eq', value: false }, event('review', { hasImage: true }), false],
    ['eq date', { field: 'event.attributes.checkIn', op: 'eq', value: '2025-03-08' }, stay({ checkIn: '2025-03-08' }), true],
    ['eq date-time compares instants', { field: 'event.attributes.bookedAt', op: 'eq', value: '2025-03-08T10:00:00+08:00' }, stay({ bookedAt: '2025-03-08T02:00:00Z' }), true],
    ['eq on an absent attribute', { field: 'event.attributes.hotel', op: 'eq', value: 'SH01' }, stay({}), false],
    ['ne, different', { field: 'event.attributes.hotel', op: 'ne', value: 'SH01' }, stay({ hotel: 'BJ01' }), true],
    ['ne, equal', { field: 'event.attributes.hotel', op: 'ne', value: 'SH01' }, stay({ hotel: 'SH01' }), false],
    ['ne on an absent attribute (negation of eq)', { field: 'event.attributes.hotel', op: 'ne', value: 'SH01' }, stay({}), true],
    ['ne on a null channel', { field: 'event.channel', op: 'ne', value: 'app' }, stay({}, undefined, null), true],
    // in / notIn
    ['in, member', { field: 'event.channel', op: 'in', value: ['app', 'store'] }, stay({}, undefined, 'store'), true],
    ['in, not a member', { field: 'event.channel', op: 'in', value: ['app', 'store'] }, stay({}, undefined, 'ota'), false],
    ['in, absent', { field: 'event.channel', op: 'in', value: ['app'] }, stay({}, undefined, null), false],
    ['in integers', { field: 'event.attributes.nights', op: 'in', value: [1, 2, 3] }, stay({ nights: 2 }), true],
    ['in, long list (set lookup)', { field: 'event.attributes.nights', op: 'in', value: [10, 11, 12, 13, 14, 15, 16, 17, 18, 2] }, stay({ nights: 2 }), true],
    ['in, long list, miss', { field: 'event.attributes.nights', op: 'in', value: [10, 11, 12, 13, 14, 15, 16, 17, 18, 19] }, stay({ nights: 2 }), false],
    ['in dates', { field: 'time.date', op: 'in', value: ['2025-03-08', '2025-03-09'] }, stay({}, '2025-03-09T08:00'), true],
    ['notIn, not a member', { field: 'event.channel', op: 'notIn', value: ['ota'] }, stay({}, undefined, 'app'), true],
    ['notIn, member', { field: 'event.channel', op: 'notIn', value: ['ota'] }, stay({}, undefined, 'ota'), false],
    ['notIn, absent', { field: 'event.channel', op: 'notIn', value: ['ota'] }, stay({}, undefined, null), true],
    // ordered comparisons at their boundaries
    ['gt above', { field: 'event.attributes.nights', op: 'gt', value: 3 }, stay({ nights: 4 }), true],
    ['gt at', { field: 'event.attributes.nights', op: 'gt', value: 3 }, stay({ nights: 3 }), false],
    ['gte at', { field: 'event.attributes.nights', op: 'gte', value: 3 }, stay({ nights: 3 }), true],
    ['gte below', { field: 'event.attributes.nights', op: 'gte', value: 3 }, stay({ nights: 2 }), false],
    ['lt below', { field: 'event.attributes.nights', op: 'lt', value: 3 }, stay({ nights: 2 }), true],
    ['lt at', { field: 'event.attributes.nights', op: 'lt', value: 3 }, stay({ nights: 3 }), false],
    ['lte at', { field: 'event.attributes.nights', op: 'lte', value: 3 }, stay({ nights: 3 }), true],
    ['lte above', { field: 'event.attributes.nights', op: 'lte', value: 3 }, stay({ nights: 4 }), false],
    ['gt absent', { field: 'event.attributes.score', op: 'gt', value: 0 }, stay({}), false],
    ['lt absent', { field: 'event.attributes.score', op: 'lt', value: 100 }, stay({}), false],
    ['gt number', { field: 'event.attributes.score', op: 'gt', value: 4.5 }, stay({ score: 4.6 }), true],
    ['gt date', { field: 'time.date', op: 'gt', value: '2025-03-08' }, stay({}, '2025-03-09T00:01'), true],
    ['gt date, same day', { field: 'time.date', op: 'gt', value: '2025-03-08' }, stay({}, '2025-03-08T23:59'), false],
    ['lt date-time', { field: 'event.attributes.bookedAt', op: 'lt', value: '2025-03-01T00:00:00+08:00' }, stay({ bookedAt: '2025-02-28T15:59:00Z' }), true],
    ['lt date-time, equal instant', { field: 'event.attributes.bookedAt', op: 'lt', value: '2025-03-01T00:00:00+08:00' }, stay({ bookedAt: '2025-02-28T16:00:00Z' }), false],
    ['between, low bound included', { field: 'event.attributes.nights', op: 'between', value: [2, 5] }, stay({ nights: 2 }), true],
    ['between, high bound included', { field: 'event.attributes.nights', op: 'between', value: [2, 5] }, stay({ nights: 5 }), true],
    ['between, outside', { field: 'event.attributes.nights', op: 'between', value: [2, 5] }, stay({ nights: 6 }), false],
    ['between dates', { field: 'time.date', op: 'between', value: ['2025-03-01', '2025-03-31'] }, stay({}, '2025-03-31T23:59'), true],
    ['between dates, next local day', { field: 'time.date', op: 'between', value: ['2025-03-01', '2025-03-31'] }, stay({}, '2025-04-01T00:01'), false],
    // exists / notExists
    ['exists, present', { field: 'event.attributes.hotel', op: 'exists' }, stay({ hotel: 'x' }), true],
    ['exists, absent', { field: 'event.attributes.hotel', op: 'exists' }, stay({}), false],
    ['exists, null counts as absent', { field: 'event.attributes.hotel', op: 'exists' }, stay({ hotel: null }), false],
    ['notExists, absent', { field: 'event.attributes.hotel', op: 'notExists' }, stay({}), true],
    ['notExists, present', { field: 'event.attributes.hotel', op: 'notExists' }, stay({ hotel: 'x' }), false],
    ['exists on an array attribute', { field: 'event.attributes.lines', op: 'exists' }, event('purchase', { amount: 1, lines: [] }), true],
    ['notExists tier', { field: 'member.tier', op: 'notExists' }, stay({}), true],
    // contains / containsAny / containsAll
    ['contains tag', { field: 'member.tags', op: 'contains', value: 'vip' }, stay({}), true, member({ tags: ['a', 'vip'] })],
    ['contains tag, missing', { field: 'member.tags', op: 'contains', value: 'vip' }, stay({}), false, member({ tags: ['a'] })],
    ['contains plan', { field: 'member.plans', op: 'contains', value: 'plus' }, stay({}), true, member({ planCodes: ['plus'] })],
    ['contains on a string array attribute', { field: 'event.attributes.coupons', op: 'contains', value: 'C1' }, stay({ coupons: ['C0', 'C1'] }), true],
    ['contains on an integer array attribute', { field: 'event.attributes.vouchers', op: 'contains', value: 7 }, stay({ vouchers: [3, 7] }), true],
    ['contains on an absent array', { field: 'event.attributes.coupons', op: 'contains', value: 'C1' }, stay({}), false],
    ['containsAny, one of', { field: 'member.segments', op: 'containsAny', value: ['hv', 'whale'] }, stay({}), true, member({ segments: ['whale'] })],
    ['containsAny, none', { field: 'member.segments', op: 'containsAny', value: ['hv', 'whale'] }, stay({}), false, member({ segments: ['new'] })],
    ['containsAll, all', { field: 'member.tags', op: 'containsAll', value: ['a', 'b'] }, stay({}), true, member({ tags: ['b', 'c', 'a'] })],
    ['containsAll, some', { field: 'member.tags', op: 'containsAll', value: ['a', 'b'] }, stay({}), false, member({ tags: ['a'] })],
  ];
  it.each(rows)('%s', (_name, cond, e, want, m) => {
    expect(holds(cond, e, m)).toBe(want);
  });
});

describe('member, channel and time fields (program zone)', () => {
  const born = member({ birthday: '1990-03-15', tierCode: 'gold', joinedAt: new Date('2025-03-01T23:30:00+08:00') });
  it.each<[string, Condition, string, boolean, MemberContext?]>([
    ['tier', { field: 'member.tier', op: 'eq', value: 'gold' }, '2025-03-05T12:00', true],
    ['tier in', { field: 'member.tier', op: 'in', value: ['silver', 'platinum'] }, '2025-03-05T12:00', false],
    // 2025-03-31T23:30 in Shanghai is still March; 00:30 on 1 April is not, though it is 31 March in UTC.
    ['birthday month, last local minute of it', { field: 'member.birthdayMonth', op: 'eq', value: true }, '2025-03-31T23:30', true],
    ['birthday month, first local minute after', { field: 'member.birthdayMonth', op: 'eq', value: true }, '2025-04-01T00:30', false],
    ['birthday month false', { field: 'member.birthdayMonth', op: 'eq', value: false }, '2025-04-01T00:30', true],
    ['no birthday: birthdayMonth is absent', { field: 'member.birthdayMonth', op: 'exists' }, '2025-03-05T12:00', false, member()],
    ['isBirthday on the day', { field: 'member.isBirthday', op: 'eq', value: true }, '2025-03-15T00:00', true],
    ['isBirthday the day after', { field: 'member.isBirthday', op: 'eq', value: true }, '2025-03-16T00:00', false],
    ['29 Feb birthday on 28 Feb of a common year', { field: 'member.isBirthday', op: 'eq', value: true }, '2025-02-28T09:00', true, member({ birthday: '2000-02-29' })],
    ['29 Feb birthday on 28 Feb of a leap year', { field: 'member.isBirthday', op: 'eq', value: true }, '2024-02-28T09:00', false, member({ birthday: '2000-02-29' })],
    ['29 Feb birthday on 29 Feb', { field: 'member.isBirthday', op: 'eq', value: true }, '2024-02-29T09:00', true, member({ birthday: '2000-02-29' })],
    // joined 23:30 local, event 40 minutes later on the next local day: one day since joining
    ['days since joining counts local days', { field: 'member.daysSinceJoining', op: 'eq', value: 1 }, '2025-03-02T00:10', true],
    ['days since joining on the day', { field: 'member.daysSinceJoining', op: 'eq', value: 0 }, '2025-03-01T23:59', true],
    ['days since joining < 30', { field: 'member.daysSinceJoining', op: 'lt', value: 30 }, '2025-03-31T00:00', false],
    ['weekday in Shanghai (UTC Saturday is Sunday here)', { field: 'time.weekday', op: 'eq', value: 7 }, '2025-03-08T16:30:00Z', true],
    ['month day in Shanghai', { field: 'time.monthDay', op: 'eq', value: 9 }, '2025-03-08T16:30:00Z', true],
    ['hour in Shanghai', { field: 'time.hour', op: 'eq', value: 0 }, '2025-03-08T16:30:00Z', true],
    ['month', { field: 'time.month', op: 'eq', value: 4 }, '2025-03-31T16:30:00Z', true],
    ['date', { field: 'time.date', op: 'eq', value: '2025-03-09' }, '2025-03-08T16:30:00Z', true],
  ])('%s', (_n, cond, at, want, m = born) => {
    expect(holds(cond, stay({}, at), m)).toBe(want);
  });

  it.each<[string | null, boolean, boolean]>([
    ['app', true, false],
    ['ota', false, true],
    ['kiosk', false, false], // unknown channel: no kind
    [null, false, false],
  ])('channelKind of %s', (channel, owned, partner) => {
    expect(holds({ field: 'event.channelKind', op: 'eq', value: 'owned' }, stay({}, undefined, channel))).toBe(owned);
    expect(holds({ field: 'event.channelKind', op: 'eq', value: 'partner' }, stay({}, undefined, channel))).toBe(partner);
  });
});

describe('all, any, not', () => {
  const tree: Condition = {
    all: [
      { field: 'event.attributes.nights', op: 'gte', value: 2 },
      { any: [{ field: 'event.channel', op: 'eq', value: 'store' }, { field: 'member.tier', op: 'eq', value: 'gold' }] },
      { not: { field: 'member.tags', op: 'contains', value: 'staff' } },
    ],
  };

  it.each<[string, EngineEvent, MemberContext, boolean]>([
    ['all hold via the store', stay({ nights: 2 }, undefined, 'store'), member(), true],
    ['all hold via the tier', stay({ nights: 2 }), member({ tierCode: 'gold' }), true],
    ['too few nights', stay({ nights: 1 }, undefined, 'store'), member(), false],
    ['neither alternative', stay({ nights: 2 }), member(), false],
    ['staff are excluded', stay({ nights: 2 }, undefined, 'store'), member({ tags: ['staff'] }), false],
  ])('%s', (_n, e, m, want) => {
    expect(holds(tree, e, m)).toBe(want);
  });

  it('explains the first failing leaf with actual and expected values', () => {
    const c = compileCondition(tree, scopeOf(['stay']));
    const f = c.explain(new EvalContext(stay({ nights: 1 }), member(), clock));
    expect(f).toMatchObject({ path: 'condition.all[0]', field: 'event.attributes.nights', op: 'gte', expected: 2, actual: 1 });
    expect(f!.message).toBe('event.attributes.nights is 1, expected gte 2');
  });

  it('explains a failed any with each alternative', () => {
    const c = compileCondition(tree, scopeOf(['stay']));
    const f = c.explain(new EvalContext(stay({ nights: 2 }, undefined, 'ota'), member({ tierCode: 'silver' }), clock));
    expect(f).toMatchObject({ path: 'condition.all[1]', op: 'any', message: 'none of 2 alternatives matched' });
    expect(f!.alternatives!.map((a) => [a.path, a.actual])).toEqual([
      ['condition.all[1].any[0]', 'ota'],
      ['condition.all[1].any[1]', 'silver'],
    ]);
  });

  it('explains a failed not', () => {
    const c = compileCondition(tree, scopeOf(['stay']));
    const f = c.explain(new EvalContext(stay({ nights: 2 }, undefined, 'store'), member({ tags: ['staff'] }), clock));
    expect(f).toMatchObject({ path: 'condition.all[2]', op: 'not', message: 'the negated condition matched' });
  });

  it('explains an absent value as null', () => {
    const c = compileCondition({ field: 'event.attributes.hotel', op: 'eq', value: 'SH01' }, scopeOf(['stay']));
    const f = c.explain(new EvalContext(stay({}), member(), clock));
    expect(f).toMatchObject({ actual: null, message: 'event.attributes.hotel is absent, expected eq "SH01"' });
  });
});

describe('algebra (property-based)', () => {
  const scope = scopeOf(['stay']);
  const valueArb = fc.option(fc.constantFrom('SH01', 'BJ01', 'GZ01'), { nil: undefined });
  it('ne ≡ not eq, notIn ≡ not in, notExists ≡ not exists, in ≡ any of eq', () => {
    fc.assert(
      fc.property(valueArb, fc.constantFrom('SH01', 'BJ01', 'GZ01'), fc.uniqueArray(fc.constantFrom('SH01', 'BJ01', 'GZ01'), { minLength: 1 }), (hotel, v, list) => {
        const ctx = new EvalContext(stay(hotel === undefined ? {} : { hotel }), member(), clock);
        const f = 'event.attributes.hotel';
        const t = (c: Condition) => compileCondition(c, scope).test(ctx);
        expect(t({ field: f, op: 'ne', value: v })).toBe(t({ not: { field: f, op: 'eq', value: v } }));
        expect(t({ field: f, op: 'notIn', value: list })).toBe(t({ not: { field: f, op: 'in', value: list } }));
        expect(t({ field: f, op: 'notExists' })).toBe(t({ not: { field: f, op: 'exists' } }));
        expect(t({ field: f, op: 'in', value: list })).toBe(t({ any: list.map((x) => ({ field: f, op: 'eq' as const, value: x })) }));
      }),
      { numRuns: 300 },
    );
  });
});

describe('conditions are data, never code', () => {
  it('a field that looks like code is an unknown field, and a value that looks like code is a plain string', () => {
    expect(() => compileCondition({ field: "constructor.constructor('return process')()", op: 'exists' }, scopeOf(['stay']))).toThrow(/unknown field/);
    const c = compileCondition({ field: 'event.attributes.hotel', op: 'eq', value: '${process.exit(1)}' }, scopeOf(['stay']));
    expect(c.test(new EvalContext(stay({ hotel: '${process.exit(1)}' }), member(), clock))).toBe(true);
  });

  it('no engine source uses eval or the Function constructor', () => {
    const dir = dirname(fileURLToPath(import.meta.url));
    const offenders = readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .filter((f) => /\beval\s*\(|new\s+Function\s*\(|\bFunction\s*\(/.test(readFileSync(join(dir, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
