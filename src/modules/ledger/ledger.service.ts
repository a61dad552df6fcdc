import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { actorLabel, apiKeyOf, type ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { recordAudit } from '../../core/hooks.js';
import { newId } from '../../core/ids.js';
import { inTransaction, rawQuery, type Executor, type Trx } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import { computeExpiry, resolveExpiryPolicy, type ExpiryPolicy } from './expiry-policy.js';
import { DEBIT_ACCOUNT, drawFromLots, EARN, EARN_BATCH, INSERT_ENTRY, INSERT_TRANSACTION, LOCK_ACCOUNT } from './ledger.sql.js';
import type { PointType, PointTypesService } from './point-types.service.js';

export type TransactionKind =
  | 'earn'
  | 'spend'
  | 'reserve'
  | 'capture'
  | 'release'
  | 'refund'
  | 'reversal'
  | 'adjustment'
  | 'expiry'
  | 'transfer_out'
  | 'transfer_in'
  | 'activation'
  | 'cancel_pending';

export interface Source {
  type: string;
  id: string;
}

export interface LedgerTransaction {
  id: string;
  kind: TransactionKind;
  status: string | null;
  memberId: string;
  pointType: string;
  amount: number;
  /** the member's available and pending balance of this point type right after the operation */
  availableAfter: number;
  pendingAfter: number;
  relatedId: string | null;
  counterpartMemberId: string | null;
  source: Source | null;
  reason: string | null;
  actor: string;
  details: unknown;
  refunded: number;
  reversed: number;
  holdUntil: Date | null;
  occurredAt: Date;
  /** true when this answers a repeated idempotency key with the first result */
  replayed: boolean;
}

interface OperationBase {
  /** a Laurel member id, or ext:{externalId} */
  member: string;
  pointType: string;
  idempotencyKey: string;
  source?: Source | undefined;
  reason?: string | undefined;
  details?: unknown;
}

export interface EarnInput extends OperationBase {
  amount: number;
  /** pending until then (e.g. the end of a return window); spendable only after */
  activatesAt?: Date | undefined;
  /** the member's tier when earning, for tier-dependent expiry */
  tierCode?: string | null | undefined;
  /** whether this earn counts as activity for inactivity expiry (default: yes) */
  activity?: string | undefined;
}

export interface BatchEarnItem {
  /** a Laurel member id (already resolved) */
  memberId: string;
  pointType: string;
  amount: number;
  idempotencyKey: string;
  source?: Source | undefined;
  reason?: string | undefined;
  details?: unknown;
  tierCode?: string | null | undefined;
  /** where the behaviour happened (an event's channel); default: the request's */
  channel?: string | null | undefined;
}

export interface BatchEarnResult {
  /** per input item: its transaction and balance after, or null when its key was used before */
  results: Array<{ transactionId: string; availableAfter: number } | null>;
}

export interface SpendInput extends OperationBase {
  amount: number;
  activity?: string | undefined;
}

export interface ReserveInput extends SpendInput {
  /** how long the hold lasts before it is released automatically (default 30 minutes) */
  holdMinutes?: number | undefined;
}

export interface FollowUpInput {
  /** the transaction this one acts on: the reservation, spend or earn */
  transactionId: string;
  idempotencyKey: string;
  amount?: number | undefined;
  reason?: string | undefined;
  source?: Source | undefined;
}

export interface AdjustInput extends OperationBase {
  /** signed: a credit or a debit */
  amount: number;
  reason: string;
}

export interface TransferInput {
  from: string;
  to: string;
  pointType: string;
  amount: number;
  idempotencyKey: string;
  reason?: string | undefined;
}

interface TxnRow {
  id: string;
  kind: TransactionKind;
  status: string | null;
  member_id: string;
  point_type_id: string;
  amount: number;
  related_id: string | null;
  counterpart_member_id: string | null;
  source_type: string | null;
  source_id: string | null;
  reason: string | null;
  actor: string;
  details: unknown;
  refunded: number;
  reversed: number;
  hold_until: Date | null;
  occurred_at: Date;
  api_key_id: string | null;
  channel: string | null;
  available_after: number | null;
  pending_after: number | null;
}

const DEFAULT_HOLD_MINUTES = 30;
const INACTIVITY_KINDS_DEFAULT = ['earn', 'spend'];

/**
 * The fingerprint of a ledger request as the caller sent it, stored beside its idempotency key:
 * a key reused for any other request (another target, counterpart, sign or activation time) is
 * a conflict, never a replay of something else.
 */
function fingerprint(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 27);
}

function checkAmount(amount: number, field = 'amount'): void {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new AppError('invalid_amount', `${field} must be a positive whole number of the point type's smallest unit, got ${amount}`, {
      field,
      value: amount,
    });
  }
}

/**
 * A follow-up found its key free, then lost it to a concurrent twin. Its changes must not commit:
 * refusing rolls them back, and the caller's retry replays the twin's result.
 */
function keyRace(key: string): AppError {
  return new AppError('idempotency_in_progress', `a request with idempotency key "${key}" is running; retry`, { key });
}

/**
 * The points ledger: every change to a balance is one transaction row, one entry per account
 * touched, and the lot movements behind it, all in one database transaction.
 */
export class LedgerService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly pointTypes: PointTypesService,
  ) {}

  // ---------------------------------------------------------------- credits

  async earn(ctx: ProgramContext, input: EarnInput, trx?: Executor): Promise<LedgerTransaction> {
    checkAmount(input.amount);
    const type = await this.pointTypes.get(ctx, input.pointType, trx);
    const now = ctx.clock.now();
    const pending = input.activatesAt !== undefined && input.activatesAt.getTime() > now.getTime();
    // The policy in force when the points were earned applies (a later change keeps this promise);
    // a pending lot's clock starts at its activation: points cannot expire before they can be spent.
    const earnContext = { earnedAt: now, zone: ctx.program.timeZone, tierCode: input.tierCode ?? null };
    const expiresAt = computeExpiry(resolveExpiryPolicy(type.expiryPolicy, earnContext), {
      ...earnContext,
      earnedAt: pending ? input.activatesAt! : now,
    });
    const run = (exec: Executor) =>
      this.credit(ctx, exec, {
        ...input,
        requestHash: fingerprint('earn', input.pointType, input.amount, input.activatesAt?.toISOString() ?? null),
        type,
        kind: 'earn',
        status: pending ? 'pending' : 'active',
        expiresAt,
        activatesAt: pending ? input.activatesAt! : null,
        relatedId: null,
        requireActive: true,
        countsAsActivity: this.countsAsActivity(type, input.activity ?? 'earn'),
      });
    // A lone earn is one statement, atomic by itself: no transaction round trips needed.
    return run(trx ?? this.db);
  }

  /**
   * Many immediate earns in one set-based statement. The caller has checked the members (active,
   * of this program); items whose idempotency key was used before are skipped and come back null.
   */
  async earnBatch(ctx: ProgramContext, items: BatchEarnItem[], exec: Executor = this.db): Promise<BatchEarnResult> {
    if (items.length === 0) return { results: [] };
    const part = await this.earnBatchPart(ctx, items, exec);
    const { rows } = await rawQuery<{ id: string; available: number }>(exec, EARN_BATCH(items.length), part.values);
    return part.results(rows.map((r) => [r.id, r.available]));
  }

  /**
   * A batch earn to send inside the caller's own statement, in its transaction: the values of
   * earnBatchCtes' parameters, in order, and how to read the [transaction id, available after]
   * pairs its `entries` CTE returns. For callers that write rows of their own for the same earns.
   */
  async earnBatchPart(
    ctx: ProgramContext,
    items: BatchEarnItem[],
    exec: Executor,
  ): Promise<{ values: unknown[]; results: (entries: Array<[string, number]>) => BatchEarnResult }> {
    const now = ctx.clock.now();
    const cols = {
      txn: [] as string[], member: [] as string[], type: [] as string[], amount: [] as number[], key: [] as string[],
      sourceType: [] as (string | null)[], sourceId: [] as (string | null)[], reason: [] as (string | null)[],
      details: [] as string[], expires: [] as (Date | null)[], lot: [] as string[], negative: [] as boolean[],
      hash: [] as string[], channel: [] as (string | null)[],
    };
    for (const item of items) {
      checkAmount(item.amount);
      const type = await this.pointTypes.get(ctx, item.pointType, exec);
      cols.txn.push(newId('transaction', now.getTime()));
      cols.member.push(item.memberId);
      cols.type.push(type.id);
      cols.amount.push(item.amount);
      cols.key.push(item.idempotencyKey);
      cols.sourceType.push(item.source?.type ?? null);
      cols.sourceId.push(item.source?.id ?? null);
      cols.reason.push(item.reason ?? null);
      cols.details.push(item.details === undefined ? 'null' : `[${JSON.stringify(item.details)}]`);
      cols.expires.push(computeExpiry(type.expiryPolicy, { earnedAt: now, zone: ctx.program.timeZone, tierCode: item.tierCode ?? null }));
      cols.lot.push(newId('lot', now.getTime()));
      cols.negative.push(type.negativeBalance === 'allow');
      cols.hash.push(fingerprint('earn', item.pointType, item.amount, null));
      cols.channel.push(item.channel ?? ctx.channel ?? null);
    }
    const values = [
      ctx.program.id, actorLabel(ctx.actor), now, cols.txn, cols.member, cols.type, cols.amount, cols.key,
      cols.sourceType, cols.sourceId, cols.reason, `[${cols.details.join(',')}]`, cols.expires, cols.lot, cols.negative, cols.hash,
      apiKeyOf(ctx.actor), cols.channel,
    ];
    return {
      values,
      results: (entries) => {
        const byId = new Map(entries);
        return { results: cols.txn.map((id) => (byId.has(id) ? { transactionId: id, availableAfter: Number(byId.get(id)) } : null)) };
      },
    };
  }

  private async credit(
    ctx: ProgramContext,
    exec: Executor,
    c: OperationBase & {
      amount: number;
      type: PointType;
      kind: TransactionKind;
      status: 'active' | 'pending';
      expiresAt: Date | null;
      activatesAt: Date | null;
      relatedId: string | null;
      requireActive: boolean;
      countsAsActivity: boolean;
      requestHash: string;
    },
  ): Promise<LedgerTransaction> {
    const memberId = await this.memberId(ctx, c.member, exec);
    const now = ctx.clock.now();
    const txnId = newId('transaction', now.getTime());
    const { rows } = await rawQuery<{ id: string | null; available: number | null; pending: number | null }>(exec, EARN, [
      ctx.program.id,
      memberId,
      txnId,
      c.type.id,
      c.amount,
      c.status,
      c.idempotencyKey,
      c.source?.type ?? null,
      c.source?.id ?? null,
      c.reason ?? null,
      actorLabel(ctx.actor),
      c.details === undefined ? null : JSON.stringify(c.details),
      now,
      c.type.negativeBalance === 'allow',
      c.countsAsActivity,
      newId('lot', now.getTime()),
      c.activatesAt,
      c.expiresAt,
      c.kind,
      c.relatedId,
      c.kind,
      c.requireActive,
      c.requestHash,
      apiKeyOf(ctx.actor),
      ctx.channel ?? null,
    ]);
    const row = rows[0]!;
    if (row.id === null) {
      return this.replayOrExplain(ctx, exec, memberId, c.idempotencyKey, { kind: c.kind, amount: c.amount, pointTypeId: c.type.id, hash: c.requestHash });
    }
    return {
      id: txnId,
      kind: c.kind,
      status: c.status,
      memberId,
      pointType: c.type.code,
      amount: c.amount,
      availableAfter: row.available!,
      pendingAfter: row.pending!,
      relatedId: c.relatedId,
      counterpartMemberId: null,
      source: c.source ?? null,
      reason: c.reason ?? null,
      actor: actorLabel(ctx.actor),
      details: c.details ?? null,
      refunded: 0,
      reversed: 0,
      holdUntil: null,
      occurredAt: now,
      replayed: false,
    };
  }

  // ---------------------------------------------------------------- debits

  async spend(ctx: ProgramContext, input: SpendInput, trx?: Trx): Promise<LedgerTransaction> {
    return this.within(trx, (t) =>
      this.debit(ctx, t, { ...input, kind: 'spend', status: null, holdUntil: null, requestHash: fingerprint('spend', input.pointType, input.amount) }),
    );
  }

  /** Hold points for a later capture (a mall order awaiting payment, say). */
  async reserve(ctx: ProgramContext, input: ReserveInput, trx?: Trx): Promise<LedgerTransaction> {
    const minutes = input.holdMinutes ?? DEFAULT_HOLD_MINUTES;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60 * 24 * 30) {
      throw new AppError('validation_failed', 'holdMinutes must be between 1 and 43200', { field: 'holdMinutes' });
    }
    const holdUntil = new Date(ctx.clock.now().getTime() + minutes * 60_000);
    return this.within(trx, (t) =>
      this.debit(ctx, t, { ...input, kind: 'reserve', status: 'open', holdUntil, requestHash: fingerprint('reserve', input.pointType, input.amount, minutes) }),
    );
  }

  private async debit(
    ctx: ProgramContext,
    trx: Trx,
    d: SpendInput & { kind: 'spend' | 'reserve' | 'adjustment' | 'transfer_out' | 'reversal'; status: string | null; holdUntil: Date | null; relatedId?: string | null; counterpartMemberId?: string | null; allowDebt?: boolean; requireActive?: boolean; requestHash: string },
  ): Promise<LedgerTransaction> {
    checkAmount(d.amount);
    const type = await this.pointTypes.get(ctx, d.pointType, trx);
    if (type.kind === 'growth' && (d.kind === 'spend' || d.kind === 'reserve' || d.kind === 'transfer_out')) {
      throw new AppError('point_type_not_spendable', `"${type.code}" is growth value: it is earned, never spent`, { pointType: type.code });
    }
    const memberId = await this.memberId(ctx, d.member, trx);
    const now = ctx.clock.now();
    const txnId = newId('transaction', now.getTime());
    const isReserve = d.kind === 'reserve';
    const countsAsSpent = d.kind === 'spend';
    const { rows } = await rawQuery<{ id: string | null; available: number | null; pending: number | null }>(trx, DEBIT_ACCOUNT, [
      ctx.program.id,
      memberId,
      txnId,
      type.id,
      d.amount,
      d.allowDebt ?? false,
      d.kind,
      d.status,
      d.idempotencyKey,
      d.relatedId ?? null,
      d.counterpartMemberId ?? null,
      d.source?.type ?? null,
      d.source?.id ?? null,
      d.reason ?? null,
      actorLabel(ctx.actor),
      d.details === undefined ? null : JSON.stringify(d.details),
      d.holdUntil,
      now,
      countsAsSpent ? d.amount : 0,
      isReserve ? d.amount : 0,
      this.countsAsActivity(type, d.activity ?? d.kind),
      d.requireActive ?? true,
      d.requestHash,
      apiKeyOf(ctx.actor),
      ctx.channel ?? null,
    ]);
    const row = rows[0]!;
    if (row.id === null) {
      return this.replayOrExplain(ctx, trx, memberId, d.idempotencyKey, { kind: d.kind, amount: d.amount, pointTypeId: type.id, hash: d.requestHash }, d.requireActive ?? true);
    }
    if (row.available === null) {
      const balance = await this.balanceOf(trx, memberId, type.id);
      throw new AppError('insufficient_points', `${d.amount} ${type.code} needed, ${balance} available`, {
        pointType: type.code,
        requested: d.amount,
        available: balance,
      });
    }
    await rawQuery(trx, drawFromLots(type.consumptionOrder), [
      memberId,
      type.id,
      d.amount,
      txnId,
      ctx.program.id,
      d.kind,
      -d.amount,
      row.available,
      row.pending,
      now,
    ]);
    return {
      id: txnId,
      kind: d.kind,
      status: d.status,
      memberId,
      pointType: type.code,
      amount: d.amount,
      availableAfter: row.available,
      pendingAfter: row.pending!,
      relatedId: d.relatedId ?? null,
      counterpartMemberId: d.counterpartMemberId ?? null,
      source: d.source ?? null,
      reason: d.reason ?? null,
      actor: actorLabel(ctx.actor),
      details: d.details ?? null,
      refunded: 0,
      reversed: 0,
      holdUntil: d.holdUntil,
      occurredAt: now,
      replayed: false,
    };
  }

  // ---------------------------------------------------------------- follow-ups

  /** Turn a hold into a spend. A partial capture releases the rest. */
  async capture(ctx: ProgramContext, input: FollowUpInput, trx?: Trx): Promise<LedgerTransaction> {
    return this.within(trx, async (t) => {
      const hold = await this.lockTransaction(ctx, t, input.transactionId, 'reserve');
      const replay = await this.findReplay(ctx, t, hold.member_id, input.idempotencyKey, 'capture', fingerprint('capture', hold.id, input.amount ?? null));
      if (replay) return replay;
      if (hold.status !== 'open') {
        throw new AppError('reservation_not_open', `reservation ${hold.id} is ${hold.status}`, { status: hold.status });
      }
      const amount = input.amount ?? hold.amount;
      checkAmount(amount);
      if (amount > hold.amount) {
        throw new AppError('invalid_amount', `cannot capture ${amount}: the reservation holds ${hold.amount}`, { held: hold.amount });
      }
      const now = ctx.clock.now();
      const rest = hold.amount - amount;
      const expiredNow = rest > 0 ? await this.returnAllocations(ctx, t, hold, rest, 'release', now, null) : 0;
      const acct = await rawQuery<{ available: number; pending: number }>(
        t,
        `update accounts set reserved = reserved - $3, spent = spent + $4, available = available + $5, expired = expired + $6, updated_at = $7
         where member_id = $1 and point_type_id = $2 returning available, pending`,
        [hold.member_id, hold.point_type_id, hold.amount, amount, rest - expiredNow, expiredNow, now],
      );
      await rawQuery(t, `update ledger_transactions set status = 'captured' where member_id = $1 and id = $2`, [hold.member_id, hold.id]);
      const a = acct.rows[0]!;
      return this.recordFollowUp(ctx, t, hold, 'capture', amount, rest - expiredNow, a, input, now, expiredNow);
    });
  }

  /** Give held points back. Points whose lot expired meanwhile expire at once. */
  async release(ctx: ProgramContext, input: FollowUpInput, trx?: Trx): Promise<LedgerTransaction> {
    return this.within(trx, async (t) => {
      const hold = await this.lockTransaction(ctx, t, input.transactionId, 'reserve');
      const replay = await this.findReplay(ctx, t, hold.member_id, input.idempotencyKey, 'release', fingerprint('release', hold.id, null));
      if (replay) return replay;
      if (hold.status !== 'open') {
        throw new AppError('reservation_not_open', `reservation ${hold.id} is ${hold.status}`, { status: hold.status });
      }
      return this.releaseHold(ctx, t, hold, input, ctx.clock.now());
    });
  }

  /** Release one open hold (also used by the job that releases holds past their time). */
  async releaseHold(ctx: ProgramContext, t: Trx, hold: TxnRow, input: FollowUpInput, now: Date): Promise<LedgerTransaction> {
    const expiredNow = await this.returnAllocations(ctx, t, hold, hold.amount, 'release', now, null);
    const acct = await rawQuery<{ available: number; pending: number }>(
      t,
      `update accounts set reserved = reserved - $3, available = available + $4, expired = expired + $5, updated_at = $6
       where member_id = $1 and point_type_id = $2 returning available, pending`,
      [hold.member_id, hold.point_type_id, hold.amount, hold.amount - expiredNow, expiredNow, now],
    );
    await rawQuery(t, `update ledger_transactions set status = 'released' where member_id = $1 and id = $2`, [hold.member_id, hold.id]);
    return this.recordFollowUp(ctx, t, hold, 'release', hold.amount, hold.amount - expiredNow, acct.rows[0]!, input, now, expiredNow);
  }

  /** Give back (part of) a spend, to the lots it came from. */
  async refund(ctx: ProgramContext, input: FollowUpInput, trx?: Trx): Promise<LedgerTransaction> {
    return this.within(trx, async (t) => {
      const spend = await this.lockTransaction(ctx, t, input.transactionId, ['spend', 'capture']);
      const amount = input.amount ?? spend.amount - spend.refunded;
      const replay = await this.findReplay(ctx, t, spend.member_id, input.idempotencyKey, 'refund', fingerprint('refund', spend.id, input.amount ?? null));
      if (replay) return replay;
      checkAmount(amount);
      if (amount > spend.amount - spend.refunded) {
        throw new AppError('refund_exceeds_spend', `cannot refund ${amount}: ${spend.amount - spend.refunded} of the spend remains refundable`, {
          spent: spend.amount,
          refunded: spend.refunded,
        });
      }
      const now = ctx.clock.now();
      // A captured hold's allocations belong to the reservation it captured.
      const allocationsOf = spend.kind === 'capture' ? spend.related_id! : spend.id;
      await this.lockAccount(t, spend.member_id, spend.point_type_id);
      const expiredNow = await this.returnAllocations(ctx, t, { ...spend, id: allocationsOf }, amount, 'refund', now, spend);
      const acct = await rawQuery<{ available: number; pending: number }>(
        t,
        `update accounts set available = available + $3, spent = spent - $4, expired = expired + $5, updated_at = $6
         where member_id = $1 and point_type_id = $2 returning available, pending`,
        [spend.member_id, spend.point_type_id, amount - expiredNow, amount, expiredNow, now],
      );
      await rawQuery(t, 'update ledger_transactions set refunded = refunded + $3 where member_id = $1 and id = $2', [
        spend.member_id,
        spend.id,
        amount,
      ]);
      return this.recordFollowUp(ctx, t, spend, 'refund', amount, amount - expiredNow, acct.rows[0]!, input, now, expiredNow);
    });
  }

  /** Claw back (part of) an earn: from its own lot first, then the others; debt only where allowed. */
  async reverse(ctx: ProgramContext, input: FollowUpInput, trx?: Trx): Promise<LedgerTransaction> {
    return this.within(trx, async (t) => {
      // A received transfer is undone by a transfer back, not by a clawback that returns nothing to the sender.
      const earn = await this.lockTransaction(ctx, t, input.transactionId, ['earn', 'adjustment']);
      const amount = input.amount ?? earn.amount - earn.reversed;
      const replay = await this.findReplay(ctx, t, earn.member_id, input.idempotencyKey, 'reversal', fingerprint('reversal', earn.id, input.amount ?? null));
      if (replay) return replay;
      checkAmount(amount);
      if (earn.kind === 'adjustment' && earn.status === 'debit') {
        throw new AppError('not_reversible', 'only a credit can be reversed', { transaction: earn.id });
      }
      if (amount > earn.amount - earn.reversed) {
        throw new AppError('not_reversible', `cannot reverse ${amount}: ${earn.amount - earn.reversed} of the earn remains`, {
          earned: earn.amount,
          reversed: earn.reversed,
        });
      }
      const type = await this.typeById(ctx, t, earn.point_type_id);
      const now = ctx.clock.now();
      const acct = await this.lockAccount(t, earn.member_id, earn.point_type_id);
      const lot = await rawQuery<{ id: string; status: string; remaining: number; amount: number }>(
        t,
        'select id, status, remaining, amount from lots where member_id = $1 and transaction_id = $2',
        [earn.member_id, earn.id],
      );
      const ownLot = lot.rows[0];
      await rawQuery(t, 'update ledger_transactions set reversed = reversed + $3 where member_id = $1 and id = $2', [
        earn.member_id,
        earn.id,
        amount,
      ]);
      if (ownLot?.status === 'pending') {
        // A return while points are still pending cancels them: nothing was ever spendable.
        await rawQuery(
          t,
          `update lots set remaining = remaining - $3, status = case when remaining = $3 then 'cancelled' else status end
           where member_id = $1 and id = $2`,
          [earn.member_id, ownLot.id, amount],
        );
        const a = await rawQuery<{ available: number; pending: number }>(
          t,
          'update accounts set pending = pending - $3, updated_at = $4 where member_id = $1 and point_type_id = $2 returning available, pending',
          [earn.member_id, earn.point_type_id, amount, now],
        );
        return this.recordFollowUp(ctx, t, earn, 'cancel_pending', amount, 0, a.rows[0]!, input, now, 0, -amount);
      }
      const allowDebt = type.negativeBalance === 'allow';
      if (!allowDebt && acct.available < amount) {
        throw new AppError('insufficient_points', `cannot claw back ${amount} ${type.code}: ${acct.available} available and debt is not allowed`, {
          pointType: type.code,
          requested: amount,
          available: acct.available,
        });
      }
      const txnId = newId('transaction', now.getTime());
      const inserted = await rawQuery(t, INSERT_TRANSACTION, [
        txnId, ctx.program.id, earn.member_id, earn.point_type_id, 'reversal', amount, null, input.idempotencyKey, earn.id, null,
        input.source?.type ?? null, input.source?.id ?? null, input.reason ?? null, actorLabel(ctx.actor), null, null, now,
        fingerprint('reversal', earn.id, input.amount ?? null), earn.api_key_id, earn.channel,
      ]);
      if (inserted.rowCount === 0) throw keyRace(input.idempotencyKey);
      // From the earn's own lot first, then the account's other lots in consumption order.
      let left = amount;
      if (ownLot && ownLot.status === 'active' && ownLot.remaining > 0) {
        const take = Math.min(ownLot.remaining, left);
        await rawQuery(t, 'update lots set remaining = remaining - $3 where member_id = $1 and id = $2', [earn.member_id, ownLot.id, take]);
        await rawQuery(t, 'insert into lot_allocations (member_id, transaction_id, lot_id, amount) values ($1, $2, $3, $4)', [
          earn.member_id,
          txnId,
          ownLot.id,
          take,
        ]);
        left -= take;
      }
      const after = await rawQuery<{ available: number; pending: number }>(
        t,
        `update accounts set available = available - $3, earned = earned - $3, updated_at = $4
         where member_id = $1 and point_type_id = $2 returning available, pending`,
        [earn.member_id, earn.point_type_id, amount, now],
      );
      const a = after.rows[0]!;
      if (left > 0) {
        const drawable = Math.min(left, Math.max(acct.available - (amount - left), 0));
        await rawQuery(t, drawFromLots(type.consumptionOrder), [
          earn.member_id, earn.point_type_id, drawable, txnId, ctx.program.id, 'reversal', -amount, a.available, a.pending, now,
        ]);
      } else {
        await rawQuery(t, INSERT_ENTRY, [ctx.program.id, earn.member_id, earn.point_type_id, txnId, 'reversal', -amount, 0, a.available, a.pending, now]);
      }
      return this.toResult(await this.loadTransaction(t, earn.member_id, txnId), type.code, false);
    });
  }

  /** A manual credit or debit by an operator, with a reason. */
  /** A manual adjustment, recorded in the audit log in its own transaction (a replay records nothing). */
  async adjust(ctx: ProgramContext, input: AdjustInput, trx?: Trx): Promise<LedgerTransaction> {
    return this.within(trx, async (t) => {
      const txn = await this.adjustBalance(ctx, input, t);
      if (!txn.replayed) {
        await recordAudit(t, ctx, {
          action: 'adjust',
          resourceType: 'adjustment',
          resourceId: txn.id,
          before: { memberId: txn.memberId, pointType: txn.pointType, available: txn.availableAfter - input.amount },
          after: { memberId: txn.memberId, pointType: txn.pointType, available: txn.availableAfter, amount: input.amount, reason: input.reason },
        });
      }
      return txn;
    });
  }

  /**
   * An adjustment a job makes by a configured rule (growth lost per day of a lapsed plan): the
   * rule's configuration is what the audit log records, not each entry it produces.
   */
  async ruleAdjust(ctx: ProgramContext, input: AdjustInput, trx?: Trx): Promise<LedgerTransaction> {
    return this.adjustBalance(ctx, input, trx);
  }

  private async adjustBalance(ctx: ProgramContext, input: AdjustInput, trx?: Trx): Promise<LedgerTransaction> {
    if (!input.reason?.trim()) throw new AppError('validation_failed', 'a manual adjustment needs a reason', { field: 'reason' });
    if (!Number.isSafeInteger(input.amount) || input.amount === 0) {
      throw new AppError('invalid_amount', 'amount must be a non-zero whole number', { field: 'amount' });
    }
    const type = await this.pointTypes.get(ctx, input.pointType, trx);
    if (input.amount > 0) {
      const now = ctx.clock.now();
      return this.credit(ctx, trx ?? this.db, {
        ...input,
        type,
        kind: 'adjustment',
        status: 'active',
        expiresAt: computeExpiry(type.expiryPolicy, { earnedAt: now, zone: ctx.program.timeZone }),
        activatesAt: null,
        relatedId: null,
        requireActive: false,
        countsAsActivity: this.countsAsActivity(type, 'adjustment'),
        requestHash: fingerprint('adjust', input.pointType, input.amount),
      });
    }
    return this.within(trx, (t) =>
      this.debit(ctx, t, {
        ...input,
        amount: -input.amount,
        kind: 'adjustment',
        status: 'debit',
        holdUntil: null,
        allowDebt: type.negativeBalance === 'allow',
        requireActive: false,
        requestHash: fingerprint('adjust', input.pointType, input.amount),
      }),
    );
  }

  /** Move points between two members; the transferred lots keep their expiry. */
  async transfer(ctx: ProgramContext, input: TransferInput, trx?: Trx): Promise<{ out: LedgerTransaction; in: LedgerTransaction }> {
    checkAmount(input.amount);
    return this.within(trx, async (t) => {
      const from = await this.memberId(ctx, input.from, t);
      const to = await this.memberId(ctx, input.to, t);
      if (from === to) throw new AppError('validation_failed', 'a transfer needs two different members', { field: 'to' });
      const type = await this.pointTypes.get(ctx, input.pointType, t);
      const toStatus = await rawQuery<{ status: string }>(t, 'select status from members where id = $1 and program_id = $2', [to, ctx.program.id]);
      if (toStatus.rows[0]?.status !== 'active') {
        throw new AppError('member_inactive', `member ${input.to} is ${toStatus.rows[0]?.status ?? 'missing'} and cannot receive points`);
      }
      // Lock both accounts in id order: two opposite transfers never deadlock.
      for (const id of [from, to].sort()) {
        await rawQuery(
          t,
          `insert into accounts (member_id, point_type_id, program_id, negative_allowed, updated_at) values ($1, $2, $3, $4, $5)
           on conflict (member_id, point_type_id) do update set updated_at = accounts.updated_at`,
          [id, type.id, ctx.program.id, type.negativeBalance === 'allow', ctx.clock.now()],
        );
      }
      const out = await this.debit(ctx, t, {
        member: from,
        pointType: input.pointType,
        amount: input.amount,
        idempotencyKey: input.idempotencyKey,
        reason: input.reason,
        kind: 'transfer_out',
        status: null,
        holdUntil: null,
        counterpartMemberId: to,
        activity: 'transfer',
        requestHash: fingerprint('transfer', from, to, input.pointType, input.amount),
      });
      if (out.replayed) {
        // The fingerprint names the recipient, so a replay's incoming half is on the same member.
        const incoming = await rawQuery<{ id: string }>(t, 'select id from ledger_transactions where member_id = $1 and related_id = $2', [to, out.id]);
        return { out, in: this.toResult(await this.loadTransaction(t, to, incoming.rows[0]!.id), type.code, true) };
      }
      const now = ctx.clock.now();
      const drawn = await rawQuery<{ lot_id: string; amount: number; expires_at: Date | null }>(
        t,
        `select a.lot_id, a.amount, l.expires_at from lot_allocations a join lots l on l.member_id = a.member_id and l.id = a.lot_id
         where a.member_id = $1 and a.transaction_id = $2 order by l.expires_at nulls last`,
        [from, out.id],
      );
      const inId = newId('transaction', now.getTime());
      await rawQuery(t, INSERT_TRANSACTION, [
        inId, ctx.program.id, to, type.id, 'transfer_in', input.amount, null, null, out.id, from, null, null, input.reason ?? null,
        actorLabel(ctx.actor), null, null, now, null, apiKeyOf(ctx.actor), ctx.channel ?? null,
      ]);
      const acct = await rawQuery<{ available: number; pending: number }>(
        t,
        `update accounts set available = available + $3, earned = earned + $3, last_activity_at = case when $5 then $4 else last_activity_at end, updated_at = $4
         where member_id = $1 and point_type_id = $2 returning available, pending`,
        [to, type.id, input.amount, now, this.countsAsActivity(type, 'transfer')],
      );
      const a = acct.rows[0]!;
      // Repay a debt first, as every credit does; then each drawn lot arrives with its own expiry.
      let toCredit = Math.min(input.amount, Math.max(a.available, 0));
      for (const lot of drawn.rows) {
        const keep = Math.min(lot.amount, toCredit);
        toCredit -= keep;
        if (keep <= 0) continue;
        await rawQuery(
          t,
          `insert into lots (id, program_id, member_id, point_type_id, transaction_id, status, amount, remaining, earned_at, expires_at)
           values ($1, $2, $3, $4, $5, 'active', $6, $6, $7, $8)`,
          [newId('lot', now.getTime()), ctx.program.id, to, type.id, inId, keep, now, lot.expires_at],
        );
      }
      await rawQuery(t, INSERT_ENTRY, [ctx.program.id, to, type.id, inId, 'transfer_in', input.amount, 0, a.available, a.pending, now]);
      await rawQuery(t, 'update ledger_transactions set related_id = $3 where member_id = $1 and id = $2', [from, out.id, inId]);
      return { out: { ...out, relatedId: inId }, in: this.toResult(await this.loadTransaction(t, to, inId), type.code, false) };
    });
  }

  // ---------------------------------------------------------------- helpers

  private within<T>(trx: Trx | undefined, work: (t: Trx) => Promise<T>): Promise<T> {
    return trx ? work(trx) : inTransaction(this.db, work);
  }

  private countsAsActivity(type: PointType, activity: string): boolean {
    const policy = type.expiryPolicy as ExpiryPolicy;
    if (policy.kind !== 'inactivity') return true;
    const kinds = (policy as { activityKinds?: string[] }).activityKinds ?? INACTIVITY_KINDS_DEFAULT;
    return kinds.includes(activity);
  }

  async memberId(ctx: ProgramContext, ref: string, exec: Executor = this.db): Promise<string> {
    if (!ref.startsWith('ext:')) return ref;
    const { rows } = await rawQuery<{ id: string }>(exec, 'select id from members where program_id = $1 and external_id = $2', [
      ctx.program.id,
      ref.slice(4),
    ]);
    if (!rows[0]) throw new AppError('member_not_found', `member ${ref} does not exist`, { member: ref });
    return rows[0].id;
  }

  private async typeById(ctx: ProgramContext, exec: Executor, id: string): Promise<PointType> {
    const type = (await this.pointTypes.list(ctx, exec)).find((p) => p.id === id);
    if (!type) throw new AppError('point_type_not_found', `point type ${id} does not exist`);
    return type;
  }

  private async balanceOf(exec: Executor, memberId: string, pointTypeId: string): Promise<number> {
    const { rows } = await rawQuery<{ available: number }>(exec, 'select available from accounts where member_id = $1 and point_type_id = $2', [
      memberId,
      pointTypeId,
    ]);
    return rows[0]?.available ?? 0;
  }

  private async lockAccount(t: Trx, memberId: string, pointTypeId: string) {
    const { rows } = await rawQuery<{ available: number; pending: number; reserved: number; negative_allowed: boolean }>(t, LOCK_ACCOUNT, [
      memberId,
      pointTypeId,
    ]);
    if (!rows[0]) throw new AppError('not_found', 'the member has no balance of this point type');
    return rows[0];
  }

  /**
   * The transaction a follow-up acts on, with its account locked first (the account is the lock
   * of the member's balance; the transaction row is locked after it, in the same order everywhere).
   */
  private async lockTransaction(ctx: ProgramContext, t: Trx, id: string, kinds: TransactionKind | TransactionKind[]): Promise<TxnRow> {
    const peek = await rawQuery<{ member_id: string; point_type_id: string; kind: TransactionKind }>(
      t,
      'select member_id, point_type_id, kind from ledger_transactions where id = $1 and program_id = $2',
      [id, ctx.program.id],
    );
    const found = peek.rows[0];
    const wanted = Array.isArray(kinds) ? kinds : [kinds];
    if (!found) throw new AppError('not_found', `transaction ${id} does not exist`, { transaction: id });
    if (!wanted.includes(found.kind)) {
      const code = wanted.includes('reserve') ? 'reservation_not_open' : wanted.includes('spend') ? 'not_refundable' : 'not_reversible';
      throw new AppError(code, `transaction ${id} is a ${found.kind}, not a ${wanted.join(' or ')}`, { kind: found.kind });
    }
    await this.lockAccount(t, found.member_id, found.point_type_id);
    const { rows } = await rawQuery<TxnRow>(t, `select t.*, null::bigint as available_after, null::bigint as pending_after
       from ledger_transactions t where member_id = $1 and id = $2 for update`, [found.member_id, id]);
    return rows[0]!;
  }

  /**
   * Put `amount` of a debit's allocations back into their lots, the last drawn first. Points whose
   * lot has expired meanwhile follow the point type's policy: they expire at once, or come back
   * as a fresh lot with a new expiry. Returns how much expired at once.
   */
  private async returnAllocations(
    ctx: ProgramContext,
    t: Trx,
    debit: Pick<TxnRow, 'id' | 'member_id' | 'point_type_id'>,
    amount: number,
    _reason: 'release' | 'refund',
    now: Date,
    refundOf: TxnRow | null,
  ): Promise<number> {
    const type = await this.typeById(ctx, t, debit.point_type_id);
    const { rows } = await rawQuery<{ lot_id: string; open: number; status: string; expires_at: Date | null }>(
      t,
      `select a.lot_id, a.amount - a.returned as open, l.status, l.expires_at
       from lot_allocations a join lots l on l.member_id = a.member_id and l.id = a.lot_id
       where a.member_id = $1 and a.transaction_id = $2 and a.amount > a.returned
       order by l.expires_at desc nulls first, l.earned_at desc, l.seq desc`,
      [debit.member_id, debit.id],
    );
    let left = amount;
    let expiredNow = 0;
    for (const a of rows) {
      if (left <= 0) break;
      const back = Math.min(a.open, left);
      left -= back;
      await rawQuery(t, 'update lot_allocations set returned = returned + $4 where member_id = $1 and transaction_id = $2 and lot_id = $3', [
        debit.member_id,
        debit.id,
        a.lot_id,
        back,
      ]);
      const lapsed = a.status !== 'active' || (a.expires_at !== null && a.expires_at.getTime() <= now.getTime());
      if (!lapsed) {
        await rawQuery(t, 'update lots set remaining = remaining + $3 where member_id = $1 and id = $2', [debit.member_id, a.lot_id, back]);
      } else if (type.expiredRefund === 'recredit' && refundOf) {
        await rawQuery(
          t,
          `insert into lots (id, program_id, member_id, point_type_id, transaction_id, status, amount, remaining, earned_at, expires_at)
           values ($1, $2, $3, $4, $5, 'active', $6, $6, $7, $8)`,
          [newId('lot', now.getTime()), ctx.program.id, debit.member_id, debit.point_type_id, refundOf.id, back, now,
            computeExpiry(type.expiryPolicy, { earnedAt: now, zone: ctx.program.timeZone })],
        );
      } else {
        // Already past its promise: the points return only to expire, recorded as such.
        await rawQuery(t, 'update lots set expired_amount = expired_amount + $3 where member_id = $1 and id = $2', [debit.member_id, a.lot_id, back]);
        expiredNow += back;
      }
    }
    if (left > 0) throw new Error(`ledger inconsistency: ${left} of ${debit.id} has no allocation to return to`);
    return expiredNow;
  }

  private async recordFollowUp(
    ctx: ProgramContext,
    t: Trx,
    of: TxnRow,
    kind: TransactionKind,
    amount: number,
    availableDelta: number,
    acct: { available: number; pending: number },
    input: FollowUpInput,
    now: Date,
    expiredNow = 0,
    pendingDelta = 0,
  ): Promise<LedgerTransaction> {
    const txnId = newId('transaction', now.getTime());
    const inserted = await rawQuery(t, INSERT_TRANSACTION, [
      txnId, ctx.program.id, of.member_id, of.point_type_id, kind, amount, null, input.idempotencyKey, of.id, null,
      input.source?.type ?? null, input.source?.id ?? null, input.reason ?? null, actorLabel(ctx.actor),
      expiredNow ? JSON.stringify({ expiredOnReturn: expiredNow }) : null, null, now,
      // the fingerprint its replay is checked against (a pending earn's cancellation answers a reversal)
      fingerprint(kind === 'cancel_pending' ? 'reversal' : kind, of.id, kind === 'release' ? null : (input.amount ?? null)),
      // a follow-up is settled with the partner and channel of what it follows
      of.api_key_id, of.channel,
    ]);
    if (inserted.rowCount === 0) throw keyRace(input.idempotencyKey);
    await rawQuery(t, INSERT_ENTRY, [ctx.program.id, of.member_id, of.point_type_id, txnId, kind, availableDelta, pendingDelta, acct.available, acct.pending, now]);
    const type = await this.typeById(ctx, t, of.point_type_id);
    return this.toResult(await this.loadTransaction(t, of.member_id, txnId), type.code, false);
  }

  private async loadTransaction(exec: Executor, memberId: string, id: string): Promise<TxnRow> {
    const { rows } = await rawQuery<TxnRow>(
      exec,
      `select t.*, e.available_after, e.pending_after
       from ledger_transactions t
       left join lateral (select available_after, pending_after from ledger_entries e
         where e.member_id = t.member_id and e.transaction_id = t.id order by e.id asc limit 1) e on true
       where t.member_id = $1 and t.id = $2`,
      [memberId, id],
    );
    if (!rows[0]) throw new AppError('not_found', `transaction ${id} does not exist`);
    return rows[0];
  }

  toResult(row: TxnRow, pointTypeCode: string, replayed: boolean): LedgerTransaction {
    return {
      id: row.id,
      kind: row.kind,
      status: row.status,
      memberId: row.member_id,
      pointType: pointTypeCode,
      amount: row.amount,
      availableAfter: row.available_after ?? 0,
      pendingAfter: row.pending_after ?? 0,
      relatedId: row.related_id,
      counterpartMemberId: row.counterpart_member_id,
      source: row.source_type && row.source_id ? { type: row.source_type, id: row.source_id } : null,
      reason: row.reason,
      actor: row.actor,
      details: row.details,
      refunded: row.refunded,
      reversed: row.reversed,
      holdUntil: row.hold_until,
      occurredAt: row.occurred_at,
      replayed,
    };
  }

  private async findReplay(
    ctx: ProgramContext,
    exec: Executor,
    memberId: string,
    key: string,
    kind: TransactionKind,
    hash: string,
  ): Promise<LedgerTransaction | null> {
    const { rows } = await rawQuery<{ id: string }>(exec, 'select id from ledger_transactions where member_id = $1 and idempotency_key = $2', [
      memberId,
      key,
    ]);
    if (!rows[0]) return null;
    return this.replayOrExplain(ctx, exec, memberId, key, { kind, hash }, false);
  }

  /**
   * An operation inserted nothing: its key was used before (replay the first result, or refuse a
   * different request under the same key), or the member is missing or not active.
   */
  private async replayOrExplain(
    ctx: ProgramContext,
    exec: Executor,
    memberId: string,
    key: string,
    expected: { kind: TransactionKind; hash: string; amount?: number; pointTypeId?: string },
    requireActive = true,
  ): Promise<LedgerTransaction> {
    const { rows } = await rawQuery<{ id: string; kind: string; amount: number; point_type_id: string; request_hash: string | null }>(
      exec,
      'select id, kind, amount, point_type_id, request_hash from ledger_transactions where member_id = $1 and idempotency_key = $2',
      [memberId, key],
    );
    const prior = rows[0];
    if (prior) {
      const sameKind = prior.kind === expected.kind || (expected.kind === 'reversal' && prior.kind === 'cancel_pending');
      // Transactions written before fingerprints existed are compared by kind, amount and type.
      const sameRequest =
        prior.request_hash !== null
          ? prior.request_hash === expected.hash
          : (expected.amount === undefined || prior.amount === expected.amount) && (expected.pointTypeId === undefined || prior.point_type_id === expected.pointTypeId);
      if (!sameKind || !sameRequest) {
        throw new AppError('idempotency_conflict', `idempotency key "${key}" was used for a different operation`, {
          key,
          first: { kind: prior.kind, amount: prior.amount },
        });
      }
      const type = await this.typeById(ctx, exec, prior.point_type_id);
      return this.toResult(await this.loadTransaction(exec, memberId, prior.id), type.code, true);
    }
    const member = await rawQuery<{ status: string }>(exec, 'select status from members where id = $1 and program_id = $2', [
      memberId,
      ctx.program.id,
    ]);
    if (!member.rows[0]) throw new AppError('member_not_found', `member ${memberId} does not exist`, { member: memberId });
    if (requireActive && member.rows[0].status !== 'active') {
      throw new AppError('member_inactive', `member ${memberId} is ${member.rows[0].status}: it earns and spends nothing`, {
        status: member.rows[0].status,
      });
    }
    throw new AppError('not_found', 'the member has no balance of this point type');
  }
}
