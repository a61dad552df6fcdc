import { KeyCache, milestoneKey, type SourceKind } from './caps.js';
import type { EvalContext } from './context.js';
import type { ConditionScope } from './fields.js';
import { childPath, type Issue } from './issues.js';
import type { Period } from './local-time.js';
import { compileReward, validateIntegerAttribute, validateReward, type CompiledReward } from './rewards.js';
import type { Milestone } from './schemas.js';
import type { ProgramContext } from './types.js';

/**
 * Milestones: bonuses when a running count in a calendar window crosses thresholds
 * (the 40th night of the year and every 10th after it; a one-off at the 60th; the 3rd purchase of
 * the month). The caller supplies the count before this event; the event contributes an integer
 * attribute (nights) or 1. Threshold t is crossed when before < t ≤ after, so one event can
 * cross several thresholds (38 → 52 nights crosses 40 and 50) and none is paid twice.
 */
export interface CompiledThreshold {
  index: number;
  at: number;
  every: number | null;
  upTo: number | null;
  rewards: CompiledReward[];
}

export interface CompiledMilestone {
  window: Period;
  keys: KeyCache;
  countAttribute: string | undefined;
  thresholds: CompiledThreshold[];
}

export const MAX_LISTED_CROSSINGS = 20;

export function validateMilestone(m: Milestone, path: string, scope: ConditionScope, program: ProgramContext, out: Issue[]): void {
  if (m.countAttribute !== undefined) validateIntegerAttribute(m.countAttribute, childPath(path, 'countAttribute'), scope, out);
  m.thresholds.forEach((t, i) => {
    const p = childPath(childPath(path, 'thresholds'), i);
    if (t.upTo !== undefined && t.every === undefined) out.push({ path: childPath(p, 'upTo'), message: "'upTo' limits a repeating threshold: set 'every' too" });
    if (t.upTo !== undefined && t.upTo < t.at) out.push({ path: childPath(p, 'upTo'), message: "must be ≥ 'at'" });
    t.rewards.forEach((r, j) => validateReward(r, childPath(childPath(p, 'rewards'), j), scope, program, out, { fixedOnly: true }));
  });
}

export function compileMilestone(
  m: Milestone,
  path: string,
  scope: ConditionScope,
  program: ProgramContext,
  kind: SourceKind,
  id: string,
): CompiledMilestone {
  return {
    window: m.window,
    keys: new KeyCache(milestoneKey(kind, id, m.window, ''), m.window),
    countAttribute: m.countAttribute,
    thresholds: m.thresholds.map((t, i) => ({
      index: i,
      at: t.at,
      every: t.every ?? null,
      upTo: t.upTo ?? null,
      rewards: t.rewards.map((r, j) =>
        compileReward({ ...r, role: 'bonus' }, j, childPath(childPath(childPath(path, 'thresholds'), i), 'rewards'), scope, program),
      ),
    })),
  };
}

/** What this event adds to the count: the attribute's value, or 1 per event. */
export function contribution(m: CompiledMilestone, c: EvalContext): number {
  if (m.countAttribute === undefined) return 1;
  const v = c.attrs[m.countAttribute];
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : 0;
}

/** The range of repetitions k (threshold value at + k·every) crossed going from `before` to `after`. */
export function crossings(t: CompiledThreshold, before: number, after: number): { first: number; count: number } {
  if (after <= before) return { first: 0, count: 0 };
  if (t.every === null) return before < t.at && t.at <= after ? { first: 0, count: 1 } : { first: 0, count: 0 };
  const limit = t.upTo === null ? after : Math.min(after, t.upTo);
  if (limit < t.at) return { first: 0, count: 0 };
  const first = before < t.at ? 0 : Math.floor((before - t.at) / t.every) + 1;
  const last = Math.floor((limit - t.at) / t.every);
  return last >= first ? { first, count: last - first + 1 } : { first: 0, count: 0 };
}

/** The threshold values crossed, for the explanation (at most MAX_LISTED_CROSSINGS). */
export function crossedValues(t: CompiledThreshold, first: number, count: number): number[] {
  const out: number[] = [];
  const n = Math.min(count, MAX_LISTED_CROSSINGS);
  for (let k = 0; k < n; k++) out.push(t.at + (first + k) * (t.every ?? 0));
  return out;
}
