import type { Kysely } from 'kysely';
import type { ProgramContext } from '../../core/context.js';
import type { ProcessedEvent } from '../../core/hooks.js';
import { TtlCache } from '../../core/ttl-cache.js';
import { rawQuery, type Executor, type Trx } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import type { LedgerService, PointTypesService } from '../ledger/index.js';
import type { MembersService } from '../members/index.js';
import { CheckinService } from './checkin.service.js';
import { SIGNALS, type Behaviour, type EngagementBus } from './engagement.types.js';
import { InvitationsService } from './invitations.service.js';
import { MedalsService } from './medals.service.js';
import { TasksService } from './tasks.service.js';

/** The part of the benefits module that task rewards use (grants are idempotent by key). */
export interface BenefitGranter {
  get(ctx: ProgramContext, code: string, exec?: Executor): Promise<unknown>;
  grant(
    trx: Trx,
    ctx: ProgramContext,
    input: { memberId: string; benefitCode: string; quantity?: number; source?: { type: string; id: string }; idempotencyKey: string },
  ): Promise<{ entitlements: Array<{ id: string }> }>;
}

export interface EngagementDeps {
  db: Kysely<DB>;
  ledger: LedgerService;
  members: MembersService;
  pointTypes: PointTypesService;
  benefits?: BenefitGranter | undefined;
}

/** Signals fed back into tasks go this deep at most (a task on completed tasks, and no further). */
const MAX_DEPTH = 2;

interface Interest {
  /** event types active tasks and medals count */
  types: Set<string>;
  invitations: boolean;
  /** an active medal counts tiers reached */
  tierMedals: boolean;
}

/**
 * The engagement module's service: check-in, tasks, medals and invitations, and the one entry
 * point for behaviour events (`afterEvent`, registered on the earning pipeline's hook). Every
 * change happens inside the caller's transaction: the event, its progress and its rewards commit
 * together or not at all.
 */
export class EngagementService implements EngagementBus {
  readonly checkin: CheckinService;
  readonly tasks: TasksService;
  readonly medals: MedalsService;
  readonly invitations: InvitationsService;
  /** per program: what its tasks, medals and invitations listen to */
  private readonly interest = new TtlCache<Interest>(1_000);

  constructor(deps: EngagementDeps) {
    this.medals = new MedalsService(deps.db, deps.members);
    this.checkin = new CheckinService(deps.db, deps.ledger, deps.members, deps.pointTypes, this);
    this.tasks = new TasksService(deps.db, deps.ledger, deps.members, deps.pointTypes, this.medals, this, deps.benefits);
    this.invitations = new InvitationsService(deps.db, deps.ledger, deps.members, deps.pointTypes, this);
    // A change of tasks, medals or invitation settings takes effect in this process at once.
    const forgetting = <A extends unknown[], R>(fn: (ctx: ProgramContext, ...rest: A) => Promise<R>) =>
      async (ctx: ProgramContext, ...rest: A): Promise<R> => {
        this.interest.forget(ctx.program.id);
        const result = await fn(ctx, ...rest);
        this.interest.forget(ctx.program.id);
        return result;
      };
    this.tasks.create = forgetting(this.tasks.create.bind(this.tasks));
    this.tasks.update = forgetting(this.tasks.update.bind(this.tasks));
    this.medals.create = forgetting(this.medals.create.bind(this.medals));
    this.medals.update = forgetting(this.medals.update.bind(this.medals));
    this.invitations.putSettings = forgetting(this.invitations.putSettings.bind(this.invitations));
  }

  /** The afterEvent hook: a processed behaviour event of a member. */
  async afterEvent(trx: Trx, ctx: ProgramContext, event: ProcessedEvent): Promise<void> {
    await this.afterEvents(trx, ctx, [event]);
  }

  /** The batched afterEvent hook: each event in order, with one read of its members' statuses. */
  async afterEvents(trx: Trx, ctx: ProgramContext, events: ProcessedEvent[]): Promise<void> {
    // Most events of most programs move no task, medal or invitation: skip them without a query.
    const relevant: ProcessedEvent[] = [];
    const interest = await this.interestOf(trx, ctx);
    for (const event of events) if (interest.invitations || interest.types.has(event.type)) relevant.push(event);
    if (relevant.length === 0) return;
    const { rows } = await rawQuery<{ id: string; status: string }>(
      trx,
      'select id, status from members where id = any($1::text[]) and program_id = $2',
      [[...new Set(relevant.map((e) => e.memberId))], ctx.program.id],
    );
    const status = new Map(rows.map((r) => [r.id, r.status]));
    for (const event of relevant) {
      // A frozen or closed member makes no progress (and the ledger would refuse its rewards).
      if (status.get(event.memberId) !== 'active') continue;
      const attributes = event.channel !== null && !('channel' in event.attributes) ? { ...event.attributes, channel: event.channel } : event.attributes;
      await this.behaviour(trx, ctx, event.memberId, { id: event.id, type: event.type, occurredAt: event.occurredAt, attributes }, 0);
      await this.invitations.onEvent(trx, ctx, event, attributes);
    }
  }

  /**
   * The event types this program's active tasks and medals count, whether invitations are on
   * (their qualifying action may be any type), and whether a medal counts tiers reached. Cached
   * per process for a second: a configuration change takes effect everywhere within that time.
   */
  private interestOf(exec: Trx, ctx: ProgramContext): Promise<Interest> {
    return this.interest.get(ctx.program.id, async () => {
      const { rows } = await rawQuery<{ types: string[] | null; invitations: boolean; tier_medals: boolean }>(
        exec,
        `select array(
           select event_type from tasks where program_id = $1 and status = 'active' and event_type is not null
           union select event_type from medals where program_id = $1 and status = 'active' and event_type is not null) as types,
         exists(select 1 from invitation_settings where program_id = $1) as invitations,
         exists(select 1 from medals where program_id = $1 and status = 'active' and criterion_kind = 'tier_reached') as tier_medals`,
        [ctx.program.id],
      );
      const row = rows[0];
      return { types: new Set(row?.types ?? []), invitations: row?.invitations ?? false, tierMedals: row?.tier_medals ?? false };
    });
  }

  /** The tiers module reports a tier reached; tier medals move. */
  async tiersReached(trx: Trx, ctx: ProgramContext, reached: Array<{ memberId: string; tier: { code: string; rank: number } }>): Promise<void> {
    if (reached.length === 0 || !(await this.interestOf(trx, ctx)).tierMedals) return;
    await this.medals.onTiersReached(trx, ctx, reached);
  }

  // ---------------------------------------------------------------- the bus between the parts

  async behaviour(trx: Trx, ctx: ProgramContext, memberId: string, b: Behaviour, depth: number): Promise<void> {
    await this.tasks.onBehaviour(trx, ctx, memberId, b, depth);
    await this.medals.onBehaviour(trx, ctx, memberId, b);
  }

  async streak(trx: Trx, ctx: ProgramContext, memberId: string, longest: number): Promise<void> {
    await this.medals.onStreak(trx, ctx, memberId, longest);
  }

  async taskCompleted(trx: Trx, ctx: ProgramContext, memberId: string, task: { id: string; code: string }, period: string, depth: number): Promise<void> {
    await this.medals.onTaskCompleted(trx, ctx, memberId, task, period);
    if (depth + 1 >= MAX_DEPTH) return;
    await this.behaviour(
      trx, ctx, memberId,
      { id: `${task.id}:${period}`, type: SIGNALS.taskCompleted, occurredAt: ctx.clock.now(), attributes: { task: task.code, period } },
      depth + 1,
    );
  }

  async awardMedal(trx: Trx, ctx: ProgramContext, memberId: string, medalCode: string, level: number, source: Record<string, unknown>): Promise<void> {
    await this.medals.award(trx, ctx, memberId, medalCode, level, source);
  }
}
