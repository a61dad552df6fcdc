import { DateTime } from 'luxon';
import { AppError } from '../../core/errors.js';

/**
 * The tier ladder as configured, and the pure rules over it: validation, condition evaluation,
 * validity ends and evaluation schedules. No SQL here (see tiers.sql.ts), no I/O.
 */

export type MetricSource =
  /** sum of an event attribute (purchase.amount → spend, stay.nights → nights), or a count of events */
  | { kind: 'event'; eventTypes: string[]; attribute?: string | undefined; factor?: number | undefined }
  /** what the earning rules awarded of a point type (growth value, or any other point type): earned only */
  | { kind: 'pointType'; pointType: string }
  /** set by the host platform through the API: a value per day (summed over windows) or one current value */
  | { kind: 'host'; mode: 'daily' | 'value' };

export interface MetricDef {
  code: string;
  name: string;
  source: MetricSource;
}

export type Window =
  | { kind: 'rollingDays'; days: number }
  | { kind: 'rollingMonths'; months: number }
  | { kind: 'calendarYear' }
  | { kind: 'membershipYear' }
  | { kind: 'tierYear' }
  | { kind: 'lifetime' };

export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { metric: string; window: Window; min?: number | undefined; max?: number | undefined };

export type Validity =
  /** a duration from attaining (or renewing) the tier */
  | { kind: 'duration'; months?: number | undefined; days?: number | undefined }
  /** through the end of a calendar month some years on: end of next year = { yearsAfter: 1, month: 12 } */
  | { kind: 'calendar'; yearsAfter: number; month: number };

export interface PurchaseOption {
  code: string;
  months?: number | undefined;
  days?: number | undefined;
  /** pay with points: spent through the ledger */
  points?: { pointType: string; amount: number } | undefined;
  /** pay with money: the host platform takes the payment and reports it */
  price?: { amount: number; currency: string } | undefined;
}

export interface TierDef {
  code: string;
  name: string;
  colour?: string | null | undefined;
  icon?: string | null | undefined;
  description?: string | null | undefined;
  /** entry: null means every member qualifies (a base tier) */
  qualification?: Condition | null | undefined;
  /** what keeping the tier takes (a retention threshold below entry, ceilings); default: the entry */
  retention?: Condition | null | undefined;
  validity?: Validity | null | undefined;
  purchase?: { options: PurchaseOption[] } | null | undefined;
}

export type Schedule =
  | { schedule: 'none' }
  | { schedule: 'daily' }
  | { schedule: 'monthly'; dayOfMonth?: number | undefined }
  | { schedule: 'yearly'; month?: number | undefined; day?: number | undefined }
  | { schedule: 'anniversary' };

export interface LadderPolicy {
  evaluation: Schedule;
  /** noticeDays: announce tier.will_downgrade that many days before a scheduled evaluation would drop a member */
  downgrade: { policy: 'recompute' | 'oneTier' | 'never'; graceDays: number; noticeDays?: number | undefined };
  counters: { onUpgrade: 'keep' | 'reset' | 'carrySurplus'; carryCap?: number | null | undefined };
  lifetime: Array<{ tier: string; years: number }>;
}

export interface LadderConfigInput {
  code?: string | undefined;
  name?: string | undefined;
  metrics: MetricDef[];
  tiers: TierDef[];
  evaluation?: Schedule | undefined;
  downgrade?: Partial<LadderPolicy['downgrade']> | undefined;
  counters?: LadderPolicy['counters'] | undefined;
  lifetime?: LadderPolicy['lifetime'] | undefined;
}

export interface Tier extends TierDef {
  id: string;
  rank: number;
}

export interface Ladder {
  id: string;
  programId: string;
  code: string;
  name: string;
  version: number;
  policy: LadderPolicy;
  metrics: MetricDef[];
  /** ascending by rank (1 = the lowest) */
  tiers: Tier[];
  /** the highest rank every member has without qualifying (0: none) */
  baseRank: number;
  updatedAt: Date;
}

/** One (metric, window) pair a condition reads: conditions share measures. */
export interface Measure {
  key: string;
  metric: MetricDef;
  window: Window;
}

const CODE = /^[a-z][a-z0-9_]{0,63}$/;
const MAX_DEPTH = 6;

function fail(message: string, field: string): never {
  throw new AppError('validation_failed', message, { field });
}

function checkCode(code: unknown, field: string): void {
  if (typeof code !== 'string' || !CODE.test(code)) fail(`${field} must be lower-case letters, digits and _ (starting with a letter)`, field);
}

function checkInt(v: unknown, field: string, min: number, max: number): void {
  if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) fail(`${field} must be an integer from ${min} to ${max}`, field);
}

function checkWindow(w: unknown, field: string): void {
  const win = w as Window | undefined;
  if (!win || typeof win !== 'object') fail(`${field} is required`, field);
  switch (win.kind) {
    case 'rollingDays':
      checkInt(win.days, `${field}.days`, 1, 3660);
      break;
    case 'rollingMonths':
      checkInt(win.months, `${field}.months`, 1, 120);
      break;
    case 'calendarYear':
    case 'membershipYear':
    case 'tierYear':
    case 'lifetime':
      break;
    default:
      fail(`${field}.kind must be rollingDays, rollingMonths, calendarYear, membershipYear, tierYear or lifetime`, `${field}.kind`);
  }
  const allowed = new Set(['kind', 'days', 'months']);
  for (const k of Object.keys(win)) if (!allowed.has(k)) fail(`${field}.${k} is not a window field`, `${field}.${k}`);
}

export function validateCondition(c: unknown, metrics: Map<string, MetricDef>, field: string, depth = 0): void {
  if (depth > MAX_DEPTH) fail(`conditions nest at most ${MAX_DEPTH} deep`, field);
  if (!c || typeof c !== 'object' || Array.isArray(c)) fail(`${field} must be a condition object`, field);
  const obj = c as Record<string, unknown>;
  if ('all' in obj || 'any' in obj) {
    const op = 'all' in obj ? 'all' : 'any';
    if (Object.keys(obj).length !== 1) fail(`${field} must have exactly one of all / any`, field);
    const list = obj[op];
    if (!Array.isArray(list) || list.length === 0 || list.length > 20) fail(`${field}.${op} must list 1 to 20 conditions`, `${field}.${op}`);
    list.forEach((x, i) => validateCondition(x, metrics, `${field}.${op}[${i}]`, depth + 1));
    return;
  }
  for (const k of Object.keys(obj)) if (!['metric', 'window', 'min', 'max'].includes(k)) fail(`${field}.${k} is not a condition field`, `${field}.${k}`);
  if (typeof obj.metric !== 'string' || !metrics.has(obj.metric)) fail(`${field}.metric must name a metric of the ladder`, `${field}.metric`);
  const metric = metrics.get(obj.metric)!;
  if (metric.source.kind === 'host' && metric.source.mode === 'value') {
    if (obj.window !== undefined && (obj.window as Window).kind !== 'lifetime') fail(`${field}.window: metric ${metric.code} is a current value; it has no window`, `${field}.window`);
  } else {
    checkWindow(obj.window, `${field}.window`);
  }
  if (obj.min === undefined && obj.max === undefined) fail(`${field} needs min (a floor) or max (a ceiling)`, field);
  if (obj.min !== undefined) checkInt(obj.min, `${field}.min`, -1e15, 1e15);
  if (obj.max !== undefined) checkInt(obj.max, `${field}.max`, -1e15, 1e15);
  if (obj.min !== undefined && obj.max !== undefined && (obj.max as number) < (obj.min as number)) fail(`${field}: max is below min`, field);
}

function checkValidity(v: unknown, field: string): void {
  if (v === null || v === undefined) return;
  const val = v as Validity;
  if (val.kind === 'duration') {
    if (val.months === undefined && val.days === undefined) fail(`${field} needs months or days`, field);
    if (val.months !== undefined) checkInt(val.months, `${field}.months`, 0, 240);
    if (val.days !== undefined) checkInt(val.days, `${field}.days`, 0, 3660);
  } else if (val.kind === 'calendar') {
    checkInt(val.yearsAfter, `${field}.yearsAfter`, 0, 20);
    checkInt(val.month, `${field}.month`, 1, 12);
  } else {
    fail(`${field}.kind must be duration or calendar`, `${field}.kind`);
  }
}

export const DEFAULT_POLICY: LadderPolicy = {
  evaluation: { schedule: 'monthly', dayOfMonth: 1 },
  downgrade: { policy: 'recompute', graceDays: 0 },
  counters: { onUpgrade: 'keep' },
  lifetime: [],
};

/** Checks a whole ladder configuration; returns it normalised. */
export function validateLadder(input: LadderConfigInput, pointTypes: Set<string>): { policy: LadderPolicy; metrics: MetricDef[]; tiers: TierDef[] } {
  const metrics = new Map<string, MetricDef>();
  input.metrics.forEach((m, i) => {
    const f = `metrics[${i}]`;
    checkCode(m.code, `${f}.code`);
    if (metrics.has(m.code)) fail(`metric ${m.code} is defined twice`, `${f}.code`);
    const s = m.source;
    if (s.kind === 'event') {
      if (!s.eventTypes.length) fail(`${f}.source.eventTypes must list at least one event type`, `${f}.source.eventTypes`);
      if (s.factor !== undefined) checkInt(s.factor, `${f}.source.factor`, -1_000_000, 1_000_000);
    } else if (s.kind === 'pointType') {
      if (!pointTypes.has(s.pointType)) fail(`${f}.source.pointType: point type ${s.pointType} does not exist`, `${f}.source.pointType`);
    }
    metrics.set(m.code, m);
  });
  if (input.tiers.length === 0) fail('a ladder needs at least one tier', 'tiers');
  const codes = new Set<string>();
  input.tiers.forEach((t, i) => {
    const f = `tiers[${i}]`;
    checkCode(t.code, `${f}.code`);
    if (codes.has(t.code)) fail(`tier ${t.code} is defined twice`, `${f}.code`);
    codes.add(t.code);
    if (t.qualification) validateCondition(t.qualification, metrics, `${f}.qualification`);
    if (t.retention) validateCondition(t.retention, metrics, `${f}.retention`);
    if (t.retention && !t.qualification) fail(`${f}: a tier without qualification cannot have a retention condition`, `${f}.retention`);
    checkValidity(t.validity, `${f}.validity`);
    const seen = new Set<string>();
    for (const [j, o] of (t.purchase?.options ?? []).entries()) {
      const g = `${f}.purchase.options[${j}]`;
      checkCode(o.code, `${g}.code`);
      if (seen.has(o.code)) fail(`purchase option ${o.code} is defined twice`, `${g}.code`);
      seen.add(o.code);
      if (!o.months && !o.days) fail(`${g} needs a period (months or days)`, g);
      if (!o.points && !o.price) fail(`${g} needs a price in points or in money`, g);
      if (o.points && !pointTypes.has(o.points.pointType)) fail(`${g}.points.pointType: point type ${o.points.pointType} does not exist`, `${g}.points.pointType`);
    }
  });
  // A qualified tier below a base tier could never be reached: base tiers sit at the bottom.
  const firstQualified = input.tiers.findIndex((t) => t.qualification);
  if (firstQualified >= 0 && input.tiers.slice(firstQualified).some((t) => !t.qualification)) {
    fail('tiers without qualification (base tiers) must come before every tier with one', 'tiers');
  }
  const policy: LadderPolicy = {
    evaluation: input.evaluation ?? DEFAULT_POLICY.evaluation,
    downgrade: { ...DEFAULT_POLICY.downgrade, ...(input.downgrade ?? {}) },
    counters: input.counters ?? DEFAULT_POLICY.counters,
    lifetime: input.lifetime ?? [],
  };
  const ev = policy.evaluation;
  if (ev.schedule === 'monthly' && ev.dayOfMonth !== undefined) checkInt(ev.dayOfMonth, 'evaluation.dayOfMonth', 1, 28);
  if (ev.schedule === 'yearly') {
    if (ev.month !== undefined) checkInt(ev.month, 'evaluation.month', 1, 12);
    if (ev.day !== undefined) checkInt(ev.day, 'evaluation.day', 1, 28);
  }
  checkInt(policy.downgrade.graceDays, 'downgrade.graceDays', 0, 3660);
  if (policy.downgrade.noticeDays !== undefined) checkInt(policy.downgrade.noticeDays, 'downgrade.noticeDays', 0, 365);
  if (policy.counters.carryCap !== undefined && policy.counters.carryCap !== null) checkInt(policy.counters.carryCap, 'counters.carryCap', 0, 1e15);
  policy.lifetime.forEach((l, i) => {
    if (!codes.has(l.tier)) fail(`lifetime[${i}].tier: no tier ${l.tier}`, `lifetime[${i}].tier`);
    checkInt(l.years, `lifetime[${i}].years`, 1, 100);
  });
  return { policy, metrics: [...metrics.values()], tiers: input.tiers };
}

export function baseRankOf(tiers: TierDef[]): number {
  let base = 0;
  tiers.forEach((t, i) => {
    if (!t.qualification) base = i + 1;
  });
  return base;
}

export function measureKey(metric: string, window: Window | undefined): string {
  if (!window) return `${metric}|value`;
  const w = window as { kind: string; days?: number; months?: number };
  return `${metric}|${w.kind}${w.days ?? w.months ?? ''}`;
}

/** Every (metric, window) the ladder's conditions read, each once. */
export function measuresOf(ladder: Pick<Ladder, 'tiers' | 'metrics'>): Measure[] {
  const metrics = new Map(ladder.metrics.map((m) => [m.code, m]));
  const out = new Map<string, Measure>();
  const walk = (c: Condition | null | undefined): void => {
    if (!c) return;
    if ('all' in c) return c.all.forEach(walk);
    if ('any' in c) return c.any.forEach(walk);
    const metric = metrics.get(c.metric)!;
    const isValue = metric.source.kind === 'host' && metric.source.mode === 'value';
    const window = isValue ? undefined : c.window;
    const key = measureKey(c.metric, window);
    if (!out.has(key)) out.set(key, { key, metric, window: window ?? { kind: 'lifetime' } });
  };
  for (const t of ladder.tiers) {
    walk(t.qualification);
    walk(t.retention);
  }
  return [...out.values()];
}

export function leafKey(ladder: Pick<Ladder, 'metrics'>, c: { metric: string; window: Window }): string {
  const metric = ladder.metrics.find((m) => m.code === c.metric);
  const isValue = metric?.source.kind === 'host' && metric.source.mode === 'value';
  return measureKey(c.metric, isValue ? undefined : c.window);
}

export function holds(ladder: Pick<Ladder, 'metrics'>, c: Condition | null | undefined, values: Map<string, number>): boolean {
  if (!c) return true;
  if ('all' in c) return c.all.every((x) => holds(ladder, x, values));
  if ('any' in c) return c.any.some((x) => holds(ladder, x, values));
  const v = values.get(leafKey(ladder, c)) ?? 0;
  return (c.min === undefined || v >= c.min) && (c.max === undefined || v <= c.max);
}

/** The highest rank whose entry condition holds: walked from the top, so the first hit wins. */
export function qualifiedRank(ladder: Ladder, values: Map<string, number>): number {
  for (let i = ladder.tiers.length - 1; i >= 0; i--) {
    if (holds(ladder, ladder.tiers[i]!.qualification, values)) return i + 1;
  }
  return 0;
}

export function retentionOf(t: TierDef): Condition | null {
  return t.retention ?? t.qualification ?? null;
}

/**
 * The end of a tier's validity when attained at `at`, whose qualifying period ended on local
 * date `ref`: a duration runs from the instant, a calendar anchor from the period's year.
 */
export function validityEnd(validity: Validity | null | undefined, at: Date, ref: string, zone: string): Date | null {
  if (!validity) return null;
  if (validity.kind === 'duration') {
    return DateTime.fromJSDate(at, { zone }).plus({ months: validity.months ?? 0, days: validity.days ?? 0 }).toJSDate();
  }
  const year = DateTime.fromISO(ref, { zone }).year + validity.yearsAfter;
  return DateTime.fromObject({ year, month: validity.month, day: 1 }, { zone }).plus({ months: 1 }).startOf('day').toJSDate();
}

/** The next scheduled evaluation instant strictly after `after` (local midnight of its day). */
export function nextEvaluation(schedule: Schedule, after: Date, zone: string): Date | null {
  const start = DateTime.fromJSDate(after, { zone }).startOf('day');
  const midnight = (d: DateTime) => d.startOf('day');
  switch (schedule.schedule) {
    case 'none':
    case 'anniversary':
      return null;
    case 'daily':
      return start.plus({ days: 1 }).toJSDate();
    case 'monthly': {
      const day = schedule.dayOfMonth ?? 1;
      let d = midnight(start.set({ day }));
      if (d.toMillis() <= after.getTime()) d = midnight(start.plus({ months: 1 }).set({ day }));
      return d.toJSDate();
    }
    case 'yearly': {
      const month = schedule.month ?? 1;
      const day = schedule.day ?? 1;
      let d = midnight(start.set({ month, day }));
      if (d.toMillis() <= after.getTime()) d = midnight(start.plus({ years: 1 }).set({ month, day }));
      return d.toJSDate();
    }
  }
}

/** The local date a scheduled run closes: the day before a midnight run, the same day otherwise. */
export function referenceDate(asOf: Date, zone: string): string {
  return DateTime.fromMillis(asOf.getTime() - 1, { zone }).toISODate()!;
}

/** Start and end (inclusive) of a window on `ref`, for progress; anchors are the member's own dates. */
export function windowRange(w: Window | undefined, ref: string, member: { joinedOn: string; attainedOn: string }): { from: string | null; to: string | null } {
  const r = DateTime.fromISO(ref, { zone: 'utc' });
  const anniversary = (anchor: string) => {
    const a = DateTime.fromISO(anchor, { zone: 'utc' });
    let y = r.year - a.year;
    let s = a.plus({ years: y });
    if (s > r) s = a.plus({ years: --y });
    return { from: s.toISODate()!, to: a.plus({ years: y + 1 }).minus({ days: 1 }).toISODate()! };
  };
  if (!w) return { from: null, to: null };
  switch (w.kind) {
    case 'rollingDays':
      return { from: r.minus({ days: w.days - 1 }).toISODate()!, to: ref };
    case 'rollingMonths':
      return { from: r.minus({ months: w.months }).plus({ days: 1 }).toISODate()!, to: ref };
    case 'calendarYear':
      return { from: r.startOf('year').toISODate()!, to: r.endOf('year').toISODate()! };
    case 'membershipYear':
      return anniversary(member.joinedOn);
    case 'tierYear':
      return anniversary(member.attainedOn);
    case 'lifetime':
      return { from: null, to: null };
  }
}
