import type { ProgramContext } from '../../core/context.js';
import { emitMessages } from '../../core/hooks.js';
import { newId } from '../../core/ids.js';
import { rawQuery, type Executor } from '../../db/database.js';

/**
 * Set-based grants for jobs and hooks (bindings, birthdays): `candidates` is a SQL subquery with
 * the columns member_id, benefit_id, benefit_code, quantity, grant_key, uses (null: unlimited),
 * valid_until, source_type, source_id. Each candidate becomes `quantity` entitlements keyed
 * `grant_key#i`; the unique (member, key) index makes a re-run grant nothing twice. Announces
 * `benefit.granted` once per member and grant key, in the same transaction.
 */
export async function grantMany(
  trx: Executor,
  ctx: ProgramContext,
  candidates: string,
  params: unknown[],
): Promise<Array<{ memberId: string; benefitCode: string; key: string; entitlementIds: string[]; sourceType: string; sourceId: string }>> {
  const now = ctx.clock.now();
  // Ids keep the time-sortable prefix of newId; the random tail comes from the database.
  const prefix = newId('entitlement', now.getTime()).slice(0, 14);
  const n = params.length;
  const { rows } = await rawQuery<{ id: string; member_id: string; key: string; benefit_code: string; source_type: string; source_id: string }>(
    trx,
    `with c as (${candidates}),
     ins as (
       insert into entitlements (id, program_id, member_id, benefit_id, status, uses_total, uses_left, valid_from, valid_until,
         source_type, source_id, idempotency_key, granted_at)
       select $${n + 1} || substr(md5(random()::text || c.member_id || c.grant_key || g.i), 1, 12), $${n + 2}, c.member_id, c.benefit_id, 'active',
              c.uses, c.uses, $${n + 3}, c.valid_until, c.source_type, c.source_id, c.grant_key || '#' || g.i, $${n + 3}
       from c cross join lateral generate_series(1, c.quantity) as g(i)
       on conflict (member_id, idempotency_key) do nothing
       returning id, member_id, idempotency_key, source_type, source_id)
     select ins.id, ins.member_id, split_part(ins.idempotency_key, '#', 1) as key, c.benefit_code, ins.source_type, ins.source_id
     from ins join c on c.member_id = ins.member_id and c.grant_key = split_part(ins.idempotency_key, '#', 1)
     order by ins.member_id, ins.idempotency_key`,
    [...params, prefix, ctx.program.id, now],
  );
  const grants = new Map<string, { memberId: string; benefitCode: string; key: string; entitlementIds: string[]; sourceType: string; sourceId: string }>();
  for (const r of rows) {
    const k = `${r.member_id}|${r.key}`;
    const g = grants.get(k) ?? { memberId: r.member_id, benefitCode: r.benefit_code, key: r.key, entitlementIds: [], sourceType: r.source_type, sourceId: r.source_id };
    g.entitlementIds.push(r.id);
    grants.set(k, g);
  }
  const list = [...grants.values()];
  await emitMessages(
    trx,
    ctx,
    'benefit.granted',
    list.map((g) => ({
      messageId: `msg_benefit_${g.memberId}_${g.key}`,
      payload: { memberId: g.memberId, benefitCode: g.benefitCode, entitlementIds: g.entitlementIds, source: { type: g.sourceType, id: g.sourceId }, grantedAt: now },
    })),
  );
  return list;
}
