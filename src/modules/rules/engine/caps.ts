import { AppError } from '../../../core/errors.js';
import type { EvalContext } from './context.js';
import { parseDecimal } from './decimal.js';
import { childPath, type Issue } from './issues.js';
import { PERIODS, type Period } from './local-time.js';
import { scaleOf, validateAmount, validatePointType } from './rewards.js';
import type { Budget, Caps } from './schemas.js';
import type { CounterSnapshot, ProgramContext } from './types.js';

/**
 * Caps and budgets, and the counter keys they live under.
 *
 * Counter keys (strings, stable across rule versions so a new version does not reset a cap):
 *   {kind}:{id}:cap:{pointType}:{period}:{bucket}    member-scoped, amount awarded in the bucket
 *   {kind}:{id}:budget:{pointType}                   program-scoped, amount awarded to everyone
 *   {kind}:{id}:milestone:{window}:{bucket}          member-scoped, running count
 * kind is `rule` or `campaign`; buckets are local to the program zone: day 2025-03-08,
 * week 2025-W10 (ISO, Monday first), month 2025-03, year 2025, lifetime `all`.
 *
 * The engine reads a snapshot; the caller must apply the increments with a guard
 * (`value + by <= limit`) in the same transaction as the ledger write, and re-evaluate if a guard
 * refuses: two concurrent events can both see the same remaining cap (check-then-write).
 */
export type SourceKind = 'rule' | 'campaign';
export type CapName = 'event' | Period | 'budget';

export interface CompiledCapSet {
  pointType: string;
  /** smallest units; null = no such cap */
  event: number | null;
  periods: ReadonlyArray<{ period: Period; max: number; keys: KeyCache }>;
  budget: number | null;
  budgetKey: string;
}

/**
 * The counter key of one (source, point type, period) per local day. Building a key and hashing
 * a fresh string for every lookup was the largest cost of evaluation; events of one day share
 * one string object instead. Bounded, because a replay may walk through years of days.
 */
export class KeyCache {
  private lastDay = NaN;
  private lastKey = '';
  private readonly byDay = new Map<number, string>();

  constructor(
    private readonly prefix: string,
    private readonly period: Period,
  ) {}

  get(c: EvalContext): string {
    const day = c.t.dayNumber;
    if (day === this.lastDay) return this.lastKey;
    let key = this.byDay.get(day);
    if (key === undefined) {
      key = this.prefix + c.bucket(this.period);
      if (this.byDay.size >= 64) this.byDay.clear();
      this.byDay.set(day, key);
    }
    this.lastDay = day;
    this.lastKey = key;
    return key;
  }
}

export interface CounterIncrement {
  key: string;
  scope: 'member' | 'program';
  by: number;
  /** the cap or budget the new value must not exceed; null for milestone counts */
  limit: number | null;
}

export interface CapTrace {
  cap: CapName;
  key: string | null;
  max: number;
  used: number;
  remaining: number;
  /** how much this cap removed from the award */
  cut: number;
  /** a sentence for operators when the cap cut the award */
  message: string | undefined;
}

function capTrace(cap: CapName, key: string | null, max: number, used: number, remaining: number, cut: number): CapTrace {
  const message =
    cut === 0
      ? undefined
      : cap === 'event'
        ? `cut by ${cut}: at most ${max} per event`
        : cap === 'budget'
          ? `cut by ${cut}: the rule budget of ${max} has ${remaining} left (${used} used)`
          : `cut by ${cut}: the ${cap} cap of ${max} has ${remaining} left (${used} already awarded)`;
  return { cap, key, max, used, remaining, cut, message };
}

export function capKey(kind: SourceKind, id: string, pointType: string, period: Period, bucket: string): string {
  return `${kind}:${id}:cap:${pointType}:${period}:${bucket}`;
}

export function budgetKey(kind: SourceKind, id: string, pointType: string): string {
  return `${kind}:${id}:budget:${pointType}`;
}

export function milestoneKey(kind: SourceKind, id: string, window: Period, bucket: string): string {
  return `${kind}:${id}:milestone:${window}:${bucket}`;
}

export type ParsedCounterKey =
  | { kind: SourceKind; id: string; counter: 'cap'; pointType: string; period: Period; bucket: string; scope: 'member' }
  | { kind: SourceKind; id: string; counter: 'budget'; pointType: string; scope: 'program' }
  | { kind: SourceKind; id: string; counter: 'milestone'; window: Period; bucket: string; scope: 'member' };

/** Splits a counter key back into its parts (ids and point type codes never contain ':'). */
export function parseCounterKey(key: string): ParsedCounterKey | null {
  const p = key.split(':');
  const kind = p[0];
  if ((kind !== 'rule' && kind !== 'campaign') || p.length < 4) return null;
  const id = p[1]!;
  if (p[2] === 'cap' && p.length === 6 && isPeriod(p[4])) {
    return { kind, id, counter: 'cap', pointType: p[3]!, period: p[4], bucket: p[5]!, scope: 'member' };
  }
  if (p[2] === 'budget' && p.length === 4) return { kind, id, counter: 'budget', pointType: p[3]!, scope: 'program' };
  if (p[2] === 'milestone' && p.length === 5 && isPeriod(p[3])) {
    return { kind, id, counter: 'milestone', window: p[3], bucket: p[4]!, scope: 'member' };
  }
  return null;
}

function isPeriod(s: string | undefined): s is Period {
  return (PERIODS as readonly string[]).includes(s ?? '');
}

export function readCounter(counters: CounterSnapshot, key: string): number {
  const v = counters instanceof Map ? counters.get(key) : (counters as Readonly<Record<string, number>>)[key];
  if (v === undefined) {
    throw new AppError('validation_failed', `counter ${key} was not provided (load every key listed by requiredCounterKeys; 0 when absent)`, { key });
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new AppError('validation_failed', `counter ${key} must be a non-negative integer`, { key, value: v });
  }
  return v;
}

/** Checks caps and budget; `awarded` are the point types the source can award. */
export function validateCaps(
  caps: Caps | undefined,
  budget: Budget | undefined,
  program: ProgramContext,
  awarded: ReadonlySet<string>,
  out: Issue[],
): void {
  for (const [pt, limits] of Object.entries(caps ?? {})) {
    const p = childPath('caps', pt);
    if (!validatePointType(program, pt, p, out)) continue;
    if (!awarded.has(pt)) out.push({ path: p, message: `caps point type '${pt}', which this source never awards` });
    for (const [period, max] of Object.entries(limits)) {
      if (max !== undefined) validateAmount(program, pt, max, childPath(p, period), out);
    }
  }
  for (const [pt, total] of Object.entries(budget ?? {})) {
    const p = childPath('budget', pt);
    if (!validatePointType(program, pt, p, out)) continue;
    if (!awarded.has(pt)) out.push({ path: p, message: `budgets point type '${pt}', which this source never awards` });
    validateAmount(program, pt, total, p, out);
  }
}

function smallest(program: ProgramContext, pt: string, v: string | number | undefined): number | null {
  if (v === undefined) return null;
  const r = parseDecimal(v)!;
  return (r.n * scaleOf(program, pt)) / r.d;
}

export function compileCaps(
  caps: Caps | undefined,
  budget: Budget | undefined,
  program: ProgramContext,
  kind: SourceKind,
  id: string,
): Map<string, CompiledCapSet> {
  const out = new Map<string, CompiledCapSet>();
  const pts = new Set([...Object.keys(caps ?? {}), ...Object.keys(budget ?? {})]);
  for (const pt of [...pts].sort()) {
    const limits = caps?.[pt] ?? {};
    out.set(pt, {
      pointType: pt,
      event: smallest(program, pt, limits.event),
      periods: PERIODS.filter((p) => limits[p] !== undefined).map((p) => ({
        period: p,
        max: smallest(program, pt, limits[p])!,
        keys: new KeyCache(capKey(kind, id, pt, p, ''), p),
      })),
      budget: smallest(program, pt, budget?.[pt]),
      budgetKey: budgetKey(kind, id, pt),
    });
  }
  return out;
}

/** Keys a cap set will read for an event (period caps and budget). */
export function capKeysFor(set: CompiledCapSet, c: EvalContext, into: string[]): void {
  for (const p of set.periods) into.push(p.keys.get(c));
  if (set.budget !== null) into.push(set.budgetKey);
}

/**
 * Cuts an award to what its caps leave, records each cap in `trace`, and queues the guarded
 * increments. Returns the final amount.
 */
export function applyCaps(
  set: CompiledCapSet,
  amount: number,
  c: EvalContext,
  counters: CounterSnapshot,
  increments: CounterIncrement[],
  trace: CapTrace[] | null,
): number {
  let allowed = amount;
  if (set.event !== null) {
    const cut = allowed > set.event ? allowed - set.event : 0;
    if (trace) trace.push(capTrace('event', null, set.event, 0, set.event, cut));
    allowed -= cut;
  }
  const periods = set.periods;
  for (let i = 0; i < periods.length; i++) {
    const { period, max } = periods[i]!;
    const key = periods[i]!.keys.get(c);
    const used = readCounter(counters, key);
    const remaining = used >= max ? 0 : max - used;
    const cut = allowed > remaining ? allowed - remaining : 0;
    if (trace) trace.push(capTrace(period, key, max, used, remaining, cut));
    allowed -= cut;
  }
  let bKey: string | null = null;
  if (set.budget !== null) {
    bKey = set.budgetKey;
    const used = readCounter(counters, bKey);
    const remaining = used >= set.budget ? 0 : set.budget - used;
    const cut = allowed > remaining ? allowed - remaining : 0;
    if (trace) trace.push(capTrace('budget', bKey, set.budget, used, remaining, cut));
    allowed -= cut;
  }
  if (allowed > 0) {
    // The key caches hand back the same strings they did above.
    for (let i = 0; i < periods.length; i++) increments.push({ key: periods[i]!.keys.get(c), scope: 'member', by: allowed, limit: periods[i]!.max });
    if (bKey !== null) increments.push({ key: bKey, scope: 'program', by: allowed, limit: set.budget });
  }
  return allowed;
}
