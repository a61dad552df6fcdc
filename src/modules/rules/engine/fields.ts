import type { EvalContext } from './context.js';
import {
  builtInEventTypes,
  type AttributeDefinition,
  type EventAttributesSchema,
  type ItemObjectDefinition,
  type ScalarAttribute,
} from './event-types.js';
import { childPath, type Issue } from './issues.js';
import { parseInstant } from './local-time.js';
import type { RuleContext } from './types.js';

/**
 * The catalogue of fields a condition may read, with their types. Types come from the declared
 * schemas of the rule's event types, so a rule that compares a string attribute with a number,
 * or names an attribute its event types do not have, is refused when saved rather than silently
 * never matching.
 */
export type FieldKind =
  | 'string'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'date'
  | 'datetime'
  | 'stringArray'
  | 'integerArray'
  | 'objectArray';

export interface FieldType {
  kind: FieldKind;
  /** the allowed values of an enum string */
  enumValues?: readonly string[];
  min?: number;
  max?: number;
}

export type Getter = (c: EvalContext) => unknown;

export interface ResolvedField {
  type: FieldType;
  get: Getter;
}

export interface ConditionScope {
  /** the event types the rule or campaign listens to, with their attribute schemas */
  eventTypes: ReadonlyArray<{ name: string; schema: EventAttributesSchema }>;
  /** set inside an item condition: the array and its item schema */
  item?: { array: string; schema: ItemObjectDefinition | ScalarAttribute };
  tierCodes?: readonly string[];
  planCodes?: readonly string[];
}

const nullToUndefined = (v: unknown): unknown => (v === null ? undefined : v);

const fixedFields: Record<string, (scope: ConditionScope) => ResolvedField> = {
  'event.type': (s) => ({ type: { kind: 'string', enumValues: s.eventTypes.map((e) => e.name) }, get: (c) => c.event.type }),
  'event.channel': () => ({ type: { kind: 'string' }, get: (c) => nullToUndefined(c.event.channel) }),
  'event.channelKind': () => ({
    type: { kind: 'string', enumValues: ['owned', 'partner'] },
    get: (c) => {
      const ch = c.event.channel;
      return ch === null || c.channelKinds === undefined ? undefined : c.channelKinds[ch];
    },
  }),
  'member.tier': (s) => ({ type: { kind: 'string', enumValues: s.tierCodes }, get: (c) => nullToUndefined(c.member.tierCode) }),
  'member.plans': (s) => ({ type: { kind: 'stringArray', enumValues: s.planCodes }, get: (c) => c.member.planCodes }),
  'member.tags': () => ({ type: { kind: 'stringArray' }, get: (c) => c.member.tags }),
  'member.segments': () => ({ type: { kind: 'stringArray' }, get: (c) => c.member.segments }),
  'member.birthdayMonth': () => ({ type: { kind: 'boolean' }, get: (c) => c.birthdayMonth }),
  'member.isBirthday': () => ({ type: { kind: 'boolean' }, get: (c) => c.isBirthday }),
  'member.daysSinceJoining': () => ({ type: { kind: 'integer' }, get: (c) => c.daysSinceJoining }),
  'time.date': () => ({ type: { kind: 'date' }, get: (c) => c.date }),
  'time.weekday': () => ({ type: { kind: 'integer', min: 1, max: 7 }, get: (c) => c.t.weekday }),
  'time.monthDay': () => ({ type: { kind: 'integer', min: 1, max: 31 }, get: (c) => c.t.day }),
  'time.month': () => ({ type: { kind: 'integer', min: 1, max: 12 }, get: (c) => c.t.month }),
  'time.hour': () => ({ type: { kind: 'integer', min: 0, max: 23 }, get: (c) => c.t.hour }),
};

export const FIXED_FIELDS: readonly string[] = Object.keys(fixedFields);

/** Resolves a field path, or returns why it cannot be read in this scope. */
export function resolveField(path: string, scope: ConditionScope): ResolvedField | string {
  const fixed = fixedFields[path];
  if (fixed) return fixed(scope);
  if (path.startsWith('event.attributes.')) return resolveAttribute(path.slice('event.attributes.'.length), scope);
  if (path === 'item' || path.startsWith('item.')) return resolveItemField(path, scope);
  return `unknown field '${path}' (known: ${FIXED_FIELDS.join(', ')}, event.attributes.<name>, item.<field>)`;
}

/** The type of a top-level attribute, which must be declared alike by every event type in scope. */
export function attributeType(name: string, scope: ConditionScope): { type: FieldType; def: AttributeDefinition } | string {
  if (scope.eventTypes.length === 0) return `attribute '${name}' cannot be used without event types`;
  let found: { type: FieldType; def: AttributeDefinition } | undefined;
  for (const et of scope.eventTypes) {
    const def = et.schema.properties[name];
    if (!def) return `unknown attribute '${name}' for event type '${et.name}'`;
    const type = typeOfAttribute(def);
    if (found && found.type.kind !== type.kind) {
      return `attribute '${name}' is ${found.type.kind} in one event type and ${type.kind} in '${et.name}'`;
    }
    if (found?.type.enumValues && type.enumValues) {
      type.enumValues = [...new Set([...found.type.enumValues, ...type.enumValues])];
    } else if (found && (!found.type.enumValues || !type.enumValues)) {
      delete type.enumValues; // one type accepts any string: so must the condition
    }
    found = { type, def };
  }
  return found!;
}

function resolveAttribute(name: string, scope: ConditionScope): ResolvedField | string {
  if (name.includes('.')) return `attribute paths have one level: '${name}' (use item.<field> in an item condition)`;
  const t = attributeType(name, scope);
  if (typeof t === 'string') return t;
  return { type: t.type, get: attributeGetter(t.type.kind, (c) => c.attrs[name]) };
}

function resolveItemField(path: string, scope: ConditionScope): ResolvedField | string {
  if (!scope.item) return `'${path}' can only be used in the item condition of an array reward`;
  const schema = scope.item.schema;
  if (schema.type !== 'object') {
    if (path !== 'item') return `items of '${scope.item.array}' are scalars: use the field 'item'`;
    const type = typeOfAttribute(schema);
    return { type, get: attributeGetter(type.kind, (c) => c.item) };
  }
  const name = path.slice('item.'.length);
  const def = schema.properties[name];
  if (!def) return `unknown field '${name}' in items of '${scope.item.array}' (known: ${Object.keys(schema.properties).join(', ')})`;
  const type = typeOfAttribute(def);
  return { type, get: attributeGetter(type.kind, (c) => (c.item as Record<string, unknown> | null | undefined)?.[name]) };
}

function attributeGetter(kind: FieldKind, raw: Getter): Getter {
  if (kind === 'datetime') {
    // Instants compare as epoch milliseconds; an unparseable string reads as absent.
    return (c) => parseInstant(raw(c)) ?? undefined;
  }
  return (c) => nullToUndefined(raw(c));
}

export function typeOfAttribute(def: AttributeDefinition): FieldType {
  switch (def.type) {
    case 'string':
      if (def.format === 'date') return { kind: 'date' };
      if (def.format === 'date-time') return { kind: 'datetime' };
      return def.enum ? { kind: 'string', enumValues: [...def.enum] } : { kind: 'string' };
    case 'integer':
      return { kind: 'integer', min: def.minimum, max: def.maximum };
    case 'number':
      return { kind: 'number' };
    case 'boolean':
      return { kind: 'boolean' };
    case 'array':
      if (def.items.type === 'object') return { kind: 'objectArray' };
      if (def.items.type === 'integer') return { kind: 'integerArray' };
      return def.items.enum ? { kind: 'stringArray', enumValues: [...def.items.enum] } : { kind: 'stringArray' };
  }
}

/** The event types a program knows: built-ins, then the program's own declarations. */
export function eventTypeSchemas(ctx: RuleContext): Readonly<Record<string, EventAttributesSchema>> {
  return ctx.eventTypes ? { ...builtInEventTypes, ...ctx.eventTypes } : builtInEventTypes;
}

/** The scope of a rule or campaign listening to `eventTypes`; unknown types are reported. */
export function scopeFor(eventTypes: readonly string[], ctx: RuleContext, path: string, out: Issue[]): ConditionScope {
  const known = eventTypeSchemas(ctx);
  const list: { name: string; schema: EventAttributesSchema }[] = [];
  eventTypes.forEach((name, i) => {
    const schema = Object.prototype.hasOwnProperty.call(known, name) ? known[name] : undefined;
    if (!schema) out.push({ path: childPath(path, i), message: `unknown event type '${name}' (known: ${Object.keys(known).join(', ')})` });
    else if (list.some((e) => e.name === name)) out.push({ path: childPath(path, i), message: `event type '${name}' is listed twice` });
    else list.push({ name, schema });
  });
  return { eventTypes: list, tierCodes: ctx.program.tierCodes, planCodes: ctx.program.planCodes };
}
