import type { Condition, Ladder, Measure, Window } from './tiers.model.js';
import { leafKey, measuresOf, retentionOf } from './tiers.model.js';

/**
 * SQL over the metric buckets, compiled from a ladder: one expression per measure (a metric over
 * a window, counted from the member's own counters reset, plus what was carried), and one boolean
 * expression per condition. The real-time path and the scheduled evaluation use the same
 * expressions, so a window means one thing everywhere. Codes and numbers are validated before
 * they are inlined (codes match ^[a-z][a-z0-9_]*$, numbers are safe integers).
 */

/** `ref` is a SQL expression of the reference local date, e.g. `$3::date`. */
function windowStart(w: Window, ref: string): string | null {
  const anniversary = (anchor: string) => {
    const years = `(extract(year from ${ref}) - extract(year from ${anchor}))::int`;
    const at = (y: string) => `(${anchor} + make_interval(years => ${y}))::date`;
    return `(case when ${at(years)} > ${ref} then ${at(`${years} - 1`)} else ${at(years)} end)`;
  };
  switch (w.kind) {
    case 'rollingDays':
      return `(${ref} - ${w.days - 1})`;
    case 'rollingMonths':
      return `((${ref} - interval '${w.months} months')::date + 1)`;
    case 'calendarYear':
      return `date_trunc('year', ${ref})::date`;
    case 'membershipYear':
      return anniversary('mt.joined_on');
    case 'tierYear':
      return anniversary('mt.attained_on');
    case 'lifetime':
      return null;
  }
}

/** A lower bound on every window start, to keep the bucket scan short (null: no bound). */
export function scanLowerBound(measures: Measure[], ref: string): string | null {
  const parts: string[] = [];
  for (const m of measures) {
    if (m.metric.source.kind === 'host' && m.metric.source.mode === 'value') continue;
    const w = m.window;
    if (w.kind === 'lifetime') return null;
    if (w.kind === 'membershipYear' || w.kind === 'tierYear') parts.push(`(${ref} - 366)`);
    else parts.push(windowStart(w, ref)!);
  }
  return parts.length ? `least(${parts.join(', ')})` : null;
}

/** A text as an SQL literal, for the ladder's codes compiled into statement texts. */
export const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

export function measureStartSql(m: Measure, ref: string): string {
  const start = windowStart(m.window, ref);
  return start ? `greatest(${start}, mt.counters_from)` : 'mt.counters_from';
}

/** The value of one measure for the member `mt`, in a query grouped by mt.member_id joined to buckets `b`. */
export function measureSql(m: Measure, ref: string): string {
  const code = lit(m.metric.code);
  if (m.metric.source.kind === 'host' && m.metric.source.mode === 'value') {
    return `coalesce((select v.value from tier_metric_values v where v.member_id = mt.member_id and v.metric = ${code}), 0)`;
  }
  const start = windowStart(m.window, ref);
  const carryApplies = start ? `mt.counters_from >= ${start}` : 'mt.counters_from is not null';
  const carry = `(case when ${carryApplies} then coalesce((mt.carry ->> ${code})::bigint, 0) else 0 end)`;
  return `(coalesce(sum(b.value) filter (where b.metric = ${code} and b.local_date >= coalesce(${measureStartSql(m, ref)}, '0001-01-01'::date) and b.local_date <= ${ref}), 0)::bigint + ${carry})`;
}

/** A condition over measure columns named by `column(key)`. */
export function conditionSql(ladder: Ladder, c: Condition | null | undefined, column: (key: string) => string): string {
  if (!c) return 'true';
  if ('all' in c) return `(${c.all.map((x) => conditionSql(ladder, x, column)).join(' and ')})`;
  if ('any' in c) return `(${c.any.map((x) => conditionSql(ladder, x, column)).join(' or ')})`;
  const col = column(leafKey(ladder, c));
  const parts: string[] = [];
  if (c.min !== undefined) parts.push(`${col} >= ${c.min}`);
  if (c.max !== undefined) parts.push(`${col} <= ${c.max}`);
  return `(${parts.join(' and ')})`;
}

export interface CompiledLadder {
  measures: Measure[];
  column: (key: string) => string;
  /** select-list items: m0 … mN */
  measureColumns(ref: string): string;
  /** the highest rank whose entry holds (0: none), walked from the top */
  qualifiedRankSql(): string;
  /** the highest rank below `rankExpr` whose entry holds */
  qualifiedBelowSql(rankExpr: string): string;
  /** whether the retention condition of `rankExpr` holds (true for 0 and base tiers) */
  retainedSql(rankExpr: string): string;
  /**
   * a jsonb of carried surplus per metric when reaching `rankExpr`; `offset` (an SQL term or
   * null, per metric) is added to a metric's surplus
   */
  surplusSql(rankExpr: string, cap: number | null, offset?: (metric: string) => string | null): string;
  /** a jsonb of all measure values (the history's snapshot) */
  metricsJsonSql(): string;
}

export function compileLadder(ladder: Ladder): CompiledLadder {
  const measures = measuresOf(ladder);
  const index = new Map(measures.map((m, i) => [m.key, i]));
  const column = (key: string) => `m${index.get(key)}`;
  const entries = ladder.tiers.map((t) => conditionSql(ladder, t.qualification, column));
  return {
    measures,
    column,
    measureColumns: (ref) => measures.map((m, i) => `${measureSql(m, ref)} as m${i}`).join(',\n'),
    qualifiedRankSql: () => {
      if (!ladder.tiers.length) return '0';
      const arms = ladder.tiers.map((_, i) => i).reverse().map((i) => `when ${entries[i]} then ${i + 1}`);
      return `(case ${arms.join(' ')} else 0 end)`;
    },
    qualifiedBelowSql: (rankExpr) => {
      const arms = ladder.tiers.map((_, i) => i).reverse().map((i) => `when ${rankExpr} > ${i + 1} and ${entries[i]} then ${i + 1}`);
      return arms.length ? `(case ${arms.join(' ')} else 0 end)` : '0';
    },
    retainedSql: (rankExpr) => {
      const arms = ladder.tiers.map((t, i) => `when ${i + 1} then ${conditionSql(ladder, retentionOf(t), column)}`);
      return `(case ${rankExpr} ${arms.join(' ')} else true end)`;
    },
    surplusSql: (rankExpr, cap, offset) => {
      const arms = ladder.tiers.map((t, i) => {
        const leaves = entryLeaves(t.qualification);
        if (!leaves.length) return `when ${i + 1} then '{}'::jsonb`;
        const pairs = leaves.map((l) => {
          const surplus = `greatest(0, ${column(leafKey(ladder, l))} - ${l.min})`;
          const plus = offset?.(l.metric);
          return `${lit(l.metric)}, ${plus ? `${plus} + ` : ''}${cap === null ? surplus : `least(${cap}, ${surplus})`}`;
        });
        return `when ${i + 1} then jsonb_build_object(${pairs.join(', ')})`;
      });
      return `(case ${rankExpr} ${arms.join(' ')} else '{}'::jsonb end)`;
    },
    metricsJsonSql: () => (measures.length ? `jsonb_build_object(${measures.map((m, i) => `${lit(m.key)}, m${i}`).join(', ')})` : `'{}'::jsonb`),
  };
}

/** The floors of a tier's entry, one per metric (the first one named): what a surplus is measured against. */
export function entryLeaves(c: Condition | null | undefined): Array<{ metric: string; window: Window; min: number }> {
  const out = new Map<string, { metric: string; window: Window; min: number }>();
  const walk = (x: Condition | null | undefined): void => {
    if (!x) return;
    if ('all' in x) return x.all.forEach(walk);
    if ('any' in x) return x.any.forEach(walk);
    if (x.min !== undefined && !out.has(x.metric)) out.set(x.metric, { metric: x.metric, window: x.window, min: x.min });
  };
  walk(c);
  return [...out.values()];
}

/**
 * The effective rank and its source from the components: an active manual assignment wins
 * outright (it is an explicit override, up or down, with an end); otherwise the best of the
 * qualified tier, an active bought tier and lifetime status.
 */
export function effectiveSql(q: string, asOf: string, manual = { rank: 'mt.manual_rank', until: 'mt.manual_until' }, purchased = { rank: 'mt.purchased_rank', until: 'mt.purchased_until' }, lifetime = 'mt.lifetime_rank') {
  const manualOn = `(${manual.until} is not null and ${manual.until} > ${asOf})`;
  const purchasedRank = `(case when ${purchased.until} is not null and ${purchased.until} > ${asOf} then ${purchased.rank} else 0 end)`;
  return {
    rank: `(case when ${manualOn} then ${manual.rank} else greatest(${q}, ${purchasedRank}, ${lifetime}) end)`,
    source: `(case when ${manualOn} then 'manual' when ${purchasedRank} > ${q} and ${purchasedRank} >= ${lifetime} then 'purchased' when ${lifetime} > ${q} then 'lifetime' else 'qualified' end)`,
  };
}
