import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { emitMessage, recordAudit, type MemberFacts } from '../../core/hooks.js';
import { newId } from '../../core/ids.js';
import { inZone } from '../../core/zoned-time.js';
import { isUniqueViolation, rawQuery, type Executor, type Trx } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import type { BenefitsService, PrivilegesService } from '../benefits/index.js';
import type { LedgerService } from '../ledger/index.js';
import type { MembersService } from '../members/index.js';
import { toPlan, toSubscription, type PlanRow, type SubscriptionRow } from './plans.rows.js';
import type { CreatePlanInput, PayInput, Payment, Plan, Subscription, SubscriptionResult, UpdatePlanInput } from './plans.types.js';

export type { CreatePlanInput, PayInput, Payment, Plan, Subscription, SubscriptionResult, UpdatePlanInput } from './plans.types.js';

const DECIMAL = /^\d{1,6}(\.\d{1,6})?$/;

/** A JSON column: SQL null for nothing (never the JSON literal null). */
const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

function hashOf(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 27);
}

function checkPlan(input: Partial<CreatePlanInput>): void {
  if (input.earningMultiplier !== undefined && input.earningMultiplier !== null && (!DECIMAL.test(input.earningMultiplier) || Number(input.earningMultiplier) <= 0)) {
    throw new AppError('validation_failed', 'earningMultiplier is a positive decimal such as "2" or "1.5"', { field: 'earningMultiplier' });
  }
  const gift = input.firstPurchaseGift;
  if (gift && !gift.benefitCode && !gift.points) {
    throw new AppError('validation_failed', 'firstPurchaseGift needs a benefit, points, or both', { field: 'firstPurchaseGift' });
  }
}

/**
 * Paid membership: plans, subscriptions and the payments the host platform reports for them.
 * Laurel never takes a payment: the host reports it with its own reference, recorded once (a
 * repeated report replays the first answer). A plan may also be bought wholly or partly with
 * points, spent through the ledger in the same transaction. A plan's privileges are its benefit
 * bindings (the benefits module); its earning multiplier reaches the rules through the hooks.
 */
export class PlansService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly ledger: LedgerService,
    private readonly members: MembersService,
    private readonly benefits: BenefitsService,
    private readonly privileges: PrivilegesService,
    /** the earning rules compile plan multipliers in: they must compile again when one changes */
    private readonly earningChanged: (ctx: ProgramContext, trx: Executor) => Promise<void>,
  ) {}

  // ------------------------------------------------------------ plans

  async create(trx: Trx, ctx: ProgramContext, input: CreatePlanInput): Promise<Plan> {
    checkPlan(input);
    if (!input.price && !input.pointsPrice && !input.mixedPrice) {
      throw new AppError('validation_failed', 'a plan needs a price, a points price, or a points-and-cash price', { field: 'price' });
    }
    const now = ctx.clock.now();
    const id = newId('plan', now.getTime());
    try {
      await rawQuery(
        trx,
        `insert into plans (id, program_id, code, name, description, period_unit, period_count, price_amount, price_currency, points_price, mixed_price,
           trial_days, earning_multiplier, growth_point_type, growth_per_day, growth_loss_per_day, first_gift, status, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 'active', $18, $18)`,
        [
          id, ctx.program.id, input.code, input.name, input.description ?? null, input.period.unit, input.period.count,
          input.price?.amount ?? null, input.price?.currency ?? null, json(input.pointsPrice), json(input.mixedPrice),
          input.trialDays ?? 0, input.earningMultiplier ?? null,
          input.growth?.pointType ?? 'growth', input.growth?.perDay ?? 0, input.growth?.lossPerDayLapsed ?? 0,
          json(input.firstPurchaseGift), now,
        ],
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('already_exists', `a plan with code "${input.code}" already exists`, { code: input.code });
      throw err;
    }
    if (input.earningMultiplier) await this.earningChanged(ctx, trx);
    const plan = await this.get(ctx, input.code, trx);
    await recordAudit(trx, ctx, { action: 'create', resourceType: 'plan', resourceId: plan.id, after: plan });
    return plan;
  }

  async update(trx: Trx, ctx: ProgramContext, code: string, patch: UpdatePlanInput): Promise<Plan> {
    checkPlan(patch);
    const before = await this.get(ctx, code, trx);
    const pick = <T>(v: T | undefined, cur: T): T => (v !== undefined ? v : cur);
    const growth = { ...before.growth, ...(patch.growth ?? {}) };
    await rawQuery(
      trx,
      `update plans set name = $3, description = $4, price_amount = $5, price_currency = $6, points_price = $7, mixed_price = $8, trial_days = $9,
         earning_multiplier = $10, growth_point_type = $11, growth_per_day = $12, growth_loss_per_day = $13, first_gift = $14, status = $15, updated_at = $16
       where program_id = $1 and id = $2`,
      [
        ctx.program.id, before.id, pick(patch.name, before.name), pick(patch.description, before.description),
        pick(patch.price, before.price)?.amount ?? null, pick(patch.price, before.price)?.currency ?? null,
        json(pick(patch.pointsPrice, before.pointsPrice)), json(pick(patch.mixedPrice, before.mixedPrice)),
        pick(patch.trialDays, before.trialDays), pick(patch.earningMultiplier, before.earningMultiplier),
        growth.pointType, growth.perDay, growth.lossPerDayLapsed, json(pick(patch.firstPurchaseGift, before.firstPurchaseGift)),
        pick(patch.status, before.status), ctx.clock.now(),
      ],
    );
    if (patch.earningMultiplier !== undefined && patch.earningMultiplier !== before.earningMultiplier) await this.earningChanged(ctx, trx);
    const after = await this.get(ctx, code, trx);
    await recordAudit(trx, ctx, { action: 'update', resourceType: 'plan', resourceId: before.id, before, after });
    return after;
  }

  async get(ctx: ProgramContext, code: string, exec: Executor = this.db): Promise<Plan> {
    const { rows } = await rawQuery<PlanRow>(exec, 'select * from plans where program_id = $1 and (code = $2 or id = $2)', [ctx.program.id, code]);
    if (!rows[0]) throw new AppError('plan_not_found', `plan ${code} does not exist`, { plan: code });
    return toPlan(rows[0], await this.privileges.list(ctx, { targetType: 'plan', targetCode: rows[0].code }, exec));
  }

  async list(ctx: ProgramContext, exec: Executor = this.db): Promise<Plan[]> {
    const { rows } = await rawQuery<PlanRow>(exec, 'select * from plans where program_id = $1 order by code', [ctx.program.id]);
    const bindings = await this.privileges.list(ctx, { targetType: 'plan' }, exec);
    return rows.map((r) => toPlan(r, bindings.filter((b) => b.target.code === r.code)));
  }

  /** Plan code → earning multiplier, for the rules engine's `plans` multiplier policy. */
  async multipliers(exec: Executor, ctx: ProgramContext): Promise<Record<string, string>> {
    const { rows } = await rawQuery<{ code: string; earning_multiplier: string }>(
      exec,
      'select code, earning_multiplier from plans where program_id = $1 and earning_multiplier is not null',
      [ctx.program.id],
    );
    return Object.fromEntries(rows.map((r) => [r.code, r.earning_multiplier]));
  }

  /** The plans each member holds now, for the earning rules (`member.plans`, plan multipliers). */
  async memberFacts(exec: Executor, ctx: ProgramContext, memberIds: string[]): Promise<Map<string, MemberFacts>> {
    const out = new Map<string, MemberFacts>();
    if (!memberIds.length) return out;
    const { rows } = await rawQuery<{ member_id: string; codes: string[] }>(
      exec,
      `select s.member_id, array_agg(p.code order by p.code) as codes from subscriptions s join plans p on p.id = s.plan_id
       where s.member_id = any($1::text[]) and s.program_id = $2 and s.status <> 'expired' and s.current_period_end > $3 and s.started_at <= $3
       group by s.member_id`,
      [memberIds, ctx.program.id, ctx.clock.now()],
    );
    for (const id of memberIds) out.set(id, { planCodes: [] });
    for (const r of rows) out.set(r.member_id, { planCodes: r.codes });
    return out;
  }

  /** Who holds a plan now: the privileges bound to it reach them when the binding is created. */
  async holders(exec: Executor, ctx: ProgramContext, code: string): Promise<string[]> {
    const { rows } = await rawQuery<{ member_id: string }>(
      exec,
      `select s.member_id from subscriptions s join plans p on p.id = s.plan_id
       where s.program_id = $1 and p.code = $2 and s.status <> 'expired' and s.current_period_end > $3 order by s.member_id`,
      [ctx.program.id, code, ctx.clock.now()],
    );
    return rows.map((r) => r.member_id);
  }

  // ------------------------------------------------------------ subscriptions

  /**
   * Start a subscription: a trial (once per member and plan, without payment), or a paid period
   * (a payment the host reports, points spent through the ledger, or both). One record per
   * payment reference: the same report again answers with the first result.
   */
  async start(trx: Trx, ctx: ProgramContext, memberRef: string, input: PayInput & { plan: string; trial?: boolean | undefined }): Promise<SubscriptionResult> {
    const member = await this.members.get(ctx, memberRef, trx);
    const reference = input.payment?.reference ?? input.reference;
    const hash = hashOf('start', member.id, input.plan, input.trial ?? false, input.payWith ?? null, input.payment ?? null);
    const prior = await this.replay(trx, ctx, reference, hash);
    if (prior) return prior;
    if (member.status !== 'active') throw new AppError('member_inactive', `member ${member.id} is ${member.status}`, { status: member.status });
    const plan = await this.get(ctx, input.plan, trx);
    if (plan.status !== 'active') throw new AppError('plan_not_purchasable', `plan ${plan.code} is retired`, { plan: plan.code });
    const { rows: open } = await rawQuery<SubscriptionRow>(
      trx,
      `select * from subscriptions where member_id = $1 and plan_id = $2 and status <> 'expired' for update`,
      [member.id, plan.id],
    );
    if (open[0]) throw new AppError('illegal_transition', `the member already has plan ${plan.code} until ${open[0].current_period_end.toISOString()}: renew it`, { subscription: open[0].id });
    const now = ctx.clock.now();
    let kind: 'trial' | 'start' = 'start';
    let end: Date;
    let paid: Awaited<ReturnType<PlansService['pay']>> = { amount: null, currency: null, pointsType: null, pointsAmount: null, transactionId: null };
    if (input.trial) {
      if (plan.trialDays <= 0) throw new AppError('plan_not_purchasable', `plan ${plan.code} has no trial`, { plan: plan.code });
      const { rows } = await rawQuery(trx, 'select 1 from subscriptions where member_id = $1 and plan_id = $2 limit 1', [member.id, plan.id]);
      if (rows.length) throw new AppError('not_eligible', `the member already had plan ${plan.code}: a trial is for a first subscription`, { plan: plan.code });
      kind = 'trial';
      end = inZone(now, ctx.program.timeZone).plus({ days: plan.trialDays }).toJSDate();
    } else {
      paid = await this.pay(trx, ctx, member.id, plan, input, reference);
      end = this.periodEnd(ctx, plan, now);
    }
    const id = newId('subscription', now.getTime());
    try {
      await rawQuery(
        trx,
        `insert into subscriptions (id, program_id, member_id, plan_id, status, started_at, current_period_start, current_period_end, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $6, $7, $6, $6)`,
        [id, ctx.program.id, member.id, plan.id, kind === 'trial' ? 'trialing' : 'active', now, end],
      );
    } catch (err) {
      // Two starts of one plan for one member at once (other references): one wins, the other is refused.
      if (isUniqueViolation(err)) throw new AppError('illegal_transition', `the member already has plan ${plan.code}: renew it`, { plan: plan.code });
      throw err;
    }
    const payment = await this.recordPayment(trx, ctx, { id, memberId: member.id, planId: plan.id }, kind, reference, hash, paid, now, end);
    await this.privileges.move(trx, ctx, [{ memberId: member.id, leave: [], enter: [{ type: 'plan', code: plan.code }], reason: `plan ${plan.code} started` }]);
    if (kind === 'start') await this.firstPurchaseGift(trx, ctx, member.id, plan);
    const subscription = await this.subscription(ctx, id, trx);
    await this.announce(trx, ctx, 'plan.subscription_started', subscription, payment.id);
    return { subscription, payment, replayed: false };
  }

  /** Another paid period, from the end of the current one (a trial becomes paid). */
  async renew(trx: Trx, ctx: ProgramContext, memberRef: string, subscriptionId: string, input: PayInput): Promise<SubscriptionResult> {
    const member = await this.members.get(ctx, memberRef, trx);
    const reference = input.payment?.reference ?? input.reference;
    const hash = hashOf('renew', member.id, subscriptionId, input.payWith ?? null, input.payment ?? null);
    const prior = await this.replay(trx, ctx, reference, hash);
    if (prior) return prior;
    const sub = await this.locked(trx, ctx, member.id, subscriptionId);
    if (sub.status === 'expired') throw new AppError('illegal_transition', `subscription ${sub.id} has expired: start a new one`, { from: 'expired', to: 'active' });
    const plan = await this.get(ctx, sub.plan_id, trx);
    const paid = await this.pay(trx, ctx, member.id, plan, input, reference);
    const from = sub.current_period_end;
    const end = this.periodEnd(ctx, plan, from);
    await rawQuery(
      trx,
      `update subscriptions set status = 'active', current_period_start = $2, current_period_end = $3, cancel_at_period_end = false,
         cancelled_at = null, renewals = renewals + 1, updated_at = $4 where id = $1`,
      [sub.id, from, end, ctx.clock.now()],
    );
    const payment = await this.recordPayment(trx, ctx, { id: sub.id, memberId: member.id, planId: plan.id }, 'renew', reference, hash, paid, from, end);
    await this.firstPurchaseGift(trx, ctx, member.id, plan);
    const subscription = await this.subscription(ctx, sub.id, trx);
    await this.announce(trx, ctx, 'plan.subscription_renewed', subscription, payment.id);
    return { subscription, payment, replayed: false };
  }

  /** Cancel at the end of the paid period: the member keeps the plan until then. Cancelling again changes nothing. */
  async cancel(trx: Trx, ctx: ProgramContext, memberRef: string, subscriptionId: string, reason?: string | undefined): Promise<Subscription> {
    const member = await this.members.get(ctx, memberRef, trx);
    const sub = await this.locked(trx, ctx, member.id, subscriptionId);
    if (sub.status === 'expired') throw new AppError('illegal_transition', `subscription ${sub.id} has already expired`, { from: 'expired', to: 'cancelled' });
    if (!sub.cancel_at_period_end) {
      await rawQuery(trx, 'update subscriptions set cancel_at_period_end = true, cancelled_at = $2, updated_at = $2 where id = $1', [sub.id, ctx.clock.now()]);
      const subscription = await this.subscription(ctx, sub.id, trx);
      await emitMessage(trx, ctx, 'plan.subscription_cancelled', { ...this.payload(subscription), reason: reason ?? null }, `msg_plan_cancelled_${sub.id}_${ctx.clock.now().getTime()}`);
      return subscription;
    }
    return this.subscription(ctx, sub.id, trx);
  }

  async listSubscriptions(ctx: ProgramContext, memberRef: string): Promise<Subscription[]> {
    const member = await this.members.get(ctx, memberRef);
    const { rows } = await rawQuery<SubscriptionRow & { plan_code: string }>(
      this.db,
      `select s.*, p.code as plan_code from subscriptions s join plans p on p.id = s.plan_id
       where s.program_id = $1 and s.member_id = $2 order by s.started_at desc, s.id desc`,
      [ctx.program.id, member.id],
    );
    return rows.map((r) => toSubscription(r, ctx.clock.now()));
  }

  async subscription(ctx: ProgramContext, id: string, exec: Executor = this.db): Promise<Subscription> {
    const { rows } = await rawQuery<SubscriptionRow & { plan_code: string }>(
      exec,
      `select s.*, p.code as plan_code from subscriptions s join plans p on p.id = s.plan_id where s.program_id = $1 and s.id = $2`,
      [ctx.program.id, id],
    );
    if (!rows[0]) throw new AppError('subscription_not_found', `subscription ${id} does not exist`, { subscription: id });
    return toSubscription(rows[0], ctx.clock.now());
  }

  /** A subscription addressed under another member does not exist for this one. */
  async ownedBy(ctx: ProgramContext, sub: Subscription, memberRef: string): Promise<void> {
    const member = await this.members.get(ctx, memberRef);
    if (member.id !== sub.memberId) throw new AppError('subscription_not_found', `subscription ${sub.id} does not exist`, { subscription: sub.id });
  }

  private async locked(trx: Trx, ctx: ProgramContext, memberId: string, id: string): Promise<SubscriptionRow> {
    const { rows } = await rawQuery<SubscriptionRow>(trx, 'select * from subscriptions where program_id = $1 and id = $2 and member_id = $3 for update', [ctx.program.id, id, memberId]);
    if (!rows[0]) throw new AppError('subscription_not_found', `subscription ${id} does not exist`, { subscription: id });
    return rows[0];
  }

  private periodEnd(ctx: ProgramContext, plan: Plan, from: Date): Date {
    const local = inZone(from, ctx.program.timeZone);
    return (plan.period.unit === 'month' ? local.plus({ months: plan.period.count }) : local.plus({ days: plan.period.count })).toJSDate();
  }

  /** A payment report seen before: the same request replays its answer, another one is a conflict. */
  private async replay(trx: Trx, ctx: ProgramContext, reference: string, hash: string): Promise<SubscriptionResult | null> {
    const { rows } = await rawQuery<{ subscription_id: string; request_hash: string }>(
      trx,
      'select subscription_id, request_hash from plan_payments where program_id = $1 and reference = $2',
      [ctx.program.id, reference],
    );
    const prior = rows[0];
    if (!prior) return null;
    if (prior.request_hash !== hash) throw new AppError('idempotency_conflict', `payment reference "${reference}" was reported for another purchase`, { reference });
    const payment = (await this.payments(trx, ctx, reference))[0]!;
    return { subscription: await this.subscription(ctx, prior.subscription_id, trx), payment, replayed: true };
  }

  /** Check the host's payment against the price, and spend the points part through the ledger. */
  private async pay(trx: Trx, ctx: ProgramContext, memberId: string, plan: Plan, input: PayInput, reference: string) {
    const payWith = input.payWith ?? (input.payment ? (plan.price ? 'money' : 'mixed') : plan.pointsPrice ? 'points' : 'money');
    let cash: { amount: number; currency: string } | null = null;
    let points: { pointType: string; amount: number } | null = null;
    if (payWith === 'money') cash = plan.price;
    else if (payWith === 'points') points = plan.pointsPrice;
    else if (plan.mixedPrice) ({ cash, points } = plan.mixedPrice);
    if ((payWith === 'money' && !cash) || (payWith === 'points' && !points) || (payWith === 'mixed' && !plan.mixedPrice)) {
      throw new AppError('plan_not_purchasable', `plan ${plan.code} is not sold for ${payWith}`, { plan: plan.code, payWith });
    }
    if (cash) {
      const p = input.payment;
      if (!p) throw new AppError('validation_failed', 'payment (reference, amount, currency) is required to pay with money', { field: 'payment' });
      if (p.amount !== cash.amount || p.currency !== cash.currency) {
        throw new AppError('payment_mismatch', `plan ${plan.code} costs ${cash.amount} ${cash.currency}${points ? ` and ${points.amount} ${points.pointType}` : ''}`, { expected: cash, got: { amount: p.amount, currency: p.currency } });
      }
    }
    let transactionId: string | null = null;
    if (points) {
      const txn = await this.ledger.spend(
        ctx,
        { member: memberId, pointType: points.pointType, amount: points.amount, idempotencyKey: `plan:${reference}`, source: { type: 'plan', id: plan.id }, reason: `plan ${plan.code}` },
        trx,
      );
      transactionId = txn.id;
    }
    return { amount: cash?.amount ?? null, currency: cash?.currency ?? null, pointsType: points?.pointType ?? null, pointsAmount: points?.amount ?? null, transactionId };
  }

  private async recordPayment(
    trx: Trx,
    ctx: ProgramContext,
    sub: { id: string; memberId: string; planId: string },
    kind: 'trial' | 'start' | 'renew',
    reference: string,
    hash: string,
    paid: { amount: number | null; currency: string | null; pointsType: string | null; pointsAmount: number | null; transactionId: string | null },
    from: Date,
    to: Date,
  ): Promise<Payment> {
    const now = ctx.clock.now();
    const id = newId('payment', now.getTime());
    const { rowCount } = await rawQuery(
      trx,
      `insert into plan_payments (id, program_id, subscription_id, member_id, plan_id, kind, reference, request_hash, amount, currency, points_type, points_amount,
         points_transaction_id, period_start, period_end, created_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) on conflict (program_id, reference) do nothing`,
      [id, ctx.program.id, sub.id, sub.memberId, sub.planId, kind, reference, hash, paid.amount, paid.currency, paid.pointsType, paid.pointsAmount, paid.transactionId, from, to, now],
    );
    // A concurrent twin with the same reference committed first: this one must not half-apply.
    if (rowCount !== 1) throw new AppError('idempotency_in_progress', `a payment with reference "${reference}" is being recorded; retry`, { reference });
    return (await this.payments(trx, ctx, reference))[0]!;
  }

  async payments(exec: Executor, ctx: ProgramContext, reference?: string, subscriptionId?: string): Promise<Payment[]> {
    const { rows } = await rawQuery<{
      id: string; subscription_id: string; kind: Payment['kind']; reference: string; amount: string | null; currency: string | null; points_type: string | null;
      points_amount: string | null; points_transaction_id: string | null; period_start: Date; period_end: Date; created_at: Date;
    }>(
      exec,
      `select * from plan_payments where program_id = $1 and ($2::text is null or reference = $2) and ($3::text is null or subscription_id = $3) order by period_start, created_at, id`,
      [ctx.program.id, reference ?? null, subscriptionId ?? null],
    );
    return rows.map((r) => ({
      id: r.id,
      subscriptionId: r.subscription_id,
      kind: r.kind,
      reference: r.reference,
      money: r.amount === null ? null : { amount: Number(r.amount), currency: r.currency! },
      points: r.points_type === null ? null : { pointType: r.points_type, amount: Number(r.points_amount), transactionId: r.points_transaction_id },
      periodStart: r.period_start,
      periodEnd: r.period_end,
      recordedAt: r.created_at,
    }));
  }

  /** The one-time gift on a member's first paid period of a plan: the (member, plan) key is the guard. */
  private async firstPurchaseGift(trx: Trx, ctx: ProgramContext, memberId: string, plan: Plan): Promise<void> {
    const gift = plan.firstPurchaseGift;
    if (!gift) return;
    const { rowCount } = await rawQuery(
      trx,
      `insert into plan_first_gifts (member_id, plan_id, program_id, granted_at) values ($1, $2, $3, $4) on conflict do nothing`,
      [memberId, plan.id, ctx.program.id, ctx.clock.now()],
    );
    if (rowCount !== 1) return;
    if (gift.benefitCode) {
      await this.benefits.grant(trx, ctx, {
        memberId,
        benefitCode: gift.benefitCode,
        quantity: gift.quantity ?? 1,
        source: { type: 'plan_gift', id: plan.id },
        idempotencyKey: `plan-gift:${plan.id}`,
      });
    }
    if (gift.points) {
      await this.ledger.earn(
        ctx,
        { member: memberId, pointType: gift.points.pointType, amount: gift.points.amount, idempotencyKey: `plan-gift:${memberId}:${plan.id}`, source: { type: 'plan_gift', id: plan.id }, reason: `first purchase of plan ${plan.code}` },
        trx,
      );
    }
  }

  payload(s: Subscription): Record<string, unknown> {
    return { subscriptionId: s.id, memberId: s.memberId, plan: s.planCode, status: s.status, currentPeriodStart: s.currentPeriodStart, currentPeriodEnd: s.currentPeriodEnd, cancelAtPeriodEnd: s.cancelAtPeriodEnd };
  }

  private async announce(trx: Trx, ctx: ProgramContext, type: string, s: Subscription, paymentId: string): Promise<void> {
    await emitMessage(trx, ctx, type, { ...this.payload(s), paymentId }, `msg_plan_${paymentId}`);
  }
}
