import type { Kysely } from 'kysely';
import type { ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { decodeCursor, encodeCursor, pageLimit, type Page, type PageRequest } from '../../core/pagination.js';
import { rawQuery } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import type { PointTypesService } from './point-types.service.js';

export interface Balance {
  pointType: string;
  kind: 'redeemable' | 'growth';
  decimals: number;
  available: number;
  pending: number;
  reserved: number;
  lifetimeEarned: number;
  lifetimeSpent: number;
  lifetimeExpired: number;
  /** lots expiring within the window asked for, soonest first */
  expiring: Array<{ expiresAt: Date; amount: number }>;
  /** when pending points become available, soonest first */
  activating: Array<{ activatesAt: Date; amount: number }>;
}

export interface HistoryEntry {
  entryId: number;
  transactionId: string;
  kind: string;
  pointType: string;
  /** change to the available balance (negative for debits) */
  amount: number;
  pendingDelta: number;
  availableAfter: number;
  pendingAfter: number;
  occurredAt: Date;
  source: { type: string; id: string } | null;
  relatedId: string | null;
  counterpartMemberId: string | null;
  reason: string | null;
  actor: string;
  details: unknown;
}

export interface HistoryFilter extends PageRequest {
  pointType?: string | undefined;
  kind?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

export class LedgerQueries {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly pointTypes: PointTypesService,
  ) {}

  async balances(ctx: ProgramContext, memberId: string, expiringWithinDays = 30): Promise<Balance[]> {
    const types = await this.pointTypes.list(ctx);
    const now = ctx.clock.now();
    const horizon = new Date(now.getTime() + expiringWithinDays * 86_400_000);
    const [accounts, expiring, activating] = await Promise.all([
      rawQuery<{ point_type_id: string; available: number; pending: number; reserved: number; earned: number; spent: number; expired: number }>(
        this.db,
        'select point_type_id, available, pending, reserved, earned, spent, expired from accounts where member_id = $1 and program_id = $2',
        [memberId, ctx.program.id],
      ),
      rawQuery<{ point_type_id: string; expires_at: Date; amount: number }>(
        this.db,
        `select point_type_id, expires_at, sum(remaining)::bigint as amount from lots
         where member_id = $1 and status = 'active' and remaining > 0 and expires_at is not null and expires_at <= $2
         group by point_type_id, expires_at order by expires_at`,
        [memberId, horizon],
      ),
      rawQuery<{ point_type_id: string; activates_at: Date; amount: number }>(
        this.db,
        `select point_type_id, activates_at, sum(remaining)::bigint as amount from lots
         where member_id = $1 and status = 'pending' group by point_type_id, activates_at order by activates_at`,
        [memberId],
      ),
    ]);
    const byType = new Map(accounts.rows.map((a) => [a.point_type_id, a]));
    return types.map((t) => {
      const a = byType.get(t.id);
      return {
        pointType: t.code,
        kind: t.kind,
        decimals: t.decimals,
        available: a?.available ?? 0,
        pending: a?.pending ?? 0,
        reserved: a?.reserved ?? 0,
        lifetimeEarned: a?.earned ?? 0,
        lifetimeSpent: a?.spent ?? 0,
        lifetimeExpired: a?.expired ?? 0,
        expiring: expiring.rows.filter((e) => e.point_type_id === t.id).map((e) => ({ expiresAt: e.expires_at, amount: e.amount })),
        activating: activating.rows.filter((e) => e.point_type_id === t.id).map((e) => ({ activatesAt: e.activates_at, amount: e.amount })),
      };
    });
  }

  /** Newest first; each entry carries what caused it. */
  async history(ctx: ProgramContext, memberId: string, filter: HistoryFilter): Promise<Page<HistoryEntry>> {
    const limit = pageLimit(filter.limit);
    const cursor = decodeCursor(filter.cursor);
    const types = await this.pointTypes.list(ctx);
    const codeOf = new Map(types.map((t) => [t.id, t.code]));
    const params: unknown[] = [memberId, ctx.program.id];
    const where = ['e.member_id = $1', 'e.program_id = $2'];
    if (filter.pointType) {
      const type = types.find((t) => t.code === filter.pointType);
      if (!type) throw new AppError('point_type_not_found', `point type "${filter.pointType}" does not exist`);
      params.push(type.id);
      where.push(`e.point_type_id = $${params.length}`);
    }
    if (filter.kind) {
      params.push(filter.kind);
      where.push(`e.kind = $${params.length}`);
    }
    if (filter.from) {
      params.push(new Date(filter.from));
      where.push(`e.occurred_at >= $${params.length}`);
    }
    if (filter.to) {
      params.push(new Date(filter.to));
      where.push(`e.occurred_at < $${params.length}`);
    }
    if (cursor) {
      if (!/^\d+$/.test(cursor)) throw new AppError('invalid_cursor', 'the cursor is not one this API issued');
      params.push(Number(cursor));
      where.push(`e.id < $${params.length}`);
    }
    params.push(limit + 1);
    const { rows } = await rawQuery<{
      id: number; transaction_id: string; kind: string; point_type_id: string; amount: number; pending_delta: number;
      available_after: number; pending_after: number; occurred_at: Date; source_type: string | null; source_id: string | null;
      related_id: string | null; counterpart_member_id: string | null; reason: string | null; actor: string; details: unknown;
    }>(
      this.db,
      `select e.id, e.transaction_id, e.kind, e.point_type_id, e.amount, e.pending_delta, e.available_after, e.pending_after, e.occurred_at,
              t.source_type, t.source_id, t.related_id, t.counterpart_member_id, t.reason, t.actor, t.details
       from ledger_entries e
       join ledger_transactions t on t.member_id = e.member_id and t.id = e.transaction_id
       where ${where.join(' and ')}
       order by e.id desc limit $${params.length}`,
      params,
    );
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    return {
      data: page.map((r) => ({
        entryId: r.id,
        transactionId: r.transaction_id,
        kind: r.kind,
        pointType: codeOf.get(r.point_type_id) ?? r.point_type_id,
        amount: r.amount,
        pendingDelta: r.pending_delta,
        availableAfter: r.available_after,
        pendingAfter: r.pending_after,
        occurredAt: r.occurred_at,
        source: r.source_type && r.source_id ? { type: r.source_type, id: r.source_id } : null,
        relatedId: r.related_id,
        counterpartMemberId: r.counterpart_member_id,
        reason: r.reason,
        actor: r.actor,
        details: r.details,
      })),
      nextCursor: more && page.length ? encodeCursor(String(page[page.length - 1]!.id)) : null,
    };
  }
}
