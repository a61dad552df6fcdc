import type { Kysely } from 'kysely';
import { actorLabel, type ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { emitMessage, recordAudit } from '../../core/hooks.js';
import { newId } from '../../core/ids.js';
import { isUniqueViolation, rawQuery, type Executor, type Trx } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import type { MembersService } from '../members/index.js';
import { attributeAmount, checkConditions, matches } from './conditions.js';
import type { Behaviour } from './engagement.types.js';
import type { CreateMedalInput, Criterion, LevelInput, UpdateMedalInput } from './medals.schemas.js';

export interface MedalLevel {
  level: number;
  name: string;
  threshold: number | null;
  description: string | null;
}

export interface Medal {
  id: string;
  code: string;
  name: string;
  description: string | null;
  criterion: Criterion;
  levels: MedalLevel[];
  status: 'active' | 'archived';
  position: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface MemberMedal {
  medal: Pick<Medal, 'id' | 'code' | 'name' | 'description' | 'criterion'>;
  value: number;
  level: number;
  locked: boolean;
  levels: Array<{ level: number; name: string; threshold: number | null; awarded: boolean; awardedAt: Date | null }>;
  next: { level: number; name: string; threshold: number | null; remaining: number | null } | null;
}

export interface MedalAward {
  memberId: string;
  medal: string;
  level: number;
  awardedAt: Date;
  alreadyAwarded: boolean;
}

interface MedalRow {
  id: string;
  code: string;
  name: string;
  description: string | null;
  criterion: Criterion;
  levels: MedalLevel[];
  status: Medal['status'];
  position: number;
  created_at: Date;
  updated_at: Date;
}

function toMedal(r: MedalRow): Medal {
  return {
    id: r.id, code: r.code, name: r.name, description: r.description, criterion: r.criterion, levels: r.levels,
    status: r.status, position: r.position, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

/** How the value toward a medal moves: added to (counts, sums) or raised to (streaks, tiers). */
type Move = { add: number } | { atLeast: number };

/**
 * Medals: a metric per member and medal (`medal_progress`), and each level awarded once (the
 * primary key of `member_medals`) with its date, as soon as the metric reaches its threshold.
 */
export class MedalsService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly members: MembersService,
  ) {}

  // ---------------------------------------------------------------- configuration

  async create(ctx: ProgramContext, input: CreateMedalInput, trx: Trx): Promise<Medal> {
    const levels = this.checkLevels(input.criterion, input.levels);
    if ('conditions' in input.criterion && input.criterion.conditions) checkConditions(input.criterion.conditions, 'criterion.conditions');
    const now = ctx.clock.now();
    const eventType = 'eventType' in input.criterion ? input.criterion.eventType : null;
    try {
      const { rows } = await rawQuery<MedalRow>(
        trx,
        `insert into medals (id, program_id, code, name, description, criterion, criterion_kind, event_type, levels, status, position, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10, $11, $11) returning *`,
        [
          newId('medal', now.getTime()), ctx.program.id, input.code, input.name, input.description ?? null, JSON.stringify(input.criterion),
          input.criterion.kind, eventType, JSON.stringify(levels), input.position ?? 0, now,
        ],
      );
      const created = toMedal(rows[0]!);
      await recordAudit(trx, ctx, { action: 'create', resourceType: 'medal', resourceId: created.id, after: created });
      return created;
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('already_exists', `a medal with code "${input.code}" already exists`, { code: input.code });
      throw err;
    }
  }

  /** Levels may be renamed or re-thresholded; levels already awarded stay awarded. */
  async update(ctx: ProgramContext, ref: string, patch: UpdateMedalInput, trx: Trx): Promise<Medal> {
    const medal = await this.get(ctx, ref, trx, true);
    const levels = patch.levels ? this.checkLevels(medal.criterion, patch.levels) : medal.levels;
    const { rows } = await rawQuery<MedalRow>(
      trx,
      `update medals set name = $2, description = $3, levels = $4, status = $5, position = $6, updated_at = $7 where id = $1 returning *`,
      [
        medal.id, patch.name ?? medal.name, patch.description !== undefined ? patch.description : medal.description, JSON.stringify(levels),
        patch.status ?? medal.status, patch.position ?? medal.position, ctx.clock.now(),
      ],
    );
    const after = toMedal(rows[0]!);
    await recordAudit(trx, ctx, { action: 'update', resourceType: 'medal', resourceId: medal.id, before: medal, after });
    return after;
  }

  async list(ctx: ProgramContext): Promise<Medal[]> {
    const { rows } = await rawQuery<MedalRow>(this.db, 'select * from medals where program_id = $1 order by position, created_at, code', [ctx.program.id]);
    return rows.map(toMedal);
  }

  async get(ctx: ProgramContext, ref: string, exec: Executor = this.db, forUpdate = false): Promise<Medal> {
    const { rows } = await rawQuery<MedalRow>(
      exec,
      `select * from medals where program_id = $1 and (id = $2 or code = $2)${forUpdate ? ' for update' : ''}`,
      [ctx.program.id, ref],
    );
    if (!rows[0]) throw new AppError('medal_not_found', `medal ${ref} does not exist`, { medal: ref });
    return toMedal(rows[0]);
  }

  /** For tasks that award a medal: the medal and level must exist. */
  async checkLevel(ctx: ProgramContext, exec: Executor, code: string, level: number): Promise<void> {
    const medal = await this.get(ctx, code, exec);
    if (!medal.levels.some((l) => l.level === level)) {
      throw new AppError('validation_failed', `medal ${code} has no level ${level}`, { field: 'rewards.medal.level' });
    }
  }

  private checkLevels(criterion: Criterion, levels: LevelInput[]): MedalLevel[] {
    const manual = criterion.kind === 'manual';
    let previous = 0;
    return levels.map((l, i) => {
      if (!manual && l.threshold === undefined) {
        throw new AppError('validation_failed', `levels[${i}].threshold is required for a ${criterion.kind} medal`, { field: `levels[${i}].threshold` });
      }
      if (!manual && l.threshold! <= previous) {
        throw new AppError('validation_failed', 'level thresholds must rise strictly from one level to the next', { field: `levels[${i}].threshold` });
      }
      previous = l.threshold ?? previous;
      return { level: i + 1, name: l.name, threshold: manual ? null : l.threshold!, description: l.description ?? null };
    });
  }

  // ---------------------------------------------------------------- progress

  async onBehaviour(trx: Trx, ctx: ProgramContext, memberId: string, b: Behaviour): Promise<void> {
    const medals = await this.active(trx, ctx, ['event_count', 'attribute_sum'], b.type);
    for (const medal of medals) {
      const c = medal.criterion;
      if (c.kind !== 'event_count' && c.kind !== 'attribute_sum') continue;
      if (!matches(c.conditions ?? [], b.attributes)) continue;
      const step = c.kind === 'event_count' ? 1 : attributeAmount(b.attributes, c.attribute);
      if (step > 0) await this.move(trx, ctx, memberId, medal, { add: step }, { type: 'event', id: b.id, eventType: b.type });
    }
  }

  async onStreak(trx: Trx, ctx: ProgramContext, memberId: string, longest: number): Promise<void> {
    for (const medal of await this.active(trx, ctx, ['checkin_streak'])) {
      await this.move(trx, ctx, memberId, medal, { atLeast: longest }, { type: 'check_in_streak', streak: longest });
    }
  }

  async onTaskCompleted(trx: Trx, ctx: ProgramContext, memberId: string, task: { code: string }, period: string): Promise<void> {
    for (const medal of await this.active(trx, ctx, ['tasks_completed'])) {
      const c = medal.criterion;
      if (c.kind === 'tasks_completed' && c.taskCodes && !c.taskCodes.includes(task.code)) continue;
      await this.move(trx, ctx, memberId, medal, { add: 1 }, { type: 'task', task: task.code, period });
    }
  }

  /**
   * The tiers module (or anything that knows tiers) reports the tier a member has reached, with
   * its rank in the ladder (1 = lowest). A tier medal's level thresholds are ranks.
   */
  /**
   * Members reached tiers (a real-time upgrade, or a chunk of a scheduled evaluation with many
   * thousands): the tier medals are read once, and nothing more happens when there are none.
   * Member ids are the internal ones the tiers module reports.
   */
  async onTiersReached(trx: Trx, ctx: ProgramContext, reached: Array<{ memberId: string; tier: { code: string; rank: number } }>): Promise<void> {
    if (reached.length === 0) return;
    const medals = await this.active(trx, ctx, ['tier_reached']);
    for (const medal of medals) {
      for (const { memberId, tier } of reached) {
        await this.move(trx, ctx, memberId, medal, { atLeast: tier.rank }, { type: 'tier', tier: tier.code, rank: tier.rank });
      }
    }
  }

  /** Award one level outright (a task's reward, an operator's decision). Once per level. */
  async award(trx: Trx, ctx: ProgramContext, memberId: string, medalRef: string, level: number, source: Record<string, unknown>): Promise<MedalAward> {
    const medal = await this.get(ctx, medalRef, trx);
    if (!medal.levels.some((l) => l.level === level)) throw new AppError('validation_failed', `medal ${medal.code} has no level ${level}`, { field: 'level' });
    const now = ctx.clock.now();
    const inserted = await rawQuery(
      trx,
      `insert into member_medals (member_id, medal_id, level, program_id, awarded_at, source) values ($1, $2, $3, $4, $5, $6)
       on conflict do nothing`,
      [memberId, medal.id, level, ctx.program.id, now, JSON.stringify({ ...source, actor: actorLabel(ctx.actor) })],
    );
    const { rows } = await rawQuery<{ awarded_at: Date }>(
      trx,
      'select awarded_at from member_medals where member_id = $1 and medal_id = $2 and level = $3',
      [memberId, medal.id, level],
    );
    if (inserted.rowCount > 0) await emitMessage(trx, ctx, 'medal.awarded', { memberId, medal: medal.code, level, awardedAt: now }, `msg_medal_${medal.id}_${memberId}_${level}`);
    return { memberId, medal: medal.code, level, awardedAt: rows[0]!.awarded_at, alreadyAwarded: inserted.rowCount === 0 };
  }

  async awardByOperator(ctx: ProgramContext, memberRef: string, medalRef: string, level: number, reason: string, trx: Trx): Promise<MedalAward> {
    const member = await this.members.get(ctx, memberRef, trx);
    const award = await this.award(trx, ctx, member.id, medalRef, level, { type: 'manual', reason });
    await recordAudit(trx, ctx, { action: 'award', resourceType: 'member_medal', resourceId: member.id, after: { ...award, reason } });
    return award;
  }

  private async active(exec: Executor, ctx: ProgramContext, kinds: string[], eventType?: string): Promise<Medal[]> {
    const { rows } = await rawQuery<MedalRow>(
      exec,
      `select * from medals where program_id = $1 and status = 'active' and criterion_kind = any($2::text[])
         and ($3::text is null or event_type = $3) order by position, code`,
      [ctx.program.id, kinds, eventType ?? null],
    );
    return rows.map(toMedal);
  }

  private async move(trx: Trx, ctx: ProgramContext, memberId: string, medal: Medal, move: Move, source: Record<string, unknown>): Promise<void> {
    const now = ctx.clock.now();
    const add = 'add' in move;
    const amount = add ? move.add : move.atLeast;
    const { rows } = await rawQuery<{ value: number }>(
      trx,
      `insert into medal_progress as p (member_id, medal_id, program_id, value, updated_at) values ($1, $2, $3, $4, $5)
       on conflict (member_id, medal_id) do update set
         value = case when $6 then p.value + excluded.value else greatest(p.value, excluded.value) end, updated_at = excluded.updated_at
       returning value`,
      [memberId, medal.id, ctx.program.id, amount, now, add],
    );
    const value = rows[0]!.value;
    const reached = medal.levels.filter((l) => l.threshold !== null && l.threshold <= value).map((l) => l.level);
    if (reached.length === 0) return;
    const awarded = await rawQuery<{ level: number }>(
      trx,
      `insert into member_medals (member_id, medal_id, level, program_id, awarded_at, source)
       select $1, $2, lvl, $3, $4, $5 from unnest($6::int[]) as lvl
       on conflict do nothing returning level`,
      [memberId, medal.id, ctx.program.id, now, JSON.stringify({ ...source, value }), reached],
    );
    for (const { level } of awarded.rows) await emitMessage(trx, ctx, 'medal.awarded', { memberId, medal: medal.code, level, awardedAt: now }, `msg_medal_${medal.id}_${memberId}_${level}`);
  }

  /** A member's collection: every active medal (and any held), with levels, dates and progress. */
  async forMember(ctx: ProgramContext, memberRef: string): Promise<MemberMedal[]> {
    const member = await this.members.get(ctx, memberRef);
    const { rows } = await rawQuery<MedalRow & { value: number | null; awards: Array<{ level: number; awarded_at: string }> | null }>(
      this.db,
      `select m.*, p.value,
         (select json_agg(json_build_object('level', a.level, 'awarded_at', a.awarded_at)) from member_medals a
           where a.member_id = $2 and a.medal_id = m.id) as awards
       from medals m
       left join medal_progress p on p.member_id = $2 and p.medal_id = m.id
       where m.program_id = $1
         and (m.status = 'active' or exists (select 1 from member_medals a where a.member_id = $2 and a.medal_id = m.id))
       order by m.position, m.created_at, m.code`,
      [ctx.program.id, member.id],
    );
    return rows.map((r) => {
      const value = r.value ?? 0;
      const awarded = new Map((r.awards ?? []).map((a) => [a.level, new Date(a.awarded_at)]));
      const levels = r.levels.map((l) => ({ level: l.level, name: l.name, threshold: l.threshold, awarded: awarded.has(l.level), awardedAt: awarded.get(l.level) ?? null }));
      const level = Math.max(0, ...[...awarded.keys()]);
      const nextLevel = levels.find((l) => !l.awarded && l.level > level);
      return {
        medal: { id: r.id, code: r.code, name: r.name, description: r.description, criterion: r.criterion },
        value,
        level,
        locked: awarded.size === 0,
        levels,
        next: nextLevel
          ? { level: nextLevel.level, name: nextLevel.name, threshold: nextLevel.threshold, remaining: nextLevel.threshold === null ? null : Math.max(nextLevel.threshold - value, 0) }
          : null,
      };
    });
  }
}
