import type { ProgramContext } from './context.js';
import type { Trx } from '../db/database.js';

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

/**
 * Extension points between modules, so a module reacts to another's changes without importing
 * its tables: tasks and medals progress on events, tiers move when growth arrives. Hooks run
 * inside the transaction of the change that triggers them: both commit, or neither.
 */
export class Hooks {
  private readonly afterEventHooks: Array<{ module: string; hook: AfterEventHook }> = [];

  onAfterEvent(module: string, hook: AfterEventHook): void {
    this.afterEventHooks.push({ module, hook });
  }

  async afterEvent(trx: Trx, ctx: ProgramContext, event: ProcessedEvent): Promise<void> {
    for (const { hook } of this.afterEventHooks) await hook(trx, ctx, event);
  }
}
