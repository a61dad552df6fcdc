import { systemClock } from '../src/core/clock.js';
import { inTransaction, rawQuery } from '../src/db/database.js';
import type { EarningService } from '../src/modules/earning/index.js';
import type { TiersService } from '../src/modules/tiers/index.js';
import { createBenchDatabase, rawPool } from './lib/database.js';
import { log } from './lib/report.js';
import { seedMembers, settle } from './lib/seed.js';
import { traceOperation } from './lib/trace.js';
import { createBenchProgram, startLaurel } from './ledger/setup.js';
import { LADDER, RULE } from './tiers.js';

/**
 * A diagnostic, not a benchmark (no BENCH line): the SQL that one award of the tiers benchmark
 * sends, on a program without a ladder and on one with a ladder, statement by statement.
 * TRACE_OPS (400) awards each; TRACE_REGULARS (0) to cycle over that many members.
 */
const OPS = Number(process.env.TRACE_OPS ?? 400);
const MEMBERS = 20_000;
/** TRACE_REGULARS=n: the awards cycle over n members instead of spreading over all */
const REGULARS = Number(process.env.TRACE_REGULARS ?? 0);

export async function main(): Promise<void> {
  const bench = await createBenchDatabase('trace_tiers');
  const pool = rawPool(bench.url, 4);
  const laurel = await startLaurel(bench, 4);
  try {
    const earning = laurel.services.earning as EarningService;
    const tiers = laurel.services.tiers as TiersService;
    const plain = await createBenchProgram(laurel, 'trace-without-tiers');
    const tiered = await createBenchProgram(laurel, 'trace-with-tiers');
    for (const p of [plain, tiered]) await inTransaction(laurel.database.db, (trx) => earning.config.create(p.ctx, trx, 'rule', RULE));
    await inTransaction(laurel.database.db, (trx) => tiers.config.save(tiered.ctx, trx, LADDER));
    await seedMembers(pool, { programId: plain.program.id, idPrefix: 'mpa', count: MEMBERS });
    await seedMembers(pool, { programId: tiered.program.id, idPrefix: 'mti', count: MEMBERS });
    // Some awards first, then analyzed: a statement planned while `events` was empty keeps a
    // sequential scan of it until the next analyze, and the trace would show that instead.
    for (const [p, prefix] of [[plain, 'mpa'], [tiered, 'mti']] as const) {
      for (let i = 0; i < 200; i++) {
        const member = `${prefix}${String(MEMBERS - 1 - i).padStart(9, '0')}`;
        await earning.events.ingest({ ...p.ctx, clock: systemClock }, { eventId: `w${i}`, member, type: 'purchase', attributes: { amount: 50_000 } });
      }
    }
    await settle(pool, ['events', 'earning_counters', 'member_tiers', 'tier_metric_buckets', 'tier_history']);
    for (const [p, prefix] of [[plain, 'mpa'], [tiered, 'mti']] as const) {
      await traceOperation(pool, `one award, ${prefix === 'mpa' ? 'without' : 'with'} tiers`, OPS, (i) =>
        earning.events.ingest(
          { ...p.ctx, clock: systemClock },
          { eventId: `t${i}`, member: `${prefix}${String(REGULARS ? i % REGULARS : (i * 7919) % MEMBERS).padStart(9, '0')}`, type: 'purchase', attributes: { amount: 10_000 + ((i * 104_729) % 190_000) } },
        ),
      );
    }
    const { rows } = await pool.query<{ n: string }>(`select count(*) as n from tier_history where program_id = $1`, [tiered.program.id]);
    log(`tier changes: ${rows[0]!.n}`);
    // A prepared statement that keeps choosing custom plans is planned on every call.
    const plans = new Map<string, string>();
    for (let k = 0; k < 16; k++) {
      const r = await rawQuery<{ name: string; generic_plans: string; custom_plans: string; s: string }>(
        laurel.database.db,
        `select name, generic_plans, custom_plans, left(regexp_replace(statement, '\\s+', ' ', 'g'), 90) as s from pg_prepared_statements where pg_backend_pid() is not null`,
        [],
      );
      for (const x of r.rows) plans.set(`${x.name} ${x.s}`, `generic ${x.generic_plans} custom ${x.custom_plans}`);
    }
    for (const [k, v] of plans) log(`${v}  ${k}`);
  } finally {
    await laurel.close().catch((err) => log(`closing Laurel: ${String(err)}`));
    await pool.end();
    await bench.drop();
  }
}
