import type { Kysely } from 'kysely';
import type { ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { emitMessage, recordAudit } from '../../core/hooks.js';
import { newId } from '../../core/ids.js';
import { decodeCursor, pageLimit, toPage, type Page, type PageRequest } from '../../core/pagination.js';
import { inZone } from '../../core/zoned-time.js';
import { isUniqueViolation, rawQuery, type Executor, type Trx } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import type { MembersService } from '../members/index.js';

export const BENEFIT_KINDS = [
  'coupon',
  'discount',
  'points_multiplier',
  'free_shipping',
  'special_function',
  'birthday_gift',
  'vip_service',
  'custom',
] as const;
export type BenefitKind = (typeof BENEFIT_KINDS)[number];
export type QuotaPeriod = 'none' | 'day' | 'month' | 'year';

export interface Benefit {
  id: string;
  code: string;
  name: string;
  description: string | null;
  kind: BenefitKind;
  parameters: Record<string, unknown>;
  /** days an entitlement stays valid from its grant (null: until revoked) */
  validityDays: number | null;
  /** uses per entitlement granted (null: unlimited while entitled) */
  defaultUses: number | null;
  /** at most `uses` uses of one entitlement per period in the program's time zone */
  quota: { period: Exclude<QuotaPeriod, 'none'>; uses: number } | null;
  status: 'active' | 'retired';
  createdAt: Date;
  updatedAt: Date;
}

export interface CreateBenefitInput {
  code: string;
  name: string;
  description?: string | null | undefined;
  kind: BenefitKind;
  parameters?: Record<string, unknown> | undefined;
  validityDays?: number | null | undefined;
  defaultUses?: number | null | undefined;
  quota?: { period: Exclude<QuotaPeriod, 'none'>; uses: number } | null | undefined;
}

export interface UpdateBenefitInput extends Partial<Omit<CreateBenefitInput, 'code' | 'kind'>> {
  status?: 'active' | 'retired' | undefined;
}

export type EntitlementStatus = 'active' | 'used_up' | 'expired' | 'revoked' | 'scheduled';

export interface Entitlement {
  id: string;
  memberId: string;
  benefitId: string;
  benefitCode: string;
  benefitName: string;
  kind: BenefitKind;
  parameters: Record<string, unknown>;
  /** derived on read: active, used_up, expired, revoked, or scheduled (valid from a later time) */
  status: EntitlementStatus;
  usesTotal: number | null;
  usesLeft: number | null;
  validFrom: Date;
  validUntil: Date | null;
  source: { type: string; id: string } | null;
  grantedAt: Date;
  revokedAt: Date | null;
  revokeReason: string | null;
}

export interface GrantInput {
  /** a Laurel member id, or ext:{externalId} */
  memberId: string;
  benefitCode: string;
  /** how many separate entitlements (e.g. 3 coupons), default 1 */
  quantity?: number | undefined;
  /** uses of each entitlement; default the benefit's defaultUses (null: unlimited) */
  uses?: number | null | undefined;
  source?: { type: string; id: string } | undefined;
  validFrom?: Date | undefined;
  validUntil?: Date | null | undefined;
  idempotencyKey: string;
}

export interface GrantResult {
  entitlements: Entitlement[];
  replayed: boolean;
}

export interface UseInput {
  entitlementId: string;
  /** when given, the entitlement must belong to this member */
  memberId?: string | undefined;
  idempotencyKey: string;
  /** what the use was for (an order, a booking), kept for utilisation reports */
  context?: Record<string, unknown> | undefined;
}

export interface EntitlementUse {
  id: string;
  entitlementId: string;
  memberId: string;
  benefitCode: string;
  usedAt: Date;
  context: unknown;
  usesLeft: number | null;
  replayed: boolean;
}

export interface Utilisation {
  benefitCode: string;
  entitlementsGranted: number;
  entitlementsActive: number;
  entitlementsRevoked: number;
  uses: number;
  membersUsing: number;
}

interface BenefitRow {
  id: string;
  code: string;
  name: string;
  description: string | null;
  kind: BenefitKind;
  parameters: Record<string, unknown>;
  validity_days: number | null;
  default_uses: number | null;
  quota_period: QuotaPeriod;
  quota_uses: number | null;
  status: 'active' | 'retired';
  created_at: Date;
  updated_at: Date;
}

interface EntitlementRow {
  id: string;
  member_id: string;
  benefit_id: string;
  status: 'active' | 'revoked';
  uses_total: number | null;
  uses_left: number | null;
  valid_from: Date;
  valid_until: Date | null;
  source_type: string | null;
  source_id: string | null;
  granted_at: Date;
  revoked_at: Date | null;
  revoke_reason: string | null;
  code: string;
  name: string;
  kind: BenefitKind;
  parameters: Record<string, unknown>;
  quota_period: QuotaPeriod;
  quota_uses: number | null;
}

const MAX_GRANT_QUANTITY = 100;
const DAY_MS = 86_400_000;

function toBenefit(r: BenefitRow): Benefit {
  return {
    id: r.id,
    code: r.code,
    name: r.name,
    description: r.description,
    kind: r.kind,
    parameters: r.parameters,
    validityDays: r.validity_days,
    defaultUses: r.default_uses,
    quota: r.quota_period === 'none' || r.quota_uses === null ? null : { period: r.quota_period, uses: r.quota_uses },
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function statusOf(r: EntitlementRow, now: Date): EntitlementStatus {
  if (r.status === 'revoked') return 'revoked';
  if (r.valid_until && r.valid_until.getTime() <= now.getTime()) return 'expired';
  if (r.uses_left !== null && r.uses_left <= 0) return 'used_up';
  if (r.valid_from.getTime() > now.getTime()) return 'scheduled';
  return 'active';
}

function toEntitlement(r: EntitlementRow, now: Date): Entitlement {
  return {
    id: r.id,
    memberId: r.member_id,
    benefitId: r.benefit_id,
    benefitCode: r.code,
    benefitName: r.name,
    kind: r.kind,
    parameters: r.parameters,
    status: statusOf(r, now),
    usesTotal: r.uses_total,
    usesLeft: r.uses_left,
    validFrom: r.valid_from,
    validUntil: r.valid_until,
    source: r.source_type && r.source_id ? { type: r.source_type, id: r.source_id } : null,
    grantedAt: r.granted_at,
    revokedAt: r.revoked_at,
    revokeReason: r.revoke_reason,
  };
}

const ENTITLEMENT_SELECT = `select e.id, e.member_id, e.benefit_id, e.status, e.uses_total, e.uses_left, e.valid_from, e.valid_until,
  e.source_type, e.source_id, e.granted_at, e.revoked_at, e.revoke_reason,
  b.code, b.name, b.kind, b.parameters, b.quota_period, b.quota_uses
  from entitlements e join benefits b on b.id = e.benefit_id`;

function checkPositive(value: number | null | undefined, field: string, max = 1_000_000): void {
  if (value === undefined || value === null) return;
  if (!Number.isSafeInteger(value) || value <= 0 || value > max) {
    throw new AppError('validation_failed', `${field} must be a whole number from 1 to ${max}, got ${value}`, { field, value });
  }
}

/**
 * The privileges catalogue and members' entitlements to it. A use is idempotent (keyed per
 * entitlement) and logged, so utilisation can be reported; uses left change only under the
 * entitlement's row lock.
 */
export class BenefitsService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly members: MembersService,
  ) {}

  // ------------------------------------------------------------ catalogue

  async create(trx: Executor, ctx: ProgramContext, input: CreateBenefitInput): Promise<Benefit> {
    checkPositive(input.validityDays, 'validityDays', 36_600);
    checkPositive(input.defaultUses, 'defaultUses');
    if (input.quota) checkPositive(input.quota.uses, 'quota.uses');
    const now = ctx.clock.now();
    try {
      const { rows } = await rawQuery<BenefitRow>(
        trx,
        `insert into benefits (id, program_id, code, name, description, kind, parameters, validity_days, default_uses, quota_period, quota_uses, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) returning *`,
        [
          newId('benefit', now.getTime()), ctx.program.id, input.code, input.name, input.description ?? null, input.kind,
          JSON.stringify(input.parameters ?? {}), input.validityDays ?? null, input.defaultUses ?? null,
          input.quota?.period ?? 'none', input.quota?.uses ?? null, now,
        ],
      );
      const benefit = toBenefit(rows[0]!);
      await recordAudit(trx, ctx, { action: 'create', resourceType: 'benefit', resourceId: benefit.code, after: benefit });
      return benefit;
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('already_exists', `a benefit with code "${input.code}" already exists`, { code: input.code });
      throw err;
    }
  }

  async update(trx: Executor, ctx: ProgramContext, code: string, patch: UpdateBenefitInput): Promise<Benefit> {
    checkPositive(patch.validityDays, 'validityDays', 36_600);
    checkPositive(patch.defaultUses, 'defaultUses');
    if (patch.quota) checkPositive(patch.quota.uses, 'quota.uses');
    const current = await this.get(ctx, code, trx);
    const { rows } = await rawQuery<BenefitRow>(
      trx,
      `update benefits set name = $3, description = $4, parameters = $5, validity_days = $6, default_uses = $7,
         quota_period = $8, quota_uses = $9, status = $10, updated_at = $11
       where program_id = $1 and id = $2 returning *`,
      [
        ctx.program.id, current.id, patch.name ?? current.name,
        patch.description !== undefined ? patch.description : current.description,
        JSON.stringify(patch.parameters ?? current.parameters),
        patch.validityDays !== undefined ? patch.validityDays : current.validityDays,
        patch.defaultUses !== undefined ? patch.defaultUses : current.defaultUses,
        patch.quota !== undefined ? (patch.quota?.period ?? 'none') : (current.quota?.period ?? 'none'),
        patch.quota !== undefined ? (patch.quota?.uses ?? null) : (current.quota?.uses ?? null),
        patch.status ?? current.status, ctx.clock.now(),
      ],
    );
    const after = toBenefit(rows[0]!);
    await recordAudit(trx, ctx, { action: 'update', resourceType: 'benefit', resourceId: current.code, before: current, after });
    return after;
  }

  async get(ctx: ProgramContext, code: string, exec: Executor = this.db): Promise<Benefit> {
    const { rows } = await rawQuery<BenefitRow>(exec, 'select * from benefits where program_id = $1 and (code = $2 or id = $2)', [ctx.program.id, code]);
    if (!rows[0]) throw new AppError('benefit_not_found', `benefit ${code} does not exist`, { benefit: code });
    return toBenefit(rows[0]);
  }

  async list(ctx: ProgramContext, exec: Executor = this.db): Promise<Benefit[]> {
    const { rows } = await rawQuery<BenefitRow>(exec, 'select * from benefits where program_id = $1 order by code', [ctx.program.id]);
    return rows.map(toBenefit);
  }

  async utilisation(ctx: ProgramContext, code: string): Promise<Utilisation> {
    const benefit = await this.get(ctx, code);
    const now = ctx.clock.now();
    const { rows } = await rawQuery<{ granted: number; active: number; revoked: number; uses: number; members_using: number }>(
      this.db,
      `select
         (select count(*)::int from entitlements where benefit_id = $1) as granted,
         (select count(*)::int from entitlements where benefit_id = $1 and status = 'active' and (valid_until is null or valid_until > $2)
            and (uses_left is null or uses_left > 0)) as active,
         (select count(*)::int from entitlements where benefit_id = $1 and status = 'revoked') as revoked,
         (select count(*)::int from entitlement_uses where benefit_id = $1) as uses,
         (select count(distinct member_id)::int from entitlement_uses where benefit_id = $1) as members_using`,
      [benefit.id, now],
    );
    const r = rows[0]!;
    return {
      benefitCode: benefit.code,
      entitlementsGranted: r.granted,
      entitlementsActive: r.active,
      entitlementsRevoked: r.revoked,
      uses: r.uses,
      membersUsing: r.members_using,
    };
  }

  // ------------------------------------------------------------ entitlements

  /**
   * Grant `quantity` entitlements of one benefit. Idempotent: the key names the grant, and a
   * repeated key returns the entitlements it granted first.
   */
  async grant(trx: Trx, ctx: ProgramContext, input: GrantInput): Promise<GrantResult> {
    const quantity = input.quantity ?? 1;
    checkPositive(quantity, 'quantity', MAX_GRANT_QUANTITY);
    checkPositive(input.uses, 'uses');
    const member = await this.members.get(ctx, input.memberId, trx);
    const keys = Array.from({ length: quantity }, (_, i) => (quantity === 1 ? input.idempotencyKey : `${input.idempotencyKey}#${i + 1}`));
    const prior = await this.byKeys(trx, member.id, keys, ctx.clock.now());
    if (prior.length > 0) return this.replayGrant(prior, input, quantity);
    if (member.status !== 'active') {
      throw new AppError('member_inactive', `member ${member.id} is ${member.status}: no privileges are granted`, { status: member.status });
    }
    const benefit = await this.get(ctx, input.benefitCode, trx);
    if (benefit.status !== 'active') throw new AppError('not_eligible', `benefit ${benefit.code} is retired`, { benefit: benefit.code });
    const now = ctx.clock.now();
    const validFrom = input.validFrom ?? now;
    const validUntil =
      input.validUntil !== undefined ? input.validUntil : benefit.validityDays ? new Date(validFrom.getTime() + benefit.validityDays * DAY_MS) : null;
    if (validUntil && validUntil.getTime() <= validFrom.getTime()) {
      throw new AppError('validation_failed', 'validUntil must be after validFrom', { field: 'validUntil' });
    }
    const uses = input.uses !== undefined ? input.uses : benefit.defaultUses;
    const ids = keys.map(() => newId('entitlement', now.getTime()));
    const { rowCount } = await rawQuery(
      trx,
      `insert into entitlements (id, program_id, member_id, benefit_id, status, uses_total, uses_left, valid_from, valid_until,
         source_type, source_id, idempotency_key, granted_at)
       select i.id, $1, $2, $3, 'active', $4, $4, $5, $6, $7, $8, i.key, $9
       from unnest($10::text[], $11::text[]) as i(id, key)
       on conflict (member_id, idempotency_key) do nothing`,
      [ctx.program.id, member.id, benefit.id, uses, validFrom, validUntil, input.source?.type ?? null, input.source?.id ?? null, now, ids, keys],
    );
    if (rowCount !== keys.length) {
      // A concurrent twin with the same key committed first: this attempt must not half-apply.
      throw new AppError('idempotency_in_progress', `a grant with idempotency key "${input.idempotencyKey}" is running; retry`, {
        key: input.idempotencyKey,
      });
    }
    const entitlements = await this.byKeys(trx, member.id, keys, now);
    await emitMessage(
      trx,
      ctx,
      'benefit.granted',
      { memberId: member.id, benefitCode: benefit.code, entitlementIds: entitlements.map((e) => e.id), source: input.source ?? null, grantedAt: now },
      `msg_benefit_${member.id}_${input.idempotencyKey}`,
    );
    return { entitlements, replayed: false };
  }

  private replayGrant(prior: Entitlement[], input: GrantInput, quantity: number): GrantResult {
    const first = prior[0]!;
    if (prior.length !== quantity || first.benefitCode !== input.benefitCode && first.benefitId !== input.benefitCode) {
      throw new AppError('idempotency_conflict', `idempotency key "${input.idempotencyKey}" was used for a different grant`, { key: input.idempotencyKey });
    }
    return { entitlements: prior, replayed: true };
  }

  private async byKeys(exec: Executor, memberId: string, keys: string[], now: Date): Promise<Entitlement[]> {
    const { rows } = await rawQuery<EntitlementRow>(
      exec,
      `${ENTITLEMENT_SELECT} where e.member_id = $1 and e.idempotency_key = any($2::text[]) order by e.idempotency_key`,
      [memberId, keys],
    );
    return rows.map((r) => toEntitlement(r, now));
  }

  async memberOf(ctx: ProgramContext, ref: string, exec: Executor = this.db): Promise<string> {
    return (await this.members.get(ctx, ref, exec)).id;
  }

  async getEntitlement(ctx: ProgramContext, id: string, exec: Executor = this.db): Promise<Entitlement> {
    const { rows } = await rawQuery<EntitlementRow>(exec, `${ENTITLEMENT_SELECT} where e.id = $1 and e.program_id = $2`, [id, ctx.program.id]);
    if (!rows[0]) throw new AppError('entitlement_not_found', `entitlement ${id} does not exist`, { entitlement: id });
    return toEntitlement(rows[0], ctx.clock.now());
  }

  /** Use an entitlement once. A repeated key answers with the first use and changes nothing. */
  async use(trx: Trx, ctx: ProgramContext, input: UseInput): Promise<EntitlementUse> {
    const now = ctx.clock.now();
    const { rows } = await rawQuery<EntitlementRow>(
      trx,
      `${ENTITLEMENT_SELECT} where e.id = $1 and e.program_id = $2 for update of e`,
      [input.entitlementId, ctx.program.id],
    );
    const ent = rows[0];
    if (!ent) throw new AppError('entitlement_not_found', `entitlement ${input.entitlementId} does not exist`, { entitlement: input.entitlementId });
    if (input.memberId !== undefined) {
      const member = await this.members.get(ctx, input.memberId, trx);
      if (member.id !== ent.member_id) {
        throw new AppError('entitlement_not_found', `entitlement ${input.entitlementId} does not exist`, { entitlement: input.entitlementId });
      }
    }
    const prior = await rawQuery<{ id: string; used_at: Date; context: unknown }>(
      trx,
      'select id, used_at, context from entitlement_uses where entitlement_id = $1 and idempotency_key = $2',
      [ent.id, input.idempotencyKey],
    );
    if (prior.rows[0]) {
      const p = prior.rows[0];
      return { id: p.id, entitlementId: ent.id, memberId: ent.member_id, benefitCode: ent.code, usedAt: p.used_at, context: p.context, usesLeft: ent.uses_left, replayed: true };
    }
    const status = statusOf(ent, now);
    if (status !== 'active') {
      throw new AppError('entitlement_not_usable', `entitlement ${ent.id} is ${status}`, { status });
    }
    if (ent.quota_period !== 'none' && ent.quota_uses !== null) {
      const start = inZone(now, ctx.program.timeZone).startOf(ent.quota_period).toJSDate();
      const used = await rawQuery<{ n: number }>(trx, 'select count(*)::int as n from entitlement_uses where entitlement_id = $1 and used_at >= $2', [ent.id, start]);
      if (used.rows[0]!.n >= ent.quota_uses) {
        throw new AppError('limit_reached', `entitlement ${ent.id} was used ${ent.quota_uses} time(s) this ${ent.quota_period}`, {
          period: ent.quota_period,
          uses: ent.quota_uses,
        });
      }
    }
    const left = await rawQuery<{ uses_left: number | null }>(
      trx,
      'update entitlements set uses_left = uses_left - 1 where id = $1 and (uses_left is null or uses_left > 0) returning uses_left',
      [ent.id],
    );
    if (left.rowCount !== 1) throw new AppError('entitlement_not_usable', `entitlement ${ent.id} has no uses left`, { status: 'used_up' });
    // ids.ts has no prefix for a use; it shares the entitlement id scheme under its own prefix.
    const id = newId('entitlement', now.getTime()).replace(/^ent_/, 'use_');
    await rawQuery(
      trx,
      `insert into entitlement_uses (id, program_id, entitlement_id, member_id, benefit_id, idempotency_key, context, used_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [id, ctx.program.id, ent.id, ent.member_id, ent.benefit_id, input.idempotencyKey, input.context ? JSON.stringify(input.context) : null, now],
    );
    return {
      id,
      entitlementId: ent.id,
      memberId: ent.member_id,
      benefitCode: ent.code,
      usedAt: now,
      context: input.context ?? null,
      usesLeft: left.rows[0]!.uses_left,
      replayed: false,
    };
  }

  async revoke(trx: Trx, ctx: ProgramContext, entitlementId: string, reason: string): Promise<Entitlement> {
    const { rowCount } = await rawQuery(
      trx,
      `update entitlements set status = 'revoked', revoked_at = $3, revoke_reason = $4 where id = $1 and program_id = $2 and status = 'active'`,
      [entitlementId, ctx.program.id, ctx.clock.now(), reason],
    );
    const ent = await this.getEntitlement(ctx, entitlementId, trx);
    if (rowCount === 0) throw new AppError('illegal_transition', `entitlement ${entitlementId} is already revoked`, { from: 'revoked', to: 'revoked' });
    return ent;
  }

  /**
   * Take back what one source (a mall order being refunded) granted. Refused, changing nothing,
   * when any of it was already used: the privilege was consumed and cannot be returned.
   */
  async revokeBySource(trx: Trx, ctx: ProgramContext, source: { type: string; id: string }, reason: string): Promise<number> {
    const { rows } = await rawQuery<{ id: string; uses_total: number | null; uses_left: number | null; used: number }>(
      trx,
      `select e.id, e.uses_total, e.uses_left, (select count(*)::int from entitlement_uses u where u.entitlement_id = e.id) as used
       from entitlements e where e.program_id = $1 and e.source_type = $2 and e.source_id = $3 and e.status = 'active'
       order by e.id for update`,
      [ctx.program.id, source.type, source.id],
    );
    const used = rows.filter((r) => r.used > 0);
    if (used.length > 0) {
      throw new AppError('not_refundable', `${used.length} entitlement(s) granted by ${source.type} ${source.id} were already used`, {
        entitlements: used.map((r) => r.id),
      });
    }
    if (rows.length === 0) return 0;
    await rawQuery(trx, `update entitlements set status = 'revoked', revoked_at = $2, revoke_reason = $3 where id = any($1::text[])`, [
      rows.map((r) => r.id),
      ctx.clock.now(),
      reason,
    ]);
    return rows.length;
  }

  async listEntitlements(
    ctx: ProgramContext,
    memberRef: string,
    filter: PageRequest & { status?: EntitlementStatus | undefined; benefitCode?: string | undefined },
  ): Promise<Page<Entitlement>> {
    const member = await this.members.get(ctx, memberRef);
    const limit = pageLimit(filter.limit);
    const after = decodeCursor(filter.cursor);
    const now = ctx.clock.now();
    const params: unknown[] = [member.id, now];
    let where = 'e.member_id = $1 and $2::timestamptz is not null';
    if (after) {
      params.push(after);
      where += ` and e.id < $${params.length}`;
    }
    if (filter.benefitCode) {
      params.push(filter.benefitCode);
      where += ` and b.code = $${params.length}`;
    }
    switch (filter.status) {
      case 'revoked':
        where += ` and e.status = 'revoked'`;
        break;
      case 'expired':
        where += ` and e.status = 'active' and e.valid_until <= $2`;
        break;
      case 'used_up':
        where += ` and e.status = 'active' and (e.valid_until is null or e.valid_until > $2) and e.uses_left = 0`;
        break;
      case 'scheduled':
        where += ` and e.status = 'active' and e.valid_from > $2 and (e.valid_until is null or e.valid_until > $2) and (e.uses_left is null or e.uses_left > 0)`;
        break;
      case 'active':
        where += ` and e.status = 'active' and e.valid_from <= $2 and (e.valid_until is null or e.valid_until > $2) and (e.uses_left is null or e.uses_left > 0)`;
        break;
      default:
    }
    params.push(limit + 1);
    const { rows } = await rawQuery<EntitlementRow>(this.db, `${ENTITLEMENT_SELECT} where ${where} order by e.id desc limit $${params.length}`, params);
    return toPage(rows, limit, (r) => r.id, (r) => toEntitlement(r, now));
  }
}
