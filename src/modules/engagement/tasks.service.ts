import type { Kysely } from 'kysely';
import type { ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { emitMessage, recordAudit } from '../../core/hooks.js';
import { newId } from '../../core/ids.js';
import { isUniqueViolation, rawQuery, type Executor, type Trx } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import type { LedgerService, PointTypesService } from '../ledger/index.js';
import type { MembersService } from '../members/index.js';
import { attributeAmount, checkConditions, matches, type Condition } from './conditions.js';
import { ledgerKey, type Behaviour, type EngagementBus, type PaidReward } from './engagement.types.js';
import { periodOf, type Period, type Recurrence } from './periods.js';
import type { CreateTaskInput, TaskRewards, UpdateTaskInput } from './tasks.schemas.js';
import type { BenefitGranter } from './engagement.service.js';

export interface Task {
  id: string;
  code: string;
  name: string;
  description: string | null;
  recurrence: Recurrence;
  eventType: string;
  conditions: Condition[];
  measure: 'count' | 'sum';
  sumAttribute: string | null;
  target: number;
  rewards: TaskRewards;
  claim: 'auto' | 'manual';
  startsAt: Date | null;
  endsAt: Date | null;
  status: 'active' | 'paused' | 'archived';
  position: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export type TaskStatus = 'in_progress' | 'completed' | 'rewarded';

export interface MemberTask {
  task: Pick<Task, 'id' | 'code' | 'name' | 'description' | 'recurrence' | 'target' | 'claim' | 'rewards' | 'endsAt'>;
  period: Period;
  progress: number;
  target: number;
  status: TaskStatus;
  claimable: boolean;
  completedAt: Date | null;
  rewardedAt: Date | null;
}

export interface TaskReward {
  taskId: string;
  memberId: string;
  period: string;
  rewards: PaidReward[];
  medal: { code: string; level: number } | null;
  benefits: Array<{ code: string; entitlementIds: string[] }>;
  rewardedAt: Date;
  alreadyClaimed: boolean;
}

interface TaskRow {
  id: string;
  code: string;
  name: string;
  description: string | null;
  recurrence: Recurrence;
  event_type: string;
  conditions: Condition[];
  measure: 'count' | 'sum';
  sum_attribute: string | null;
  target: number;
  rewards: TaskRewards;
  claim: 'auto' | 'manual';
  starts_at: Date | null;
  ends_at: Date | null;
  status: Task['status'];
  position: number;
  version: number;
  created_at: Date;
  updated_at: Date;
}

interface ProgressRow {
  progress: number;
  target: number;
  status: TaskStatus;
  completed_at: Date | null;
  rewarded_at: Date | null;
  rewards: { paid: PaidReward[]; medal: { code: string; level: number } | null; benefits?: Array<{ code: string; entitlementIds: string[] }> } | null;
}

function toTask(r: TaskRow): Task {
  return {
    id: r.id, code: r.code, name: r.name, description: r.description, recurrence: r.recurrence, eventType: r.event_type,
    conditions: r.conditions, measure: r.measure, sumAttribute: r.sum_attribute, target: r.target, rewards: r.rewards,
    claim: r.claim, startsAt: r.starts_at, endsAt: r.ends_at, status: r.status, position: r.position, version: r.version,
    createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

/** Medals a task may award are checked through this port (the medals part of the module). */
export interface MedalLookup {
  checkLevel(ctx: ProgramContext, exec: Executor, code: string, level: number): Promise<void>;
}

/**
 * Tasks: one-time and recurring goals fed by behaviours. A member's progress is one row per task
 * and period, changed by a single upsert that also flips it to completed when the target is
 * reached, so batched or concurrent events never lose a step or complete a task twice. Rewards
 * go through the ledger with a key per task, period and point type: paid once.
 */
export class TasksService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly ledger: LedgerService,
    private readonly members: MembersService,
    private readonly pointTypes: PointTypesService,
    private readonly medals: MedalLookup,
    private readonly bus: EngagementBus,
    private readonly benefits?: BenefitGranter | undefined,
  ) {}

  // ---------------------------------------------------------------- configuration

  async create(ctx: ProgramContext, input: CreateTaskInput, trx: Trx): Promise<Task> {
    const measure = input.measure ?? 'count';
    if (measure === 'sum' && !input.sumAttribute) throw new AppError('validation_failed', 'sumAttribute is required when measure is "sum"', { field: 'sumAttribute' });
    if (measure === 'count' && input.sumAttribute) throw new AppError('validation_failed', 'sumAttribute is only for measure "sum"', { field: 'sumAttribute' });
    await this.checkCommon(ctx, trx, input.conditions ?? [], input.rewards, input.startsAt ?? null, input.endsAt ?? null);
    const now = ctx.clock.now();
    try {
      const { rows } = await rawQuery<TaskRow>(
        trx,
        `insert into tasks (id, program_id, code, name, description, recurrence, event_type, conditions, measure, sum_attribute, target,
           rewards, claim, starts_at, ends_at, status, position, version, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 1, $18, $18) returning *`,
        [
          newId('task', now.getTime()), ctx.program.id, input.code, input.name, input.description ?? null, input.recurrence, input.eventType,
          JSON.stringify(input.conditions ?? []), measure, input.sumAttribute ?? null, input.target, JSON.stringify(input.rewards),
          input.claim ?? 'auto', input.startsAt ?? null, input.endsAt ?? null, input.status ?? 'active', input.position ?? 0, now,
        ],
      );
      const created = toTask(rows[0]!);
      await recordAudit(trx, ctx, { action: 'create', resourceType: 'task', resourceId: created.id, after: created });
      return created;
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('already_exists', `a task with code "${input.code}" already exists`, { code: input.code });
      throw err;
    }
  }

  /** Changes apply from now on; a period already started keeps the target it started with. */
  async update(ctx: ProgramContext, ref: string, patch: UpdateTaskInput, trx: Trx): Promise<Task> {
    const task = await this.get(ctx, ref, trx, true);
    const startsAt = patch.startsAt !== undefined ? patch.startsAt : task.startsAt?.toISOString() ?? null;
    const endsAt = patch.endsAt !== undefined ? patch.endsAt : task.endsAt?.toISOString() ?? null;
    await this.checkCommon(ctx, trx, patch.conditions ?? task.conditions, patch.rewards ?? task.rewards, startsAt, endsAt);
    const { rows } = await rawQuery<TaskRow>(
      trx,
      `update tasks set name = $2, description = $3, conditions = $4, target = $5, rewards = $6, claim = $7, starts_at = $8, ends_at = $9,
         status = $10, position = $11, version = version + 1, updated_at = $12
       where id = $1 returning *`,
      [
        task.id, patch.name ?? task.name, patch.description !== undefined ? patch.description : task.description,
        JSON.stringify(patch.conditions ?? task.conditions), patch.target ?? task.target, JSON.stringify(patch.rewards ?? task.rewards),
        patch.claim ?? task.claim, startsAt, endsAt, patch.status ?? task.status, patch.position ?? task.position, ctx.clock.now(),
      ],
    );
    const after = toTask(rows[0]!);
    await recordAudit(trx, ctx, { action: 'update', resourceType: 'task', resourceId: task.id, before: task, after });
    return after;
  }

  async list(ctx: ProgramContext, filter: { status?: string | undefined } = {}): Promise<Task[]> {
    const { rows } = await rawQuery<TaskRow>(
      this.db,
      `select * from tasks where program_id = $1 and ($2::text is null or status = $2) order by position, created_at, code`,
      [ctx.program.id, filter.status ?? null],
    );
    return rows.map(toTask);
  }

  async get(ctx: ProgramContext, ref: string, exec: Executor = this.db, forUpdate = false): Promise<Task> {
    const { rows } = await rawQuery<TaskRow>(
      exec,
      `select * from tasks where program_id = $1 and (id = $2 or code = $2)${forUpdate ? ' for update' : ''}`,
      [ctx.program.id, ref],
    );
    if (!rows[0]) throw new AppError('task_not_found', `task ${ref} does not exist`, { task: ref });
    return toTask(rows[0]);
  }

  private async checkCommon(
    ctx: ProgramContext, exec: Executor, conditions: Condition[], rewards: TaskRewards, startsAt: string | null, endsAt: string | null,
  ): Promise<void> {
    checkConditions(conditions, 'conditions');
    if (startsAt && endsAt && new Date(startsAt).getTime() >= new Date(endsAt).getTime()) {
      throw new AppError('validation_failed', 'endsAt must be after startsAt', { field: 'endsAt' });
    }
    if (!rewards.points?.length && !rewards.medal && !rewards.benefits?.length) {
      throw new AppError('validation_failed', 'a task rewards points, a medal or a benefit', { field: 'rewards' });
    }
    for (const b of rewards.benefits ?? []) {
      if (!this.benefits) throw new AppError('validation_failed', 'benefit rewards need the benefits module', { field: 'rewards.benefits' });
      await this.benefits.get(ctx, b.code, exec);
    }
    const seen = new Set<string>();
    for (const p of rewards.points ?? []) {
      if (seen.has(p.pointType)) throw new AppError('validation_failed', `rewards.points names "${p.pointType}" twice`, { field: 'rewards.points' });
      seen.add(p.pointType);
      await this.pointTypes.get(ctx, p.pointType, exec);
    }
    if (rewards.medal) await this.medals.checkLevel(ctx, exec, rewards.medal.code, rewards.medal.level ?? 1);
  }

  // ---------------------------------------------------------------- progress

  /** Feed one behaviour of an active member to every task it matches. */
  async onBehaviour(trx: Trx, ctx: ProgramContext, memberId: string, b: Behaviour, depth: number): Promise<void> {
    const { rows } = await rawQuery<TaskRow>(
      trx,
      `select * from tasks where program_id = $1 and event_type = $2 and status = 'active'
         and (starts_at is null or starts_at <= $3) and (ends_at is null or ends_at > $3)
       order by position, code`,
      [ctx.program.id, b.type, b.occurredAt],
    );
    const now = ctx.clock.now();
    for (const r of rows) {
      const task = toTask(r);
      if (!matches(task.conditions, b.attributes)) continue;
      const step = task.measure === 'count' ? 1 : attributeAmount(b.attributes, task.sumAttribute!);
      if (step <= 0) continue;
      // Late events count toward the period they happened in.
      const period = periodOf(task.recurrence, b.occurredAt, ctx.program.timeZone).key;
      const { rows: changed } = await rawQuery<{ status: TaskStatus }>(
        trx,
        `insert into task_progress as p (member_id, task_id, period, program_id, progress, target, status, completed_at, updated_at)
         values ($1, $2, $3, $4, least($5::bigint, $6::bigint), $6, case when $5::bigint >= $6::bigint then 'completed' else 'in_progress' end,
           case when $5::bigint >= $6::bigint then $7::timestamptz end, $7)
         on conflict (member_id, task_id, period) do update set
           progress = least(p.progress + $5::bigint, p.target),
           status = case when p.progress + $5::bigint >= p.target then 'completed' else 'in_progress' end,
           completed_at = case when p.progress + $5::bigint >= p.target then $7::timestamptz end,
           updated_at = $7
         where p.status = 'in_progress'
         returning status`,
        [memberId, task.id, period, ctx.program.id, step, task.target, now],
      );
      if (changed[0]?.status !== 'completed') continue;
      await emitMessage(trx, ctx, 'task.completed', { taskId: task.id, code: task.code, memberId, period }, `msg_task_${task.id}_${memberId}_${period}`);
      if (task.claim === 'auto') await this.reward(trx, ctx, memberId, task, period);
      await this.bus.taskCompleted(trx, ctx, memberId, { id: task.id, code: task.code }, period, depth);
    }
  }

  async claim(ctx: ProgramContext, memberRef: string, taskRef: string, periodKey: string | undefined, trx: Trx): Promise<TaskReward> {
    const member = await this.members.get(ctx, memberRef, trx);
    if (member.status !== 'active') throw new AppError('member_inactive', `member ${member.id} is ${member.status}`, { status: member.status });
    const task = await this.get(ctx, taskRef, trx);
    const period = periodKey ?? periodOf(task.recurrence, ctx.clock.now(), ctx.program.timeZone).key;
    const { rows } = await rawQuery<ProgressRow>(
      trx,
      'select * from task_progress where member_id = $1 and task_id = $2 and period = $3 for update',
      [member.id, task.id, period],
    );
    const row = rows[0];
    if (row?.status === 'rewarded') return this.toReward(member.id, task.id, period, row, true);
    // A completion left unclaimed stays claimable even if the task has since turned automatic.
    if (row?.status !== 'completed' && task.claim === 'auto') {
      throw new AppError('task_not_claimable', `task ${task.code} is rewarded automatically on completion`, { reason: 'automatic', task: task.code });
    }
    if (!row || row.status !== 'completed') {
      throw new AppError('task_not_claimable', `task ${task.code} is not completed for period ${period}`, {
        reason: 'not_completed', task: task.code, period, progress: row?.progress ?? 0, target: row?.target ?? task.target,
      });
    }
    return this.reward(trx, ctx, member.id, task, period);
  }

  private async reward(trx: Trx, ctx: ProgramContext, memberId: string, task: Task, period: string): Promise<TaskReward> {
    const now = ctx.clock.now();
    const paid: PaidReward[] = [];
    for (const p of task.rewards.points ?? []) {
      const txn = await this.ledger.earn(
        ctx,
        {
          member: memberId, pointType: p.pointType, amount: p.amount,
          idempotencyKey: ledgerKey('task', task.id, period, p.pointType),
          source: { type: 'task', id: task.id },
          reason: `task "${task.name}" completed${task.recurrence === 'once' ? '' : ` (${period})`}`,
          details: { task: task.code, taskVersion: task.version, recurrence: task.recurrence, period, target: task.target, measure: task.measure },
        },
        trx,
      );
      paid.push({ pointType: p.pointType, amount: p.amount, transactionId: txn.id });
    }
    const medal = task.rewards.medal ? { code: task.rewards.medal.code, level: task.rewards.medal.level ?? 1 } : null;
    if (medal) await this.bus.awardMedal(trx, ctx, memberId, medal.code, medal.level, { type: 'task', task: task.code, period });
    const benefits: Array<{ code: string; entitlementIds: string[] }> = [];
    for (const b of task.rewards.benefits ?? []) {
      if (!this.benefits) break;
      const granted = await this.benefits.grant(trx, ctx, {
        memberId,
        benefitCode: b.code,
        quantity: b.quantity ?? 1,
        source: { type: 'task', id: task.id },
        idempotencyKey: ledgerKey('task', task.id, period, `benefit:${b.code}`),
      });
      benefits.push({ code: b.code, entitlementIds: granted.entitlements.map((e) => e.id) });
    }
    const { rows } = await rawQuery<ProgressRow>(
      trx,
      `update task_progress set status = 'rewarded', rewarded_at = $4, rewards = $5, updated_at = $4
       where member_id = $1 and task_id = $2 and period = $3 and status = 'completed' returning *`,
      [memberId, task.id, period, now, JSON.stringify({ paid, medal, benefits })],
    );
    if (!rows[0]) throw new Error(`task progress ${task.id}/${period} of ${memberId} was not completed when rewarded`);
    return this.toReward(memberId, task.id, period, rows[0], false);
  }

  private toReward(memberId: string, taskId: string, period: string, row: ProgressRow, again: boolean): TaskReward {
    return {
      taskId, memberId, period, rewards: row.rewards?.paid ?? [], medal: row.rewards?.medal ?? null, benefits: row.rewards?.benefits ?? [],
      rewardedAt: row.rewarded_at!, alreadyClaimed: again,
    };
  }

  /** A member's tasks open now, each with its current period's progress and what it pays. */
  async forMember(ctx: ProgramContext, memberRef: string): Promise<MemberTask[]> {
    const member = await this.members.get(ctx, memberRef);
    const now = ctx.clock.now();
    const zone = ctx.program.timeZone;
    const periods = { once: periodOf('once', now, zone), daily: periodOf('daily', now, zone), weekly: periodOf('weekly', now, zone), monthly: periodOf('monthly', now, zone) };
    const { rows } = await rawQuery<TaskRow & { p_progress: number | null; p_target: number | null; p_status: TaskStatus | null; p_completed_at: Date | null; p_rewarded_at: Date | null }>(
      this.db,
      `select t.*, p.progress as p_progress, p.target as p_target, p.status as p_status, p.completed_at as p_completed_at, p.rewarded_at as p_rewarded_at
       from tasks t
       left join task_progress p on p.member_id = $2 and p.task_id = t.id
         and p.period = case t.recurrence when 'once' then 'once' when 'daily' then $4 when 'weekly' then $5 else $6 end
       where t.program_id = $1 and t.status = 'active' and (t.starts_at is null or t.starts_at <= $3) and (t.ends_at is null or t.ends_at > $3)
       order by t.position, t.created_at, t.code`,
      [ctx.program.id, member.id, now, periods.daily.key, periods.weekly.key, periods.monthly.key],
    );
    return rows.map((r) => {
      const status = r.p_status ?? 'in_progress';
      return {
        task: { id: r.id, code: r.code, name: r.name, description: r.description, recurrence: r.recurrence, target: r.target, claim: r.claim, rewards: r.rewards, endsAt: r.ends_at },
        period: periods[r.recurrence],
        progress: r.p_progress ?? 0,
        target: r.p_target ?? r.target,
        status,
        claimable: status === 'completed' && r.claim === 'manual',
        completedAt: r.p_completed_at,
        rewardedAt: r.p_rewarded_at,
      };
    });
  }
}
