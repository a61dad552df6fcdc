import type { Kysely } from 'kysely';
import type { ProgramContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { recordAudit } from '../../core/hooks.js';
import { newId } from '../../core/ids.js';
import { rawQuery, type Executor, type Trx } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import type { PointTypesService } from '../ledger/index.js';
import { baseRankOf, validateLadder, type Ladder, type LadderConfigInput, type LadderPolicy, type MetricDef, type TierDef } from './tiers.model.js';
import { effectiveSql } from './tiers.sql.js';

/** How long a process trusts its cached ladder before checking the stored version again. */
const CONFIG_CHECK_MS = 1_000;

interface LadderRow {
  id: string;
  program_id: string;
  code: string;
  name: string;
  policy: LadderPolicy;
  version: number;
  updated_at: Date;
}

interface TierRow {
  id: string;
  code: string;
  name: string;
  rank: number;
  colour: string | null;
  icon: string | null;
  description: string | null;
  config: TierDef;
}

/**
 * The ladder of a program: its tiers, metrics and policies, stored as rows (tiers and metrics
 * are joined by the evaluation SQL) and cached per process, checked against the stored version.
 */
export class TierConfigService {
  private readonly cache = new Map<string, { ladder: Ladder | null; version: number; checkedAt: number }>();

  constructor(
    private readonly db: Kysely<DB>,
    private readonly pointTypes: PointTypesService,
  ) {}

  /** The program's ladder, or null when it has none. */
  async ladder(programId: string, exec: Executor = this.db): Promise<Ladder | null> {
    const hit = this.cache.get(programId);
    if (hit && Date.now() - hit.checkedAt < CONFIG_CHECK_MS) return hit.ladder;
    const { rows } = await rawQuery<{ version: number }>(exec, 'select version from tier_ladders where program_id = $1 order by created_at limit 1', [programId]);
    const version = rows[0]?.version ?? 0;
    if (hit && hit.version === version) {
      hit.checkedAt = Date.now();
      return hit.ladder;
    }
    const ladder = version ? await this.load(programId, exec) : null;
    this.cache.set(programId, { ladder, version, checkedAt: Date.now() });
    return ladder;
  }

  async require(programId: string, exec: Executor = this.db): Promise<Ladder> {
    const ladder = await this.ladder(programId, exec);
    if (!ladder) throw new AppError('tier_ladder_not_found', 'this program has no tier ladder yet (PUT /tiers)');
    return ladder;
  }

  private async load(programId: string, exec: Executor): Promise<Ladder | null> {
    const { rows } = await rawQuery<LadderRow>(exec, 'select * from tier_ladders where program_id = $1 order by created_at limit 1', [programId]);
    const row = rows[0];
    if (!row) return null;
    const tiers = await rawQuery<TierRow>(exec, 'select id, code, name, rank, colour, icon, description, config from tiers where ladder_id = $1 and active order by rank', [row.id]);
    const metrics = await rawQuery<MetricDef>(exec, 'select code, name, source from tier_metrics where program_id = $1 order by code', [programId]);
    const list = tiers.rows.map((t) => ({ ...t.config, id: t.id, code: t.code, name: t.name, rank: t.rank, colour: t.colour, icon: t.icon, description: t.description }));
    return {
      id: row.id,
      programId,
      code: row.code,
      name: row.name,
      version: row.version,
      policy: row.policy,
      metrics: metrics.rows,
      tiers: list,
      baseRank: baseRankOf(list),
      updatedAt: row.updated_at,
    };
  }

  /**
   * Replace the ladder's configuration. Tiers keep their ids by code; a tier left out is retired
   * (history still names it). Members' ranks follow their tiers when tiers are reordered; members
   * of a retired tier fall to the nearest tier below it that remains.
   */
  async save(ctx: ProgramContext, trx: Trx, input: LadderConfigInput): Promise<Ladder> {
    const pointTypes = new Set((await this.pointTypes.list(ctx, trx)).map((p) => p.code));
    const { policy, metrics, tiers } = validateLadder(input, pointTypes);
    const now = ctx.clock.now();
    const programId = ctx.program.id;
    await rawQuery(trx, 'select id from programs where id = $1 for update', [programId]);
    const current = await this.load(programId, trx);
    const ladderId = current?.id ?? newId('ladder', now.getTime());
    const code = input.code ?? current?.code ?? 'main';
    const name = input.name ?? current?.name ?? 'Tiers';
    if (current) {
      await rawQuery(trx, 'update tier_ladders set code = $2, name = $3, policy = $4, version = version + 1, updated_at = $5 where id = $1', [ladderId, code, name, JSON.stringify(policy), now]);
    } else {
      await rawQuery(trx, 'insert into tier_ladders (id, program_id, code, name, policy, version, created_at, updated_at) values ($1, $2, $3, $4, $5, 1, $6, $6)', [
        ladderId,
        programId,
        code,
        name,
        JSON.stringify(policy),
        now,
      ]);
    }
    await rawQuery(trx, 'delete from tier_metrics where program_id = $1', [programId]);
    for (const m of metrics) {
      await rawQuery(trx, 'insert into tier_metrics (program_id, code, name, source, updated_at) values ($1, $2, $3, $4, $5)', [programId, m.code, m.name, JSON.stringify(m.source), now]);
    }
    // Tier rows: existing codes keep their id (and any retired code comes back with its id).
    const { rows: existing } = await rawQuery<{ id: string; code: string; rank: number; active: boolean }>(trx, 'select id, code, rank, active from tiers where ladder_id = $1', [ladderId]);
    const byCode = new Map(existing.map((t) => [t.code, t]));
    await rawQuery(trx, 'update tiers set active = false where ladder_id = $1', [ladderId]);
    for (const [i, t] of tiers.entries()) {
      const prior = byCode.get(t.code);
      const { code: tcode, name: tname, colour, icon, description, ...rest } = t;
      const config = JSON.stringify(rest);
      if (prior) {
        await rawQuery(trx, 'update tiers set name = $2, rank = $3, colour = $4, icon = $5, description = $6, config = $7, active = true, updated_at = $8 where id = $1', [
          prior.id,
          tname,
          i + 1,
          colour ?? null,
          icon ?? null,
          description ?? null,
          config,
          now,
        ]);
      } else {
        await rawQuery(
          trx,
          `insert into tiers (id, program_id, ladder_id, code, name, rank, colour, icon, description, config, active, updated_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, true, $11)`,
          [newId('tier', now.getTime()), programId, ladderId, tcode, tname, i + 1, colour ?? null, icon ?? null, description ?? null, config, now],
        );
      }
    }
    if (current) await this.remapMembers(trx, current, tiers, ladderId, now);
    this.cache.delete(programId);
    const saved = (await this.load(programId, trx))!;
    await recordAudit(trx, ctx, { action: current ? 'update' : 'create', resourceType: 'tier_ladder', resourceId: saved.id, before: current, after: saved });
    return saved;
  }

  private async remapMembers(trx: Trx, current: Ladder, tiers: TierDef[], ladderId: string, now: Date): Promise<void> {
    const newRank = new Map(tiers.map((t, i) => [t.code, i + 1]));
    // index r + 1 holds the new rank of old rank r
    const map = [0];
    let identity = current.tiers.length === tiers.length;
    for (const t of current.tiers) {
      let r = newRank.get(t.code);
      if (r === undefined) {
        identity = false;
        r = map[map.length - 1]!;
      } else if (r !== t.rank) {
        identity = false;
      }
      map.push(r);
    }
    const base = baseRankOf(tiers);
    if (identity && base <= current.baseRank) return;
    const m = (col: string) => `case when ${col} is null then null else coalesce(($2::int[])[${col} + 1], 0) end`;
    const q = `greatest(${m('mt.qualified_rank')}, ${base})`;
    const eff = effectiveSql(q, '$3', { rank: m('mt.manual_rank'), until: 'mt.manual_until' }, { rank: m('mt.purchased_rank'), until: 'mt.purchased_until' }, m('mt.lifetime_rank'));
    await rawQuery(
      trx,
      `update member_tiers mt set qualified_rank = ${q}, manual_rank = ${m('mt.manual_rank')}, purchased_rank = ${m('mt.purchased_rank')},
         lifetime_rank = ${m('mt.lifetime_rank')}, rank = ${eff.rank}, source = ${eff.source}, version = mt.version + 1, updated_at = $3
       where mt.ladder_id = $1`,
      [ladderId, map, now],
    );
  }
}
