import type { Binding } from '../benefits/index.js';

export interface Money {
  amount: number;
  currency: string;
}

export interface PointsPrice {
  pointType: string;
  amount: number;
}

export interface FirstPurchaseGift {
  benefitCode?: string | undefined;
  quantity?: number | undefined;
  points?: PointsPrice | undefined;
}

export interface Plan {
  id: string;
  code: string;
  name: string;
  description: string | null;
  period: { unit: 'day' | 'month'; count: number };
  /** in minor units (null: not sold for money alone) */
  price: Money | null;
  /** the plan wholly for points */
  pointsPrice: PointsPrice | null;
  /** the plan for points and cash together */
  mixedPrice: { points: PointsPrice; cash: Money } | null;
  trialDays: number;
  /** a decimal such as "2": the rules multiply awards for members holding the plan (best plan counts) */
  earningMultiplier: string | null;
  /** growth per day of an active plan; optionally lost per day while lapsed, never below zero */
  growth: { pointType: string; perDay: number; lossPerDayLapsed: number };
  firstPurchaseGift: FirstPurchaseGift | null;
  status: 'active' | 'retired';
  /** the benefits bound to the plan (manage them as benefit bindings with target { type: plan }) */
  benefits: Array<Pick<Binding, 'id' | 'benefitCode' | 'period' | 'quantity' | 'onLeave' | 'active'>>;
  createdAt: Date;
  updatedAt: Date;
}

export interface CreatePlanInput {
  code: string;
  name: string;
  description?: string | null | undefined;
  period: { unit: 'day' | 'month'; count: number };
  price?: Money | null | undefined;
  pointsPrice?: PointsPrice | null | undefined;
  mixedPrice?: { points: PointsPrice; cash: Money } | null | undefined;
  trialDays?: number | undefined;
  earningMultiplier?: string | null | undefined;
  growth?: { pointType?: string | undefined; perDay?: number | undefined; lossPerDayLapsed?: number | undefined } | undefined;
  firstPurchaseGift?: FirstPurchaseGift | null | undefined;
}

export type UpdatePlanInput = Partial<Omit<CreatePlanInput, 'code' | 'period' | 'growth'>> & {
  growth?: Partial<Plan['growth']> | undefined;
  status?: 'active' | 'retired' | undefined;
};

export interface PayInput {
  payWith?: 'money' | 'points' | 'mixed' | undefined;
  /** what the host collected, with its own reference */
  payment?: { reference: string; amount: number; currency: string } | undefined;
  /** the purchase's reference when no money changes hands (points, trial): the Idempotency-Key */
  reference: string;
}

export interface Subscription {
  id: string;
  memberId: string;
  planId: string;
  planCode: string;
  /** trialing, active, or expired (derived on read: a period that has ended reads as expired) */
  status: 'trialing' | 'active' | 'expired';
  startedAt: Date;
  currentPeriodStart: Date;
  currentPeriodEnd: Date;
  cancelAtPeriodEnd: boolean;
  cancelledAt: Date | null;
  endedAt: Date | null;
  renewals: number;
}

export interface Payment {
  id: string;
  subscriptionId: string;
  kind: 'trial' | 'start' | 'renew';
  reference: string;
  money: Money | null;
  points: { pointType: string; amount: number; transactionId: string | null } | null;
  periodStart: Date;
  periodEnd: Date;
  recordedAt: Date;
}

export interface SubscriptionResult {
  subscription: Subscription;
  payment: Payment;
  replayed: boolean;
}
