import Value from 'typebox/value';
import { describe, expect, it } from 'vitest';
import {
  builtInEventTypes,
  EventAttributesSchemaSchema,
  validateEventAttributes,
  validateEventTypeSchema,
  type EventAttributesSchema,
} from './event-types.js';
import { STAY } from './test-helpers.js';

const purchase = builtInEventTypes.purchase as EventAttributesSchema;
const payment = builtInEventTypes.payment as EventAttributesSchema;

describe('built-in event types', () => {
  it.each(Object.keys(builtInEventTypes))('%s is a valid attribute schema (ours and TypeBox agree)', (name) => {
    const schema = builtInEventTypes[name as keyof typeof builtInEventTypes];
    expect(validateEventTypeSchema(schema)).toEqual([]);
    expect(Value.Check(EventAttributesSchemaSchema, schema)).toBe(true);
  });

  it('lists the eight built-in types', () => {
    expect(Object.keys(builtInEventTypes).sort()).toEqual(
      ['bind_phone', 'invite', 'payment', 'profile_completed', 'purchase', 'review', 'share', 'sign_in'].sort(),
    );
  });
});

describe('validateEventAttributes', () => {
  it('accepts a full purchase with lines', () => {
    const attrs = {
      amount: 12345,
      currency: 'CNY',
      category: 'wine',
      sku: 'w-1',
      store: 's1',
      nights: 2,
      lines: [
        { sku: 'w-1', category: 'wine', amount: 10000, quantity: 2 },
        { sku: 'f-1', category: 'food', amount: 2345 },
      ],
      extra: 'hosts may send more',
    };
    expect(validateEventAttributes(purchase, attrs)).toEqual([]);
  });

  it.each<[string, EventAttributesSchema, unknown, { path: string; message: RegExp }[]]>([
    ['missing required amount', purchase, { currency: 'CNY' }, [{ path: 'attributes.amount', message: /required/ }]],
    ['amount as a string', purchase, { amount: '100' }, [{ path: 'attributes.amount', message: /integer/ }]],
    ['amount as a float', purchase, { amount: 1.5 }, [{ path: 'attributes.amount', message: /integer/ }]],
    ['negative amount', purchase, { amount: -1 }, [{ path: 'attributes.amount', message: /≥ 0/ }]],
    ['bad currency', purchase, { amount: 1, currency: 'yuan' }, [{ path: 'attributes.currency', message: /match/ }]],
    [
      'a bad line deep inside',
      purchase,
      { amount: 1, lines: [{ amount: 1 }, { amount: 1 }, { sku: 'x', amount: 'ten' }] },
      [{ path: 'attributes.lines[2].amount', message: /integer/ }],
    ],
    ['a line without its required amount', purchase, { amount: 1, lines: [{ sku: 'x' }] }, [{ path: 'attributes.lines[0].amount', message: /required/ }]],
    ['lines not an array', purchase, { amount: 1, lines: {} }, [{ path: 'attributes.lines', message: /array/ }]],
    [
      'a split with an unknown method',
      payment,
      { amount: 100, splits: [{ method: 'bitcoin', amount: 100 }] },
      [{ path: 'attributes.splits[0].method', message: /one of/ }],
    ],
    ['attributes not an object', purchase, [], [{ path: 'attributes', message: /object/ }]],
    ['a date that does not exist', STAY.stay!, { nights: 1, checkIn: '2025-02-30' }, [{ path: 'attributes.checkIn', message: /date/ }]],
    ['a date-time without offset', STAY.stay!, { nights: 1, bookedAt: '2025-02-03T10:00:00' }, [{ path: 'attributes.bookedAt', message: /offset/ }]],
    ['a scalar array item of the wrong type', STAY.stay!, { nights: 1, coupons: ['a', 2] }, [{ path: 'attributes.coupons[1]', message: /string/ }]],
  ])('%s', (_name, schema, attrs, want) => {
    const got = validateEventAttributes(schema, attrs);
    expect(got.map((g) => g.path)).toEqual(want.map((w) => w.path));
    got.forEach((g, i) => expect(g.message).toMatch(want[i]!.message));
  });

  it('refuses undeclared attributes when the schema says additionalProperties: false', () => {
    const strict: EventAttributesSchema = { type: 'object', properties: { a: { type: 'integer' } }, additionalProperties: false };
    expect(validateEventAttributes(strict, { a: 1 })).toEqual([]);
    expect(validateEventAttributes(strict, { a: 1, b: 2 }).map((i) => i.path)).toEqual(['attributes.b']);
  });
});

describe('validateEventTypeSchema (the schema of the schema)', () => {
  it('accepts a custom type with every attribute kind', () => {
    expect(validateEventTypeSchema(STAY.stay)).toEqual([]);
  });

  it.each<[string, unknown, string, RegExp]>([
    ['not an object type', { type: 'array', properties: {} }, 'schema.type', /"object"/],
    ['an unknown attribute type', { type: 'object', properties: { a: { type: 'money' } } }, 'schema.properties.a.type', /one of/],
    ['a misspelt keyword', { type: 'object', properties: { a: { type: 'integer', minimun: 1 } } }, 'schema.properties.a.minimun', /not a known property/],
    ['required names an undeclared attribute', { type: 'object', properties: {}, required: ['amount'] }, 'schema.required[0]', /amount/],
    ['an empty enum', { type: 'object', properties: { a: { type: 'string', enum: [] } } }, 'schema.properties.a.enum', /empty/],
    ['a duplicated enum value', { type: 'object', properties: { a: { type: 'string', enum: ['x', 'x'] } } }, 'schema.properties.a.enum', /duplicates/],
    ['nested arrays', { type: 'object', properties: { a: { type: 'array', items: { type: 'array' } } } }, 'schema.properties.a.items.type', /object|string|integer/],
    ['an object nested in an item', { type: 'object', properties: { a: { type: 'array', items: { type: 'object', properties: { b: { type: 'object' } } } } } }, 'schema.properties.a.items.properties.b.type', /one of/],
    ['a bad regular expression', { type: 'object', properties: { a: { type: 'string', pattern: '(' } } }, 'schema.properties.a.pattern', /regular expression/],
    ['minimum above maximum', { type: 'object', properties: { a: { type: 'integer', minimum: 5, maximum: 1 } } }, 'schema.properties.a.minimum', /maximum/],
    ['a non-identifier attribute name', { type: 'object', properties: { 'a-b': { type: 'integer' } } }, 'schema.properties["a-b"]', /identifier/],
  ])('%s', (_name, schema, path, message) => {
    const issues = validateEventTypeSchema(schema);
    expect(issues[0]?.path).toBe(path);
    expect(issues[0]?.message).toMatch(message);
  });
});
