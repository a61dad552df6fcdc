import { sql, type Kysely, type Selectable } from 'kysely';
import type { ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { recordAudit } from '../../core/hooks.js';
import { TtlCache } from '../../core/ttl-cache.js';
import { newId } from '../../core/ids.js';
import { isUniqueViolation, rawQuery, type Executor } from '../../db/database.js';
import type { DB, PointTypesTable } from '../../db/schema.js';
import { validateExpiryPolicy, type ExpiryPolicy } from './expiry-policy.js';

export type PointKind = 'redeemable' | 'growth';
export type ConsumptionOrder = 'expiring_first' | 'oldest_first' | 'newest_first';

export interface PointType {
  id: string;
  programId: string;
  code: string;
  name: string;
  /** redeemable points are spent; growth value is only ever earned and decides the tier */
  kind: PointKind;
  /** decimal places shown; amounts are always integers of the smallest unit */
  decimals: number;
  expiryPolicy: ExpiryPolicy;
  negativeBalance: 'forbid' | 'allow';
  consumptionOrder: ConsumptionOrder;
  /** a refund returning points to a lot that expired meanwhile: expire them at once, or re-credit with a fresh expiry */
  expiredRefund: 'expire' | 'recredit';
  expiryNoticeDays: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface PointTypeInput {
  code: string;
  name: string;
  kind: PointKind;
  decimals?: number | undefined;
  expiryPolicy?: ExpiryPolicy | undefined;
  negativeBalance?: 'forbid' | 'allow' | undefined;
  consumptionOrder?: ConsumptionOrder | undefined;
  expiredRefund?: 'expire' | 'recredit' | undefined;
  expiryNoticeDays?: number | undefined;
}

export type PointTypePatch = Partial<Omit<PointTypeInput, 'code' | 'kind'>>;

export function toPointType(row: Selectable<PointTypesTable>): PointType {
  return {
    id: row.id,
    programId: row.program_id,
    code: row.code,
    name: row.name,
    kind: row.kind,
    decimals: row.decimals,
    expiryPolicy: row.expiry_policy as ExpiryPolicy,
    negativeBalance: row.negative_balance,
    consumptionOrder: row.consumption_order,
    expiredRefund: row.expired_refund,
    expiryNoticeDays: row.expiry_notice_days,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Every program starts with redeemable points and growth value; operators add more. */
export const DEFAULT_POINT_TYPES: PointTypeInput[] = [
  { code: 'points', name: 'Points', kind: 'redeemable', expiryPolicy: { kind: 'never' } },
  { code: 'growth', name: 'Growth value', kind: 'growth', expiryPolicy: { kind: 'never' } },
];

/** Point types are read on every ledger call: kept in memory per program, briefly. */
const CACHE_MS = 2_000;

export class PointTypesService {
  private readonly cache = new TtlCache<Map<string, PointType>>(CACHE_MS);

  constructor(private readonly db: Kysely<DB>) {}

  /** `audit`: false for a new program's defaults, which are its starting state rather than a change. */
  async create(ctx: ProgramContext, input: PointTypeInput, trx: Executor = this.db, audit = true): Promise<PointType> {
    const policy = input.expiryPolicy ?? { kind: 'never' };
    validateExpiryPolicy(policy);
    const now = ctx.clock.now();
    try {
      const row = await trx
        .insertInto('point_types')
        .values({
          id: newId('pointType'),
          program_id: ctx.program.id,
          code: input.code,
          name: input.name,
          kind: input.kind,
          decimals: input.decimals ?? 0,
          expiry_policy: JSON.stringify(policy),
          negative_balance: input.negativeBalance ?? 'forbid',
          consumption_order: input.consumptionOrder ?? 'expiring_first',
          expired_refund: input.expiredRefund ?? 'expire',
          expiry_notice_days: input.expiryNoticeDays ?? 30,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      this.forget(ctx.program.id);
      const type = toPointType(row);
      if (audit) await recordAudit(trx, ctx, { action: 'create', resourceType: 'point_type', resourceId: type.code, after: type });
      return type;
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new AppError('already_exists', `point type "${input.code}" already exists`, { code: input.code });
      }
      throw err;
    }
  }

  async createDefaults(ctx: ProgramContext, trx: Executor): Promise<void> {
    for (const input of DEFAULT_POINT_TYPES) await this.create(ctx, input, trx, false);
  }

  async update(ctx: ProgramContext, code: string, patch: PointTypePatch, trx: Executor = this.db): Promise<PointType> {
    if (patch.expiryPolicy) validateExpiryPolicy(patch.expiryPolicy);
    const prior = await trx.selectFrom('point_types').selectAll().where('program_id', '=', ctx.program.id).where('code', '=', code).executeTakeFirst();
    const row = await trx
      .updateTable('point_types')
      .set({
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.decimals !== undefined ? { decimals: patch.decimals } : {}),
        ...(patch.expiryPolicy !== undefined ? { expiry_policy: JSON.stringify(patch.expiryPolicy) } : {}),
        ...(patch.negativeBalance !== undefined ? { negative_balance: patch.negativeBalance } : {}),
        ...(patch.consumptionOrder !== undefined ? { consumption_order: patch.consumptionOrder } : {}),
        ...(patch.expiredRefund !== undefined ? { expired_refund: patch.expiredRefund } : {}),
        ...(patch.expiryNoticeDays !== undefined ? { expiry_notice_days: patch.expiryNoticeDays } : {}),
        updated_at: ctx.clock.now(),
      })
      .where('program_id', '=', ctx.program.id)
      .where('code', '=', code)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new AppError('point_type_not_found', `point type "${code}" does not exist`, { pointType: code });
    if (patch.negativeBalance !== undefined) {
      // The accounts carry the debt permission so a CHECK constraint can enforce it.
      // Accounts already in debt keep it when debt is forbidden again; they only cannot go lower.
      await rawQuery(
        trx,
        'update accounts set negative_allowed = $2 where point_type_id = $1 and (available >= 0 or $2)',
        [row.id, patch.negativeBalance === 'allow'],
      );
    }
    this.forget(ctx.program.id);
    const type = toPointType(row);
    await recordAudit(trx, ctx, { action: 'update', resourceType: 'point_type', resourceId: code, before: prior && toPointType(prior), after: type });
    return type;
  }

  async list(ctx: ProgramContext, trx: Executor = this.db): Promise<PointType[]> {
    return [...(await this.byCode(ctx.program.id, trx)).values()];
  }

  /** A point type by code, from the cache. */
  async get(ctx: ProgramContext, code: string, trx: Executor = this.db): Promise<PointType> {
    const type = (await this.byCode(ctx.program.id, trx)).get(code);
    if (!type) throw new AppError('point_type_not_found', `point type "${code}" does not exist`, { pointType: code });
    return type;
  }

  forget(programId: string): void {
    this.cache.forget(programId);
  }

  private byCode(programId: string, trx: Executor): Promise<Map<string, PointType>> {
    return this.cache.get(programId, async () => {
      // Types created together (a new program's defaults share one instant) list redeemable first,
      // then by code: an order clients can rely on, where ids made in one millisecond would not be.
      const rows = await trx
        .selectFrom('point_types')
        .selectAll()
        .where('program_id', '=', programId)
        .orderBy('created_at')
        .orderBy(sql`kind = 'growth'`)
        .orderBy('code')
        .execute();
      return new Map(rows.map((r) => [r.code, toPointType(r)]));
    });
  }

}
