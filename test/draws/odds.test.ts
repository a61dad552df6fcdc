import { describe, expect, it } from 'vitest';
import { pickByValue, pickWeighted, totalWeight } from '../../src/modules/draws/index.js';

/**
 * The selection function itself, 100,000 times: the observed counts must fit the published odds
 * (weight / total) by Pearson's chi-square test at a fixed significance of 0.001.
 */
describe('draw odds', () => {
  const prizes = [
    { id: 'jackpot', weight: 1 },
    { id: 'big', weight: 9 },
    { id: 'medium', weight: 40 },
    { id: 'small', weight: 150 },
    { id: 'zero', weight: 0 },
    { id: 'thanks', weight: 800 },
  ];

  it('100,000 plays follow the published odds (chi-square, alpha = 0.001)', () => {
    const N = 100_000;
    const counts = new Map<string, number>(prizes.map((p) => [p.id, 0]));
    for (let i = 0; i < N; i++) {
      const { prize, value, total } = pickWeighted(prizes);
      expect(value >= 0 && value < total).toBe(true);
      counts.set(prize.id, counts.get(prize.id)! + 1);
    }
    expect(counts.get('zero')).toBe(0);
    const total = totalWeight(prizes);
    const live = prizes.filter((p) => p.weight > 0);
    const chi2 = live.reduce((s, p) => {
      const expected = (N * p.weight) / total;
      return s + (counts.get(p.id)! - expected) ** 2 / expected;
    }, 0);
    // critical value of chi-square with 4 degrees of freedom at 0.001
    expect(chi2).toBeLessThan(18.467);
  });

  it('every value in [0, total) selects exactly one prize; the ranges are half-open', () => {
    const total = totalWeight(prizes);
    expect(pickByValue(prizes, 0).id).toBe('jackpot');
    expect(pickByValue(prizes, 1).id).toBe('big');
    expect(pickByValue(prizes, 9).id).toBe('big');
    expect(pickByValue(prizes, 10).id).toBe('medium');
    expect(pickByValue(prizes, total - 1).id).toBe('thanks');
    expect(() => pickByValue(prizes, total)).toThrow(RangeError);
    const seen = new Map<string, number>();
    for (let v = 0; v < total; v++) seen.set(pickByValue(prizes, v).id, (seen.get(pickByValue(prizes, v).id) ?? 0) + 1);
    for (const p of prizes.filter((x) => x.weight > 0)) expect(seen.get(p.id)).toBe(p.weight);
  });
});
