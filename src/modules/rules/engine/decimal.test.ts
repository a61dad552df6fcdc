import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { add, compare, exactRound, exactString, mul, parseDecimal, ratio, sub, type Rounding } from './decimal.js';

describe('parseDecimal', () => {
  it.each([
    ['1', 1, 1],
    ['1.2', 6, 5],
    ['0.05', 1, 20],
    ['2.50', 5, 2],
    ['999999999.999999', 999999999999999, 1000000],
    [7, 7, 1],
    [0, 0, 1],
  ])('%j → %i/%i', (input, n, d) => {
    expect(parseDecimal(input)).toEqual({ n, d });
  });

  it.each([['1.'], ['.5'], ['-1'], ['01'], ['1e3'], ['1.1234567'], ['1234567890'], [' 1'], [1.5], [-2], [NaN], [null], [{}], ['']])(
    'refuses %j',
    (input) => {
      expect(parseDecimal(input)).toBeNull();
    },
  );
});

describe('ratio arithmetic', () => {
  it('reduces, multiplies, adds and compares exactly', () => {
    expect(ratio(10, 4)).toEqual({ n: 5, d: 2 });
    expect(ratio(3, -6)).toEqual({ n: -1, d: 2 });
    expect(mul({ n: 3, d: 2 }, { n: 4, d: 3 })).toEqual({ n: 2, d: 1 });
    expect(add({ n: 1, d: 2 }, { n: 1, d: 3 })).toEqual({ n: 5, d: 6 });
    expect(sub({ n: 3, d: 2 }, { n: 1, d: 1 })).toEqual({ n: 1, d: 2 });
    expect(compare({ n: 3, d: 2 }, { n: 5, d: 4 })).toBe(1);
    expect(compare({ n: 1, d: 3 }, { n: 2, d: 6 })).toBe(0);
  });
});

describe('exactRound', () => {
  it.each<[number, number, number, number, number, Rounding, number]>([
    // value × n1 × n2 / (d1 × d2)
    [12345, 1, 1, 100, 1, 'floor', 123],
    [12345, 1, 1, 100, 1, 'ceil', 124],
    [12345, 1, 1, 100, 1, 'round', 123],
    [12350, 1, 1, 100, 1, 'round', 124], // half up
    [12349, 1, 1, 100, 1, 'round', 123],
    [12300, 1, 1, 100, 1, 'ceil', 123], // exact: no rounding up
    [12345, 6, 3, 5, 2, 'floor', 22221], // 12345 × 1.2 × 1.5 = 22221
    [1, 1, 1, 3, 1, 'round', 0],
    [2, 1, 1, 3, 1, 'round', 1],
    [0, 5, 7, 3, 1, 'ceil', 0],
  ])('%i × %i × %i / (%i × %i) %s → %i', (v, n1, n2, d1, d2, mode, want) => {
    expect(exactRound(v, n1, n2, d1, d2, mode)).toBe(want);
  });

  it('agrees with BigInt arithmetic for all sizes, including beyond 2^53', () => {
    const big = (v: number, n1: number, n2: number, d1: number, d2: number, mode: Rounding) => {
      const num = BigInt(v) * BigInt(n1) * BigInt(n2);
      const den = BigInt(d1) * BigInt(d2);
      let q = num / den;
      const r = num % den;
      if (r !== 0n && (mode === 'ceil' || (mode === 'round' && 2n * r >= den))) q += 1n;
      return q;
    };
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 1, max: 2 ** 24 }),
        fc.integer({ min: 1, max: 2 ** 12 }),
        fc.integer({ min: 1, max: 2 ** 30 }),
        fc.integer({ min: 1, max: 2 ** 12 }),
        fc.constantFrom<Rounding>('floor', 'round', 'ceil'),
        (v, n1, n2, d1, d2, mode) => {
          const want = big(v, n1, n2, d1, d2, mode);
          if (want > BigInt(Number.MAX_SAFE_INTEGER)) return; // refused, tested below
          expect(BigInt(exactRound(v, n1, n2, d1, d2, mode))).toBe(want);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('refuses an award beyond the safe integer range', () => {
    expect(() => exactRound(2 ** 52, 4, 1, 1, 1, 'floor')).toThrow(/safe integer/);
  });
});

describe('exactString', () => {
  it.each<[number, number, number, string]>([
    [12345, 1, 100, '123.45'],
    [12345, 3, 2, '18517.5'],
    [1, 1, 3, '1/3'],
    [10, 1, 4, '2.5'],
    [5, 2, 1, '10'],
    [1, 1, 8, '0.125'],
    [0, 1, 7, '0'],
  ])('%i × %i / %i → %s', (v, n, d, want) => {
    expect(exactString(v, n, d)).toBe(want);
    expect(exactString(BigInt(v), BigInt(n), BigInt(d))).toBe(want); // the BigInt path agrees
  });
});
