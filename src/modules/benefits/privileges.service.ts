import type { Kysely } from 'kysely';
import type { ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { emitMessages, recordAudit, type TierChange } from '../../core/hooks.js';
import { newId } from '../../core/ids.js';
import { inZone } from '../../core/zoned-time.js';
import { isUniqueViolation, rawQuery, type Executor, type Trx } from '../../db/database.js';
import { TtlCache } from '../../core/ttl-cache.js';
import type { DB } from '../../db/schema.js';
import type { BenefitsService } from './benefits.service.js';
import { grantMany } from './grant-sql.js';

export type GrantPeriod = 'once' | 'month' | 'year' | 'unlimited';
export type BindingValidity = { kind: 'benefit' } | { kind: 'periodEnd' } | { kind: 'days'; days: number };
export type TargetType = 'tier' | 'plan';
export interface Target {
  type: TargetType;
  code: string;
}

/** A benefit bound to a tier or a paid plan. */
export interface Binding {
  id: string;
  benefitCode: string;
  target: Target;
  /** once per member; each calendar month or year (program zone) while held; or one entitlement with unlimited uses while held */
  period: GrantPeriod;
  /** entitlements granted per period */
  quantity: number;
  /** the benefit's own validity, the end of the grant period, or a number of days */
  validity: BindingValidity;
  /** on leaving the tier or plan: keep what was granted, or revoke what is unused (unlimited ones always end) */
  onLeave: 'keep' | 'revoke';
  active: boolean;
  holders: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface BindingInput {
  benefitCode: string;
  target: Target;
  period: GrantPeriod;
  quantity?: number | undefined;
  validity?: BindingValidity | undefined;
  onLeave?: 'keep' | 'revoke' | undefined;
}

export type BindingPatch = Partial<Pick<BindingInput, 'quantity' | 'validity' | 'onLeave'>> & { active?: boolean | undefined };

/** A member moving onto or off tiers and plans: `leave` before `enter`, with the reason recorded on revocations. */
export interface HolderMove {
  memberId: string;
  leave: Target[];
  enter: Target[];
  reason: string;
}

/** Who holds a tier or a plan now, for bindings created after members got there. */
export type HolderSource = (exec: Executor, ctx: ProgramContext, code: string) => Promise<string[]>;

interface BindingRow {
  id: string;
  benefit_id: string;
  benefit_code: string;
  target_type: TargetType;
  target_code: string;
  period: GrantPeriod;
  quantity: number;
  validity: BindingValidity;
  on_leave: 'keep' | 'revoke';
  active: boolean;
  holders: number;
  created_at: Date;
  updated_at: Date;
}

const SELECT = `select b.*, bn.code as benefit_code,
  (select count(*)::int from privilege_holders h where h.binding_id = b.id) as holders
  from privilege_bindings b join benefits bn on bn.id = b.benefit_id`;

function toBinding(r: BindingRow): Binding {
  return {
    id: r.id,
    benefitCode: r.benefit_code,
    target: { type: r.target_type, code: r.target_code },
    period: r.period,
    quantity: r.quantity,
    validity: r.validity,
    onLeave: r.on_leave,
    active: r.active,
    holders: r.holders,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The grant period containing `at` in the program's zone: its key and its end. */
export function grantPeriod(at: Date, zone: string): { month: string; monthEnd: Date; year: string; yearEnd: Date } {
  const local = inZone(at, zone);
  return {
    month: local.toFormat('yyyy-MM'),
    monthEnd: local.startOf('month').plus({ months: 1 }).toJSDate(),
    year: local.toFormat('yyyy'),
    yearEnd: local.startOf('year').plus({ years: 1 }).toJSDate(),
  };
}

function checkValidity(period: GrantPeriod, validity: BindingValidity): void {
  if (validity.kind === 'periodEnd' && (period === 'once' || period === 'unlimited')) {
    throw new AppError('validation_failed', `validity "periodEnd" needs a monthly or yearly period, not "${period}"`, { field: 'validity' });
  }
  if (validity.kind === 'days' && (!Number.isInteger(validity.days) || validity.days < 1 || validity.days > 36_600)) {
    throw new AppError('validation_failed', 'validity.days must be between 1 and 36600', { field: 'validity.days' });
  }
}

interface ActiveTarget {
  id: string;
  target_type: TargetType;
  target_code: string;
}

/**
 * Privileges: benefits bound to tiers and plans. Who holds a binding is kept in
 * `privilege_holders`, moved by the tierChanged hook and by subscriptions in the transaction of
 * the change; grants are set-based inserts keyed by binding and period, so a replayed change or
 * a re-run of the job never grants twice in one period.
 */
export class PrivilegesService {
  private readonly sources = new Map<TargetType, HolderSource>();
  /** per program, for a second: its active bindings' targets (most tier changes meet none) */
  private readonly targets = new TtlCache<ActiveTarget[]>(1_000);

  constructor(
    private readonly db: Kysely<DB>,
    private readonly benefits: BenefitsService,
  ) {}

  /** The tiers and plans modules say who holds a tier or plan, so a new binding reaches them at once. */
  registerHolderSource(type: TargetType, source: HolderSource): void {
    this.sources.set(type, source);
  }

  /**
   * The active bindings' targets, cached per process for a second: a real-time upgrade then costs
   * no query when the program binds nothing. A binding made in another process reaches members
   * entering its tier within that second at the latest, and the monthly reconciliation
   * (`reconcile`) catches anyone it missed.
   */
  private activeTargets(exec: Executor, programId: string): Promise<ActiveTarget[]> {
    return this.targets.get(programId, async () =>
      (await rawQuery<ActiveTarget>(exec, 'select id, target_type, target_code from privilege_bindings where program_id = $1 and active', [programId])).rows,
    );
  }


  // ------------------------------------------------------------ bindings

  async create(trx: Trx, ctx: ProgramContext, input: BindingInput): Promise<Binding> {
    const quantity = input.quantity ?? 1;
    const validity = input.validity ?? { kind: 'benefit' };
    checkValidity(input.period, validity);
    const benefit = await this.benefits.get(ctx, input.benefitCode, trx);
    const now = ctx.clock.now();
    const id = newId('binding', now.getTime());
    try {
      await rawQuery(
        trx,
        `insert into privilege_bindings (id, program_id, benefit_id, target_type, target_code, period, quantity, validity, on_leave, active, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, true, $10, $10)`,
        [id, ctx.program.id, benefit.id, input.target.type, input.target.code, input.period, quantity, JSON.stringify(validity), input.onLeave ?? 'revoke', now],
      );
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new AppError('already_exists', `benefit ${benefit.code} is already bound to ${input.target.type} ${input.target.code}`, { target: input.target, benefit: benefit.code });
      }
      throw err;
    }
    await this.backfill(trx, ctx, id, input.target);
    const binding = await this.get(ctx, id, trx);
    await recordAudit(trx, ctx, { action: 'create', resourceType: 'benefit_binding', resourceId: id, after: binding });
    this.targets.forget(ctx.program.id);
    return binding;
  }

  async update(trx: Trx, ctx: ProgramContext, id: string, patch: BindingPatch): Promise<Binding> {
    const before = await this.get(ctx, id, trx);
    const next = {
      quantity: patch.quantity ?? before.quantity,
      validity: patch.validity ?? before.validity,
      onLeave: patch.onLeave ?? before.onLeave,
      active: patch.active ?? before.active,
    };
    checkValidity(before.period, next.validity);
    await rawQuery(
      trx,
      `update privilege_bindings set quantity = $3, validity = $4, on_leave = $5, active = $6, updated_at = $7 where program_id = $1 and id = $2`,
      [ctx.program.id, id, next.quantity, JSON.stringify(next.validity), next.onLeave, next.active, ctx.clock.now()],
    );
    if (before.active && !next.active) {
      // Retired: nobody holds it any more; what was granted follows the binding's leave policy.
      const { rows } = await rawQuery<{ member_id: string }>(trx, 'select member_id from privilege_holders where binding_id = $1', [id]);
      await this.release(trx, ctx, rows.map((r) => ({ memberId: r.member_id, bindingId: id, reason: `binding ${id} retired` })));
    } else if (!before.active && next.active) {
      await this.backfill(trx, ctx, id, before.target);
    }
    const after = await this.get(ctx, id, trx);
    await recordAudit(trx, ctx, { action: 'update', resourceType: 'benefit_binding', resourceId: id, before, after });
    this.targets.forget(ctx.program.id);
    return after;
  }

  async get(ctx: ProgramContext, id: string, exec: Executor = this.db): Promise<Binding> {
    const { rows } = await rawQuery<BindingRow>(exec, `${SELECT} where b.program_id = $1 and b.id = $2`, [ctx.program.id, id]);
    if (!rows[0]) throw new AppError('binding_not_found', `binding ${id} does not exist`, { binding: id });
    return toBinding(rows[0]);
  }

  async list(ctx: ProgramContext, filter: { targetType?: TargetType | undefined; targetCode?: string | undefined } = {}, exec: Executor = this.db): Promise<Binding[]> {
    const { rows } = await rawQuery<BindingRow>(
      exec,
      `${SELECT} where b.program_id = $1 and ($2::text is null or b.target_type = $2) and ($3::text is null or b.target_code = $3)
       order by b.target_type, b.target_code, bn.code`,
      [ctx.program.id, filter.targetType ?? null, filter.targetCode ?? null],
    );
    return rows.map(toBinding);
  }

  private async backfill(trx: Trx, ctx: ProgramContext, bindingId: string, target: Target): Promise<void> {
    const source = this.sources.get(target.type);
    if (!source) return;
    const members = await source(trx, ctx, target.code);
    if (!members.length) return;
    await rawQuery(
      trx,
      `insert into privilege_holders (binding_id, member_id, program_id, since)
       select $1, m, $2, $3 from unnest($4::text[]) as m on conflict do nothing`,
      [bindingId, ctx.program.id, ctx.clock.now(), members],
    );
    await this.grantDue(trx, ctx, { bindingIds: [bindingId] });
  }

  memberOf(ctx: ProgramContext, ref: string, exec: Executor = this.db): Promise<string> {
    return this.benefits.memberOf(ctx, ref, exec);
  }

  // ------------------------------------------------------------ holders

  /** The tierChanged hook: members leave the bindings of the tier they had and enter the new tier's. */
  async tierChanged(trx: Trx, ctx: ProgramContext, changes: TierChange[]): Promise<void> {
    const moves: HolderMove[] = [];
    for (const c of changes) {
      if (c.from?.code === c.to?.code) continue;
      moves.push({
        memberId: c.memberId,
        leave: c.from ? [{ type: 'tier', code: c.from.code }] : [],
        enter: c.to ? [{ type: 'tier', code: c.to.code }] : [],
        reason: `tier ${c.from?.code ?? 'none'} → ${c.to?.code ?? 'none'} (${c.cause})`,
      });
    }
    await this.move(trx, ctx, moves);
  }

  /** Members onto and off targets, in the caller's transaction: revocations per policy, then grants of the period. */
  async move(trx: Trx, ctx: ProgramContext, moves: HolderMove[]): Promise<void> {
    if (!moves.length) return;
    const rows = await this.activeTargets(trx, ctx.program.id);
    if (!rows.length) return;
    const byTarget = new Map<string, string[]>();
    for (const r of rows) byTarget.set(`${r.target_type}:${r.target_code}`, [...(byTarget.get(`${r.target_type}:${r.target_code}`) ?? []), r.id]);
    const left: Array<{ memberId: string; bindingId: string; reason: string }> = [];
    const entered: Array<{ memberId: string; bindingId: string }> = [];
    for (const m of moves) {
      for (const t of m.leave) for (const id of byTarget.get(`${t.type}:${t.code}`) ?? []) left.push({ memberId: m.memberId, bindingId: id, reason: m.reason });
      for (const t of m.enter) for (const id of byTarget.get(`${t.type}:${t.code}`) ?? []) entered.push({ memberId: m.memberId, bindingId: id });
    }
    await this.release(trx, ctx, left);
    if (!entered.length) return;
    await rawQuery(
      trx,
      `insert into privilege_holders (binding_id, member_id, program_id, since)
       select b, m, $1, $2 from unnest($3::text[], $4::text[]) as x(b, m) on conflict do nothing`,
      [ctx.program.id, ctx.clock.now(), entered.map((e) => e.bindingId), entered.map((e) => e.memberId)],
    );
    await this.grantDue(trx, ctx, { bindingIds: [...new Set(entered.map((e) => e.bindingId))], memberIds: [...new Set(entered.map((e) => e.memberId))] });
  }

  /**
   * Members stop holding bindings. Unused entitlements of a binding whose policy is `revoke` (and
   * every unlimited one: it lasts while held) are revoked with the reason, so they can't be used.
   */
  private async release(trx: Trx, ctx: ProgramContext, left: Array<{ memberId: string; bindingId: string; reason: string }>): Promise<number> {
    if (!left.length) return 0;
    const now = ctx.clock.now();
    const { rows } = await rawQuery<{ id: string; member_id: string; source_id: string; revoke_reason: string; code: string }>(
      trx,
      `with l as (select * from unnest($2::text[], $3::text[], $4::text[]) as l(member_id, binding_id, reason)),
       del as (
         delete from privilege_holders h using l where h.binding_id = l.binding_id and h.member_id = l.member_id
         returning h.member_id, h.binding_id, l.reason),
       rev as (
         update entitlements e set status = 'revoked', revoked_at = $5, revoke_reason = del.reason
         from del join privilege_bindings b on b.id = del.binding_id and (b.on_leave = 'revoke' or b.period = 'unlimited')
         where e.member_id = del.member_id and e.program_id = $1 and e.source_type = 'binding' and e.source_id = del.binding_id
           and e.status = 'active' and (e.valid_until is null or e.valid_until > $5) and (e.uses_left is null or e.uses_left > 0)
         returning e.id, e.member_id, e.source_id, e.revoke_reason, e.benefit_id)
       select rev.id, rev.member_id, rev.source_id, rev.revoke_reason, bn.code from rev join benefits bn on bn.id = rev.benefit_id`,
      [ctx.program.id, left.map((l) => l.memberId), left.map((l) => l.bindingId), left.map((l) => l.reason), now],
    );
    await emitMessages(
      trx,
      ctx,
      'benefit.revoked',
      rows.map((r) => ({ messageId: `msg_benefit_revoked_${r.id}`, payload: { memberId: r.member_id, entitlementId: r.id, benefitCode: r.code, source: { type: 'binding', id: r.source_id }, reason: r.revoke_reason, revokedAt: now } })),
    );
    return rows.length;
  }

  /**
   * Holders as the tiers and plans modules see them now: members who got there without a change
   * this module heard of (new members at the base tier, say) enter, members no longer there leave.
   */
  async reconcile(trx: Trx, ctx: ProgramContext): Promise<{ entered: number; left: number }> {
    const { rows } = await rawQuery<{ id: string; target_type: TargetType; target_code: string }>(
      trx,
      'select id, target_type, target_code from privilege_bindings where program_id = $1 and active order by id',
      [ctx.program.id],
    );
    const out = { entered: 0, left: 0 };
    for (const b of rows) {
      const source = this.sources.get(b.target_type);
      if (!source) continue;
      const members = await source(trx, ctx, b.target_code);
      const added = await rawQuery(
        trx,
        `insert into privilege_holders (binding_id, member_id, program_id, since)
         select $1, m, $2, $3 from unnest($4::text[]) as m on conflict do nothing`,
        [b.id, ctx.program.id, ctx.clock.now(), members],
      );
      out.entered += added.rowCount ?? 0;
      const gone = await rawQuery<{ member_id: string }>(
        trx,
        'select member_id from privilege_holders where binding_id = $1 and not (member_id = any($2::text[]))',
        [b.id, members],
      );
      out.left += gone.rows.length;
      await this.release(trx, ctx, gone.rows.map((g) => ({ memberId: g.member_id, bindingId: b.id, reason: `no longer at ${b.target_type} ${b.target_code}` })));
    }
    return out;
  }

  /**
   * Grant what holders are due for the period containing now: monthly and yearly quotas keyed
   * by the period, `once` keyed once per member, an unlimited entitlement keyed by when the
   * member started holding. Missing grants are made; present ones are left alone.
   */
  async grantDue(trx: Executor, ctx: ProgramContext, filter: { bindingIds?: string[] | undefined; memberIds?: string[] | undefined } = {}): Promise<number> {
    const now = ctx.clock.now();
    const p = grantPeriod(now, ctx.program.timeZone);
    const candidates = `
      select h.member_id, b.benefit_id, bn.code as benefit_code, case when b.period = 'unlimited' then 1 else b.quantity end as quantity,
        'priv:' || b.id || ':' || case b.period when 'month' then $2 when 'year' then $3 when 'once' then 'once'
          else 'held:' || (extract(epoch from h.since) * 1000)::bigint::text end as grant_key,
        case when b.period = 'unlimited' then null else bn.default_uses end as uses,
        case when b.period = 'unlimited' then null
             when b.validity ->> 'kind' = 'periodEnd' then (case b.period when 'month' then $4::timestamptz else $5::timestamptz end)
             when b.validity ->> 'kind' = 'days' then $6::timestamptz + make_interval(days => (b.validity ->> 'days')::int)
             when bn.validity_days is not null then $6::timestamptz + make_interval(days => bn.validity_days)
             else null end as valid_until,
        'binding' as source_type, b.id as source_id
      from privilege_holders h
      join privilege_bindings b on b.id = h.binding_id and b.active
      join benefits bn on bn.id = b.benefit_id and bn.status = 'active'
      join members m on m.id = h.member_id and m.status = 'active'
      where h.program_id = $1 and ($7::text[] is null or h.binding_id = any($7::text[])) and ($8::text[] is null or h.member_id = any($8::text[]))`;
    const grants = await grantMany(trx, ctx, candidates, [ctx.program.id, p.month, p.year, p.monthEnd, p.yearEnd, now, filter.bindingIds ?? null, filter.memberIds ?? null]);
    return grants.length;
  }

  /** The first instant after `after` at which a periodic binding is due again (a month or year start). */
  async nextPeriodStart(exec: Executor, programId: string, zone: string, after: Date): Promise<Date | null> {
    const { rows } = await rawQuery<{ month: boolean; year: boolean }>(
      exec,
      `select bool_or(period = 'month') as month, bool_or(period = 'year') as year from privilege_bindings where program_id = $1 and active`,
      [programId],
    );
    const r = rows[0];
    if (!r?.month && !r?.year) return null;
    const local = inZone(after, zone);
    return (r.month ? local.startOf('month').plus({ months: 1 }) : local.startOf('year').plus({ years: 1 })).toJSDate();
  }
}
