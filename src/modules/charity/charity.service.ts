import type { Kysely } from 'kysely';
import type { ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { recordAudit } from '../../core/hooks.js';
import { newId } from '../../core/ids.js';
import { decodeCursor, pageLimit, toPage, type Page, type PageRequest } from '../../core/pagination.js';
import { isUniqueViolation, rawQuery, type Executor, type Trx } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import type { LedgerService } from '../ledger/index.js';
import type { MembersService } from '../members/index.js';

export interface Cause {
  id: string;
  code: string;
  name: string;
  description: string | null;
  pointType: string;
  targetPoints: number;
  raisedPoints: number;
  donations: number;
  /** raised / target, capped at 1 */
  progress: number;
  status: 'active' | 'closed';
  endsAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface Donation {
  id: string;
  causeId: string;
  memberId: string;
  points: number;
  donatedAt: Date;
  replayed: boolean;
}

interface CauseRow {
  id: string;
  code: string;
  name: string;
  description: string | null;
  point_type: string;
  target_points: number;
  raised_points: number;
  donations: number;
  status: 'active' | 'closed';
  ends_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

interface DonationRow {
  id: string;
  cause_id: string;
  member_id: string;
  points: number;
  donated_at: Date;
}

const toCause = (r: CauseRow): Cause => ({
  id: r.id,
  code: r.code,
  name: r.name,
  description: r.description,
  pointType: r.point_type,
  targetPoints: r.target_points,
  raisedPoints: r.raised_points,
  donations: r.donations,
  progress: Math.min(1, r.raised_points / r.target_points),
  status: r.status,
  endsAt: r.ends_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toDonation = (r: DonationRow, replayed = false): Donation => ({
  id: r.id,
  causeId: r.cause_id,
  memberId: r.member_id,
  points: r.points,
  donatedAt: r.donated_at,
  replayed,
});

/** Charity: members donate points (a ledger spend) to causes with a target and a running total. */
export class CharityService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly ledger: LedgerService,
    private readonly members: MembersService,
  ) {}

  async create(trx: Executor, ctx: ProgramContext, input: { code: string; name: string; description?: string | null | undefined; targetPoints: number; endsAt?: string | null | undefined }): Promise<Cause> {
    if (!Number.isSafeInteger(input.targetPoints) || input.targetPoints <= 0) {
      throw new AppError('validation_failed', 'targetPoints must be a positive whole number', { field: 'targetPoints' });
    }
    const now = ctx.clock.now();
    try {
      const { rows } = await rawQuery<CauseRow>(
        trx,
        `insert into charity_causes (id, program_id, code, name, description, target_points, ends_at, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $8) returning *`,
        [newId('cause', now.getTime()), ctx.program.id, input.code, input.name, input.description ?? null, input.targetPoints, input.endsAt ? new Date(input.endsAt) : null, now],
      );
      const cause = toCause(rows[0]!);
      await recordAudit(trx, ctx, { action: 'create', resourceType: 'cause', resourceId: cause.id, after: cause });
      return cause;
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('already_exists', `a cause with code "${input.code}" already exists`, { code: input.code });
      throw err;
    }
  }

  async update(trx: Executor, ctx: ProgramContext, causeId: string, patch: { name?: string | undefined; description?: string | null | undefined; targetPoints?: number | undefined; status?: 'active' | 'closed' | undefined; endsAt?: string | null | undefined }): Promise<Cause> {
    const cur = await this.get(ctx, causeId, trx);
    const { rows } = await rawQuery<CauseRow>(
      trx,
      `update charity_causes set name = $2, description = $3, target_points = $4, status = $5, ends_at = $6, updated_at = $7 where id = $1 returning *`,
      [
        cur.id, patch.name ?? cur.name, patch.description !== undefined ? patch.description : cur.description, patch.targetPoints ?? cur.targetPoints,
        patch.status ?? cur.status, patch.endsAt !== undefined ? (patch.endsAt ? new Date(patch.endsAt) : null) : cur.endsAt, ctx.clock.now(),
      ],
    );
    const after = toCause(rows[0]!);
    await recordAudit(trx, ctx, { action: 'update', resourceType: 'cause', resourceId: cur.id, before: cur, after });
    return after;
  }

  async get(ctx: ProgramContext, causeId: string, exec: Executor = this.db): Promise<Cause> {
    const { rows } = await rawQuery<CauseRow>(exec, 'select * from charity_causes where program_id = $1 and (id = $2 or code = $2)', [ctx.program.id, causeId]);
    if (!rows[0]) throw new AppError('cause_not_found', `cause ${causeId} does not exist`, { cause: causeId });
    return toCause(rows[0]);
  }

  async list(ctx: ProgramContext): Promise<Cause[]> {
    const { rows } = await rawQuery<CauseRow>(this.db, 'select * from charity_causes where program_id = $1 order by id desc limit 200', [ctx.program.id]);
    return rows.map(toCause);
  }

  /** Donate points: a ledger spend keyed by the donation's key, and the cause's running total. */
  async donate(trx: Trx, ctx: ProgramContext, input: { causeId: string; memberId: string; points: number; idempotencyKey: string }): Promise<Donation> {
    if (!Number.isSafeInteger(input.points) || input.points <= 0) {
      throw new AppError('invalid_amount', `points must be a positive whole number, got ${input.points}`, { field: 'points' });
    }
    const member = await this.members.get(ctx, input.memberId, trx);
    const prior = await this.byKey(trx, member.id, input.idempotencyKey);
    if (prior) return this.replay(prior, input);
    const cause = await this.get(ctx, input.causeId, trx);
    const now = ctx.clock.now();
    if (cause.status !== 'active' || (cause.endsAt && cause.endsAt.getTime() <= now.getTime())) {
      throw new AppError('cause_closed', `cause ${cause.code} takes no more donations`, { status: cause.status, endsAt: cause.endsAt });
    }
    const id = newId('transaction', now.getTime()).replace(/^txn_/, 'don_');
    const ledgerKey = `charity:${input.idempotencyKey}`;
    const txn = await this.ledger.spend(ctx, {
      member: member.id, pointType: cause.pointType, amount: input.points, idempotencyKey: ledgerKey,
      source: { type: 'charity_donation', id }, reason: `donation to ${cause.name}`,
    }, trx);
    if (txn.replayed) {
      const twin = await this.byKey(trx, member.id, input.idempotencyKey);
      if (twin) return this.replay(twin, input);
    }
    const { rows } = await rawQuery<DonationRow>(
      trx,
      `insert into charity_donations (id, program_id, cause_id, member_id, points, ledger_key, idempotency_key, donated_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8) returning *`,
      [id, ctx.program.id, cause.id, member.id, input.points, ledgerKey, input.idempotencyKey, now],
    );
    await rawQuery(trx, 'update charity_causes set raised_points = raised_points + $2, donations = donations + 1, updated_at = $3 where id = $1', [cause.id, input.points, now]);
    return toDonation(rows[0]!);
  }

  private async byKey(exec: Executor, memberId: string, key: string): Promise<DonationRow | undefined> {
    const { rows } = await rawQuery<DonationRow>(exec, 'select * from charity_donations where member_id = $1 and idempotency_key = $2', [memberId, key]);
    return rows[0];
  }

  private replay(prior: DonationRow, input: { causeId: string; points: number; idempotencyKey: string }): Donation {
    if (prior.points !== input.points) {
      throw new AppError('idempotency_conflict', `idempotency key "${input.idempotencyKey}" was used for a different donation`, { key: input.idempotencyKey });
    }
    return toDonation(prior, true);
  }

  async donations(ctx: ProgramContext, filter: PageRequest & { memberId?: string | undefined; causeId?: string | undefined }): Promise<Page<Donation> & { totalPoints: number }> {
    const limit = pageLimit(filter.limit);
    const after = decodeCursor(filter.cursor);
    const params: unknown[] = [ctx.program.id];
    let where = 'program_id = $1';
    if (filter.memberId) {
      params.push((await this.members.get(ctx, filter.memberId)).id);
      where += ` and member_id = $${params.length}`;
    }
    if (filter.causeId) {
      params.push((await this.get(ctx, filter.causeId)).id);
      where += ` and cause_id = $${params.length}`;
    }
    const total = await rawQuery<{ total: number }>(this.db, `select coalesce(sum(points), 0)::bigint as total from charity_donations where ${where}`, [...params]);
    if (after) {
      params.push(after);
      where += ` and id < $${params.length}`;
    }
    params.push(limit + 1);
    const { rows } = await rawQuery<DonationRow>(this.db, `select * from charity_donations where ${where} order by id desc limit $${params.length}`, params);
    return { ...toPage(rows, limit, (r) => r.id, (r) => toDonation(r)), totalPoints: total.rows[0]!.total };
  }
}
