import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { AppError } from '../core/errors.js';
import { inTransaction, rawQuery, type Trx } from '../db/database.js';
import type { DB } from '../db/schema.js';

/**
 * One idempotency mechanism for every mutating route.
 *
 * The key row is written in the same transaction as the change it stands for, together with
 * the response. Two concurrent requests with one key therefore execute once: the second blocks
 * on the key's unique index until the first commits, then rolls back and replays the stored
 * response. A failed request stores nothing, so the caller may retry it with the same key.
 */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

class ReplayInstead extends Error {}

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const keys = Object.keys(value as object).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

export function requestHash(request: FastifyRequest): string {
  return createHash('sha256')
    .update(`${request.method} ${request.routeOptions.url}\n${canonical(request.params)}\n${canonical(request.body ?? null)}`)
    .digest('base64url');
}

export function idempotencyKeyOf(request: FastifyRequest): string | null {
  const raw = request.headers['idempotency-key'];
  if (raw === undefined) return null;
  const key = Array.isArray(raw) ? raw[0]! : raw;
  if (!KEY_PATTERN.test(key)) {
    throw new AppError('validation_failed', 'Idempotency-Key must be 1 to 255 visible ASCII characters', {
      header: 'Idempotency-Key',
    });
  }
  return key;
}

/** For writes that are idempotent by their own key (ledger, mall, draws…): the header is required. */
export function requireIdempotencyKey(request: FastifyRequest, what = 'this operation'): string {
  const key = idempotencyKeyOf(request);
  if (!key) throw new AppError('validation_failed', `Idempotency-Key header is required for ${what}`, { header: 'Idempotency-Key' });
  return key;
}

function scopeOf(request: FastifyRequest): string {
  return request.programContext?.program.id ?? 'deployment';
}

async function replay(db: Kysely<DB>, request: FastifyRequest, reply: FastifyReply, scope: string, key: string, hash: string) {
  const { rows } = await rawQuery<{ request_hash: string; response_status: number; response_body: unknown }>(
    db,
    'select request_hash, response_status, response_body from idempotency_keys where scope = $1 and key = $2',
    [scope, key],
  );
  const stored = rows[0];
  if (!stored) return false;
  if (stored.request_hash !== hash) {
    throw new AppError('idempotency_conflict', 'this Idempotency-Key was used with a different request', { key });
  }
  reply.status(stored.response_status).header('idempotent-replayed', 'true');
  await reply.send(stored.response_body);
  return true;
}

/**
 * Execute `work` once per Idempotency-Key (when the request has one) and answer with its
 * result and `status`.
 */
export async function runIdempotent<T>(
  db: Kysely<DB>,
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  work: (trx: Trx) => Promise<T>,
): Promise<T | FastifyReply> {
  const key = idempotencyKeyOf(request);
  if (key === null) {
    const result = await inTransaction(db, work);
    return reply.status(status).send(result);
  }
  const scope = scopeOf(request);
  const hash = requestHash(request);
  try {
    const result = await inTransaction(db, async (trx) => {
      const value = await work(trx);
      const inserted = await rawQuery(
        trx,
        `insert into idempotency_keys (scope, key, request_hash, response_status, response_body, created_at)
         values ($1, $2, $3, $4, $5, now()) on conflict do nothing`,
        [scope, key, hash, status, JSON.stringify(value ?? null)],
      );
      if (inserted.rowCount === 0) throw new ReplayInstead();
      return value;
    });
    return reply.status(status).send(result);
  } catch (err) {
    // Whatever failed, a committed twin decides the answer: the first response, or a conflict.
    if (await replay(db, request, reply, scope, key, hash)) return reply;
    if (err instanceof ReplayInstead) throw new AppError('idempotency_in_progress', 'retry: the first request with this key is still running');
    throw err;
  }
}
