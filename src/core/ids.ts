import { randomBytes } from 'node:crypto';

/**
 * Ids are `prefix_` + 10 chars of millisecond time + 12 chars of randomness, in Crockford base32.
 * They sort by creation time (index locality, cursor pagination) and say what they name.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export const idPrefixes = {
  program: 'prg',
  member: 'mem',
  apiKey: 'key',
  pointType: 'pt',
  transaction: 'txn',
  lot: 'lot',
  reservation: 'rsv',
  event: 'evt',
  rule: 'rule',
  campaign: 'cmp',
  tier: 'tier',
  ladder: 'lad',
  benefit: 'ben',
  entitlement: 'ent',
  plan: 'plan',
  subscription: 'sub',
  task: 'task',
  medal: 'mdl',
  item: 'item',
  sku: 'sku',
  order: 'ord',
  draw: 'draw',
  prize: 'prz',
  play: 'play',
  webhook: 'whk',
  job: 'job',
  whatifDraft: 'wif',
  whatifRun: 'wir',
  operator: 'op',
  cause: 'cause',
  notice: 'ntc',
  review: 'rev',
  binding: 'bnd',
  payment: 'pay',
} as const;

export type IdKind = keyof typeof idPrefixes;

function encodeTime(ms: number): string {
  let out = '';
  let rest = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function encodeRandom(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[bytes[i]! & 31];
  return out;
}

export function newId(kind: IdKind, at: number = Date.now()): string {
  return `${idPrefixes[kind]}_${encodeTime(at)}${encodeRandom(12)}`;
}

export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
