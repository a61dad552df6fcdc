import { add, compare, mul, ONE, parseDecimal, ratioString, sub, type Ratio } from './decimal.js';
import { childPath, type Issue } from './issues.js';
import { validatePointType, validateRate } from './rewards.js';
import type { MultiplierPolicy } from './schemas.js';
import type { MemberContext, ProgramContext } from './types.js';

/**
 * Multipliers scale an award before its single rounding. Sources: the member's tier, the
 * member's best paid plan (holding two plans does not stack them), and every running campaign
 * that targets the event. Combine policies:
 *   multiply  Π m            (×2 tier and ×1.5 campaign give ×3)
 *   add       1 + Σ (m − 1)  (×2 and ×1.5 give ×2.5: bonuses add, they do not compound)
 *   max       the largest m  (only the best multiplier counts)
 * `appliesTo: 'base'` (the default) leaves bonus rewards (role `bonus`, milestone bonuses,
 * campaign bonuses) unmultiplied; `'all'` multiplies them too. Campaign multipliers never
 * multiply campaign bonuses, so a campaign cannot compound its own reward.
 */
export type Combine = 'multiply' | 'add' | 'max';

export interface CompiledPolicy {
  combine: Combine;
  appliesTo: 'base' | 'all';
  tiers: ReadonlyMap<string, Ratio> | null;
  plans: ReadonlyMap<string, Ratio> | null;
  campaigns: boolean;
  /** point types tier and plan multipliers reach; null = all */
  pointTypes: ReadonlySet<string> | null;
}

/** A campaign running for the event being evaluated, as far as multipliers are concerned. */
export interface ActiveMultiplier {
  campaignId: string;
  rates: ReadonlyMap<string, Ratio>;
  rules: ReadonlySet<string> | null;
}

export interface MultiplierTrace {
  source: string;
  value: string;
}

/** The rule's own policy overrides the program default key by key. */
export function mergePolicy(defaults: MultiplierPolicy | undefined, own: MultiplierPolicy | undefined): MultiplierPolicy {
  return { ...(defaults ?? {}), ...(own ?? {}) };
}

export function validatePolicy(policy: MultiplierPolicy | undefined, path: string, program: ProgramContext, out: Issue[]): void {
  if (!policy) return;
  for (const [kind, known] of [
    ['tiers', program.tierCodes],
    ['plans', program.planCodes],
  ] as const) {
    const map = policy[kind];
    if (!map) continue;
    for (const [code, rate] of Object.entries(map)) {
      const p = childPath(childPath(path, kind), code);
      if (known && !known.includes(code)) out.push({ path: p, message: `unknown ${kind === 'tiers' ? 'tier' : 'plan'} '${code}' (known: ${known.join(', ')})` });
      validateRate(rate, p, out);
    }
  }
  policy.pointTypes?.forEach((pt, i) => validatePointType(program, pt, childPath(childPath(path, 'pointTypes'), i), out));
}

function rates(map: Record<string, string | number> | undefined): ReadonlyMap<string, Ratio> | null {
  if (!map) return null;
  const m = new Map<string, Ratio>();
  for (const [k, v] of Object.entries(map)) m.set(k, parseDecimal(v)!);
  return m.size > 0 ? m : null;
}

export function compilePolicy(policy: MultiplierPolicy): CompiledPolicy {
  return {
    combine: policy.combine ?? 'multiply',
    appliesTo: policy.appliesTo ?? 'base',
    tiers: rates(policy.tiers),
    plans: rates(policy.plans),
    campaigns: policy.campaigns ?? true,
    pointTypes: policy.pointTypes ? new Set(policy.pointTypes) : null,
  };
}

export function compileCampaignRates(map: Record<string, string | number>): ReadonlyMap<string, Ratio> {
  return rates(map) ?? new Map();
}

/**
 * The combined multiplier for one reward line. Returns ONE (the same object) when nothing
 * applies, which the caller uses as a cheap "no multiplier" test. With `trace`, each source
 * is recorded in a stable order: tier, plan, then campaigns in campaign order.
 */
export function multiplierFor(
  policy: CompiledPolicy,
  member: MemberContext,
  pointType: string,
  role: 'base' | 'bonus',
  ruleId: string,
  active: readonly ActiveMultiplier[],
  trace: MultiplierTrace[] | null,
): Ratio {
  if (role === 'bonus' && policy.appliesTo === 'base') return ONE;
  let count = 0;
  let acc: Ratio = policy.combine === 'add' ? { n: 0, d: 1 } : ONE;
  const combine = policy.combine;

  const memberScoped = policy.pointTypes === null || policy.pointTypes.has(pointType);
  if (memberScoped && policy.tiers !== null && member.tierCode !== null) {
    const r = policy.tiers.get(member.tierCode);
    if (r !== undefined) {
      acc = step(combine, acc, r, count++);
      trace?.push({ source: `tier:${member.tierCode}`, value: ratioString(r) });
    }
  }
  if (memberScoped && policy.plans !== null && member.planCodes.length > 0) {
    let best: Ratio | undefined;
    let bestCode = '';
    for (const code of member.planCodes) {
      const r = policy.plans.get(code);
      if (r !== undefined && (best === undefined || compare(r, best) > 0 || (compare(r, best) === 0 && code < bestCode))) {
        best = r;
        bestCode = code;
      }
    }
    if (best !== undefined) {
      acc = step(combine, acc, best, count++);
      trace?.push({ source: `plan:${bestCode}`, value: ratioString(best) });
    }
  }
  if (policy.campaigns) {
    for (let i = 0; i < active.length; i++) {
      const a = active[i]!;
      if (a.rules !== null && !a.rules.has(ruleId)) continue;
      const r = a.rates.get(pointType);
      if (r === undefined) continue;
      acc = step(combine, acc, r, count++);
      trace?.push({ source: `campaign:${a.campaignId}`, value: ratioString(r) });
    }
  }
  if (count === 0) return ONE;
  if (combine === 'add') {
    const total = add(ONE, acc);
    return total.n <= 0 ? { n: 0, d: 1 } : total;
  }
  return acc;
}

function step(combine: Combine, acc: Ratio, r: Ratio, index: number): Ratio {
  switch (combine) {
    case 'multiply':
      return mul(acc, r);
    case 'add':
      return add(acc, sub(r, ONE));
    case 'max':
      return index === 0 || compare(r, acc) > 0 ? r : acc;
  }
}
