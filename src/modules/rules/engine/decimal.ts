import { AppError } from '../../../core/errors.js';

/**
 * Exact rational arithmetic for points. Operators write rates and multipliers as decimal
 * strings ("1.2", "0.05"); binary floats cannot hold them exactly, so they become reduced
 * fractions of safe integers and every award is computed as one integer fraction that is
 * rounded exactly once. Numbers are used while every intermediate product stays below 2^52
 * (exact in a double); beyond that the same computation runs on BigInt.
 */
export interface Ratio {
  readonly n: number; // may be negative only in intermediate sums (the `add` multiplier policy)
  readonly d: number; // > 0
}

export type Rounding = 'floor' | 'round' | 'ceil';

export const ONE: Ratio = Object.freeze({ n: 1, d: 1 });

/** Up to 9 integer digits and 6 fraction digits keeps every parsed numerator below 2^53. */
const DECIMAL_RE = /^(0|[1-9][0-9]{0,8})(?:\.([0-9]{1,6}))?$/;
export const DECIMAL_PATTERN = DECIMAL_RE.source;
export const MAX_DECIMAL_INTEGER = 999_999_999;

const FAST_LIMIT = 2 ** 52;

export function gcd(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

export function ratio(n: number, d: number): Ratio {
  if (d === 0) throw new AppError('internal', 'ratio with a zero denominator');
  if (d < 0) {
    n = -n;
    d = -d;
  }
  const g = gcd(n, d);
  return g > 1 ? { n: n / g, d: d / g } : { n, d };
}

/**
 * A non-negative decimal written as a string ("1.2") or as a JSON integer. Floats are refused on
 * purpose: 0.1 in JSON is already inexact by the time it reaches us.
 */
export function parseDecimal(input: unknown): Ratio | null {
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input >= 0 && input <= MAX_DECIMAL_INTEGER ? { n: input, d: 1 } : null;
  }
  if (typeof input !== 'string') return null;
  const m = DECIMAL_RE.exec(input);
  if (!m) return null;
  const frac = m[2] ?? '';
  return ratio(Number(m[1]! + frac), 10 ** frac.length);
}

/** Digits after the point as written (for "at most `decimals` places" checks). */
export function fractionDigits(input: unknown): number {
  if (typeof input !== 'string') return 0;
  const dot = input.indexOf('.');
  return dot < 0 ? 0 : input.length - dot - 1;
}

function checkedMul(a: number, b: number): number {
  const p = a * b;
  if (!Number.isSafeInteger(p)) {
    throw new AppError('rule_invalid', 'multiplier arithmetic exceeds the safe integer range', { a, b });
  }
  return p;
}

export function mul(a: Ratio, b: Ratio): Ratio {
  // Cross-reduce first so the products stay small.
  const g1 = gcd(a.n, b.d) || 1;
  const g2 = gcd(b.n, a.d) || 1;
  return ratio(checkedMul(a.n / g1, b.n / g2), checkedMul(a.d / g2, b.d / g1));
}

export function add(a: Ratio, b: Ratio): Ratio {
  if (a.d === b.d) return ratio(a.n + b.n, a.d);
  const g = gcd(a.d, b.d);
  const d = checkedMul(a.d / g, b.d);
  return ratio(checkedMul(a.n, b.d / g) + checkedMul(b.n, a.d / g), d);
}

export function sub(a: Ratio, b: Ratio): Ratio {
  return add(a, { n: -b.n, d: b.d });
}

export function compare(a: Ratio, b: Ratio): number {
  const l = checkedMul(a.n, b.d);
  const r = checkedMul(b.n, a.d);
  return l < r ? -1 : l > r ? 1 : 0;
}

export function isOne(r: Ratio): boolean {
  return r.n === r.d;
}

/**
 * round(value × n1 × n2 / (d1 × d2)) with the given mode, exactly. `value` and the factors are
 * non-negative safe integers. This is the single rounding step of every award.
 */
export function exactRound(value: number, n1: number, n2: number, d1: number, d2: number, mode: Rounding): number {
  const a = value * n1;
  const num = a * n2;
  const den = d1 * d2;
  if (a <= FAST_LIMIT && num <= FAST_LIMIT && den <= FAST_LIMIT) {
    let q = Math.floor(num / den);
    let r = num - q * den; // q × den ≤ num + den < 2^53: exact
    // The float quotient can be off by one near integers; settle it on the exact remainder.
    while (r < 0) {
      q -= 1;
      r += den;
    }
    while (r >= den) {
      q += 1;
      r -= den;
    }
    if (r === 0 || mode === 'floor') return q;
    if (mode === 'ceil') return q + 1;
    return 2 * r >= den ? q + 1 : q; // half up: amounts are never negative here
  }
  return bigRound(BigInt(value) * BigInt(n1) * BigInt(n2), BigInt(d1) * BigInt(d2), mode);
}

function bigRound(num: bigint, den: bigint, mode: Rounding): number {
  let q = num / den;
  const r = num % den;
  if (r !== 0n) {
    if (mode === 'ceil') q += 1n;
    else if (mode === 'round' && 2n * r >= den) q += 1n;
  }
  if (q > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new AppError('invalid_amount', 'an award exceeds the safe integer range', { amount: q.toString() });
  }
  return Number(q);
}

/** The exact value value × n / d as a decimal string when it terminates, else as "n/d". */
export function exactString(value: number | bigint, n: number | bigint, d: number | bigint): string {
  if (typeof value === 'number' && typeof n === 'number' && typeof d === 'number') {
    const fast = fastExactString(value * n, d);
    if (fast !== null) return fast;
  }
  let N = BigInt(value) * BigInt(n);
  let D = BigInt(d);
  const g = bigGcd(N, D);
  if (g > 1n) {
    N /= g;
    D /= g;
  }
  let twos = 0;
  let fives = 0;
  let rest = D;
  while (rest % 2n === 0n) {
    rest /= 2n;
    twos++;
  }
  while (rest % 5n === 0n) {
    rest /= 5n;
    fives++;
  }
  if (rest !== 1n) return `${N}/${D}`;
  const places = Math.max(twos, fives);
  if (places === 0) return N.toString();
  const scaled = (N * 10n ** BigInt(places)) / D;
  const neg = scaled < 0n;
  const digits = (neg ? -scaled : scaled).toString().padStart(places + 1, '0');
  return `${neg ? '-' : ''}${digits.slice(0, -places)}.${digits.slice(-places)}`;
}

/** The same in doubles while everything stays exact (the explanation's common case); null otherwise. */
function fastExactString(N: number, D: number): string | null {
  if (!Number.isSafeInteger(N) || N < 0 || !Number.isSafeInteger(D) || D <= 0) return null;
  const g = gcd(N, D);
  N /= g;
  D /= g;
  if (D === 1) return `${N}`;
  let rest = D;
  let twos = 0;
  let fives = 0;
  while (rest % 2 === 0) {
    rest /= 2;
    twos++;
  }
  while (rest % 5 === 0) {
    rest /= 5;
    fives++;
  }
  if (rest !== 1) return `${N}/${D}`;
  const places = Math.max(twos, fives);
  const scaled = N * (10 ** places / D); // 10^places / D is an integer: D divides 10^places
  if (!Number.isSafeInteger(scaled) || places > 15) return null;
  const digits = `${scaled}`.padStart(places + 1, '0');
  return `${digits.slice(0, -places)}.${digits.slice(-places)}`;
}

function bigGcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  while (b !== 0n) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

export function ratioString(r: Ratio): string {
  return exactString(1, r.n, r.d);
}
