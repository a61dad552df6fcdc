import { inTransaction } from '../src/db/database.js';
import type { DrawsService } from '../src/modules/draws/index.js';
import type { MallService } from '../src/modules/mall/index.js';
import { createBenchDatabase, rawPool } from './lib/database.js';
import { log } from './lib/report.js';
import { traceOperation } from './lib/trace.js';
import { seedMainProgram, startLaurel } from './ledger/setup.js';

/**
 * A diagnostic, not a benchmark (no BENCH line): the SQL one mall order (hot SKU) and one draw
 * play send, statement by statement, with each statement's mean round trip over TRACE_OPS (200)
 * operations run one at a time. Use it to see what an operation costs in round trips before
 * reaching for `npm run bench -- mall`.
 */
const OPS = Number(process.env.TRACE_OPS ?? 200);

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

    const member = (i: number) => m.memberIds[i % m.memberIds.length]!;
    const operations: Array<[string, (i: number) => Promise<unknown>]> = [
      ['mall order (hot SKU)', (i) => inTransaction(db, (trx) => mall.placeOrder(trx, ctx, { memberId: member(i), lines: [{ skuId: hot.skus[0]!.id, quantity: 1 }], shipping: { name: 'a', phone: '1', address: 'x' }, idempotencyKey: `o-${i}` }))],
      ['draw play', (i) => inTransaction(db, (trx) => draws.play(trx, ctx, { drawId: draw.id, memberId: member(i), idempotencyKey: `p-${i}` }))],
    ];
    for (const [label, op] of operations) await traceOperation(pool, label, OPS, op);
  } finally {
    await laurel.close().catch((err) => log(`closing Laurel: ${String(err)}`));
    await pool.end();
    await bench.drop();
  }
}
