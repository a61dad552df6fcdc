import { compileValid, validateCondition, type CompiledCondition } from './conditions.js';
import type { EvalContext } from './context.js';
import { fractionDigits, parseDecimal, ratio, type Rounding } from './decimal.js';
import type { ItemObjectDefinition, ScalarAttribute } from './event-types.js';
import { attributeType, type ConditionScope } from './fields.js';
import { childPath, type Issue } from './issues.js';
import type { Reward } from './schemas.js';
import type { ProgramContext } from './types.js';

/**
 * Rewards turn a matched event into an exact amount of one point type:
 *   fixed       amount per event (or per matching item, or per unit of an item field)
 *   perUnit     rate points per `per` units of an integer attribute (1 point per 100 fen = ¥1)
 *   percentage  percent of an integer attribute, in the point type's display unit
 * Each compiles to one fraction num/den of smallest units per unit of its basis, so the award
 * is basis × num/den × multiplier, rounded once (see `exactRound`).
 */
export interface CompiledItems {
  array: string;
  /** summed integer field of object items */
  field: string | undefined;
  /** a fixed reward without a field counts matching items; otherwise values are summed */
  count: boolean;
  where: CompiledCondition | undefined;
}

export interface CompiledReward {
  index: number;
  kind: Reward['type'];
  pointType: string;
  role: 'base' | 'bonus';
  rounding: Rounding;
  /** smallest units per basis unit, as a reduced fraction */
  num: number;
  den: number;
  /** 10^decimals of the point type: display units → smallest units */
  scale: number;
  attribute: string | undefined;
  items: CompiledItems | undefined;
  def: Reward;
}

export interface BasisTrace {
  value: number;
  attribute?: string;
  /** the attribute was absent or not a non-negative integer, so it counted as 0 */
  missing?: true;
  items?: { array: string; field: string | null; matched: number[]; of: number };
}

export function scaleOf(program: ProgramContext, pointType: string): number {
  return 10 ** (program.pointTypes[pointType]?.decimals ?? 0);
}

export function validatePointType(program: ProgramContext, pointType: unknown, path: string, out: Issue[]): boolean {
  if (typeof pointType === 'string' && Object.prototype.hasOwnProperty.call(program.pointTypes, pointType)) return true;
  out.push({ path, message: `unknown point type ${JSON.stringify(pointType)} (known: ${Object.keys(program.pointTypes).join(', ')})` });
  return false;
}

/** An amount in display units: positive, and no finer than the point type's smallest unit. */
export function validateAmount(program: ProgramContext, pointType: string, value: unknown, path: string, out: Issue[]): boolean {
  const r = parseDecimal(value);
  if (r === null) {
    out.push({ path, message: 'must be a decimal string such as "1.5" or a non-negative integer' });
    return false;
  }
  if (r.n <= 0) {
    out.push({ path, message: 'must be positive' });
    return false;
  }
  const decimals = program.pointTypes[pointType]?.decimals ?? 0;
  if (fractionDigits(value) > decimals) {
    out.push({ path, message: `has more decimal places than point type '${pointType}' allows (${decimals})` });
    return false;
  }
  return true;
}

export function validateRate(value: unknown, path: string, out: Issue[]): boolean {
  const r = parseDecimal(value);
  if (r === null) {
    out.push({ path, message: 'must be a decimal string such as "1.2" or a non-negative integer' });
    return false;
  }
  if (r.n <= 0) {
    out.push({ path, message: 'must be positive (a zero or negative rate is refused)' });
    return false;
  }
  return true;
}

/** Semantic checks of a reward whose shape is already valid. */
export function validateReward(
  def: Reward,
  path: string,
  scope: ConditionScope,
  program: ProgramContext,
  out: Issue[],
  opts: { fixedOnly?: boolean } = {},
): void {
  const ptOk = validatePointType(program, def.pointType, childPath(path, 'pointType'), out);
  if (opts.fixedOnly && def.type !== 'fixed') {
    out.push({ path: childPath(path, 'type'), message: 'milestone rewards are fixed amounts' });
    return;
  }
  if (def.type === 'fixed') {
    if (ptOk) validateAmount(program, def.pointType, def.amount, childPath(path, 'amount'), out);
    if (opts.fixedOnly && def.items) out.push({ path: childPath(path, 'items'), message: 'milestone rewards do not read items' });
  } else if (def.type === 'perUnit') {
    validateRate(def.rate, childPath(path, 'rate'), out);
  } else {
    validateRate(def.percent, childPath(path, 'percent'), out);
  }
  if (def.type !== 'fixed') {
    if ((def.attribute === undefined) === (def.items === undefined)) {
      out.push({ path, message: `a ${def.type} reward reads exactly one of 'attribute' or 'items'` });
      return;
    }
    if (def.attribute !== undefined) validateIntegerAttribute(def.attribute, childPath(path, 'attribute'), scope, out);
  }
  if (def.items) validateItems(def, childPath(path, 'items'), scope, out);
}

export function validateIntegerAttribute(name: string, path: string, scope: ConditionScope, out: Issue[]): void {
  const t = attributeType(name, scope);
  if (typeof t === 'string') out.push({ path, message: t });
  else if (t.type.kind !== 'integer') out.push({ path, message: `attribute '${name}' is ${t.type.kind}; rewards read integer attributes only` });
}

function validateItems(def: Reward, path: string, scope: ConditionScope, out: Issue[]): void {
  const items = def.items!;
  const t = attributeType(items.array, scope);
  if (typeof t === 'string') {
    out.push({ path: childPath(path, 'array'), message: t });
    return;
  }
  if (t.def.type !== 'array') {
    out.push({ path: childPath(path, 'array'), message: `attribute '${items.array}' is not an array` });
    return;
  }
  const itemSchema = t.def.items;
  if (itemSchema.type === 'object') {
    if (items.field !== undefined) {
      const f = itemSchema.properties[items.field];
      if (!f) out.push({ path: childPath(path, 'field'), message: `unknown field '${items.field}' in items of '${items.array}'` });
      else if (f.type !== 'integer') out.push({ path: childPath(path, 'field'), message: `item field '${items.field}' is ${f.type}; rewards read integer fields only` });
    } else if (def.type !== 'fixed') {
      out.push({ path: childPath(path, 'field'), message: `a ${def.type} reward over items needs the integer item field to read` });
    }
  } else {
    if (items.field !== undefined) out.push({ path: childPath(path, 'field'), message: `items of '${items.array}' are scalars and have no fields` });
    else if (def.type !== 'fixed' && itemSchema.type !== 'integer') {
      out.push({ path: childPath(path, 'array'), message: `items of '${items.array}' are not integers` });
    }
  }
  if (items.where !== undefined) {
    validateCondition(items.where, itemScope(scope, items.array, itemSchema), childPath(path, 'where'), out);
  }
}

function itemScope(scope: ConditionScope, array: string, schema: ItemObjectDefinition | ScalarAttribute): ConditionScope {
  return { ...scope, item: { array, schema } };
}

/** Compiles a reward already validated by `validateReward`. */
export function compileReward(def: Reward, index: number, path: string, scope: ConditionScope, program: ProgramContext): CompiledReward {
  const scale = scaleOf(program, def.pointType);
  let n: number;
  let d: number;
  if (def.type === 'fixed') {
    const a = parseDecimal(def.amount)!;
    n = (a.n * scale) / a.d; // exact: the amount has no more decimals than the scale
    d = 1;
  } else if (def.type === 'perUnit') {
    const r = parseDecimal(def.rate)!;
    n = r.n * scale;
    d = r.d * (def.per ?? 1);
  } else {
    const r = parseDecimal(def.percent)!;
    n = r.n * scale;
    d = r.d * 100;
  }
  const reduced = ratio(n, d);
  let items: CompiledItems | undefined;
  if (def.items) {
    const t = attributeType(def.items.array, scope);
    const schema = typeof t === 'string' || t.def.type !== 'array' ? undefined : t.def.items;
    items = {
      array: def.items.array,
      field: def.items.field,
      count: def.type === 'fixed' && def.items.field === undefined,
      where:
        def.items.where && schema
          ? compileValid(def.items.where, itemScope(scope, def.items.array, schema), childPath(childPath(path, 'items'), 'where'))
          : undefined,
    };
  }
  return {
    index,
    kind: def.type,
    pointType: def.pointType,
    role: def.role ?? 'base',
    rounding: def.rounding ?? 'floor',
    num: reduced.n,
    den: reduced.d,
    scale,
    attribute: def.type === 'fixed' ? undefined : def.attribute,
    items,
    def,
  };
}

function nonNegativeInt(v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : 0;
}

/** The integer the reward's fraction applies to (amount, item sum, item count, or 1). */
export function basisValue(r: CompiledReward, c: EvalContext): number {
  if (r.items !== undefined) return itemsBasis(r.items, c, null);
  if (r.attribute !== undefined) return nonNegativeInt(c.attrs[r.attribute]);
  return 1;
}

export function basisTrace(r: CompiledReward, c: EvalContext): BasisTrace {
  if (r.items !== undefined) {
    const matched: number[] = [];
    const value = itemsBasis(r.items, c, matched);
    const arr = c.attrs[r.items.array];
    const items = { array: r.items.array, field: r.items.field ?? null, matched, of: Array.isArray(arr) ? arr.length : 0 };
    return basis(value, undefined, undefined, items);
  }
  if (r.attribute !== undefined) {
    const raw = c.attrs[r.attribute];
    const value = nonNegativeInt(raw);
    return basis(value, r.attribute, value === 0 && raw !== 0 ? true : undefined, undefined);
  }
  return basis(1, undefined, undefined, undefined);
}

/** Every key always present (undefined ones vanish in JSON): one object shape for the JIT. */
export function basis(value: number, attribute: string | undefined, missing: true | undefined, items: BasisTrace['items']): BasisTrace {
  return { value, attribute, missing, items };
}

function itemsBasis(items: CompiledItems, c: EvalContext, matched: number[] | null): number {
  const arr = c.attrs[items.array];
  if (!Array.isArray(arr)) return 0;
  const saved = c.item;
  const where = items.where?.test;
  const field = items.field;
  let sum = 0;
  for (let i = 0; i < arr.length; i++) {
    const item = arr[i] as unknown;
    if (where !== undefined) {
      c.item = item;
      if (!where(c)) continue;
    }
    if (matched) matched.push(i);
    if (items.count) sum += 1;
    else if (field !== undefined) sum += nonNegativeInt((item as Record<string, unknown> | null)?.[field]);
    else sum += nonNegativeInt(item);
  }
  c.item = saved;
  return Number.isSafeInteger(sum) ? sum : 0;
}
