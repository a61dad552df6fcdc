import type { Kysely } from 'kysely';
import { DateTime } from 'luxon';
import { fixedClock } from '../../core/clock.js';
import type { ProgramContext, ProgramSnapshot } from '../../core/context.js';
import { emitMessages, type TierChange } from '../../core/hooks.js';
import { inTransaction, rawQuery, type Executor } from '../../db/database.js';
import type { DB } from '../../db/schema.js';
import type { JobDefinition } from '../../jobs/job.js';
import { nextEvaluation, referenceDate, type Ladder } from './tiers.model.js';
import { compileLadder, effectiveSql, scanLowerBound } from './tiers.sql.js';
import type { TierConfigService } from './tiers.config.js';

/**
 * Webhooks of the tiers module: `tier.changed` for every change of a member's effective tier (in
 * the transaction of the change), and `tier.will_downgrade` `noticeDays` before a scheduled
 * evaluation that would drop the member if nothing else happened until then. The prediction is
 * the evaluation's own rule (the same compiled measures, retention, validity, grace and policy)
 * read as of the evaluation's reference date, without writing anything.
 */
export async function announceChanges(trx: Executor, ctx: ProgramContext, changes: TierChange[]): Promise<void> {
  await emitMessages(
    trx,
    ctx,
    'tier.changed',
    changes.map((c) => ({
      messageId: `msg_tier_${c.memberId}_${c.at.getTime()}_${c.to?.code ?? 'none'}`,
      payload: {
        memberId: c.memberId,
        from: c.from,
        to: c.to,
        direction: (c.to?.rank ?? 0) > (c.from?.rank ?? 0) ? 'up' : 'down',
        source: c.source,
        cause: c.cause,
        validUntil: c.validUntil,
        at: c.at,
      },
    })),
  );
}

/** The scheduled evaluation a notice is due for: the first one after `after + noticeDays`. */
function upcoming(ladder: Ladder, zone: string, after: Date): { evaluation: Date; notice: Date } | null {
  const days = ladder.policy.downgrade.noticeDays ?? 0;
  if (days <= 0 || ladder.policy.downgrade.policy === 'never') return null;
  const shifted = DateTime.fromJSDate(after, { zone }).plus({ days }).toJSDate();
  const evaluation = nextEvaluation(ladder.policy.evaluation, shifted, zone);
  if (!evaluation) return null;
  return { evaluation, notice: DateTime.fromJSDate(evaluation, { zone }).minus({ days }).toJSDate() };
}

/** Members the evaluation at `at` would move to a lower effective tier, with that tier's rank. */
async function wouldDrop(exec: Executor, ladder: Ladder, zone: string, at: Date): Promise<Array<{ member_id: string; old_rank: number; new_rank: number }>> {
  const c = compileLadder(ladder);
  const { policy } = ladder;
  const grace = policy.downgrade.graceDays;
  const lb = scanLowerBound(c.measures, '$3::date');
  const eff = effectiveSql('mt.new_q', '$2');
  const { rows } = await rawQuery<{ member_id: string; old_rank: number; new_rank: number }>(
    exec,
    `with agg as (
       select mt.member_id, mt.rank as old_rank, mt.qualified_rank as old_q, mt.valid_until as old_valid, mt.grace_until as old_grace,
              mt.manual_rank, mt.manual_until, mt.purchased_rank, mt.purchased_until, mt.lifetime_rank
              ${c.measures.length ? `, ${c.measureColumns('$3::date')}` : ''}
       from member_tiers mt
       left join tier_metric_buckets b on b.member_id = mt.member_id and b.local_date <= $3::date ${lb ? `and b.local_date >= ${lb}` : ''}
       where mt.ladder_id = $1 and mt.qualified_rank > $4
       group by mt.member_id),
     q as (select agg.*, ${c.qualifiedRankSql()} as qual, ${c.retainedSql('agg.old_q')} as retained, ${c.qualifiedBelowSql('agg.old_q')} as below from agg),
     d as (
       select q.*, ${policy.downgrade.policy === 'oneTier' ? 'greatest(old_q - 1, 0)' : 'below'} as new_q from q
       where qual <= old_q and not retained and (old_valid is null or old_valid <= $2)
         and ${grace > 0 ? 'old_grace is not null and old_grace <= $2' : 'true'})
     select mt.member_id, mt.old_rank, ${eff.rank} as new_rank from d mt where ${eff.rank} < mt.old_rank order by mt.member_id`,
    [ladder.id, at, referenceDate(at, zone), ladder.baseRank],
  );
  return rows;
}

export function tierNoticeJob(config: TierConfigService): JobDefinition {
  // Every scheduled evaluation after both now and the last one announced whose notice is due, in order.
  const announce = async (db: Kysely<DB>, program: ProgramSnapshot, asOf: Date) => {
    const ladder = await config.ladder(program.id, db);
    const days = ladder?.policy.downgrade.noticeDays ?? 0;
    if (!ladder || days <= 0 || ladder.policy.downgrade.policy === 'never') return { noticed: 0 };
    const zone = program.timeZone;
    const { rows } = await rawQuery<{ noticed_through: Date | null }>(db, 'select noticed_through from tier_ladders where id = $1', [ladder.id]);
    const through = rows[0]?.noticed_through ?? null;
    let from = through && through.getTime() > asOf.getTime() ? through : asOf;
    const ctx: ProgramContext = { program, clock: fixedClock(asOf), actor: { type: 'system', job: 'tiers.notice' } };
    const code = (rank: number) => ladder.tiers[rank - 1]?.code ?? null;
    let noticed = 0;
    for (let i = 0; i < 400; i++) {
      const evaluation = nextEvaluation(ladder.policy.evaluation, from, zone);
      if (!evaluation || DateTime.fromJSDate(evaluation, { zone }).minus({ days }).toMillis() > asOf.getTime()) break;
      noticed += await inTransaction(db, async (trx) => {
        const drops = await wouldDrop(trx, ladder, zone, evaluation);
        await emitMessages(
          trx,
          ctx,
          'tier.will_downgrade',
          drops.map((d) => ({
            messageId: `msg_tier_notice_${d.member_id}_${evaluation.getTime()}`,
            payload: { memberId: d.member_id, tier: code(d.old_rank), to: code(d.new_rank), evaluationAt: evaluation, noticeDays: days },
          })),
        );
        await rawQuery(trx, 'update tier_ladders set noticed_through = $2 where id = $1', [ladder.id, evaluation]);
        return drops.length;
      });
      from = evaluation;
    }
    return { noticed };
  };
  return {
    name: 'tiers.notice',
    order: 65,
    everyMs: 30 * 60_000,
    nextDue: async (db, program, after, until) => {
      const ladder = await config.ladder(program.id, db);
      const next = ladder ? upcoming(ladder, program.timeZone, after) : null;
      return next && next.notice.getTime() <= until.getTime() ? next.notice : null;
    },
    run: ({ db, program, asOf }) => announce(db, program, asOf),
  };
}
