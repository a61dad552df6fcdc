import type { CapTrace } from './caps.js';
import type { ConditionFailure } from './conditions.js';
import type { Rounding } from './decimal.js';
import type { Period } from './local-time.js';
import type { MultiplierTrace } from './multipliers.js';
import type { BasisTrace } from './rewards.js';

/**
 * The white-box explanation stored with every real award and returned by dry runs. Plain JSON
 * (no Date, no BigInt, no undefined values), built in a fixed order from the inputs only, so the
 * same inputs always serialise to the same string. Amounts are integer smallest units of their
 * point type; exact intermediate values are decimal strings (or "n/d" when they do not terminate).
 * For speed, every trace object has all its keys (those not applicable are undefined and vanish in
 * JSON), and traces that depend on the rule alone are shared, frozen objects: copy before mutating.
 */
export const EXPLANATION_VERSION = 'laurel-rules/1';

export type RuleOutcome = 'applied' | 'notMatched' | 'wrongEventType' | 'inactive' | 'outsideValidity' | 'excluded';
export type CampaignOutcome = 'applied' | 'wrongEventType' | 'inactive' | 'notScheduled' | 'notTargeted';

export interface LineTrace {
  /** index of the reward in `rewards` / `bonus`, or in the threshold's `rewards` */
  reward: number;
  type: 'fixed' | 'perUnit' | 'percentage';
  role: 'base' | 'bonus';
  label?: string;
  basis: BasisTrace;
  /** the milestone threshold this line pays, with the values crossed */
  threshold?: { at: number; every: number | null; upTo: number | null; crossed: number[]; count: number };
  /** exact amount before multipliers, smallest units */
  base: string;
  multipliers: MultiplierTrace[];
  /** combined multiplier */
  multiplier: string;
  /** base × multiplier, exact */
  exact: string;
  rounding: Rounding;
  amount: number;
  formula: string;
}

export interface AwardTrace {
  pointType: string;
  lines: LineTrace[];
  /** Σ line amounts, before caps */
  subtotal: number;
  caps: CapTrace[];
  /** what is awarded */
  amount: number;
}

export interface MilestoneTrace {
  window: Period;
  key: string;
  before: number;
  contribution: number;
  after: number;
}

export interface RuleTrace {
  ruleId: string;
  version: number;
  name: string;
  priority: number;
  stacking: 'exclusive' | 'cumulative';
  outcome: RuleOutcome;
  reason?: string;
  failed?: ConditionFailure;
  excludedBy?: { ruleId: string; version: number };
  milestone?: MilestoneTrace;
  awards?: AwardTrace[];
}

export interface CampaignTrace {
  campaignId: string;
  version: number;
  name: string;
  outcome: CampaignOutcome;
  reason?: string;
  failed?: ConditionFailure;
  /** point type → multiplier this campaign adds to the rules it reaches */
  multiplier?: Record<string, string>;
  milestone?: MilestoneTrace;
  awards?: AwardTrace[];
}

export interface Explanation {
  engine: typeof EXPLANATION_VERSION;
  event: {
    type: string;
    occurredAt: string;
    channel: string | null;
    local: { timeZone: string; date: string; time: string; weekday: number };
  };
  campaigns: CampaignTrace[];
  rules: RuleTrace[];
  /** point type → amount awarded by this event (every point type of the program, sorted) */
  totals: Record<string, number>;
}

/**
 * The traces of rules that did not get as far as their condition depend on the rule alone, so
 * they are built once per compiled rule, frozen, and shared by every explanation.
 */
export interface FixedRuleTraces {
  wrongEventType: RuleTrace;
  inactive: RuleTrace;
  beforeValidity: RuleTrace;
  afterValidity: RuleTrace;
}

export function fixedRuleTraces(r: {
  id: string;
  version: number;
  name: string;
  priority: number;
  stacking: 'exclusive' | 'cumulative';
  validFrom: number | null;
  validTo: number | null;
}): FixedRuleTraces {
  const make = (outcome: RuleOutcome, reason: string | undefined): RuleTrace =>
    Object.freeze(ruleTrace(r, outcome, reason));
  return {
    wrongEventType: make('wrongEventType', undefined),
    inactive: make('inactive', 'the rule version is not active'),
    beforeValidity: make('outsideValidity', r.validFrom === null ? undefined : `the event is before validFrom ${new Date(r.validFrom).toISOString()}`),
    afterValidity: make('outsideValidity', r.validTo === null ? undefined : `the event is at or after validTo ${new Date(r.validTo).toISOString()}`),
  };
}

/** A rule trace with every key present (undefined ones vanish in JSON): one object shape. */
export function ruleTrace(
  r: { id: string; version: number; name: string; priority: number; stacking: 'exclusive' | 'cumulative' },
  outcome: RuleOutcome,
  reason: string | undefined,
): RuleTrace {
  return {
    ruleId: r.id,
    version: r.version,
    name: r.name,
    priority: r.priority,
    stacking: r.stacking,
    outcome,
    reason,
    failed: undefined,
    excludedBy: undefined,
    milestone: undefined,
    awards: undefined,
  };
}

export function campaignTrace(
  c: { id: string; version: number; name: string },
  outcome: CampaignOutcome,
  reason: string | undefined,
): CampaignTrace {
  return {
    campaignId: c.id,
    version: c.version,
    name: c.name,
    outcome,
    reason,
    failed: undefined,
    multiplier: undefined,
    milestone: undefined,
    awards: undefined,
  };
}

/** What a member may see when the program hides its formulas ("black box"). */
export interface MemberView {
  totals: Record<string, number>;
  items: { name: string; pointType: string; amount: number }[];
}

/** Strips an explanation to totals and the names of what paid them: no formulas, caps or conditions. */
export function toMemberView(e: Explanation): MemberView {
  const items: MemberView['items'] = [];
  for (const r of e.rules) {
    for (const a of r.awards ?? []) if (a.amount > 0) items.push({ name: r.name, pointType: a.pointType, amount: a.amount });
  }
  for (const c of e.campaigns) {
    for (const a of c.awards ?? []) if (a.amount > 0) items.push({ name: c.name, pointType: a.pointType, amount: a.amount });
  }
  return { totals: { ...e.totals }, items };
}
