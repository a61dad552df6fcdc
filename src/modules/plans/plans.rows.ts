import type { Binding } from '../benefits/index.js';
import type { Plan, Subscription } from './plans.types.js';

export interface PlanRow {
  id: string;
  code: string;
  name: string;
  description: string | null;
  period_unit: 'day' | 'month';
  period_count: number;
  price_amount: string | null;
  price_currency: string | null;
  points_price: Plan['pointsPrice'];
  mixed_price: Plan['mixedPrice'];
  trial_days: number;
  earning_multiplier: string | null;
  growth_point_type: string;
  growth_per_day: string;
  growth_loss_per_day: string;
  first_gift: Plan['firstPurchaseGift'];
  status: 'active' | 'retired';
  created_at: Date;
  updated_at: Date;
}

export interface SubscriptionRow {
  id: string;
  member_id: string;
  plan_id: string;
  status: 'trialing' | 'active' | 'expired';
  started_at: Date;
  current_period_start: Date;
  current_period_end: Date;
  cancel_at_period_end: boolean;
  cancelled_at: Date | null;
  ended_at: Date | null;
  renewals: number;
}

export function toPlan(r: PlanRow, bindings: Binding[]): Plan {
  return {
    id: r.id,
    code: r.code,
    name: r.name,
    description: r.description,
    period: { unit: r.period_unit, count: r.period_count },
    price: r.price_amount === null ? null : { amount: Number(r.price_amount), currency: r.price_currency! },
    pointsPrice: r.points_price ?? null,
    mixedPrice: r.mixed_price ?? null,
    trialDays: r.trial_days,
    earningMultiplier: r.earning_multiplier,
    growth: { pointType: r.growth_point_type, perDay: Number(r.growth_per_day), lossPerDayLapsed: Number(r.growth_loss_per_day) },
    firstPurchaseGift: r.first_gift ?? null,
    status: r.status,
    benefits: bindings.map((b) => ({ id: b.id, benefitCode: b.benefitCode, period: b.period, quantity: b.quantity, onLeave: b.onLeave, active: b.active })),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function toSubscription(r: SubscriptionRow & { plan_code: string }, now: Date): Subscription {
  const lapsed = r.status !== 'expired' && r.current_period_end.getTime() <= now.getTime();
  return {
    id: r.id,
    memberId: r.member_id,
    planId: r.plan_id,
    planCode: r.plan_code,
    status: lapsed ? 'expired' : r.status,
    startedAt: r.started_at,
    currentPeriodStart: r.current_period_start,
    currentPeriodEnd: r.current_period_end,
    cancelAtPeriodEnd: r.cancel_at_period_end,
    cancelledAt: r.cancelled_at,
    endedAt: r.ended_at ?? (lapsed ? r.current_period_end : null),
    renewals: r.renewals,
  };
}
