import pg from 'pg';
import { inTransaction } from '../src/db/database.js';
import type { DrawsService } from '../src/modules/draws/index.js';
import type { MallService } from '../src/modules/mall/index.js';
import { createBenchDatabase, rawPool } from './lib/database.js';
import { log } from './lib/report.js';
import { seedMainProgram, startLaurel } from './ledger/setup.js';

/**
 * A diagnostic, not a benchmark (no BENCH line): the SQL one mall order (hot SKU) and one draw
 * play send, statement by statement, with each statement's mean round trip over TRACE_OPS (200)
 * operations run one at a time. Use it to see what an operation costs in round trips before
 * reaching for `npm run bench -- mall`. It patches pg.Client#query to listen, so it sees exactly
 * what Laurel sends through node-postgres.
 */
const OPS = Number(process.env.TRACE_OPS ?? 200);

interface Sample {
  text: string;
  ms: number;
  values: unknown[] | undefined;
}

/** Planning and execution time of one statement, run again inside a transaction rolled back. */
async function explain(pool: pg.Pool, text: string, values: unknown[] | undefined): Promise<string> {
  if (/^(begin|commit|rollback)/i.test(text.trim())) return '';
  const c = await pool.connect();
  try {
    await c.query('begin');
    await c.query(`explain (analyze, format json) ${text}`, values); // warms this connection's catalogue caches
    await c.query('rollback');
    await c.query('begin');
    const { rows } = await c.query<{ 'QUERY PLAN': Array<{ 'Planning Time': number; 'Execution Time': number }> }>(`explain (analyze, format json) ${text}`, values);
    const p = rows[0]!['QUERY PLAN'][0]!;
    return `${(p['Planning Time'] * 1000).toFixed(0)} / ${(p['Execution Time'] * 1000).toFixed(0)} µs`;
  } catch (err) {
    return `(${(err as Error).message.slice(0, 20)})`;
  } finally {
    await c.query('rollback').catch(() => {});
    c.release();
  }
}

export async function main(): Promise<void> {
  const bench = await createBenchDatabase('trace');
  const pool = rawPool(bench.url, 4);
  const laurel = await startLaurel(bench, 4);
  try {
    const m = await seedMainProgram(laurel, pool, 12_000);
    const { ctx } = m;
    const db = laurel.database.db;
    const mall = laurel.services.mall as MallService;
    const draws = laurel.services.draws as DrawsService;
    const hot = await inTransaction(db, (trx) =>
      mall.createItem(trx, ctx, { kind: 'product', name: 'Hot', onShelf: true, skus: [{ code: 'std', name: 'S', pointsPrice: 10, stock: 1_000_000 }] }),
    );
    const draw = await inTransaction(db, (trx) =>
      draws.create(trx, ctx, {
        code: 'w', name: 'W', presentation: 'wheel', costPoints: 1,
        prizes: [{ name: '5', kind: 'points', weight: 10, points: 5 }, { name: 'T', kind: 'thanks', weight: 89, fallback: true }],
      }),
    );

    let samples: Sample[] | null = null;
    const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
    (pg.Client.prototype as { query: unknown }).query = function (this: unknown, q: unknown, ...rest: unknown[]) {
      const result = query.call(this, q, ...rest);
      const sink = samples;
      if (sink && result instanceof Promise) {
        const text = typeof q === 'string' ? q : String((q as { text?: string }).text);
        const values = (typeof q === 'string' ? rest[0] : (q as { values?: unknown[] }).values) as unknown[] | undefined;
        const t0 = performance.now();
        void result.then(() => sink.push({ text, ms: performance.now() - t0, values }), () => {});
      }
      return result;
    };

    const member = (i: number) => m.memberIds[i % m.memberIds.length]!;
    const operations: Array<[string, (i: number) => Promise<unknown>]> = [
      ['mall order (hot SKU)', (i) => inTransaction(db, (trx) => mall.placeOrder(trx, ctx, { memberId: member(i), lines: [{ skuId: hot.skus[0]!.id, quantity: 1 }], shipping: { name: 'a', phone: '1', address: 'x' }, idempotencyKey: `o-${i}` }))],
      ['draw play', (i) => inTransaction(db, (trx) => draws.play(trx, ctx, { drawId: draw.id, memberId: member(i), idempotencyKey: `p-${i}` }))],
    ];
    for (const [label, op] of operations) {
      for (let i = 0; i < 20; i++) await op(OPS + i); // warm the plans and the pool
      samples = [];
      const t0 = performance.now();
      for (let i = 0; i < OPS; i++) await op(i);
      const perOp = (performance.now() - t0) / OPS;
      const byText = new Map<string, Sample[]>();
      for (const s of samples) byText.set(s.text, [...(byText.get(s.text) ?? []), s]);
      samples = null;
      console.log(`\n== ${label}: ${(perOp * 1000).toFixed(0)} µs per operation, one at a time (plan / run: EXPLAIN ANALYZE of the last call, rolled back)`);
      for (const [text, all] of byText) {
        const mean = all.reduce((a, b) => a + b.ms, 0) / all.length;
        const plan = await explain(pool, text, all.at(-1)!.values);
        console.log(`  ${String(all.length).padStart(5)} × ${(mean * 1000).toFixed(0).padStart(6)} µs  ${plan.padEnd(17)} ${text.replace(/\s+/g, ' ').trim().slice(0, 110)}`);
      }
    }
  } finally {
    await laurel.close().catch((err) => log(`closing Laurel: ${String(err)}`));
    await pool.end();
    await bench.drop();
  }
}
