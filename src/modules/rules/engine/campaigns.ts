import { compileCaps, validateCaps, type CompiledCapSet } from './caps.js';
import { compileValid, validateCondition, type CompiledCondition } from './conditions.js';
import { parseDecimal, ratioString } from './decimal.js';
import { campaignTrace, type CampaignTrace } from './explanation.js';
import { scopeFor } from './fields.js';
import { childPath, Issues, isPlainObject } from './issues.js';
import { daysInMonth, parseLocalDate, type LocalTime } from './local-time.js';
import { compileMilestone, validateMilestone, type CompiledMilestone } from './milestones.js';
import { compileCampaignRates, type ActiveMultiplier } from './multipliers.js';
import { compileReward, validatePointType, validateRate, validateReward, type CompiledReward } from './rewards.js';
import { CampaignSchema, type CampaignDefinition, type Schedule } from './schemas.js';
import { checkShape, type JsonSchema } from './shape.js';
import type { RuleContext } from './types.js';

/**
 * Campaigns: scheduled, targeted multipliers and bonuses (membership day on the 8th: double
 * points; Tuesdays ×1.5 for gold members; a bonus on the 3rd purchase of a calendar month).
 * Dates and recurrences are read in the program zone: "the 8th" is the 8th in Shanghai for a
 * Shanghai program, whatever the server's zone. Campaigns do not take part in rule priority or
 * exclusivity; every campaign that runs for an event applies.
 */
export interface CompiledSchedule {
  fromDay: number | null; // local day numbers, inclusive
  toDay: number | null;
  monthDays: ReadonlySet<number> | null; // -1 = last day of the month
  weekdays: ReadonlySet<number> | null;
}

export interface CompiledCampaign {
  id: string;
  version: number;
  name: string;
  priority: number;
  active: boolean;
  eventTypes: ReadonlySet<string>;
  schedule: CompiledSchedule | null;
  target: CompiledCondition | null;
  multiplier: ActiveMultiplier | null;
  bonus: CompiledReward[];
  milestone: CompiledMilestone | null;
  caps: ReadonlyMap<string, CompiledCapSet>;
  /** point types the campaign can award, in first-seen order */
  pointTypes: readonly string[];
  /** explanation entries that depend on the campaign alone */
  traces: { wrongEventType: CampaignTrace; inactive: CampaignTrace; multiplier: Readonly<Record<string, string>> | undefined };
  def: CampaignDefinition;
}

export function compileSchedule(s: Schedule | undefined): CompiledSchedule | null {
  if (!s) return null;
  const r = s.recurrence;
  return {
    fromDay: s.from ? parseLocalDate(s.from)!.dayNumber : null,
    toDay: s.to ? parseLocalDate(s.to)!.dayNumber : null,
    monthDays: r?.every === 'month' ? new Set(r.days) : null,
    weekdays: r?.every === 'week' ? new Set(r.weekdays) : null,
  };
}

/** Why the schedule is not running at local time t, or null when it is. */
export function scheduleMiss(s: CompiledSchedule, t: LocalTime): string | null {
  if (s.fromDay !== null && t.dayNumber < s.fromDay) return 'before the campaign starts';
  if (s.toDay !== null && t.dayNumber > s.toDay) return 'after the campaign ended';
  if (s.monthDays !== null && !s.monthDays.has(t.day) && !(s.monthDays.has(-1) && t.day === daysInMonth(t.year, t.month))) {
    return `day ${t.day} of the month is not a campaign day`;
  }
  if (s.weekdays !== null && !s.weekdays.has(t.weekday)) return `weekday ${t.weekday} is not a campaign day`;
  return null;
}

/** Every problem with a campaign, pointed. `ruleIds`, when given, are the rules it may name. */
export function validateCampaign(def: unknown, ctx: RuleContext, ruleIds?: ReadonlySet<string>): Issues {
  const issues = new Issues();
  const out = issues.list;
  checkShape(CampaignSchema as unknown as JsonSchema, def, '', out);
  if (out.length > 0 || !isPlainObject(def)) return issues;
  const c = def as CampaignDefinition;
  const scope = scopeFor(c.eventTypes, ctx, 'eventTypes', out);
  const program = ctx.program;

  if (!c.multiplier && !c.bonus && !c.milestone) out.push({ path: 'multiplier', message: 'a campaign needs a multiplier, a bonus or a milestone' });
  if (c.schedule?.from && c.schedule.to && c.schedule.from > c.schedule.to) {
    out.push({ path: 'schedule.to', message: 'is before schedule.from' });
  }
  if (c.schedule?.recurrence?.every === 'month') {
    c.schedule.recurrence.days.forEach((d, i) => {
      if (d === 0) out.push({ path: `schedule.recurrence.days[${i}]`, message: 'days are 1-31, or -1 for the last day of the month' });
    });
  }
  if (c.target !== undefined) validateCondition(c.target, scope, 'target', out);
  if (c.multiplier) {
    const rates = Object.entries(c.multiplier.rates);
    if (rates.length === 0) out.push({ path: 'multiplier.rates', message: 'must name at least one point type' });
    for (const [pt, rate] of rates) {
      const p = childPath('multiplier.rates', pt);
      if (validatePointType(program, pt, p, out)) validateRate(rate, p, out);
    }
    c.multiplier.rules?.forEach((id, i) => {
      if (ruleIds && !ruleIds.has(id)) out.push({ path: `multiplier.rules[${i}]`, message: `unknown rule '${id}'` });
    });
  }
  c.bonus?.forEach((r, i) => validateReward(r, childPath('bonus', i), scope, program, out));
  if (c.milestone) validateMilestone(c.milestone, 'milestone', scope, program, out);
  validateCaps(c.caps, c.budget, program, new Set(awardedPointTypes(c)), out);
  return issues;
}

function awardedPointTypes(c: CampaignDefinition): string[] {
  const pts: string[] = [];
  const see = (pt: string) => {
    if (!pts.includes(pt)) pts.push(pt);
  };
  c.bonus?.forEach((r) => see(r.pointType));
  c.milestone?.thresholds.forEach((t) => t.rewards.forEach((r) => see(r.pointType)));
  return pts;
}

/** Validates (throwing `AppError('rule_invalid')` with the first pointed issue) and compiles. */
export function compileCampaign(def: CampaignDefinition, ctx: RuleContext, ruleIds?: ReadonlySet<string>): CompiledCampaign {
  validateCampaign(def, ctx, ruleIds).throwIfAny(`campaign ${String((def as { id?: unknown }).id)} is invalid`);
  const ignored = new Issues();
  const scope = scopeFor(def.eventTypes, ctx, 'eventTypes', ignored.list);
  const program = ctx.program;
  return {
    id: def.id,
    version: def.version,
    name: def.name,
    priority: def.priority ?? 0,
    active: (def.status ?? 'active') === 'active',
    eventTypes: new Set(def.eventTypes),
    schedule: compileSchedule(def.schedule),
    target: def.target === undefined ? null : compileValid(def.target, scope, 'target'),
    multiplier: def.multiplier
      ? {
          campaignId: def.id,
          rates: compileCampaignRates(def.multiplier.rates),
          rules: def.multiplier.rules ? new Set(def.multiplier.rules) : null,
        }
      : null,
    // A campaign's own rewards are bonuses whatever they say: multipliers reach them only under appliesTo 'all'.
    bonus: (def.bonus ?? []).map((r, i) => compileReward({ ...r, role: 'bonus' }, i, childPath('bonus', i), scope, program)),
    milestone: def.milestone ? compileMilestone(def.milestone, 'milestone', scope, program, 'campaign', def.id) : null,
    caps: compileCaps(def.caps, def.budget, program, 'campaign', def.id),
    pointTypes: awardedPointTypes(def),
    traces: {
      wrongEventType: Object.freeze(campaignTrace(def, 'wrongEventType', undefined)),
      inactive: Object.freeze(campaignTrace(def, 'inactive', 'the campaign version is not active')),
      multiplier: def.multiplier
        ? Object.freeze(Object.fromEntries(Object.entries(def.multiplier.rates).map(([pt, r]) => [pt, ratioString(parseDecimal(r)!)])))
        : undefined,
    },
    def,
  };
}
