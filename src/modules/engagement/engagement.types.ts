import type { ProgramContext } from '../../core/context.js';
import { newId } from '../../core/ids.js';
import type { Trx } from '../../db/database.js';

/** A behaviour as tasks and medals see it: a host event, or a signal of this module. */
export interface Behaviour {
  /** the host event's id, or the id of the check-in, task completion or invitation */
  id: string;
  type: string;
  occurredAt: Date;
  attributes: Record<string, unknown>;
}

/**
 * Behaviours this module emits itself, so a task ("check in 5 days this week", "invite 3 friends")
 * or a medal can count them like host events. Namespaced so they never collide with host types.
 */
export const SIGNALS = {
  checkIn: 'engagement.check_in',
  taskCompleted: 'engagement.task_completed',
  invitationQualified: 'engagement.invitation_qualified',
  invitationAccepted: 'engagement.invited_friend_qualified',
} as const;

/** What a reward paid: one ledger credit per point type. */
export interface PaidReward {
  pointType: string;
  amount: number;
  transactionId: string | null;
}

export interface PointsReward {
  pointType: string;
  amount: number;
}

/** How the parts of the module reach each other without importing each other's internals. */
export interface EngagementBus {
  behaviour(trx: Trx, ctx: ProgramContext, memberId: string, behaviour: Behaviour, depth: number): Promise<void>;
  streak(trx: Trx, ctx: ProgramContext, memberId: string, longest: number): Promise<void>;
  taskCompleted(trx: Trx, ctx: ProgramContext, memberId: string, task: { id: string; code: string }, period: string, depth: number): Promise<void>;
  awardMedal(trx: Trx, ctx: ProgramContext, memberId: string, medalCode: string, level: number, source: Record<string, unknown>): Promise<void>;
}

/** An id for a row kind the core id registry does not list (same format: time-sortable). */
export function localId(prefix: 'chk' | 'inv', at: Date): string {
  return `${prefix}_${newId('task', at.getTime()).slice('task_'.length)}`;
}

/** Ledger idempotency keys of this module: namespaced so no client key can collide. */
export const ledgerKey = (...parts: Array<string | number>): string => `engagement:${parts.join(':')}`;
