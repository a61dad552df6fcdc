/**
 * One mapping of Postgres types to JS values for both engines, so a query returns the same
 * shapes on PGlite and on node-postgres:
 * - int8 (bigint) → number: points and money are integers of their smallest unit and stay far
 *   below 2^53; a value beyond it is refused rather than silently rounded.
 * - numeric → string (exact; callers convert explicitly).
 * - date → 'YYYY-MM-DD' string, never a Date at the server's local midnight.
 */
const INT8 = 20;
const DATE = 1082;
const NUMERIC = 1700;

function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${value} exceeds the safe integer range`);
  return n;
}

export const typeParsers: Record<number, (value: string) => unknown> = {
  [INT8]: parseInt8,
  [DATE]: (value) => value,
  [NUMERIC]: (value) => value,
};

export const pgTypeOverrides = { INT8, DATE, NUMERIC, parseInt8 };
