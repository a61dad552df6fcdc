import { Type } from 'typebox';
import { AppError } from '../../core/errors.js';

/**
 * Conditions on an event's attributes, kept deliberately small (equals / in / gte): tasks, medals
 * and invitations ask "was it a purchase of at least ¥100 in category shoes", not arbitrary logic;
 * the earning rules engine owns the rich language. All conditions of a list must hold.
 */
export type Condition =
  | { attribute: string; op: 'eq'; value: string | number | boolean }
  | { attribute: string; op: 'in'; value: Array<string | number> }
  | { attribute: string; op: 'gte'; value: number };

const Attribute = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$', description: 'an event attribute name' });
const Scalar = Type.Union([Type.String({ maxLength: 200 }), Type.Number()]);

export const ConditionSchema = Type.Union([
  Type.Object({ attribute: Attribute, op: Type.Literal('eq'), value: Type.Union([Type.String({ maxLength: 200 }), Type.Number(), Type.Boolean()]) }, { additionalProperties: false }),
  Type.Object({ attribute: Attribute, op: Type.Literal('in'), value: Type.Array(Scalar, { minItems: 1, maxItems: 100 }) }, { additionalProperties: false }),
  Type.Object({ attribute: Attribute, op: Type.Literal('gte'), value: Type.Number() }, { additionalProperties: false }),
]);
export const ConditionsSchema = Type.Array(ConditionSchema, { maxItems: 10, description: 'all must hold' });

export function matches(conditions: readonly Condition[], attributes: Record<string, unknown>): boolean {
  for (const c of conditions) {
    const actual = attributes[c.attribute];
    switch (c.op) {
      case 'eq':
        if (actual !== c.value) return false;
        break;
      case 'in':
        if (!(typeof actual === 'string' || typeof actual === 'number') || !c.value.includes(actual)) return false;
        break;
      case 'gte':
        if (typeof actual !== 'number' || !(actual >= c.value)) return false;
        break;
    }
  }
  return true;
}

/** A non-negative whole number from an attribute (amounts are integers of their minor unit). */
export function attributeAmount(attributes: Record<string, unknown>, attribute: string): number {
  const v = attributes[attribute];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return 0;
  return Math.floor(v);
}

export function checkConditions(conditions: readonly Condition[], field: string): void {
  const seen = new Set<string>();
  for (const c of conditions) {
    const key = `${c.attribute}:${c.op}`;
    if (seen.has(key)) throw new AppError('validation_failed', `${field}: "${c.attribute}" ${c.op} is given twice`, { field });
    seen.add(key);
  }
}
