import { randomUUID } from 'node:crypto';
import { actorLabel, type ProgramContext } from './context.js';
import { rawQuery, type Executor, type Trx } from '../db/database.js';
import { TtlCache } from './ttl-cache.js';

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
 * The batched form: every processed event of one ingestion call, in input order. A hook must
 * give each event the effect the single form would have given it, in that order; it is free to
 * share the reads the events have in common (configuration, members) between them.
 */
export type AfterEventsHook = (trx: Trx, ctx: ProgramContext, events: ProcessedEvent[]) => Promise<void>;

/**
 * A module's writes for one processed event, sent inside the event's own write statement rather
 * than in a round trip of their own: CTEs (data-modifying ones included) whose parameters are
 * numbered from the `first` the hook was given, their values, the name of the CTE that yields
 * the part's one result row, and what to do with that row (as JSON) after the statement, in the
 * same transaction. A module whose part was sent is not called again by afterEvents for it.
 */
export interface EventStatementPart {
  ctes: string;
  result: string;
  values: unknown[];
  finish(row: unknown): Promise<void>;
}

export type EventStatementHook = (trx: Trx, ctx: ProgramContext, event: ProcessedEvent, first: number) => Promise<EventStatementPart | null>;

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

/** Earning multipliers by paid plan (plan code → decimal rate) another module configures. */
export type PlanMultipliersProvider = (exec: Executor, ctx: ProgramContext) => Promise<Record<string, string>>;

/**
 * Extension points between modules, so a module reacts to another's changes without importing
 * its tables: tasks and medals progress on events, tiers move when growth arrives. Hooks run
 * inside the transaction of the change that triggers them: both commit, or neither.
 */
export class Hooks {
  private readonly afterEventHooks: Array<{ module: string; hook: AfterEventsHook }> = [];
  private readonly eventStatementHooks: Array<{ module: string; hook: EventStatementHook }> = [];
  private readonly factProviders: Array<{ module: string; provider: MemberFactsProvider }> = [];
  private readonly tierChangedHooks: Array<{ module: string; hook: TierChangedHook }> = [];
  private readonly planMultiplierProviders: Array<{ module: string; provider: PlanMultipliersProvider }> = [];

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

  /**
   * The plans module tells the earning rules each plan's multiplier; the rules engine applies the
   * best plan the member holds (its own `plans` multiplier policy), so nothing is computed twice.
   */
  onPlanMultipliers(module: string, provider: PlanMultipliersProvider): void {
    this.planMultiplierProviders.push({ module, provider });
  }

  async planMultipliers(exec: Executor, ctx: ProgramContext): Promise<Record<string, string>> {
    let merged: Record<string, string> = {};
    for (const { provider } of this.planMultiplierProviders) merged = { ...merged, ...(await provider(exec, ctx)) };
    return merged;
  }

  onAfterEvent(module: string, hook: AfterEventHook): void {
    this.afterEventHooks.push({
      module,
      hook: async (trx, ctx, events) => {
        for (const event of events) await hook(trx, ctx, event);
      },
    });
  }

  onAfterEvents(module: string, hook: AfterEventsHook): void {
    this.afterEventHooks.push({ module, hook });
  }

  async afterEvent(trx: Trx, ctx: ProgramContext, event: ProcessedEvent): Promise<void> {
    await this.afterEvents(trx, ctx, [event]);
  }

  /** `sent`: modules whose statement part for these events already went with their write. */
  async afterEvents(trx: Trx, ctx: ProgramContext, events: ProcessedEvent[], sent?: ReadonlySet<string>): Promise<void> {
    if (events.length === 0) return;
    for (const { module, hook } of this.afterEventHooks) if (!sent?.has(module)) await hook(trx, ctx, events);
  }

  /** The tiers module adds an award's metrics and upgrade to the event's own statement. */
  onEventStatement(module: string, hook: EventStatementHook): void {
    this.eventStatementHooks.push({ module, hook });
  }

  /** The parts other modules want sent with one event's write, parameters numbered from `first` on. */
  async eventStatementParts(trx: Trx, ctx: ProgramContext, event: ProcessedEvent, first: number): Promise<Array<{ module: string; part: EventStatementPart }>> {
    const parts: Array<{ module: string; part: EventStatementPart }> = [];
    let next = first;
    for (const { module, hook } of this.eventStatementHooks) {
      const part = await hook(trx, ctx, event, next);
      if (!part) continue;
      parts.push({ module, part });
      next += part.values.length;
    }
    return parts;
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

/** Per process and program, for a second: the message types active subscriptions want. */
const wanted = new TtlCache<Set<string>>(1_000);

/**
 * Whether any subscription of the program wants `type` ('*': every type). Most changes of most
 * programs have no subscriber: they skip the outbox statement. A subscription made in this
 * process counts at once (`forgetSubscriptions`); one made in another, within a second.
 */
async function subscribed(exec: Executor, programId: string, type: string): Promise<boolean> {
  const types = await wanted.get(programId, async () => {
    const { rows } = await rawQuery<{ types: string[] | null }>(
      exec,
      `select array(select distinct unnest(event_types) from webhook_subscriptions where program_id = $1 and active and deleted_at is null) as types`,
      [programId],
    );
    return new Set(rows[0]?.types ?? []);
  });
  return types.has(type) || types.has('*');
}

/** The webhooks module changed a program's subscriptions: read them afresh at the next message. */
export function forgetSubscriptions(programId: string): void {
  wanted.forget(programId);
}

/**
 * The outbox: a module announces a change to webhook subscribers by calling this inside the
 * transaction of the change (both commit, or neither). One row per subscription that wants the
 * type; without a subscriber nothing is written. The webhooks module delivers the rows.
 * `messageId` (default: random) is what receivers de-duplicate on; pass a stable one where the
 * same change could be announced twice.
 */
export async function emitMessage(
  trx: Executor,
  ctx: ProgramContext,
  type: string,
  payload: Record<string, unknown>,
  messageId: string = `msg_${randomUUID().replace(/-/g, '')}`,
): Promise<void> {
  if (!(await subscribed(trx, ctx.program.id, type))) return;
  const now = ctx.clock.now();
  await rawQuery(
    trx,
    `insert into webhook_outbox (message_id, program_id, subscription_id, type, payload, created_at, next_attempt_at)
     select $1, $2, s.id, $3, $4, $5, $5 from webhook_subscriptions s
     where s.program_id = $2 and s.active and s.deleted_at is null and ($3 = any(s.event_types) or '*' = any(s.event_types))
     on conflict (subscription_id, message_id) do nothing`,
    [messageId, ctx.program.id, type, JSON.stringify(payload), now],
  );
}

/**
 * Many messages of one type in one statement (a job's whole chunk): the set-based twin of
 * `emitMessage`, with the same outbox rows and the same de-duplication on `messageId`.
 */
export async function emitMessages(
  trx: Executor,
  ctx: ProgramContext,
  type: string,
  messages: Array<{ messageId: string; payload: Record<string, unknown> }>,
): Promise<void> {
  if (messages.length === 0 || !(await subscribed(trx, ctx.program.id, type))) return;
  await rawQuery(
    trx,
    `insert into webhook_outbox (message_id, program_id, subscription_id, type, payload, created_at, next_attempt_at)
     select m.id, $1, s.id, $2, m.payload::jsonb, $3, $3
     from unnest($4::text[], $5::text[]) as m(id, payload)
     join webhook_subscriptions s on s.program_id = $1 and s.active and s.deleted_at is null
       and ($2 = any(s.event_types) or '*' = any(s.event_types))
     on conflict (subscription_id, message_id) do nothing`,
    [ctx.program.id, type, ctx.clock.now(), messages.map((m) => m.messageId), messages.map((m) => JSON.stringify(m.payload))],
  );
}

/** A configuration change or manual adjustment, as the audit log records it. */
export interface AuditRecord {
  /** create, update, delete, adjust, … */
  action: string;
  /** rule, campaign, item, sku, webhook, adjustment, … */
  resourceType: string;
  resourceId: string;
  before?: unknown;
  after?: unknown;
}

/** Record who changed what, in the transaction of the change. */
export async function recordAudit(trx: Executor, ctx: ProgramContext, record: AuditRecord): Promise<void> {
  await rawQuery(
    trx,
    `insert into audit_log (program_id, actor, action, resource_type, resource_id, before, after, at)
     values ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      ctx.program.id,
      actorLabel(ctx.actor),
      record.action,
      record.resourceType,
      record.resourceId,
      record.before === undefined || record.before === null ? null : JSON.stringify(record.before),
      record.after === undefined || record.after === null ? null : JSON.stringify(record.after),
      ctx.clock.now(),
    ],
  );
}
