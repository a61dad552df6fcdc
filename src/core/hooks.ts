import type { ProgramContext } from './context.js';
import type { Executor, Trx } from '../db/database.js';

/** A behaviour event after the earning rules have run on it, as other modules see it. */
export interface ProcessedEvent {
  id: string;
  externalId: string;
  type: string;
  occurredAt: Date;
  channel: string | null;
  attributes: Record<string, unknown>;
  memberId: string;
  /** what the rules awarded, per point type (smallest units) */
  totals: Record<string, number>;
}

export type AfterEventHook = (trx: Trx, ctx: ProgramContext, event: ProcessedEvent) => Promise<void>;

/** What other modules know of members that earning rules may target (tier, paid plans, segments). */
export interface MemberFacts {
  tierCode?: string | null;
  planCodes?: string[];
  segments?: string[];
}

/** A member's effective tier moved (up, down, onto or off an override), as other modules see it. */
export interface TierChange {
  memberId: string;
  ladderId: string;
  from: { code: string; rank: number } | null;
  to: { code: string; rank: number } | null;
  /** where the new tier comes from: qualified, purchased, manual, lifetime */
  source: string;
  /** event, evaluation, validity_end, metric, manual, manual_end, purchase, purchase_end, lifetime */
  cause: string;
  validUntil: Date | null;
  at: Date;
}

/** Called with every change one transaction makes (a scheduled evaluation passes a whole chunk). */
export type TierChangedHook = (trx: Trx, ctx: ProgramContext, changes: TierChange[]) => Promise<void>;

export type MemberFactsProvider = (exec: Executor, ctx: ProgramContext, memberIds: string[]) => Promise<Map<string, MemberFacts>>;

/**
 * Extension points between modules, so a module reacts to another's changes without importing
 * its tables: tasks and medals progress on events, tiers move when growth arrives. Hooks run
 * inside the transaction of the change that triggers them: both commit, or neither.
 */
export class Hooks {
  private readonly afterEventHooks: Array<{ module: string; hook: AfterEventHook }> = [];
  private readonly factProviders: Array<{ module: string; provider: MemberFactsProvider }> = [];
  private readonly tierChangedHooks: Array<{ module: string; hook: TierChangedHook }> = [];

  /** The tiers module tells rules the member's tier; the plans module, the member's plans. */
  onMemberFacts(module: string, provider: MemberFactsProvider): void {
    this.factProviders.push({ module, provider });
  }

  async memberFacts(exec: Executor, ctx: ProgramContext, memberIds: string[]): Promise<Map<string, MemberFacts>> {
    const merged = new Map<string, MemberFacts>();
    for (const { provider } of this.factProviders) {
      for (const [id, facts] of await provider(exec, ctx, memberIds)) merged.set(id, { ...merged.get(id), ...facts });
    }
    return merged;
  }

  onAfterEvent(module: string, hook: AfterEventHook): void {
    this.afterEventHooks.push({ module, hook });
  }

  async afterEvent(trx: Trx, ctx: ProgramContext, event: ProcessedEvent): Promise<void> {
    for (const { hook } of this.afterEventHooks) await hook(trx, ctx, event);
  }

  /** Benefits (and later plans) react to tier movement: grant on entry, revoke on downgrade. */
  onTierChanged(module: string, hook: TierChangedHook): void {
    this.tierChangedHooks.push({ module, hook });
  }

  hasTierChangedHooks(): boolean {
    return this.tierChangedHooks.length > 0;
  }

  async tierChanged(trx: Trx, ctx: ProgramContext, changes: TierChange[]): Promise<void> {
    if (changes.length === 0) return;
    for (const { hook } of this.tierChangedHooks) await hook(trx, ctx, changes);
  }
}
