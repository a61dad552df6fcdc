import { rawQuery, type Executor } from './database.js';

/**
 * Member ids that cut the rows of `table` matching `column = value` into `parts` ranges of about
 * equal size, for sweeps that walk the ranges concurrently: disjoint member ranges never wait on
 * each other's rows, and one set-based statement uses one core. Fewer cuts come back when the
 * members are fewer than the parts.
 */
export async function memberRangeCuts(exec: Executor, table: 'accounts' | 'member_tiers', column: 'program_id' | 'ladder_id', value: string, parts: number): Promise<string[]> {
  if (parts <= 1) return [];
  const fractions = Array.from({ length: parts - 1 }, (_, i) => (i + 1) / parts);
  const { rows } = await rawQuery<{ cuts: string[] | null }>(
    exec,
    `select percentile_disc($2::float8[]) within group (order by member_id) as cuts from ${table} where ${column} = $1`,
    [value, fractions],
  );
  return [...new Set(rows[0]?.cuts ?? [])];
}

/** The ranges (from, to] the cuts make; `to` null is the open end. */
export function rangesOf(cuts: string[]): Array<{ from: string; to: string | null }> {
  return [...cuts, null].map((to, i) => ({ from: i === 0 ? '' : cuts[i - 1]!, to }));
}
