import { childPath, isPlainObject, type Issue } from './issues.js';
import { parseInstant, parseLocalDate } from './local-time.js';

/**
 * A checker for the JSON Schema subset that TypeBox emits for the engine's own schemas and that
 * operators use for event attributes. TypeBox's validator reports every branch of a union
 * ("must match a schema in anyOf" plus each branch's complaints); an operator needs one pointed
 * message such as `rewards[0].rate: must be a decimal string`, so unions are resolved to the
 * branch that fits best and only its errors are reported. `$ref` nodes (the recursive condition
 * tree) are skipped: conditions have their own validator with semantic checks.
 */
export type JsonSchema = Record<string, unknown>;

export function checkShape(schema: JsonSchema, value: unknown, path: string, out: Issue[]): void {
  if ('$ref' in schema) return;

  if (Array.isArray(schema.anyOf)) {
    if (typeof schema.errorMessage === 'string') {
      // The union speaks for itself (a decimal is "a string like "1.5" or an integer").
      const errs: Issue[] = [];
      checkUnion(schema.anyOf as JsonSchema[], value, path, errs);
      if (errs.length > 0) out.push({ path, message: schema.errorMessage });
      return;
    }
    checkUnion(schema.anyOf as JsonSchema[], value, path, out);
    return;
  }
  if ('const' in schema) {
    if (value !== schema.const) out.push({ path, message: `must be ${JSON.stringify(schema.const)}` });
    return;
  }
  if (Array.isArray(schema.enum)) {
    if (!schema.enum.includes(value)) out.push({ path, message: `must be one of ${listOf(schema.enum)}` });
    return;
  }

  switch (schema.type) {
    case 'object':
      checkObject(schema, value, path, out);
      return;
    case 'array':
      checkArray(schema, value, path, out);
      return;
    case 'string':
      checkString(schema, value, path, out);
      return;
    case 'integer':
    case 'number':
      checkNumber(schema, value, path, out);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') out.push({ path, message: 'must be a boolean' });
      return;
    case 'null':
      if (value !== null) out.push({ path, message: 'must be null' });
      return;
    default:
      return; // {} accepts anything
  }
}

// Attribute schemas are checked on every ingested event: compile each pattern once.
const regexCache = new Map<string, RegExp>();
function regex(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) {
    re = new RegExp(pattern, 'u');
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

function listOf(values: unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

function checkUnion(branches: JsonSchema[], value: unknown, path: string, out: Issue[]): void {
  // A union of constants is an enum: say so in one message.
  if (branches.every((b) => 'const' in b)) {
    const allowed = branches.map((b) => b.const);
    if (!allowed.includes(value)) out.push({ path, message: `must be one of ${listOf(allowed)}` });
    return;
  }
  // A union of objects told apart by one constant property (`type: "fixed" | "perUnit" | …`):
  // a value matching none of them gets that list, not the complaints of an arbitrary branch.
  const flat = flatten(branches);
  const tag = discriminant(flat);
  if (tag !== null && isPlainObject(value)) {
    const allowed = flat.map((b) => (b.properties as Record<string, JsonSchema>)[tag]!.const);
    if (!allowed.includes(value[tag])) {
      const p = childPath(path, tag);
      out.push({ path: p, message: value[tag] === undefined ? `is required (one of ${listOf(allowed)})` : `must be one of ${listOf(allowed)}` });
      return;
    }
    checkShape(flat[allowed.indexOf(value[tag])]!, value, path, out);
    return;
  }
  let best: Issue[] | null = null;
  let bestScore = Infinity;
  for (const branch of branches) {
    const errs: Issue[] = [];
    checkShape(branch, value, path, errs);
    if (errs.length === 0) return;
    const score = mismatchScore(branch, value, errs.length);
    if (score < bestScore) {
      best = errs;
      bestScore = score;
    }
  }
  if (best) out.push(...best);
}

function flatten(branches: JsonSchema[]): JsonSchema[] {
  return branches.flatMap((b) => (Array.isArray(b.anyOf) ? flatten(b.anyOf as JsonSchema[]) : [b]));
}

/** The property every branch pins to a distinct constant, if there is one. */
function discriminant(branches: JsonSchema[]): string | null {
  const first = branches[0];
  if (!first || first.type !== 'object' || !isPlainObject(first.properties)) return null;
  for (const [key, prop] of Object.entries(first.properties as Record<string, JsonSchema>)) {
    if (!('const' in prop)) continue;
    const values = new Set<unknown>();
    const ok = branches.every((b) => {
      const p = b.type === 'object' && isPlainObject(b.properties) ? (b.properties as Record<string, JsonSchema>)[key] : undefined;
      if (!p || !('const' in p) || values.has(p.const)) return false;
      values.add(p.const);
      return true;
    });
    if (ok) return key;
  }
  return null;
}

/**
 * How badly a value misses a branch: a wrong JSON type or a wrong discriminant (a `const`
 * property such as `type: "fixed"`) means "not this branch at all"; otherwise fewer errors win.
 */
function mismatchScore(branch: JsonSchema, value: unknown, errors: number): number {
  if (!typeMatches(branch, value)) return 10_000 + errors;
  if (branch.type === 'object' && isPlainObject(value) && isPlainObject(branch.properties)) {
    for (const [k, prop] of Object.entries(branch.properties as Record<string, JsonSchema>)) {
      if ('const' in prop && k in value && value[k] !== prop.const) return 1_000 + errors;
      const required = Array.isArray(branch.required) ? (branch.required as string[]) : [];
      if ('const' in prop && required.includes(k) && !(k in value)) return 500 + errors;
    }
  }
  return errors;
}

function typeMatches(schema: JsonSchema, value: unknown): boolean {
  switch (schema.type) {
    case 'object':
      return isPlainObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    default:
      return true;
  }
}

function checkObject(schema: JsonSchema, value: unknown, path: string, out: Issue[]): void {
  if (!isPlainObject(value)) {
    out.push({ path, message: 'must be an object' });
    return;
  }
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  // A wrong tag (`type: "perUnit"` where only "fixed" fits) makes every other complaint noise.
  for (const [key, prop] of Object.entries(props)) {
    if ('const' in prop && value[key] !== undefined && value[key] !== prop.const) {
      out.push({ path: childPath(path, key), message: `must be ${JSON.stringify(prop.const)}` });
      return;
    }
  }
  const required = (schema.required ?? []) as string[];
  for (const key of required) {
    if (value[key] === undefined) out.push({ path: childPath(path, key), message: 'is required' });
  }
  const patternProps = schema.patternProperties as Record<string, JsonSchema> | undefined;
  const patterns = patternProps ? Object.entries(patternProps).map(([p, s]) => [regex(p), s] as const) : [];
  for (const [key, v] of Object.entries(value)) {
    const p = childPath(path, key);
    const prop = props[key];
    if (prop) {
      if (v !== undefined) checkShape(prop, v, p, out);
      continue;
    }
    const pattern = patterns.find(([re]) => re.test(key));
    if (pattern) {
      checkShape(pattern[1], v, p, out);
      continue;
    }
    if (patterns.length > 0) {
      out.push({ path: p, message: `is not an allowed key` });
    } else if (schema.additionalProperties === false) {
      out.push({ path: p, message: `is not a known property (known: ${Object.keys(props).join(', ') || 'none'})` });
    } else if (isPlainObject(schema.additionalProperties)) {
      checkShape(schema.additionalProperties as JsonSchema, v, p, out);
    }
  }
}

function checkArray(schema: JsonSchema, value: unknown, path: string, out: Issue[]): void {
  if (!Array.isArray(value)) {
    out.push({ path, message: 'must be an array' });
    return;
  }
  if (typeof schema.minItems === 'number' && value.length < schema.minItems) {
    out.push({ path, message: schema.minItems === 1 ? 'must not be empty' : `must have at least ${schema.minItems} items` });
  }
  if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) {
    out.push({ path, message: `must have at most ${schema.maxItems} items` });
  }
  if (isPlainObject(schema.items)) {
    for (let i = 0; i < value.length; i++) checkShape(schema.items as JsonSchema, value[i], childPath(path, i), out);
  }
}

function checkString(schema: JsonSchema, value: unknown, path: string, out: Issue[]): void {
  if (typeof value !== 'string') {
    out.push({ path, message: 'must be a string' });
    return;
  }
  if (typeof schema.minLength === 'number' && value.length < schema.minLength) {
    out.push({ path, message: schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters` });
  }
  if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) {
    out.push({ path, message: `must be at most ${schema.maxLength} characters` });
  }
  if (typeof schema.pattern === 'string' && !regex(schema.pattern).test(value)) {
    out.push({ path, message: (schema.errorMessage as string | undefined) ?? `must match ${schema.pattern}` });
  }
  if (schema.format === 'date-time' && parseInstant(value) === null) {
    out.push({ path, message: 'must be an ISO-8601 date-time with an offset, e.g. 2025-03-08T10:00:00+08:00' });
  }
  if (schema.format === 'date' && parseLocalDate(value) === null) {
    out.push({ path, message: 'must be a calendar date YYYY-MM-DD' });
  }
}

function checkNumber(schema: JsonSchema, value: unknown, path: string, out: Issue[]): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    out.push({ path, message: schema.type === 'integer' ? 'must be an integer' : 'must be a number' });
    return;
  }
  if (schema.type === 'integer' && !Number.isSafeInteger(value)) {
    out.push({ path, message: 'must be an integer' });
    return;
  }
  if (typeof schema.minimum === 'number' && value < schema.minimum) out.push({ path, message: `must be ≥ ${schema.minimum}` });
  if (typeof schema.maximum === 'number' && value > schema.maximum) out.push({ path, message: `must be ≤ ${schema.maximum}` });
  if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) {
    out.push({ path, message: `must be > ${schema.exclusiveMinimum}` });
  }
}
