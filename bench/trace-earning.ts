import type { EarningService } from '../src/modules/earning/index.js';
import { createBenchDatabase, rawPool } from './lib/database.js';
import { log } from './lib/report.js';
import { seededMemberId, seedMembers, settle } from './lib/seed.js';
import { traceOperation } from './lib/trace.js';
import { createBenchProgram, startLaurel } from './ledger/setup.js';
import { createRules, purchase } from './earning.js';

/**
 * A diagnostic, not a benchmark (no BENCH line): the SQL that one event and one batch of a
 * thousand events send through the service (and one event through HTTP) with the earning
 * benchmark's twenty rules,
 * statement by statement. TRACE_OPS (200) single events, TRACE_BATCHES (5) batches.
 */
const OPS = Number(process.env.TRACE_OPS ?? 200);
const BATCHES = Number(process.env.TRACE_BATCHES ?? 5);
const MEMBERS = 20_000;

export async function main(): Promise<void> {
  const bench = await createBenchDatabase('trace_earning');
  const pool = rawPool(bench.url, 4);
  const laurel = await startLaurel(bench, 4);
  try {
    const program = await createBenchProgram(laurel, 'Earning trace');
    const earning = laurel.services.earning as EarningService;
    await seedMembers(pool, { programId: program.program.id, idPrefix: 'mem_trace_', count: MEMBERS });
    await createRules(laurel, program.ctx);
    const member = (i: number) => seededMemberId('mem_trace_', (i * 7907) % MEMBERS);
    // Some events first, then analyzed: a statement planned while `events` was empty keeps a
    // sequential scan of it until the next analyze, and the trace would show that instead.
    for (let i = 0; i < 200; i++) await earning.events.ingest(program.ctx, { eventId: `w-${i}`, member: member(i + 10_000), ...purchase(i) });
    await settle(pool, ['events', 'earning_counters']);
    await traceOperation(pool, 'one event', OPS, (i) => earning.events.ingest(program.ctx, { eventId: `s-${i}`, member: member(i), ...purchase(i) }));
    const address = await laurel.http.listen({ port: 0, host: '127.0.0.1' });
    const url = `${address}/v1/programs/${program.program.id}/events`;
    await traceOperation(pool, 'one event through HTTP', OPS, async (i) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${program.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ eventId: `h-${i}`, member: member(i + 5000), ...purchase(i) }),
      });
      if (res.status !== 201) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    });
    await traceOperation(
      pool,
      'a batch of 1,000 events',
      BATCHES,
      (b) => earning.events.ingestBatch(program.ctx, Array.from({ length: 1000 }, (_, i) => ({ eventId: `b-${b}-${i}`, member: member(b * 1000 + i), ...purchase(i) }))),
      2,
    );
    const { rows } = await pool.query<{ bytes: number }>(`select round(avg(octet_length(explanation::text)))::int as bytes from events`);
    console.log(`\nstored explanation: ${rows[0]!.bytes} bytes per event on average`);
  } finally {
    await laurel.close().catch((err) => log(`closing Laurel: ${String(err)}`));
    await pool.end();
    await bench.drop();
  }
}
