import type { Kysely } from 'kysely';
import type { ProgramContext } from '../../core/context.js';
import type { ProcessedEvent } from '../../core/hooks.js';
import { rawQuery, type Trx } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import type { LedgerService, PointTypesService } from '../ledger/index.js';
import type { MembersService } from '../members/index.js';
import { CheckinService } from './checkin.service.js';
import { SIGNALS, type Behaviour, type EngagementBus } from './engagement.types.js';
import { InvitationsService } from './invitations.service.js';
import { MedalsService } from './medals.service.js';
import { TasksService } from './tasks.service.js';

export interface EngagementDeps {
  db: Kysely<DB>;
  ledger: LedgerService;
  members: MembersService;
  pointTypes: PointTypesService;
}

/** Signals fed back into tasks go this deep at most (a task on completed tasks, and no further). */
const MAX_DEPTH = 2;

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

  constructor(deps: EngagementDeps) {
    this.medals = new MedalsService(deps.db, deps.members);
    this.checkin = new CheckinService(deps.db, deps.ledger, deps.members, deps.pointTypes, this);
    this.tasks = new TasksService(deps.db, deps.ledger, deps.members, deps.pointTypes, this.medals, this);
    this.invitations = new InvitationsService(deps.db, deps.ledger, deps.members, deps.pointTypes, this);
  }

  /** The afterEvent hook: a processed behaviour event of a member. */
  async afterEvent(trx: Trx, ctx: ProgramContext, event: ProcessedEvent): Promise<void> {
    const { rows } = await rawQuery<{ status: string }>(trx, 'select status from members where id = $1 and program_id = $2', [event.memberId, ctx.program.id]);
    // A frozen or closed member makes no progress (and the ledger would refuse its rewards).
    if (rows[0]?.status !== 'active') return;
    const attributes = event.channel !== null && !('channel' in event.attributes) ? { ...event.attributes, channel: event.channel } : event.attributes;
    await this.behaviour(trx, ctx, event.memberId, { id: event.id, type: event.type, occurredAt: event.occurredAt, attributes }, 0);
    await this.invitations.onEvent(trx, ctx, event, attributes);
  }

  /** The tiers module reports a tier reached; tier medals move. */
  async tierReached(trx: Trx, ctx: ProgramContext, memberId: string, tier: { code: string; rank: number }): Promise<void> {
    await this.medals.onTierReached(trx, ctx, memberId, tier);
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
