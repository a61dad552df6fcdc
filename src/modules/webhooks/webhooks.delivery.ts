import { createHmac } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ProgramSnapshot } from '../../core/context.js';
import { rawQuery } from '../../db/database.js';
import type { DB } from '../../db/schema.js';

/** How long a claimed row is reserved for the process that claimed it (wall time). */
export const LEASE_SECONDS = 60;
/** Retries stop this long after the message was written; the row is then failed. */
export const RETRY_WINDOW_MS = 24 * 60 * 60 * 1000;
const FIRST_BACKOFF_MS = 30_000;
const MAX_BACKOFF_MS = 6 * 60 * 60 * 1000;
const REQUEST_TIMEOUT_MS = 10_000;
const PARALLEL = 8;

/** Exponential backoff after the n-th failed attempt: 30 s, 1 min, 2 min, … capped at 6 h. */
export function backoffMs(attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.max(0, attempt - 1));
}

/**
 * The signature a receiver checks: hex HMAC-SHA256 with the subscription's secret over
 * `${timestamp}.${body}`, sent as `Laurel-Signature: v1=<hex>` beside `Laurel-Timestamp`
 * (Unix seconds). Receivers should refuse a timestamp far from their own clock (replays).
 */
export function sign(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

interface Claimed {
  id: number;
  message_id: string;
  type: string;
  payload: unknown;
  created_at: Date;
  window_start: Date;
  attempts: number;
  subscription_id: string;
  url: string;
  secret: string;
}

export interface DeliveryRun {
  notices: number;
  claimed: number;
  delivered: number;
  retrying: number;
  failed: number;
}

/**
 * Upcoming-expiry notices (written by the ledger's notice job) become `points.expiring`
 * messages: one statement marks a batch of notices announced and writes their outbox rows,
 * so a notice is announced once even with several processes.
 */
async function announceExpiryNotices(db: Kysely<DB>, program: ProgramSnapshot, asOf: Date): Promise<number> {
  const { rowCount } = await rawQuery(
    db,
    `with n as (
       update expiry_notices set delivered_at = $2
       where id in (select id from expiry_notices where program_id = $1 and delivered_at is null and created_at <= $2
                    order by created_at limit 1000 for update skip locked)
       returning id, member_id, point_type_id, expires_at, amount, created_at)
     insert into webhook_outbox (message_id, program_id, subscription_id, type, payload, created_at, next_attempt_at)
     select 'msg_' || n.id, $1, s.id, 'points.expiring',
       jsonb_build_object('noticeId', n.id, 'memberId', n.member_id, 'externalId', m.external_id, 'pointType', p.code,
                          'amount', n.amount, 'expiresAt', n.expires_at),
       n.created_at, n.created_at
     from n join members m on m.id = n.member_id join point_types p on p.id = n.point_type_id
     join webhook_subscriptions s on s.program_id = $1 and s.active and s.deleted_at is null
       and ('points.expiring' = any(s.event_types) or '*' = any(s.event_types))
     on conflict (subscription_id, message_id) do nothing`,
    [program.id, asOf],
  );
  return rowCount;
}

/**
 * Claim due rows with a lease: `FOR UPDATE SKIP LOCKED` keeps two concurrent claims apart, and
 * the lease (re-checked by PostgreSQL on the locked row) keeps a row claimed by a process that
 * is still sending from being claimed again by another one.
 */
async function claim(db: Kysely<DB>, program: ProgramSnapshot, asOf: Date, limit: number): Promise<Claimed[]> {
  const { rows } = await rawQuery<Claimed>(
    db,
    `with c as (
       update webhook_outbox o set lease_until = now() + make_interval(secs => $4), attempts = o.attempts + 1
       where o.id in (
         select w.id from webhook_outbox w
         join webhook_subscriptions s on s.id = w.subscription_id and s.active and s.deleted_at is null
         where w.program_id = $1 and w.status = 'pending' and w.next_attempt_at <= $2
           and (w.lease_until is null or w.lease_until < now())
         order by w.next_attempt_at, w.id limit $3
         for update of w skip locked)
         and o.status = 'pending' and (o.lease_until is null or o.lease_until < now())
       returning o.id, o.message_id, o.type, o.payload, o.created_at, coalesce(o.window_start, o.created_at) as window_start, o.attempts, o.subscription_id)
     select c.*, s.url, s.secret from c join webhook_subscriptions s on s.id = c.subscription_id`,
    [program.id, asOf, limit, LEASE_SECONDS],
  );
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

/** The exact JSON a receiver gets; it stays the same on every retry of one row. */
export function envelope(programId: string, row: { message_id: string; type: string; payload: unknown; created_at: Date }): string {
  return JSON.stringify({ id: row.message_id, type: row.type, programId, createdAt: new Date(row.created_at).toISOString(), data: row.payload });
}

async function post(row: Claimed, programId: string): Promise<{ status: number | null; error: string | null; ms: number }> {
  const body = envelope(programId, row);
  const timestamp = Math.floor(Date.now() / 1000);
  const started = Date.now();
  try {
    const res = await fetch(row.url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Laurel-Webhooks/1',
        'laurel-event-id': row.message_id,
        'laurel-event-type': row.type,
        'laurel-delivery-id': String(row.id),
        'laurel-delivery-attempt': String(row.attempts),
        'laurel-timestamp': String(timestamp),
        'laurel-signature': sign(row.secret, timestamp, body),
      },
      body,
    });
    await res.arrayBuffer().catch(() => undefined);
    const ok = res.status >= 200 && res.status < 300;
    return { status: res.status, error: ok ? null : `HTTP ${res.status}`, ms: Date.now() - started };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { status: null, error: (e.cause?.code ?? e.name ?? 'error') + ': ' + e.message, ms: Date.now() - started };
  }
}

/**
 * Record one attempt. The update is guarded by the attempt number it claimed: a process that
 * lost its lease (too slow) and was overtaken changes nothing and logs nothing.
 */
async function settle(db: Kysely<DB>, row: Claimed, asOf: Date, result: { status: number | null; error: string | null; ms: number }): Promise<'delivered' | 'retrying' | 'failed' | 'lost'> {
  const ok = result.error === null;
  const next = new Date(asOf.getTime() + backoffMs(row.attempts));
  const giveUp = !ok && next.getTime() > new Date(row.window_start).getTime() + RETRY_WINDOW_MS;
  const status = ok ? 'delivered' : giveUp ? 'failed' : 'pending';
  const { rows } = await rawQuery<{ id: number }>(
    db,
    `with u as (
       update webhook_outbox set status = $3, lease_until = null, last_status = $4, last_error = $5,
         delivered_at = case when $3 = 'delivered' then $6::timestamptz end,
         next_attempt_at = case when $3 = 'pending' then $7::timestamptz else next_attempt_at end
       where id = $1 and attempts = $2 and status = 'pending'
       returning id, subscription_id, program_id)
     insert into webhook_attempts (outbox_id, subscription_id, program_id, attempt, at, status_code, error, duration_ms)
     select u.id, u.subscription_id, u.program_id, $2, $6, $4, $5, $8 from u returning outbox_id`,
    [row.id, row.attempts, status, result.status, result.error, asOf, next, result.ms],
  );
  if (rows.length === 0) return 'lost';
  return ok ? 'delivered' : giveUp ? 'failed' : 'retrying';
}

/** Deliver what is due for one program as of `asOf` (program time); safe to run anywhere, any number of times. */
export async function deliverDue(db: Kysely<DB>, program: ProgramSnapshot, asOf: Date, batch = 100): Promise<DeliveryRun> {
  const run: DeliveryRun = { notices: await announceExpiryNotices(db, program, asOf), claimed: 0, delivered: 0, retrying: 0, failed: 0 };
  for (let round = 0; round < 10; round++) {
    const rows = await claim(db, program, asOf, batch);
    if (rows.length === 0) break;
    run.claimed += rows.length;
    for (let i = 0; i < rows.length; i += PARALLEL) {
      const outcomes = await Promise.all(
        rows.slice(i, i + PARALLEL).map(async (row) => settle(db, row, asOf, await post(row, program.id))),
      );
      for (const o of outcomes) if (o !== 'lost') run[o]++;
    }
    if (rows.length < batch) break;
  }
  return run;
}

/** Whether the program has any active subscription (no subscriber: the job has nothing to do). */
export async function hasSubscribers(db: Kysely<DB>, programId: string): Promise<boolean> {
  const { rows } = await rawQuery(db, 'select 1 from webhook_subscriptions where program_id = $1 and active and deleted_at is null limit 1', [programId]);
  return rows.length > 0;
}

/**
 * Sandbox programs: the first instant in (after, until] with a delivery due. Rows already due at
 * or before `after` are due "now", i.e. just after it; rows leased by a live attempt are not.
 */
export async function nextDelivery(db: Kysely<DB>, program: ProgramSnapshot, after: Date, until: Date): Promise<Date | null> {
  if (!(await hasSubscribers(db, program.id))) return null;
  const { rows } = await rawQuery<{ at: Date | null }>(
    db,
    `select least(
       (select min(next_attempt_at) from webhook_outbox where program_id = $1 and status = 'pending' and next_attempt_at <= $2
          and (lease_until is null or lease_until < now())),
       (select min(created_at) from expiry_notices where program_id = $1 and delivered_at is null and created_at <= $2)) as at`,
    [program.id, until],
  );
  const at = rows[0]?.at;
  if (!at) return null;
  const t = new Date(at).getTime();
  return new Date(Math.max(t, after.getTime() + 1));
}
