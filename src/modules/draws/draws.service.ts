import type { Kysely } from 'kysely';
import type { ProgramContext } from '../../core/context.js';
import { recordAudit } from '../../core/hooks.js';
import { AppError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { decodeCursor, pageLimit, toPage, type Page, type PageRequest } from '../../core/pagination.js';
import { localDate } from '../../core/zoned-time.js';
import { isUniqueViolation, rawQuery, type Executor, type Trx } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import type { BenefitsService } from '../benefits/index.js';
import type { LedgerService } from '../ledger/index.js';
import type { MallService, ShippingAddress } from '../mall/index.js';
import { memberNotFound, memberRef, type MembersService } from '../members/index.js';
import { pickByValue, drawRandom, totalWeight } from './draws.random.js';

export type Presentation = 'wheel' | 'slot' | 'scratch' | 'blind_box';
export type PrizeKind = 'points' | 'item' | 'benefit' | 'thanks';
export type DrawStatus = 'draft' | 'active' | 'paused' | 'ended';

export interface Prize {
  id: string;
  name: string;
  kind: PrizeKind;
  weight: number;
  /** the published chance of drawing this prize: weight / total weight */
  probability: number;
  /** null: unlimited */
  stock: number | null;
  awarded: number;
  points: number | null;
  skuId: string | null;
  benefitId: string | null;
  limitPerMember: number | null;
  fallback: boolean;
  sortOrder: number;
}

export interface Draw {
  id: string;
  code: string;
  name: string;
  description: string | null;
  presentation: Presentation;
  status: DrawStatus;
  pointType: string;
  costPoints: number;
  freePlaysPerDay: number;
  dailyPlayLimit: number | null;
  winLimitPerMember: number | null;
  startsAt: Date | null;
  endsAt: Date | null;
  totalWeight: number;
  prizes: Prize[];
  createdAt: Date;
  updatedAt: Date;
}

export interface PrizeInput {
  name: string;
  kind: PrizeKind;
  weight: number;
  stock?: number | null | undefined;
  points?: number | undefined;
  skuId?: string | undefined;
  benefitCode?: string | undefined;
  limitPerMember?: number | null | undefined;
  /** the prize given when the drawn one is out of stock or over a limit: unlimited, exactly one */
  fallback?: boolean | undefined;
}

export interface DrawInput {
  code: string;
  name: string;
  description?: string | null | undefined;
  presentation: Presentation;
  status?: DrawStatus | undefined;
  costPoints?: number | undefined;
  freePlaysPerDay?: number | undefined;
  dailyPlayLimit?: number | null | undefined;
  winLimitPerMember?: number | null | undefined;
  startsAt?: string | null | undefined;
  endsAt?: string | null | undefined;
  prizes: PrizeInput[];
}

export type DrawPatch = Partial<Omit<DrawInput, 'code' | 'presentation' | 'prizes'>> & { presentation?: Presentation | undefined };

export interface PlayInput {
  drawId: string;
  memberId: string;
  idempotencyKey: string;
  /** where a physical item prize goes */
  shipping?: ShippingAddress | undefined;
}

export interface Play {
  id: string;
  drawId: string;
  memberId: string;
  randomValue: number;
  totalWeight: number;
  drawnPrizeId: string | null;
  prize: { id: string; name: string; kind: PrizeKind } | null;
  /** why the drawn prize was replaced by the fallback: out_of_stock, member_win_limit, prize_member_limit */
  fallbackReason: string | null;
  costPoints: number;
  free: boolean;
  reward: Record<string, unknown> | null;
  playedAt: Date;
  replayed: boolean;
}

interface PrizeRow {
  id: string;
  name: string;
  kind: PrizeKind;
  weight: number;
  stock: number | null;
  awarded: number;
  points: number | null;
  sku_id: string | null;
  benefit_id: string | null;
  limit_per_member: number | null;
  sort_order: number;
}

interface DrawRow {
  id: string;
  code: string;
  name: string;
  description: string | null;
  presentation: Presentation;
  status: DrawStatus;
  point_type: string;
  cost_points: number;
  free_plays_per_day: number;
  daily_play_limit: number | null;
  win_limit_per_member: number | null;
  starts_at: Date | null;
  ends_at: Date | null;
  fallback_prize_id: string | null;
  created_at: Date;
  updated_at: Date;
  prizes: PrizeRow[] | null;
}

interface StatsRow {
  plays_that_day: number;
  wins_total: number;
  prize_wins: Record<string, number>;
}

interface PlayRow {
  id: string;
  draw_id: string;
  member_id: string;
  random_value: number;
  total_weight: number;
  drawn_prize_id: string | null;
  prize_id: string | null;
  prize_name: string | null;
  prize_kind: PrizeKind | null;
  fallback_reason: string | null;
  cost_points: number;
  free: boolean;
  reward: Record<string, unknown> | null;
  played_at: Date;
}

const DRAW_SELECT = `select d.*, (select json_agg(p order by p.sort_order, p.id) from draw_prizes p where p.draw_id = d.id) as prizes from draws d`;
const PLAY_SELECT = `select p.*, z.name as prize_name, z.kind as prize_kind from draw_plays p left join draw_prizes z on z.id = p.prize_id`;

function toDraw(r: DrawRow): Draw {
  const prizes = r.prizes ?? [];
  const total = totalWeight(prizes);
  return {
    id: r.id,
    code: r.code,
    name: r.name,
    description: r.description,
    presentation: r.presentation,
    status: r.status,
    pointType: r.point_type,
    costPoints: r.cost_points,
    freePlaysPerDay: r.free_plays_per_day,
    dailyPlayLimit: r.daily_play_limit,
    winLimitPerMember: r.win_limit_per_member,
    startsAt: r.starts_at ? new Date(r.starts_at) : null,
    endsAt: r.ends_at ? new Date(r.ends_at) : null,
    totalWeight: total,
    prizes: prizes.map((p) => ({
      id: p.id,
      name: p.name,
      kind: p.kind,
      weight: p.weight,
      probability: total > 0 ? p.weight / total : 0,
      stock: p.stock,
      awarded: p.awarded,
      points: p.points,
      skuId: p.sku_id,
      benefitId: p.benefit_id,
      limitPerMember: p.limit_per_member,
      fallback: p.id === r.fallback_prize_id,
      sortOrder: p.sort_order,
    })),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toPlay(r: PlayRow, replayed = false): Play {
  return {
    id: r.id,
    drawId: r.draw_id,
    memberId: r.member_id,
    randomValue: r.random_value,
    totalWeight: r.total_weight,
    drawnPrizeId: r.drawn_prize_id,
    prize: r.prize_id && r.prize_kind ? { id: r.prize_id, name: r.prize_name ?? '', kind: r.prize_kind } : null,
    fallbackReason: r.fallback_reason,
    costPoints: r.cost_points,
    free: r.free,
    reward: r.reward,
    playedAt: r.played_at,
    replayed,
  };
}

function checkInt(value: number | null | undefined, field: string, min: number, max = 1_000_000_000): void {
  if (value === undefined || value === null) return;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new AppError('validation_failed', `${field} must be a whole number from ${min} to ${max}, got ${value}`, { field, value });
  }
}

function date(value: string | null | undefined): Date | null {
  return value ? new Date(value) : null;
}

/**
 * Lucky draws. A play, in the caller's transaction: count it against the member's daily limit
 * (the member's stats row, whose lock serialises the member's plays of this draw), take the cost
 * through the ledger unless it is a free play, draw uniformly in [0, total) from a cryptographic
 * source, take the prize's stock under a guard (or fall back), award it through the ledger,
 * benefits or mall, and record the play with its random value.
 */
export class DrawsService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly ledger: LedgerService,
    private readonly members: MembersService,
    private readonly benefits: BenefitsService,
    private readonly mall: MallService,
  ) {}

  async create(trx: Trx, ctx: ProgramContext, input: DrawInput): Promise<Draw> {
    this.checkConfig(input.costPoints ?? 0, input.freePlaysPerDay ?? 0, input.dailyPlayLimit, input.winLimitPerMember, input.startsAt, input.endsAt);
    if (input.prizes.length === 0 || input.prizes.length > 50) throw new AppError('validation_failed', 'a draw has 1 to 50 prizes', { field: 'prizes' });
    const fallbacks = input.prizes.filter((p) => p.fallback);
    if (fallbacks.length !== 1) throw new AppError('validation_failed', 'exactly one prize is the fallback (e.g. "thanks for taking part")', { field: 'prizes' });
    const fb = fallbacks[0]!;
    if ((fb.stock ?? null) !== null || (fb.limitPerMember ?? null) !== null || fb.kind === 'item') {
      throw new AppError('validation_failed', 'the fallback prize has unlimited stock, no member limit, and is not an item', { field: 'prizes' });
    }
    if (totalWeight(input.prizes) <= 0) throw new AppError('validation_failed', 'the prizes’ weights add up to more than zero', { field: 'prizes' });
    const now = ctx.clock.now();
    const drawId = newId('draw', now.getTime());
    try {
      await rawQuery(
        trx,
        `insert into draws (id, program_id, code, name, description, presentation, status, cost_points, free_plays_per_day, daily_play_limit,
           win_limit_per_member, starts_at, ends_at, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)`,
        [
          drawId, ctx.program.id, input.code, input.name, input.description ?? null, input.presentation, input.status ?? 'active', input.costPoints ?? 0,
          input.freePlaysPerDay ?? 0, input.dailyPlayLimit ?? null, input.winLimitPerMember ?? null, date(input.startsAt), date(input.endsAt), now,
        ],
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('already_exists', `a draw with code "${input.code}" already exists`, { code: input.code });
      throw err;
    }
    let fallbackId = '';
    for (const [i, p] of input.prizes.entries()) {
      const f = `prizes[${i}]`;
      checkInt(p.weight, `${f}.weight`, 0);
      checkInt(p.stock, `${f}.stock`, 0);
      checkInt(p.limitPerMember, `${f}.limitPerMember`, 1);
      if ((p.kind === 'points') !== (p.points !== undefined)) throw new AppError('validation_failed', `${f}: a points prize (only) has points`, { field: `${f}.points` });
      if ((p.kind === 'item') !== (p.skuId !== undefined)) throw new AppError('validation_failed', `${f}: an item prize (only) has a skuId`, { field: `${f}.skuId` });
      if ((p.kind === 'benefit') !== (p.benefitCode !== undefined)) throw new AppError('validation_failed', `${f}: a benefit prize (only) has a benefitCode`, { field: `${f}.benefitCode` });
      checkInt(p.points, `${f}.points`, 1);
      if (p.skuId) await this.mall.getSkuItem(ctx, p.skuId, trx);
      const benefitId = p.benefitCode ? (await this.benefits.get(ctx, p.benefitCode, trx)).id : null;
      const id = newId('prize', now.getTime());
      if (p.fallback) fallbackId = id;
      await rawQuery(
        trx,
        `insert into draw_prizes (id, program_id, draw_id, name, kind, weight, stock, points, sku_id, benefit_id, limit_per_member, sort_order, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [id, ctx.program.id, drawId, p.name, p.kind, p.weight, p.stock ?? null, p.points ?? null, p.skuId ?? null, benefitId, p.limitPerMember ?? null, i, now],
      );
    }
    await rawQuery(trx, 'update draws set fallback_prize_id = $2 where id = $1', [drawId, fallbackId]);
    const draw = await this.get(ctx, drawId, trx);
    await recordAudit(trx, ctx, { action: 'create', resourceType: 'draw', resourceId: drawId, after: draw });
    return draw;
  }

  private checkConfig(cost: number, free: number, daily: number | null | undefined, wins: number | null | undefined, startsAt?: string | null, endsAt?: string | null) {
    checkInt(cost, 'costPoints', 0);
    checkInt(free, 'freePlaysPerDay', 0, 1000);
    checkInt(daily, 'dailyPlayLimit', 1, 100_000);
    checkInt(wins, 'winLimitPerMember', 0);
    if (cost === 0 && free === 0) throw new AppError('validation_failed', 'a draw costs points per play, or gives free plays per day', { field: 'costPoints' });
    if (startsAt && endsAt && new Date(endsAt).getTime() <= new Date(startsAt).getTime()) {
      throw new AppError('validation_failed', 'endsAt must be after startsAt', { field: 'endsAt' });
    }
  }

  async update(trx: Trx, ctx: ProgramContext, drawId: string, patch: DrawPatch): Promise<Draw> {
    const cur = await this.get(ctx, drawId, trx, true);
    const pick = <T>(v: T | undefined, c: T): T => (v !== undefined ? v : c);
    const cost = pick(patch.costPoints, cur.costPoints);
    const free = pick(patch.freePlaysPerDay, cur.freePlaysPerDay);
    const startsAt = patch.startsAt !== undefined ? date(patch.startsAt) : cur.startsAt;
    const endsAt = patch.endsAt !== undefined ? date(patch.endsAt) : cur.endsAt;
    this.checkConfig(cost, free, patch.dailyPlayLimit, patch.winLimitPerMember, startsAt?.toISOString(), endsAt?.toISOString());
    await rawQuery(
      trx,
      `update draws set name = $2, description = $3, presentation = $4, status = $5, cost_points = $6, free_plays_per_day = $7, daily_play_limit = $8,
         win_limit_per_member = $9, starts_at = $10, ends_at = $11, updated_at = $12 where id = $1`,
      [
        drawId, pick(patch.name, cur.name), pick(patch.description, cur.description), pick(patch.presentation, cur.presentation), pick(patch.status, cur.status),
        cost, free, pick(patch.dailyPlayLimit, cur.dailyPlayLimit), pick(patch.winLimitPerMember, cur.winLimitPerMember), startsAt, endsAt, ctx.clock.now(),
      ],
    );
    const after = await this.get(ctx, drawId, trx);
    await recordAudit(trx, ctx, { action: 'update', resourceType: 'draw', resourceId: cur.id, before: cur, after });
    return after;
  }

  /** Change a prize's weight (the published odds change with it) or stock (set, or a guarded delta). */
  async updatePrize(trx: Trx, ctx: ProgramContext, drawId: string, prizeId: string, patch: { weight?: number | undefined; stock?: number | null | undefined; stockDelta?: number | undefined }): Promise<Draw> {
    const draw = await this.get(ctx, drawId, trx, true);
    const prize = draw.prizes.find((p) => p.id === prizeId);
    if (!prize) throw new AppError('not_found', `prize ${prizeId} does not exist in draw ${drawId}`, { prize: prizeId });
    checkInt(patch.weight, 'weight', 0);
    checkInt(patch.stock, 'stock', 0);
    if (prize.fallback && ((patch.stock ?? null) !== null || patch.stockDelta !== undefined)) {
      throw new AppError('validation_failed', 'the fallback prize keeps unlimited stock', { field: 'stock' });
    }
    if (patch.weight !== undefined && draw.totalWeight - prize.weight + patch.weight <= 0) {
      throw new AppError('validation_failed', 'the prizes’ weights must add up to more than zero', { field: 'weight' });
    }
    const { rowCount } = await rawQuery(
      trx,
      `update draw_prizes set weight = coalesce($2, weight),
         stock = case when $3::boolean then $4::int when $5::int is null then stock else stock + $5::int end
       where id = $1 and ($5::int is null or (stock is not null and stock + $5::int >= 0))`,
      [prizeId, patch.weight ?? null, patch.stock !== undefined, patch.stock ?? null, patch.stockDelta ?? null],
    );
    if (rowCount === 0) throw new AppError('out_of_stock', `prize ${prizeId} has ${prize.stock ?? 'unlimited'} in stock`, { stock: prize.stock });
    const after = await this.get(ctx, drawId, trx);
    await recordAudit(trx, ctx, { action: 'update_prize', resourceType: 'draw', resourceId: draw.id, before: prize, after: after.prizes.find((p) => p.id === prizeId) });
    return after;
  }

  async get(ctx: ProgramContext, drawId: string, exec: Executor = this.db, forUpdate = false): Promise<Draw> {
    const { rows } = await rawQuery<DrawRow>(exec, `${DRAW_SELECT} where d.program_id = $1 and (d.id = $2 or d.code = $2)${forUpdate ? ' for update of d' : ''}`, [ctx.program.id, drawId]);
    if (!rows[0]) throw new AppError('draw_not_found', `draw ${drawId} does not exist`, { draw: drawId });
    return toDraw(rows[0]);
  }

  async list(ctx: ProgramContext): Promise<Draw[]> {
    const { rows } = await rawQuery<DrawRow>(this.db, `${DRAW_SELECT} where d.program_id = $1 order by d.id desc limit 200`, [ctx.program.id]);
    return rows.map(toDraw);
  }

  async play(trx: Trx, ctx: ProgramContext, input: PlayInput): Promise<Play> {
    const now = ctx.clock.now();
    const today = localDate(now, ctx.program.timeZone);
    const found = await this.openPlay(trx, ctx, input, now, today);
    if (!found) {
      await this.members.get(ctx, input.memberId, trx); // member_not_found takes precedence, as it always did
      throw new AppError('draw_not_found', `draw ${input.drawId} does not exist`, { draw: input.drawId });
    }
    const { draw, member, priorId, stats } = found;
    if (!member) throw memberNotFound(input.memberId);
    if (priorId) return this.replay((await this.playByKey(trx, member.id, input.idempotencyKey))!, draw.id, input.idempotencyKey);
    if (member.status !== 'active') throw new AppError('member_inactive', `member ${member.id} is ${member.status}`, { status: member.status });
    if (draw.status !== 'active' || (draw.startsAt && now < draw.startsAt) || (draw.endsAt && now >= draw.endsAt)) {
      throw new AppError('draw_not_open', `draw ${draw.code} is not open now`, { status: draw.status, startsAt: draw.startsAt, endsAt: draw.endsAt });
    }
    if (!stats) throw new AppError('limit_reached', `at most ${draw.dailyPlayLimit} plays a day`, { limit: 'dailyPlays', max: draw.dailyPlayLimit });
    const { plays_that_day: playsToday, wins_total: winsTotal, prize_wins: prizeWins } = stats;
    const free = playsToday <= draw.freePlaysPerDay;
    // A twin with this key may have committed while we waited for the stats row. A paid play
    // learns it from the ledger's key; a play that spends nothing asks for it here.
    if (free || draw.costPoints === 0) {
      const twin = await this.twinPlay(trx, draw.id, member.id, input.idempotencyKey);
      if (twin) return twin;
    }
    if (!free && draw.costPoints === 0) {
      throw new AppError('limit_reached', `the ${draw.freePlaysPerDay} free play(s) of today are used`, { limit: 'freePlays', max: draw.freePlaysPerDay });
    }
    const playId = newId('play', now.getTime());
    const spendKey = free ? null : `draw-play:${draw.id}:${input.idempotencyKey}`;
    if (spendKey) {
      let spentBefore: boolean;
      try {
        spentBefore = (
          await this.ledger.spend(ctx, {
            member: member.id, pointType: draw.pointType, amount: draw.costPoints, idempotencyKey: spendKey,
            source: { type: 'draw_play', id: playId }, reason: `draw ${draw.code}`,
          }, trx)
        ).replayed;
      } catch (err) {
        // The twin spent another cost (the draw changed meanwhile): its answer is still the answer.
        if ((err as AppError).code !== 'idempotency_conflict') throw err;
        const twin = await this.twinPlay(trx, draw.id, member.id, input.idempotencyKey);
        if (twin) return twin;
        throw err;
      }
      if (spentBefore) {
        const twin = await this.twinPlay(trx, draw.id, member.id, input.idempotencyKey);
        if (twin) return twin;
        throw new AppError('idempotency_conflict', `idempotency key "${input.idempotencyKey}" was used for another operation`, { key: input.idempotencyKey });
      }
    }

    const pool = draw.prizes.filter((p) => p.weight > 0);
    const value = drawRandom(draw.totalWeight);
    const drawn = pickByValue(pool, value);
    const fallback = draw.prizes.find((p) => p.fallback)!;
    let prize = drawn;
    let fallbackReason: string | null = null;
    if (drawn.kind !== 'thanks' && draw.winLimitPerMember !== null && winsTotal >= draw.winLimitPerMember) fallbackReason = 'member_win_limit';
    else if (drawn.limitPerMember !== null && (prizeWins[drawn.id] ?? 0) >= drawn.limitPerMember) fallbackReason = 'prize_member_limit';
    else if (drawn.stock !== null) {
      const taken = await rawQuery(trx, 'update draw_prizes set stock = stock - 1, awarded = awarded + 1 where id = $1 and stock > 0', [drawn.id]);
      if (taken.rowCount !== 1) fallbackReason = 'out_of_stock';
    }
    if (fallbackReason) prize = fallback;
    let reward: Record<string, unknown> | null = null;
    try {
      reward = await this.award(trx, ctx, member.id, prize, playId, input.shipping);
    } catch (err) {
      if ((err as AppError).code !== 'out_of_stock' || prize === fallback) throw err;
      // The item's own stock in the mall ran out: the prize's stock was not used after all.
      if (prize.stock !== null) await rawQuery(trx, 'update draw_prizes set stock = stock + 1, awarded = awarded - 1 where id = $1', [prize.id]);
      prize = fallback;
      fallbackReason = 'out_of_stock';
      reward = await this.award(trx, ctx, member.id, prize, playId, input.shipping);
    }
    // The play, and a win counted on the member's stats row, in one statement.
    const inserted = await rawQuery<PlayRow>(
      trx,
      `with win as (
         update draw_member_stats set wins_total = wins_total + 1,
           prize_wins = jsonb_set(prize_wins, array[$9::text], to_jsonb(coalesce((prize_wins->>$9)::int, 0) + 1))
         where $17::boolean and draw_id = $3 and member_id = $4)
       insert into draw_plays (id, program_id, draw_id, member_id, idempotency_key, random_value, total_weight, drawn_prize_id, prize_id, fallback_reason,
         cost_points, free, spend_key, reward, local_date, played_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
       on conflict (member_id, idempotency_key) do nothing returning *`,
      [
        playId, ctx.program.id, draw.id, member.id, input.idempotencyKey, value, draw.totalWeight, drawn.id, prize.id, fallbackReason,
        free ? 0 : draw.costPoints, free, spendKey, reward ? JSON.stringify(reward) : null, today, now, prize.kind !== 'thanks',
      ],
    );
    if (!inserted.rows[0]) throw new AppError('idempotency_in_progress', `a play with idempotency key "${input.idempotencyKey}" is running; retry`, { key: input.idempotencyKey });
    return toPlay({ ...inserted.rows[0], prize_name: prize.name, prize_kind: prize.kind });
  }

  /**
   * What a play reads and counts, in one round trip: the member, the draw with its prizes, whether
   * the key already names a play, and, only when all of that lets the play go on, the count of it
   * on the member's stats row (a daily limit reached: no row). Null when the draw does not exist.
   */
  private async openPlay(
    trx: Trx,
    ctx: ProgramContext,
    input: PlayInput,
    now: Date,
    today: string,
  ): Promise<{ draw: Draw; member: { id: string; status: string } | null; priorId: string | null; stats: StatsRow | null } | null> {
    const by = memberRef(input.memberId);
    const { rows } = await rawQuery<DrawRow & { member_id: string | null; member_status: string | null; prior_id: string | null; stats: StatsRow | null }>(
      trx,
      `with m as (select id, status from members where program_id = $1 and ${by.column} = $2),
       d as (select * from draws where program_id = $1 and (id = $3 or code = $3) limit 1),
       p as (select p.id from draw_plays p join m on p.member_id = m.id where p.idempotency_key = $4),
       s as (
         insert into draw_member_stats as s (draw_id, member_id, program_id, play_date, plays_that_day, plays_total)
         select d.id, m.id, $1, $5, 1, 1 from d, m
         where m.status = 'active' and d.status = 'active' and (d.starts_at is null or d.starts_at <= $6) and (d.ends_at is null or d.ends_at > $6)
           and not exists (select from p)
         on conflict (draw_id, member_id) do update set
           plays_that_day = case when s.play_date = excluded.play_date then s.plays_that_day + 1 else 1 end,
           play_date = excluded.play_date, plays_total = s.plays_total + 1
         where (select daily_play_limit from d) is null or s.play_date <> excluded.play_date or s.plays_that_day < (select daily_play_limit from d)
         returning plays_that_day, wins_total, prize_wins)
       select d.*, (select json_agg(z order by z.sort_order, z.id) from draw_prizes z where z.draw_id = d.id) as prizes,
         m.id as member_id, m.status as member_status, (select id from p) as prior_id, (select row_to_json(s) from s) as stats
       from d left join m on true`,
      [ctx.program.id, by.value, input.drawId, input.idempotencyKey, today, now],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      draw: toDraw(row),
      member: row.member_id ? { id: row.member_id, status: row.member_status! } : null,
      priorId: row.prior_id,
      stats: row.stats,
    };
  }

  /** A twin play with this key that committed first: our count undone, its answer given. */
  private async twinPlay(trx: Trx, drawId: string, memberId: string, key: string): Promise<Play | null> {
    const twin = await this.playByKey(trx, memberId, key);
    if (!twin) return null;
    await rawQuery(trx, 'update draw_member_stats set plays_that_day = plays_that_day - 1, plays_total = plays_total - 1 where draw_id = $1 and member_id = $2', [drawId, memberId]);
    return this.replay(twin, drawId, key);
  }

  private async award(trx: Trx, ctx: ProgramContext, memberId: string, prize: Prize, playId: string, shipping?: ShippingAddress): Promise<Record<string, unknown> | null> {
    const key = `draw-prize:${playId}`;
    const source = { type: 'draw_play', id: playId };
    switch (prize.kind) {
      case 'thanks':
        return null;
      case 'points': {
        const txn = await this.ledger.earn(ctx, { member: memberId, pointType: 'points', amount: prize.points!, idempotencyKey: key, source, reason: `draw prize ${prize.name}` }, trx);
        return { points: prize.points, transactionId: txn.id };
      }
      case 'benefit': {
        const g = await this.benefits.grant(trx, ctx, { memberId, benefitCode: prize.benefitId!, source, idempotencyKey: key });
        return { entitlementIds: g.entitlements.map((e) => e.id) };
      }
      case 'item': {
        const order = await this.mall.awardItem(trx, ctx, { memberId, skuId: prize.skuId!, quantity: 1, shipping, idempotencyKey: key, source });
        return { orderId: order.id };
      }
    }
  }

  private async playByKey(exec: Executor, memberId: string, key: string): Promise<PlayRow | undefined> {
    const { rows } = await rawQuery<PlayRow>(exec, `${PLAY_SELECT} where p.member_id = $1 and p.idempotency_key = $2`, [memberId, key]);
    return rows[0];
  }

  private replay(prior: PlayRow, drawId: string, key: string): Play {
    if (prior.draw_id !== drawId) {
      throw new AppError('idempotency_conflict', `idempotency key "${key}" was used for a play of another draw`, { key });
    }
    return toPlay(prior, true);
  }

  async listPlays(ctx: ProgramContext, drawId: string, filter: PageRequest & { memberId?: string | undefined }): Promise<Page<Play>> {
    const draw = await this.get(ctx, drawId);
    const limit = pageLimit(filter.limit);
    const after = decodeCursor(filter.cursor);
    const params: unknown[] = [draw.id];
    let where = 'p.draw_id = $1';
    if (filter.memberId) {
      params.push((await this.members.get(ctx, filter.memberId)).id);
      where += ` and p.member_id = $${params.length}`;
    }
    if (after) {
      params.push(after);
      where += ` and p.id < $${params.length}`;
    }
    params.push(limit + 1);
    const { rows } = await rawQuery<PlayRow>(this.db, `${PLAY_SELECT} where ${where} order by p.id desc limit $${params.length}`, params);
    return toPage(rows, limit, (r) => r.id, (r) => toPlay(r));
  }
}
