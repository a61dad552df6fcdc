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
  tierChange: 'tch',
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

// Random bytes are drawn from the kernel a few kilobytes at a time: a batch of a thousand events
// makes thousands of ids, and one system call per id cost more than the rest of making it.
const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let poolAt = 0;

function encodeRandom(length: number): string {
  if (poolAt + length > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    poolAt = 0;
  }
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[pool[poolAt + i]! & 31];
  poolAt += length;
  return out;
}

export function newId(kind: IdKind, at: number = Date.now()): string {
  return `${idPrefixes[kind]}_${encodeTime(at)}${encodeRandom(12)}`;
}

export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
