import { applyCaps, capKeysFor, readCounter, type CapTrace, type CompiledCapSet, type CounterIncrement, type SourceKind } from './caps.js';
import { scheduleMiss, type CompiledCampaign } from './campaigns.js';
import type { CompiledProgram } from './compile.js';
import { EvalContext } from './context.js';
import { exactRound, exactString, ONE, ratioString, type Ratio } from './decimal.js';
import {
  campaignTrace,
  EXPLANATION_VERSION,
  ruleTrace,
  type AwardTrace,
  type CampaignTrace,
  type Explanation,
  type LineTrace,
  type MilestoneTrace,
  type RuleTrace,
} from './explanation.js';
import { localTimeString } from './local-time.js';
import { contribution, crossedValues, crossings, type CompiledMilestone, type CompiledThreshold } from './milestones.js';
import { multiplierFor, type ActiveMultiplier, type CompiledPolicy, type MultiplierTrace } from './multipliers.js';
import { basis, basisTrace, basisValue, type CompiledReward } from './rewards.js';
import type { CompiledRule } from './rules.js';
import type { CounterSnapshot, EngineEvent, MemberContext } from './types.js';

/**
 * Evaluation of one event against a compiled program.
 *
 * Order: campaigns first (they contribute multipliers), then rules by priority (highest first;
 * ties by id). A rule applies when it listens to the event type, is active, the event falls in
 * [validFrom, validTo), no exclusive rule above it applied, and its condition holds. An applied
 * exclusive rule excludes every rule after it; excluded rules are not evaluated at all (their
 * milestone counts do not advance: give a milestone rule a higher priority than exclusive rules
 * if every night must count). Then campaign bonuses.
 *
 * Amounts: each reward line is exact (basis × rate × multiplier as one fraction) and rounded
 * once with the reward's rounding mode; a source's lines for one point type are summed, then
 * cut by its caps (event, day/week/month/year/lifetime in the program zone, budget).
 */
export type ExplainMode = 'full' | 'none';

export interface EvaluateOptions {
  /** 'full' (default) builds the white-box explanation; 'none' skips it for speed */
  explain?: ExplainMode;
}

export interface Award {
  /** a campaign's own bonus has kind 'campaign' and carries the campaign's id and version */
  kind: SourceKind;
  ruleId: string;
  ruleVersion: number;
  pointType: string;
  /** integer smallest units, > 0 */
  amount: number;
}

export interface EvaluationResult {
  awards: Award[];
  /** to persist with guards, in the same transaction as the awards */
  counterIncrements: CounterIncrement[];
  totals: Record<string, number>;
  explanation: Explanation | null;
}

const NO_ACTIVE: readonly ActiveMultiplier[] = [];
const NO_RULES: readonly CompiledRule[] = [];
const NO_CAMPAIGNS: readonly CompiledCampaign[] = [];

/** Per-evaluation state shared by the helpers below (one object instead of ten arguments). */
interface Run {
  c: EvalContext;
  member: MemberContext;
  counters: CounterSnapshot;
  awards: Award[];
  increments: CounterIncrement[];
  totals: Record<string, number>;
  full: boolean;
}

interface Source {
  kind: SourceKind;
  id: string;
  version: number;
  pointTypes: readonly string[];
  slots: readonly number[];
  rewards: readonly CompiledReward[];
  milestone: CompiledMilestone | null;
  caps: ReadonlyMap<string, CompiledCapSet>;
}

export function evaluate(
  program: CompiledProgram,
  event: EngineEvent,
  member: MemberContext,
  counters: CounterSnapshot,
  options?: EvaluateOptions,
): EvaluationResult {
  const full = options?.explain !== 'none';
  const c = new EvalContext(event, member, program.clock, program.program.channelKinds);
  const run: Run = { c, member, counters, awards: [], increments: [], totals: { ...program.totalsTemplate }, full };
  const type = event.type;
  const ms = c.t.ms;

  // Campaigns: which run for this event, and the multipliers they bring.
  const campaignTraces: CampaignTrace[] | null = full ? [] : null;
  let active: ActiveMultiplier[] | null = null;
  let running: CompiledCampaign[] | null = null;
  let runningTraces: CampaignTrace[] | null = null;
  const campaigns = full ? program.campaigns : (program.campaignsByType.get(type) ?? NO_CAMPAIGNS);
  for (let i = 0; i < campaigns.length; i++) {
    const cp = campaigns[i]!;
    if (!cp.eventTypes.has(type)) {
      campaignTraces?.push(cp.traces.wrongEventType);
      continue;
    }
    if (!cp.active) {
      campaignTraces?.push(cp.traces.inactive);
      continue;
    }
    if (cp.schedule !== null) {
      const miss = scheduleMiss(cp.schedule, c.t);
      if (miss !== null) {
        campaignTraces?.push(campaignTrace(cp, 'notScheduled', miss));
        continue;
      }
    }
    let trace: CampaignTrace | null = null;
    if (cp.target !== null) {
      if (full) {
        const f = cp.target.explain(c);
        if (f) {
          trace = campaignTrace(cp, 'notTargeted', f.message);
          trace.failed = f;
          campaignTraces!.push(trace);
          continue;
        }
      } else if (!cp.target.test(c)) continue;
    }
    if (full) {
      trace = campaignTrace(cp, 'applied', undefined);
      trace.multiplier = cp.traces.multiplier;
      campaignTraces!.push(trace);
      (runningTraces ??= []).push(trace);
    }
    (running ??= []).push(cp);
    if (cp.multiplier !== null) (active ??= []).push(cp.multiplier);
  }
  const actives = active ?? NO_ACTIVE;

  // Rules, by priority.
  const ruleTraces: RuleTrace[] | null = full ? [] : null;
  let excludedBy: CompiledRule | null = null;
  const rules = full ? program.rules : (program.rulesByType.get(type) ?? NO_RULES);
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    if (!rule.eventTypes.has(type)) {
      ruleTraces?.push(rule.traces.wrongEventType);
      continue;
    }
    if (!rule.active) {
      ruleTraces?.push(rule.traces.inactive);
      continue;
    }
    if (rule.validFrom !== null && ms < rule.validFrom) {
      ruleTraces?.push(rule.traces.beforeValidity);
      continue;
    }
    if (rule.validTo !== null && ms >= rule.validTo) {
      ruleTraces?.push(rule.traces.afterValidity);
      continue;
    }
    if (excludedBy !== null) {
      if (ruleTraces) {
        const t = ruleTrace(rule, 'excluded', `excluded by exclusive rule ${excludedBy.id} v${excludedBy.version}`);
        t.excludedBy = { ruleId: excludedBy.id, version: excludedBy.version };
        ruleTraces.push(t);
      }
      continue;
    }
    let trace: RuleTrace | null = null;
    if (full) {
      const f = rule.condition.explain(c);
      if (f) {
        trace = ruleTrace(rule, 'notMatched', f.message);
        trace.failed = f;
        ruleTraces!.push(trace);
        continue;
      }
      trace = ruleTrace(rule, 'applied', undefined);
      ruleTraces!.push(trace);
    } else if (!rule.condition.test(c)) continue;

    applySource(run, rule, rule.policy, actives, trace);
    if (rule.stacking === 'exclusive') excludedBy = rule;
  }

  // Campaign bonuses (multiplied by tier and plan per the program default; never by campaigns).
  if (running !== null) {
    for (let i = 0; i < running.length; i++) {
      const cp = running[i]!;
      if (cp.bonus.length === 0 && cp.milestone === null) continue;
      applySource(run, campaignSource(cp), program.campaignBonusPolicy, NO_ACTIVE, runningTraces ? runningTraces[i]! : null);
    }
  }

  const explanation: Explanation | null = full
    ? {
        engine: EXPLANATION_VERSION,
        event: {
          type,
          occurredAt: new Date(ms).toISOString(),
          channel: event.channel ?? null,
          local: { timeZone: program.clock.zone, date: c.date, time: localTimeString(c.t), weekday: c.t.weekday },
        },
        campaigns: campaignTraces!,
        rules: ruleTraces!,
        totals: run.totals,
      }
    : null;
  return { awards: run.awards, counterIncrements: run.increments, totals: run.totals, explanation };
}

const campaignSources = new WeakMap<CompiledCampaign, Source>();
function campaignSource(cp: CompiledCampaign): Source {
  let s = campaignSources.get(cp);
  if (!s) {
    const slots = cp.bonus.map((r) => cp.pointTypes.indexOf(r.pointType));
    s = { kind: 'campaign', id: cp.id, version: cp.version, pointTypes: cp.pointTypes, slots, rewards: cp.bonus, milestone: cp.milestone, caps: cp.caps };
    campaignSources.set(cp, s);
  }
  return s;
}

/** Computes, caps and records the awards of one applied rule or running campaign. */
function applySource(
  run: Run,
  src: Source,
  policy: CompiledPolicy,
  actives: readonly ActiveMultiplier[],
  trace: RuleTrace | CampaignTrace | null,
): void {
  const kind = src.kind;
  const { c } = run;
  const pts = src.pointTypes;
  // Most sources award one or two point types: a small array beats a Map here.
  const sums = pts.length === 1 ? [0] : new Array<number>(pts.length).fill(0);
  const lines: LineTrace[][] | null = trace ? pts.map(() => []) : null;

  const rewards = src.rewards;
  for (let i = 0; i < rewards.length; i++) {
    const r = rewards[i]!;
    const slot = src.slots[i]!;
    const mTrace: MultiplierTrace[] | null = lines ? [] : null;
    const m = multiplierFor(policy, run.member, r.pointType, r.role, src.id, actives, mTrace);
    if (lines) {
      const basis = basisTrace(r, c);
      const amount = exactRound(basis.value, r.num, m.n, r.den, m.d, r.rounding);
      sums[slot]! += amount;
      lines[slot]!.push(lineTrace(r, basis.value, basis, m, mTrace!, amount, undefined));
    } else {
      const value = basisValue(r, c);
      if (value !== 0) sums[slot]! += exactRound(value, r.num, m.n, r.den, m.d, r.rounding);
    }
  }

  const ms = src.milestone;
  if (ms !== null) {
    const key = ms.keys.get(c);
    const before = readCounter(run.counters, key);
    const contrib = contribution(ms, c);
    const after = before + contrib;
    if (contrib > 0) run.increments.push({ key, scope: 'member', by: contrib, limit: null });
    if (trace) trace.milestone = { window: ms.window, key, before, contribution: contrib, after } satisfies MilestoneTrace;
    for (const t of ms.thresholds) {
      const { first, count } = crossings(t, before, after);
      if (count === 0) continue;
      for (const r of t.rewards) {
        const slot = pts.indexOf(r.pointType);
        const mTrace: MultiplierTrace[] | null = lines ? [] : null;
        const m = multiplierFor(policy, run.member, r.pointType, 'bonus', src.id, actives, mTrace);
        const amount = exactRound(count, r.num, m.n, r.den, m.d, r.rounding);
        sums[slot]! += amount;
        if (lines) lines[slot]!.push(lineTrace(r, count, basis(count, undefined, undefined, undefined), m, mTrace!, amount, thresholdTrace(t, first, count)));
      }
    }
  }

  let awardTraces: AwardTrace[] | null = null;
  for (let s = 0; s < pts.length; s++) {
    const pt = pts[s]!;
    const subtotal = sums[s]!;
    const capSet = src.caps.get(pt);
    const capTrace: CapTrace[] | null = trace ? [] : null;
    const amount = capSet === undefined || subtotal === 0 ? subtotal : applyCaps(capSet, subtotal, c, run.counters, run.increments, capTrace);
    if (amount > 0) {
      run.awards.push({ kind, ruleId: src.id, ruleVersion: src.version, pointType: pt, amount });
      run.totals[pt] = (run.totals[pt] ?? 0) + amount;
    }
    if (lines && lines[s]!.length > 0) (awardTraces ??= []).push({ pointType: pt, lines: lines[s]!, subtotal, caps: capTrace!, amount });
  }
  if (trace && awardTraces) trace.awards = awardTraces;
}

function thresholdTrace(t: CompiledThreshold, first: number, count: number): LineTrace['threshold'] {
  return { at: t.at, every: t.every, upTo: t.upTo, crossed: crossedValues(t, first, count), count };
}

function lineTrace(
  r: CompiledReward,
  value: number,
  basis: LineTrace['basis'],
  m: Ratio,
  multipliers: MultiplierTrace[],
  amount: number,
  threshold: LineTrace['threshold'],
): LineTrace {
  const base = exactString(value, r.num, r.den);
  const n = r.num * m.n;
  const d = r.den * m.d;
  const exact =
    m === ONE
      ? base
      : Number.isSafeInteger(n) && Number.isSafeInteger(d)
        ? exactString(value, n, d)
        : exactString(value, BigInt(r.num) * BigInt(m.n), BigInt(r.den) * BigInt(m.d));
  const multiplier = ratioString(m);
  const line: LineTrace = {
    reward: r.index,
    type: r.kind,
    role: r.role,
    label: r.def.label,
    basis,
    threshold,
    base,
    multipliers,
    multiplier,
    exact,
    rounding: r.rounding,
    amount,
    formula: formula(r, value, multiplier, exact, amount),
  };
  return line;
}

/** A one-line, human-readable account of the line, in the point type's smallest units. */
function formula(r: CompiledReward, value: number, multiplier: string, exact: string, amount: number): string {
  const d = r.def;
  let expr: string;
  if (d.type === 'fixed') expr = value === 1 ? `${d.amount}` : `${value} × ${d.amount}`;
  else if (d.type === 'perUnit') expr = `${value} × ${d.rate}${(d.per ?? 1) !== 1 ? ` ÷ ${d.per}` : ''}`;
  else expr = `${value} × ${d.percent}%`;
  // Rule amounts are in display units; the scale turns them into smallest units.
  if (r.scale !== 1) expr += ` × ${r.scale}`;
  if (multiplier !== '1') expr += ` × ${multiplier}`;
  if (expr === `${amount}`) return expr;
  return exact === `${amount}` ? `${expr} = ${amount}` : `${r.rounding}(${expr}) = ${r.rounding}(${exact}) = ${amount}`;
}

/**
 * The counter keys `evaluate` may read for this event, sorted: the caller loads exactly these
 * (0 when absent) and passes them as the snapshot. Conditions are not evaluated here, so the
 * list may include keys of rules that will turn out not to match.
 */
export function requiredCounterKeys(program: CompiledProgram, event: EngineEvent, member?: MemberContext): string[] {
  // With the member known, rules whose condition fails and campaigns that do not target the
  // member need no counters: a purchase against twelve category rules reads one cap, not twelve.
  // Without it, every rule that could apply is listed (conditions may read the member).
  const c = new EvalContext(event, member ?? NOBODY, program.clock, program.program.channelKinds);
  const ms = c.t.ms;
  const keys: string[] = [];
  const collect = (caps: ReadonlyMap<string, CompiledCapSet>, m: CompiledMilestone | null) => {
    for (const set of caps.values()) capKeysFor(set, c, keys);
    if (m !== null) keys.push(m.keys.get(c));
  };
  for (const rule of program.rulesByType.get(event.type) ?? NO_RULES) {
    if (!rule.active) continue;
    if ((rule.validFrom !== null && ms < rule.validFrom) || (rule.validTo !== null && ms >= rule.validTo)) continue;
    if (rule.caps.size === 0 && rule.milestone === null) continue;
    if (member !== undefined && !rule.condition.test(c)) continue;
    collect(rule.caps, rule.milestone);
  }
  for (const cp of program.campaignsByType.get(event.type) ?? NO_CAMPAIGNS) {
    if (!cp.active || (cp.schedule !== null && scheduleMiss(cp.schedule, c.t) !== null)) continue;
    if (cp.caps.size === 0 && cp.milestone === null) continue;
    if (member !== undefined && cp.target !== null && !cp.target.test(c)) continue;
    collect(cp.caps, cp.milestone);
  }
  // Unique by construction: one key per (source, point type, period), and of a rule's versions
  // only the one valid at the event contributes.
  return keys.length > 1 ? keys.sort() : keys;
}

const NOBODY: MemberContext = Object.freeze({
  tierCode: null,
  planCodes: [],
  tags: [],
  segments: [],
  birthday: null,
  joinedAt: new Date(0),
});

