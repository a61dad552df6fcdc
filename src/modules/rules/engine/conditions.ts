import type { EvalContext } from './context.js';
import { resolveField, type ConditionScope, type FieldKind, type FieldType, type Getter, type ResolvedField } from './fields.js';
import { childPath, isPlainObject, Issues, type Issue } from './issues.js';
import { parseInstant, parseLocalDate } from './local-time.js';
import { OPS, type Condition, type LeafCondition, type Op } from './schemas.js';

/**
 * Conditions are data: a JSON tree validated against the field catalogue and compiled once per
 * rule version into plain closures. Nothing an operator writes is ever turned into code
 * (no eval, no Function), and nothing is looked up by name at evaluation time.
 *
 * Missing values: a field that is absent (an attribute not sent, no tier, no channel) fails
 * every comparison, and `ne`, `notIn`, `notExists` are exact negations of `eq`, `in`, `exists`,
 * so `{ not: { field, op: 'eq' } }` and `{ field, op: 'ne' }` always agree.
 */
export const MAX_CONDITION_DEPTH = 8;
export const MAX_CONDITION_NODES = 200;
export const MAX_LIST_VALUES = 1000;

export interface ConditionFailure {
  /** where the failing node sits in the rule, e.g. `condition.all[1]` */
  path: string;
  field?: string;
  op: string;
  expected?: unknown;
  /** the value read; null when absent */
  actual?: unknown;
  message: string;
  /** for `any`: why each alternative failed */
  alternatives?: ConditionFailure[];
}

export type Predicate = (c: EvalContext) => boolean;
export type Explainer = (c: EvalContext) => ConditionFailure | null;

export interface CompiledCondition {
  /** the hot path: a boolean, no allocation */
  readonly test: Predicate;
  /** the same decision, saying which leaf failed (null when the condition holds) */
  readonly explain: Explainer;
}

export const ALWAYS: CompiledCondition = Object.freeze({ test: () => true, explain: () => null });

const SCALAR: readonly FieldKind[] = ['string', 'integer', 'number', 'boolean', 'date', 'datetime'];
const ORDERED: readonly FieldKind[] = ['integer', 'number', 'date', 'datetime'];
const LISTABLE: readonly FieldKind[] = ['string', 'integer', 'number', 'date'];
const ARRAYS: readonly FieldKind[] = ['stringArray', 'integerArray'];
const ALL_KINDS: readonly FieldKind[] = [...SCALAR, ...ARRAYS, 'objectArray'];

const opKinds: Record<Op, readonly FieldKind[]> = {
  eq: SCALAR,
  ne: SCALAR,
  in: LISTABLE,
  notIn: LISTABLE,
  gt: ORDERED,
  gte: ORDERED,
  lt: ORDERED,
  lte: ORDERED,
  between: ORDERED,
  exists: ALL_KINDS,
  notExists: ALL_KINDS,
  contains: ARRAYS,
  containsAny: ARRAYS,
  containsAll: ARRAYS,
};

/** Validates a condition tree; every problem is added to `out` with its path. */
export function validateCondition(node: unknown, scope: ConditionScope, path: string, out: Issue[]): void {
  const count = { nodes: 0 };
  walk(node, scope, path, 1, count, out);
  if (count.nodes > MAX_CONDITION_NODES) out.push({ path, message: `has ${count.nodes} nodes; at most ${MAX_CONDITION_NODES} are allowed` });
}

function walk(node: unknown, scope: ConditionScope, path: string, depth: number, count: { nodes: number }, out: Issue[]): void {
  count.nodes++;
  if (depth > MAX_CONDITION_DEPTH) {
    out.push({ path, message: `nesting is deeper than ${MAX_CONDITION_DEPTH} levels` });
    return;
  }
  if (!isPlainObject(node)) {
    out.push({ path, message: 'must be an object: { all: [...] }, { any: [...] }, { not: {...} } or { field, op, value }' });
    return;
  }
  const keys = Object.keys(node);
  for (const group of ['all', 'any'] as const) {
    if (!(group in node)) continue;
    if (keys.length !== 1) {
      out.push({ path, message: `a '${group}' node has no other keys (found ${keys.join(', ')})` });
      return;
    }
    const list = node[group];
    const p = childPath(path, group);
    if (!Array.isArray(list)) out.push({ path: p, message: 'must be an array of conditions' });
    else if (list.length === 0) out.push({ path: p, message: `must not be empty (an empty '${group}' is ambiguous)` });
    else list.forEach((child, i) => walk(child, scope, childPath(p, i), depth + 1, count, out));
    return;
  }
  if ('not' in node) {
    if (keys.length !== 1) {
      out.push({ path, message: `a 'not' node has no other keys (found ${keys.join(', ')})` });
      return;
    }
    walk(node.not, scope, childPath(path, 'not'), depth + 1, count, out);
    return;
  }
  if ('field' in node || 'op' in node) {
    validateLeaf(node, scope, path, out);
    return;
  }
  out.push({ path, message: `unknown condition node with keys ${keys.join(', ') || '(none)'}: expected all, any, not or field/op/value` });
}

function validateLeaf(node: Record<string, unknown>, scope: ConditionScope, path: string, out: Issue[]): void {
  for (const k of Object.keys(node)) {
    if (k !== 'field' && k !== 'op' && k !== 'value') out.push({ path: childPath(path, k), message: 'is not a known property (field, op, value)' });
  }
  const { field, op } = node;
  if (typeof field !== 'string') {
    out.push({ path: childPath(path, 'field'), message: 'must be a field path such as event.attributes.amount' });
    return;
  }
  if (typeof op !== 'string' || !(OPS as readonly string[]).includes(op)) {
    out.push({ path: childPath(path, 'op'), message: `unknown op ${JSON.stringify(op)} (known: ${OPS.join(', ')})` });
    return;
  }
  const resolved = resolveField(field, scope);
  if (typeof resolved === 'string') {
    out.push({ path: childPath(path, 'field'), message: resolved });
    return;
  }
  const kind = resolved.type.kind;
  if (!opKinds[op as Op].includes(kind)) {
    out.push({ path: childPath(path, 'op'), message: `'${op}' does not apply to ${describe(resolved.type)} field ${field} (allowed: ${opsFor(kind).join(', ')})` });
    return;
  }
  const err = normalizeValue(op as Op, resolved.type, node.value, 'value' in node);
  if (typeof err === 'string') out.push({ path: childPath(path, 'value'), message: err });
  else if (err.badIndex !== undefined) out.push({ path: childPath(childPath(path, 'value'), err.badIndex), message: err.message! });
}

function describe(t: FieldType): string {
  return t.enumValues && t.kind === 'string' ? 'an enum' : `a ${t.kind}`;
}

function opsFor(kind: FieldKind): Op[] {
  return OPS.filter((o) => opKinds[o].includes(kind));
}

type Normalized = { value: unknown; badIndex?: undefined; message?: undefined } | { badIndex: number; message: string; value?: undefined };

/** Checks a leaf's value against its field and op; returns the value in comparable form, or why not. */
function normalizeValue(op: Op, type: FieldType, value: unknown, present: boolean): Normalized | string {
  switch (op) {
    case 'exists':
    case 'notExists':
      return present ? `'${op}' takes no value` : { value: undefined };
    case 'in':
    case 'notIn':
    case 'containsAny':
    case 'containsAll': {
      if (!Array.isArray(value) || value.length === 0) return `'${op}' needs a non-empty array of values`;
      if (value.length > MAX_LIST_VALUES) return `at most ${MAX_LIST_VALUES} values`;
      const elem = op === 'in' || op === 'notIn' ? type : elementType(type);
      const norm: unknown[] = [];
      for (let i = 0; i < value.length; i++) {
        const r = scalarValue(elem, value[i]);
        if (typeof r === 'string') return { badIndex: i, message: r };
        norm.push(r.value);
      }
      return { value: norm };
    }
    case 'between': {
      if (!Array.isArray(value) || value.length !== 2) return `'between' needs two bounds [low, high]`;
      const lo = scalarValue(type, value[0]);
      if (typeof lo === 'string') return { badIndex: 0, message: lo };
      const hi = scalarValue(type, value[1]);
      if (typeof hi === 'string') return { badIndex: 1, message: hi };
      if ((lo.value as number | string) > (hi.value as number | string)) return 'the low bound is above the high bound';
      return { value: [lo.value, hi.value] };
    }
    case 'contains': {
      if (!present) return `'contains' needs a value`;
      const r = scalarValue(elementType(type), value);
      return typeof r === 'string' ? r : { value: r.value };
    }
    default: {
      if (!present) return `'${op}' needs a value`;
      const r = scalarValue(type, value);
      return typeof r === 'string' ? r : { value: r.value };
    }
  }
}

function elementType(t: FieldType): FieldType {
  return t.kind === 'integerArray' ? { kind: 'integer' } : { kind: 'string', enumValues: t.enumValues };
}

function scalarValue(t: FieldType, v: unknown): { value: unknown } | string {
  switch (t.kind) {
    case 'string':
      if (typeof v !== 'string') return `must be a string, got ${typeName(v)}`;
      if (t.enumValues && !t.enumValues.includes(v)) return `'${v}' is not one of ${t.enumValues.join(', ')}`;
      return { value: v };
    case 'integer':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return `must be an integer, got ${typeName(v)}`;
      if (t.min !== undefined && v < t.min) return `must be ≥ ${t.min}`;
      if (t.max !== undefined && v > t.max) return `must be ≤ ${t.max}`;
      return { value: v };
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) return `must be a number, got ${typeName(v)}`;
      return { value: v };
    case 'boolean':
      if (typeof v !== 'boolean') return `must be true or false, got ${typeName(v)}`;
      return { value: v };
    case 'date':
      if (parseLocalDate(v) === null) return `must be a date YYYY-MM-DD, got ${typeName(v)}`;
      return { value: v };
    case 'datetime': {
      const ms = parseInstant(v);
      if (ms === null) return `must be an ISO-8601 date-time with an offset, got ${typeName(v)}`;
      return { value: ms };
    }
    default:
      return `cannot compare a ${t.kind} value`;
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number') return Number.isInteger(v) ? `the integer ${v}` : `the number ${v}`;
  return `a ${typeof v}`;
}

/**
 * Validates and compiles a condition. Throws `AppError('rule_invalid')` pointing at the first
 * bad node (all issues are in `details.issues`).
 */
export function compileCondition(node: Condition | undefined, scope: ConditionScope, path = 'condition'): CompiledCondition {
  if (node === undefined) return ALWAYS;
  const issues = new Issues();
  validateCondition(node, scope, path, issues.list);
  issues.throwIfAny('invalid condition');
  return compileValid(node, scope, path);
}

/** Compiles a tree already known to be valid. */
export function compileValid(node: Condition, scope: ConditionScope, path: string): CompiledCondition {
  if ('all' in node) {
    const kids = node.all.map((k, i) => compileValid(k, scope, childPath(childPath(path, 'all'), i)));
    return { test: allOf(kids.map((k) => k.test)), explain: explainAll(kids.map((k) => k.explain)) };
  }
  if ('any' in node) {
    const kids = node.any.map((k, i) => compileValid(k, scope, childPath(childPath(path, 'any'), i)));
    return { test: anyOf(kids.map((k) => k.test)), explain: explainAny(kids, path) };
  }
  if ('not' in node) {
    const inner = compileValid(node.not, scope, childPath(path, 'not'));
    const t = inner.test;
    return {
      test: (c) => !t(c),
      explain: (c) => (t(c) ? failureOf(path, 'not', NOT_FAILED, undefined) : null),
    };
  }
  return compileLeaf(node, scope, path);
}

function allOf(ps: Predicate[]): Predicate {
  // Unrolled for the common sizes: a loop over a closure array is measurably slower on the hot path.
  const [a, b, c3] = ps;
  if (ps.length === 1) return a!;
  if (ps.length === 2) return (c) => a!(c) && b!(c);
  if (ps.length === 3) return (c) => a!(c) && b!(c) && c3!(c);
  return (c) => {
    for (let i = 0; i < ps.length; i++) if (!ps[i]!(c)) return false;
    return true;
  };
}

function anyOf(ps: Predicate[]): Predicate {
  const [a, b] = ps;
  if (ps.length === 1) return a!;
  if (ps.length === 2) return (c) => a!(c) || b!(c);
  return (c) => {
    for (let i = 0; i < ps.length; i++) if (ps[i]!(c)) return true;
    return false;
  };
}

function explainAll(xs: Explainer[]): Explainer {
  return (c) => {
    for (const x of xs) {
      const f = x(c);
      if (f) return f;
    }
    return null;
  };
}

function explainAny(kids: CompiledCondition[], path: string): Explainer {
  return (c) => {
    const failures: ConditionFailure[] = [];
    for (const k of kids) {
      const f = k.explain(c);
      if (!f) return null;
      failures.push(f);
    }
    return failureOf(path, 'any', ANY_FAILED(kids.length), failures);
  };
}

function failureOf(path: string, op: string, message: string, alternatives: ConditionFailure[] | undefined): ConditionFailure {
  return { path, field: undefined, op, expected: undefined, actual: undefined, message, alternatives };
}

function compileLeaf(leaf: LeafCondition, scope: ConditionScope, path: string): CompiledCondition {
  const field = resolveField(leaf.field, scope) as ResolvedField;
  const norm = normalizeValue(leaf.op, field.type, leaf.value, 'value' in leaf) as { value: unknown };
  const test = leafPredicate(leaf.op, field, norm.value);
  const { get } = field;
  const isInstant = field.type.kind === 'datetime';
  // Built once: the expected value (a frozen copy, shared by every explanation) and its text.
  const expected = leaf.value === undefined ? undefined : deepFreeze(structuredClone(leaf.value));
  const { head, tail } = leafMessageTexts(leaf.field, leaf.op, expected);
  return {
    test,
    explain: (c) => {
      if (test(c)) return null;
      let actual = get(c);
      if (isInstant && typeof actual === 'number') actual = new Date(actual).toISOString();
      // Every key always present (undefined disappears in JSON): one object shape, no spreads.
      return {
        path,
        field: leaf.field,
        op: leaf.op,
        expected,
        actual: actual === undefined ? null : actual,
        message: head + show(actual) + tail,
        alternatives: undefined,
      };
    },
  };
}

/** The message of a leaf that failed, as its explainer writes it (`actual` undefined: absent). */
export function leafFailureMessage(field: string, op: string, expected: unknown, actual: unknown): string {
  const { head, tail } = leafMessageTexts(field, op, expected);
  return head + show(actual) + tail;
}

/** The fixed parts of a leaf's failure message, around the value it read. */
export function leafMessageTexts(field: string, op: string, expected: unknown): { head: string; tail: string } {
  return { head: `${field} is `, tail: expected === undefined ? `, expected ${op}` : `, expected ${op} ${JSON.stringify(expected)}` };
}

/** Whether `message` is a leaf's failure message for `actual`, given its texts: compared in place, without writing it. */
export function isLeafFailureMessage(message: string, texts: { head: string; tail: string }, actual: unknown): boolean {
  const { head, tail } = texts;
  const shown = show(actual);
  return message.length === head.length + shown.length + tail.length && message.startsWith(head) && message.startsWith(shown, head.length) && message.endsWith(tail);
}

export const ANY_FAILED = (alternatives: number) => `none of ${alternatives} alternatives matched`;
export const NOT_FAILED = 'the negated condition matched';

function show(v: unknown): string {
  if (v === undefined) return 'absent';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const k of Object.values(v)) deepFreeze(k);
    Object.freeze(v);
  }
  return v;
}

function leafPredicate(op: Op, field: ResolvedField, v: unknown): Predicate {
  const get: Getter = field.get;
  const numeric = field.type.kind !== 'date'; // dates compare as YYYY-MM-DD strings
  const t = numeric ? 'number' : 'string';
  switch (op) {
    case 'eq':
      return (c) => get(c) === v;
    case 'ne':
      return (c) => get(c) !== v;
    case 'in': {
      const has = membership(v as unknown[]);
      return (c) => has(get(c));
    }
    case 'notIn': {
      const has = membership(v as unknown[]);
      return (c) => !has(get(c));
    }
    case 'gt':
      return (c) => {
        const x = get(c);
        return typeof x === t && (x as number) > (v as number);
      };
    case 'gte':
      return (c) => {
        const x = get(c);
        return typeof x === t && (x as number) >= (v as number);
      };
    case 'lt':
      return (c) => {
        const x = get(c);
        return typeof x === t && (x as number) < (v as number);
      };
    case 'lte':
      return (c) => {
        const x = get(c);
        return typeof x === t && (x as number) <= (v as number);
      };
    case 'between': {
      const [lo, hi] = v as [number, number];
      return (c) => {
        const x = get(c);
        return typeof x === t && (x as number) >= lo && (x as number) <= hi;
      };
    }
    case 'exists':
      return (c) => get(c) !== undefined;
    case 'notExists':
      return (c) => get(c) === undefined;
    case 'contains':
      return (c) => {
        const a = get(c);
        return Array.isArray(a) && a.includes(v);
      };
    case 'containsAny': {
      const vs = v as unknown[];
      return (c) => {
        const a = get(c);
        if (!Array.isArray(a)) return false;
        for (let i = 0; i < vs.length; i++) if (a.includes(vs[i])) return true;
        return false;
      };
    }
    case 'containsAll': {
      const vs = v as unknown[];
      return (c) => {
        const a = get(c);
        if (!Array.isArray(a)) return false;
        for (let i = 0; i < vs.length; i++) if (!a.includes(vs[i])) return false;
        return true;
      };
    }
  }
}

function membership(values: unknown[]): (x: unknown) => boolean {
  if (values.length <= 8) return (x) => x !== undefined && values.includes(x);
  const set = new Set(values);
  return (x) => set.has(x);
}
