import { randomInt } from 'node:crypto';

/**
 * Weighted selection. The random value is uniform in [0, total) from a cryptographic source, and
 * prize i owns the half-open range [sum of weights before i, that sum + weight i): every value
 * falls in exactly one range (CRMEB drew from [0, total] inclusive and matched nothing one time
 * in total + 1).
 */
export interface Weighted {
  weight: number;
}

export function totalWeight(prizes: readonly Weighted[]): number {
  return prizes.reduce((s, p) => s + p.weight, 0);
}

export function pickByValue<T extends Weighted>(prizes: readonly T[], value: number): T {
  let upper = 0;
  for (const p of prizes) {
    upper += p.weight;
    if (value < upper) return p;
  }
  throw new RangeError(`random value ${value} is outside [0, ${upper})`);
}

export function drawRandom(total: number): number {
  if (!Number.isSafeInteger(total) || total <= 0 || total > 2 ** 48 - 1) throw new RangeError(`cannot draw from a total weight of ${total}`);
  return randomInt(0, total);
}

/** One draw: the value and the prize it selects. */
export function pickWeighted<T extends Weighted>(prizes: readonly T[]): { value: number; total: number; prize: T } {
  const total = totalWeight(prizes);
  const value = drawRandom(total);
  return { value, total, prize: pickByValue(prizes, value) };
}
