import Type from 'typebox';
import { childPath, isPlainObject, type Issue } from './issues.js';
import { checkShape, type JsonSchema } from './shape.js';

/**
 * Event types and their attribute schemas. An attribute schema is a small subset of JSON Schema
 * (so it can be published in the OpenAPI document as is): an object of named attributes, each a
 * string (optionally an enum, a date or a date-time), an integer, a number, a boolean, or an
 * array of such scalars or of flat objects (order lines, payment splits). Amounts are integers
 * in minor units; `number` exists for measurements such as a rating average and cannot feed a
 * reward, because rewards are integer arithmetic.
 */

const Name = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$', errorMessage: 'must be an identifier (letters, digits, _; at most 64)' });
const Text = Type.Optional(Type.String({ maxLength: 500 }));

export const StringAttributeSchema = Type.Object(
  {
    type: Type.Literal('string'),
    enum: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { minItems: 1, maxItems: 200 })),
    format: Type.Optional(Type.Union([Type.Literal('date'), Type.Literal('date-time')])),
    minLength: Type.Optional(Type.Integer({ minimum: 0 })),
    maxLength: Type.Optional(Type.Integer({ minimum: 1 })),
    pattern: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    title: Text,
    description: Text,
  },
  { additionalProperties: false },
);

export const IntegerAttributeSchema = Type.Object(
  {
    type: Type.Literal('integer'),
    minimum: Type.Optional(Type.Integer()),
    maximum: Type.Optional(Type.Integer()),
    title: Text,
    description: Text,
  },
  { additionalProperties: false },
);

export const NumberAttributeSchema = Type.Object(
  {
    type: Type.Literal('number'),
    minimum: Type.Optional(Type.Number()),
    maximum: Type.Optional(Type.Number()),
    title: Text,
    description: Text,
  },
  { additionalProperties: false },
);

export const BooleanAttributeSchema = Type.Object(
  { type: Type.Literal('boolean'), title: Text, description: Text },
  { additionalProperties: false },
);

export const ScalarAttributeSchema = Type.Union([
  StringAttributeSchema,
  IntegerAttributeSchema,
  NumberAttributeSchema,
  BooleanAttributeSchema,
]);

export const ItemObjectSchema = Type.Object(
  {
    type: Type.Literal('object'),
    properties: Type.Record(Type.String(), ScalarAttributeSchema),
    required: Type.Optional(Type.Array(Name)),
    additionalProperties: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const ArrayAttributeSchema = Type.Object(
  {
    type: Type.Literal('array'),
    items: Type.Union([ItemObjectSchema, StringAttributeSchema, IntegerAttributeSchema]),
    minItems: Type.Optional(Type.Integer({ minimum: 0 })),
    maxItems: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    title: Text,
    description: Text,
  },
  { additionalProperties: false },
);

export const AttributeSchema = Type.Union([ScalarAttributeSchema, ArrayAttributeSchema]);

/** The schema of an event type's attribute schema ("the schema of the schema"). */
export const EventAttributesSchemaSchema = Type.Object(
  {
    type: Type.Literal('object'),
    properties: Type.Record(Type.String(), AttributeSchema),
    required: Type.Optional(Type.Array(Name)),
    additionalProperties: Type.Optional(Type.Boolean()),
    title: Text,
    description: Text,
  },
  { additionalProperties: false },
);

export type ScalarAttribute = Type.Static<typeof ScalarAttributeSchema>;
export type ArrayAttribute = Type.Static<typeof ArrayAttributeSchema>;
export type AttributeDefinition = Type.Static<typeof AttributeSchema>;
export type ItemObjectDefinition = Type.Static<typeof ItemObjectSchema>;
export type EventAttributesSchema = Type.Static<typeof EventAttributesSchemaSchema>;

const minorUnits = (description: string) => ({ type: 'integer', minimum: 0, description }) as const;
const str = (description: string) => ({ type: 'string', maxLength: 200, description }) as const;

/** Attribute schemas of the event types every program has. Operators may declare more. */
export const builtInEventTypes = {
  purchase: {
    type: 'object',
    properties: {
      amount: minorUnits('order total in minor units (cents, fen)'),
      currency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217 code' },
      category: str('main product category'),
      sku: str('main SKU'),
      store: str('store code'),
      city: str('city'),
      orderId: str('host order id'),
      nights: { type: 'integer', minimum: 0, description: 'room nights, for stays' },
      lines: {
        type: 'array',
        maxItems: 1000,
        items: {
          type: 'object',
          properties: {
            sku: str('SKU'),
            category: str('category'),
            amount: minorUnits('line total in minor units'),
            quantity: { type: 'integer', minimum: 0 },
          },
          required: ['amount'],
        },
      },
    },
    required: ['amount'],
  },
  payment: {
    type: 'object',
    properties: {
      amount: minorUnits('amount paid in minor units'),
      currency: { type: 'string', pattern: '^[A-Z]{3}$' },
      orderId: str('host order id'),
      splits: {
        type: 'array',
        maxItems: 20,
        items: {
          type: 'object',
          properties: {
            method: { type: 'string', enum: ['stored_value', 'card', 'cash', 'wallet', 'other'] },
            amount: minorUnits('part paid by this method, in minor units'),
          },
          required: ['method', 'amount'],
        },
      },
    },
    required: ['amount'],
  },
  sign_in: { type: 'object', properties: {} },
  share: {
    type: 'object',
    properties: { target: str('where it was shared'), contentId: str('what was shared') },
  },
  invite: {
    type: 'object',
    properties: { inviteeId: str('the invited member'), stage: { type: 'string', enum: ['registered', 'first_purchase'] } },
  },
  review: {
    type: 'object',
    properties: {
      orderId: str('reviewed order'),
      rating: { type: 'integer', minimum: 1, maximum: 5 },
      length: { type: 'integer', minimum: 0, description: 'characters of text' },
      hasImage: { type: 'boolean' },
    },
  },
  profile_completed: { type: 'object', properties: {} },
  bind_phone: { type: 'object', properties: {} },
} as const satisfies Record<string, EventAttributesSchema>;

export type BuiltInEventType = keyof typeof builtInEventTypes;

export const EVENT_TYPE_NAME_PATTERN = '^[a-z][a-z0-9_]{0,63}$';

/** Checks an operator's attribute schema: its shape, then what a shape cannot say. */
export function validateEventTypeSchema(schema: unknown, path = 'schema'): Issue[] {
  const out: Issue[] = [];
  checkShape(EventAttributesSchemaSchema as unknown as JsonSchema, schema, path, out);
  if (out.length > 0 || !isPlainObject(schema)) return out;
  const s = schema as EventAttributesSchema;
  checkObjectLike(s.properties, s.required, path, out);
  for (const [name, def] of Object.entries(s.properties)) {
    const p = childPath(childPath(path, 'properties'), name);
    checkName(name, p, out);
    checkScalarOrArray(def, p, out);
  }
  return out;
}

function checkName(name: string, path: string, out: Issue[]): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) out.push({ path, message: 'attribute names must be identifiers' });
}

function checkObjectLike(props: Record<string, unknown>, required: readonly string[] | undefined, path: string, out: Issue[]): void {
  for (const [i, r] of (required ?? []).entries()) {
    if (!(r in props)) out.push({ path: childPath(childPath(path, 'required'), i), message: `names no declared attribute '${r}'` });
  }
}

function checkScalarOrArray(def: AttributeDefinition, path: string, out: Issue[]): void {
  if (def.type === 'array') {
    const items = def.items;
    if (items.type === 'object') {
      checkObjectLike(items.properties, items.required, childPath(path, 'items'), out);
      for (const [name, f] of Object.entries(items.properties)) {
        const p = childPath(childPath(childPath(path, 'items'), 'properties'), name);
        checkName(name, p, out);
        checkScalar(f, p, out);
      }
    } else {
      checkScalar(items, childPath(path, 'items'), out);
    }
    return;
  }
  checkScalar(def, path, out);
}

function checkScalar(def: ScalarAttribute, path: string, out: Issue[]): void {
  if ((def.type === 'integer' || def.type === 'number') && def.minimum !== undefined && def.maximum !== undefined && def.minimum > def.maximum) {
    out.push({ path: childPath(path, 'minimum'), message: 'must not exceed maximum' });
  }
  if (def.type === 'string') {
    if (def.enum && new Set(def.enum).size !== def.enum.length) out.push({ path: childPath(path, 'enum'), message: 'has duplicates' });
    if (def.enum && def.format) out.push({ path: childPath(path, 'format'), message: 'an enum has no format' });
    if (def.pattern !== undefined) {
      try {
        new RegExp(def.pattern, 'u');
      } catch {
        out.push({ path: childPath(path, 'pattern'), message: 'is not a valid regular expression' });
      }
    }
  }
}

/**
 * Checks an event's attributes against its type's schema. Returns pointed errors
 * (`attributes.lines[2].amount: must be an integer`); an empty list means valid.
 * Attributes the schema does not declare are accepted unless it says `additionalProperties: false`:
 * hosts send more than rules look at, and no rule can read an undeclared attribute anyway.
 */
export function validateEventAttributes(schema: EventAttributesSchema, attributes: unknown): Issue[] {
  const out: Issue[] = [];
  checkShape(schema as unknown as JsonSchema, attributes, 'attributes', out);
  return out;
}
