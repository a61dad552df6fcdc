import type { Kysely } from 'kysely';
import type { ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { forgetSubscriptions, recordAudit } from '../../core/hooks.js';
import { newId, randomToken } from '../../core/ids.js';
import { decodeCursor, encodeCursor, pageLimit, type Page, type PageRequest } from '../../core/pagination.js';
import { rawQuery, type Executor } from '../../db/database.js';
import type { DB } from '../../db/schema.js';

/** The message types Laurel emits today; `*` subscribes to all, including types added later. */
export const MESSAGE_TYPES = [
  'points.earned',
  'points.activated',
  'points.spent',
  'points.expiring',
  'points.expired',
  'points.refunded',
  'points.reversed',
  'points.adjusted',
  'order.status_changed',
  'checkin.completed',
  'task.completed',
  'medal.awarded',
  'tier.changed',
  'tier.will_downgrade',
  'benefit.granted',
  'benefit.revoked',
  'plan.subscription_started',
  'plan.subscription_renewed',
  'plan.subscription_cancelled',
  'plan.subscription_expired',
  'webhook.test',
  '*',
] as const;

export interface Subscription {
  id: string;
  url: string;
  eventTypes: string[];
  active: boolean;
  description: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface Delivery {
  id: string;
  messageId: string;
  subscriptionId: string;
  type: string;
  payload: unknown;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  createdAt: Date;
  nextAttemptAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
  log?: Attempt[];
}

export interface Attempt {
  attempt: number;
  at: Date;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

interface SubRow {
  id: string;
  url: string;
  event_types: string[];
  active: boolean;
  description: string | null;
  created_at: Date;
  updated_at: Date;
}

interface OutboxRow {
  id: number | string;
  message_id: string;
  subscription_id: string;
  type: string;
  payload: unknown;
  status: Delivery['status'];
  attempts: number;
  created_at: Date;
  next_attempt_at: Date;
  last_status: number | null;
  last_error: string | null;
  delivered_at: Date | null;
}

const toSubscription = (r: SubRow): Subscription => ({
  id: r.id,
  url: r.url,
  eventTypes: r.event_types,
  active: r.active,
  description: r.description,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toDelivery = (r: OutboxRow): Delivery => ({
  id: String(r.id),
  messageId: r.message_id,
  subscriptionId: r.subscription_id,
  type: r.type,
  payload: r.payload,
  status: r.status,
  attempts: r.attempts,
  createdAt: r.created_at,
  nextAttemptAt: r.status === 'pending' ? r.next_attempt_at : null,
  lastStatus: r.last_status,
  lastError: r.last_error,
  deliveredAt: r.delivered_at,
});

/** Deliveries go to http(s) endpoints only; a URL with credentials in it is refused too. */
export function checkUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('validation_failed', 'url is not a valid absolute URL', { field: 'url' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AppError('validation_failed', 'url must use http or https', { field: 'url' });
  }
  if (url.username || url.password) throw new AppError('validation_failed', 'url must not carry credentials', { field: 'url' });
  return url.toString();
}

function checkTypes(types: string[]): string[] {
  const known = new Set<string>(MESSAGE_TYPES);
  const unknown = types.filter((t) => !known.has(t));
  if (unknown.length) throw new AppError('validation_failed', `unknown event types: ${unknown.join(', ')}`, { field: 'eventTypes', unknown, known: MESSAGE_TYPES });
  return [...new Set(types)];
}

/** What the audit log keeps of a subscription: everything but the secret. */
const auditView = (s: Subscription) => ({ url: s.url, eventTypes: s.eventTypes, active: s.active, description: s.description });

/**
 * Webhook subscriptions of a program, their deliveries and delivery log, and manual redelivery.
 * Messages themselves are written by other modules through `emitMessage` (core/hooks).
 */
export class WebhooksService {
  constructor(private readonly db: Kysely<DB>) {}

  async create(
    ctx: ProgramContext,
    trx: Executor,
    input: { url: string; eventTypes: string[]; active?: boolean | undefined; description?: string | undefined },
  ): Promise<Subscription & { secret: string }> {
    const url = checkUrl(input.url);
    const types = checkTypes(input.eventTypes);
    const secret = `whsec_${randomToken(24)}`;
    const now = ctx.clock.now();
    const { rows } = await rawQuery<SubRow>(
      trx,
      `insert into webhook_subscriptions (id, program_id, url, secret, event_types, active, description, created_at, updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $8) returning *`,
      [newId('webhook', now.getTime()), ctx.program.id, url, secret, types, input.active ?? true, input.description ?? null, now],
    );
    const sub = toSubscription(rows[0]!);
    await recordAudit(trx, ctx, { action: 'create', resourceType: 'webhook', resourceId: sub.id, after: auditView(sub) });
    forgetSubscriptions(ctx.program.id);
    return { ...sub, secret };
  }

  async list(ctx: ProgramContext): Promise<Subscription[]> {
    const { rows } = await rawQuery<SubRow>(
      this.db,
      'select * from webhook_subscriptions where program_id = $1 and deleted_at is null order by id',
      [ctx.program.id],
    );
    return rows.map(toSubscription);
  }

  async get(ctx: ProgramContext, id: string, exec: Executor = this.db, forUpdate = false): Promise<Subscription> {
    const { rows } = await rawQuery<SubRow>(
      exec,
      `select * from webhook_subscriptions where id = $1 and program_id = $2 and deleted_at is null${forUpdate ? ' for update' : ''}`,
      [id, ctx.program.id],
    );
    if (!rows[0]) throw new AppError('webhook_not_found', `webhook ${id} does not exist`, { id });
    return toSubscription(rows[0]);
  }

  async update(
    ctx: ProgramContext,
    trx: Executor,
    id: string,
    patch: { url?: string | undefined; eventTypes?: string[] | undefined; active?: boolean | undefined; description?: string | null | undefined },
  ): Promise<Subscription> {
    const before = await this.get(ctx, id, trx, true);
    const url = patch.url !== undefined ? checkUrl(patch.url) : before.url;
    const types = patch.eventTypes !== undefined ? checkTypes(patch.eventTypes) : before.eventTypes;
    const { rows } = await rawQuery<SubRow>(
      trx,
      `update webhook_subscriptions set url = $3, event_types = $4, active = $5, description = $6, updated_at = $7
       where id = $1 and program_id = $2 returning *`,
      [id, ctx.program.id, url, types, patch.active ?? before.active, patch.description !== undefined ? patch.description : before.description, ctx.clock.now()],
    );
    const after = toSubscription(rows[0]!);
    await recordAudit(trx, ctx, { action: 'update', resourceType: 'webhook', resourceId: id, before: auditView(before), after: auditView(after) });
    forgetSubscriptions(ctx.program.id);
    return after;
  }

  /** A deleted subscription receives nothing more; its pending deliveries are failed, its log is kept. */
  async remove(ctx: ProgramContext, trx: Executor, id: string): Promise<void> {
    const before = await this.get(ctx, id, trx, true);
    const now = ctx.clock.now();
    await rawQuery(trx, 'update webhook_subscriptions set active = false, deleted_at = $3, updated_at = $3 where id = $1 and program_id = $2', [id, ctx.program.id, now]);
    await rawQuery(trx, `update webhook_outbox set status = 'failed', last_error = 'subscription deleted' where subscription_id = $1 and status = 'pending'`, [id]);
    await recordAudit(trx, ctx, { action: 'delete', resourceType: 'webhook', resourceId: id, before: auditView(before) });
    forgetSubscriptions(ctx.program.id);
  }

  /** Queue a `webhook.test` message to this subscription alone (whatever types it wants). */
  async ping(ctx: ProgramContext, trx: Executor, id: string): Promise<Delivery> {
    await this.get(ctx, id, trx);
    const now = ctx.clock.now();
    const { rows } = await rawQuery<OutboxRow>(
      trx,
      `insert into webhook_outbox (message_id, program_id, subscription_id, type, payload, created_at, next_attempt_at)
       values ($1, $2, $3, 'webhook.test', $4, $5, $5) returning *`,
      [newId('webhook', now.getTime()).replace(/^whk_/, 'msg_'), ctx.program.id, id, JSON.stringify({ subscriptionId: id }), now],
    );
    return toDelivery(rows[0]!);
  }

  async deliveries(
    ctx: ProgramContext,
    id: string,
    filter: PageRequest & { status?: Delivery['status'] | undefined; type?: string | undefined },
  ): Promise<Page<Delivery>> {
    await this.get(ctx, id);
    const limit = pageLimit(filter.limit);
    const after = decodeCursor(filter.cursor);
    const { rows } = await rawQuery<OutboxRow>(
      this.db,
      `select * from webhook_outbox where subscription_id = $1 and program_id = $2
         and ($3::text is null or status = $3) and ($4::text is null or type = $4) and ($5::bigint is null or id < $5)
       order by id desc limit $6`,
      [id, ctx.program.id, filter.status ?? null, filter.type ?? null, after ?? null, limit + 1],
    );
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    return { data: page.map(toDelivery), nextCursor: more ? encodeCursor(String(page[page.length - 1]!.id)) : null };
  }

  async delivery(ctx: ProgramContext, id: string, deliveryId: string, exec: Executor = this.db): Promise<Delivery> {
    if (!/^\d{1,18}$/.test(deliveryId)) throw new AppError('delivery_not_found', `delivery ${deliveryId} does not exist`, { id: deliveryId });
    const { rows } = await rawQuery<OutboxRow>(exec, 'select * from webhook_outbox where id = $1 and subscription_id = $2 and program_id = $3', [
      deliveryId,
      id,
      ctx.program.id,
    ]);
    if (!rows[0]) throw new AppError('delivery_not_found', `delivery ${deliveryId} does not exist`, { id: deliveryId });
    const log = await rawQuery<{ attempt: number; at: Date; status_code: number | null; error: string | null; duration_ms: number }>(
      exec,
      'select attempt, at, status_code, error, duration_ms from webhook_attempts where outbox_id = $1 order by id',
      [deliveryId],
    );
    return {
      ...toDelivery(rows[0]),
      log: log.rows.map((a) => ({ attempt: a.attempt, at: a.at, statusCode: a.status_code, error: a.error, durationMs: a.duration_ms })),
    };
  }

  /**
   * Send a delivery again, now: a failed or delivered row goes back to pending with a fresh retry
   * window. Its message id stays the same, so a receiver that de-duplicates sees a repeat.
   */
  async redeliver(ctx: ProgramContext, trx: Executor, id: string, deliveryId: string): Promise<Delivery> {
    await this.get(ctx, id, trx);
    await this.delivery(ctx, id, deliveryId, trx);
    const now = ctx.clock.now();
    const { rows } = await rawQuery<OutboxRow>(
      trx,
      `update webhook_outbox set status = 'pending', next_attempt_at = $2, window_start = $2, lease_until = null
       where id = $1 and (status <> 'pending' or lease_until is null or lease_until < now()) returning *`,
      [deliveryId, now],
    );
    if (!rows[0]) throw new AppError('conflict', 'this delivery is being attempted right now; try again shortly', { id: deliveryId });
    return toDelivery(rows[0]);
  }
}
