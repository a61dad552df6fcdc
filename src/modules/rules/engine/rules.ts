import { compileCaps, validateCaps, type CompiledCapSet } from './caps.js';
import { ALWAYS, compileValid, validateCondition, type CompiledCondition } from './conditions.js';
import { fixedRuleTraces, type FixedRuleTraces } from './explanation.js';
import { scopeFor } from './fields.js';
import { isPlainObject, Issues, childPath } from './issues.js';
import { parseInstant } from './local-time.js';
import { compileMilestone, validateMilestone, type CompiledMilestone } from './milestones.js';
import { compilePolicy, mergePolicy, validatePolicy, type CompiledPolicy } from './multipliers.js';
import { compileReward, validateReward, type CompiledReward } from './rewards.js';
import { RuleSchema, type RuleDefinition } from './schemas.js';
import { checkShape, type JsonSchema } from './shape.js';
import type { RuleContext } from './types.js';

/**
 * Earning rules: validation at save time (every problem, pointed) and compilation of one rule
 * version into the structure `evaluate` walks. A compiled rule holds closures and reduced
 * fractions only; nothing is parsed or looked up by name per event.
 */
export interface CompiledRule {
  kind: 'rule';
  id: string;
  version: number;
  name: string;
  priority: number;
  stacking: 'exclusive' | 'cumulative';
  active: boolean;
  eventTypes: ReadonlySet<string>;
  /** epoch ms, half-open [validFrom, validTo) */
  validFrom: number | null;
  validTo: number | null;
  condition: CompiledCondition;
  rewards: CompiledReward[];
  milestone: CompiledMilestone | null;
  caps: ReadonlyMap<string, CompiledCapSet>;
  policy: CompiledPolicy;
  /** point types the rule can award, in first-seen order (rewards, then milestone rewards) */
  pointTypes: readonly string[];
  /** for each reward, the index of its point type in `pointTypes` */
  slots: readonly number[];
  /** explanation entries that depend on the rule alone */
  traces: FixedRuleTraces;
  def: RuleDefinition;
}

export function validateRule(def: unknown, ctx: RuleContext): Issues {
  const issues = new Issues();
  const out = issues.list;
  checkShape(RuleSchema as unknown as JsonSchema, def, '', out);
  if (out.length > 0 || !isPlainObject(def)) return issues;
  const r = def as RuleDefinition;
  const program = ctx.program;
  const scope = scopeFor(r.eventTypes, ctx, 'eventTypes', out);

  if (r.condition !== undefined) validateCondition(r.condition, scope, 'condition', out);
  if (r.rewards.length === 0 && !r.milestone) out.push({ path: 'rewards', message: 'a rule needs at least one reward or a milestone' });
  r.rewards.forEach((w, i) => validateReward(w, childPath('rewards', i), scope, program, out));
  if (r.milestone) validateMilestone(r.milestone, 'milestone', scope, program, out);
  if (r.validFrom !== undefined && r.validTo !== undefined && parseInstant(r.validFrom)! >= parseInstant(r.validTo)!) {
    out.push({ path: 'validTo', message: 'must be after validFrom' });
  }
  validateCaps(r.caps, r.budget, program, new Set(awardedPointTypes(r)), out);
  validatePolicy(r.multiplierPolicy, 'multiplierPolicy', program, out);
  return issues;
}

function awardedPointTypes(r: RuleDefinition): string[] {
  const pts: string[] = [];
  const see = (pt: string) => {
    if (!pts.includes(pt)) pts.push(pt);
  };
  r.rewards.forEach((w) => see(w.pointType));
  r.milestone?.thresholds.forEach((t) => t.rewards.forEach((w) => see(w.pointType)));
  return pts;
}

/** Validates (throwing `AppError('rule_invalid')` with the first pointed issue) and compiles. */
export function compileRule(def: RuleDefinition, ctx: RuleContext): CompiledRule {
  validateRule(def, ctx).throwIfAny(`rule ${String((def as { id?: unknown }).id)} is invalid`);
  const ignored = new Issues();
  const scope = scopeFor(def.eventTypes, ctx, 'eventTypes', ignored.list);
  const program = ctx.program;
  const validFrom = def.validFrom === undefined ? null : parseInstant(def.validFrom);
  const validTo = def.validTo === undefined ? null : parseInstant(def.validTo);
  const pointTypes = awardedPointTypes(def);
  return {
    kind: 'rule',
    id: def.id,
    version: def.version,
    name: def.name,
    priority: def.priority,
    stacking: def.stacking,
    active: (def.status ?? 'active') === 'active',
    eventTypes: new Set(def.eventTypes),
    validFrom,
    validTo,
    condition: def.condition === undefined ? ALWAYS : compileValid(def.condition, scope, 'condition'),
    rewards: def.rewards.map((w, i) => compileReward(w, i, childPath('rewards', i), scope, program)),
    milestone: def.milestone ? compileMilestone(def.milestone, 'milestone', scope, program, 'rule', def.id) : null,
    caps: compileCaps(def.caps, def.budget, program, 'rule', def.id),
    policy: compilePolicy(mergePolicy(program.multiplierDefaults, def.multiplierPolicy)),
    pointTypes,
    slots: def.rewards.map((w) => pointTypes.indexOf(w.pointType)),
    traces: fixedRuleTraces({ ...def, validFrom, validTo }),
    def,
  };
}
