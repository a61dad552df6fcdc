import type pg from 'pg';
import type { Laurel } from '../src/app.js';
import { inTransaction } from '../src/db/database.js';
import type { DrawsService } from '../src/modules/draws/index.js';
import { verifyLedger } from '../src/modules/ledger/verify.js';
import type { MallService } from '../src/modules/mall/index.js';
import { cpuPerOp, measuredLoad, type Measured } from './lib/cpu.js';
import { createBenchDatabase, rawPool } from './lib/database.js';
import { runLoad, type LoadResult, type Operation } from './lib/load.js';
import { benchLine, log, round, step, table } from './lib/report.js';
import { settle } from './lib/seed.js';
import { RawLedger } from './ledger/raw.js';
import { SPEND_MEMBERS, seedMainProgram, startLaurel } from './ledger/setup.js';

/**
 * The mall and draws on PostgreSQL, beside the ledger's raw spend from the same run:
 * orders per second for one hot item (one SKU row every order takes stock from) under 32
 * clients, an exhaustion burst that must sell exactly the stock, and draw plays per second.
 * Knobs: BENCH_SECONDS (5), BENCH_MEMBERS (20000).
 */
const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const SECONDS = env('BENCH_SECONDS', 5);
const WARMUP_MS = 1_500;
const CLIENTS = 32;
const POOL = 40;
const HOT_STOCK = 1_000_000;
const BURST_STOCK = 200;
const SHIPPING = { name: 'Bench', phone: '+86 100 0000 0000', address: '1 Bench Road' };

const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!;

function phase(pool: pg.Pool, database: string, label: string, op: Operation): Promise<Measured> {
  return step(`${label} (${CLIENTS} clients, ${SECONDS} s)`, () => measuredLoad(pool, database, { label, workers: CLIENTS, durationMs: SECONDS * 1000, warmupMs: WARMUP_MS }, op));
}

export async function main(): Promise<void> {
  const members = Math.max(env('BENCH_MEMBERS', 20_000), SPEND_MEMBERS);
  const bench = await createBenchDatabase('mall');
  const pool = rawPool(bench.url, POOL);
  let laurel: Laurel | null = null;
  try {
    laurel = await startLaurel(bench, POOL);
    const main = await seedMainProgram(laurel, pool, members);
    const { ctx } = main;
    const db = laurel.database.db;
    const mall = laurel.services.mall as MallService;
    const draws = laurel.services.draws as DrawsService;
    const spenders = main.memberIds.slice(0, SPEND_MEMBERS);

    const hot = await inTransaction(db, (trx) =>
      mall.createItem(trx, ctx, { kind: 'product', name: 'Hot mug', onShelf: true, skus: [{ code: 'std', name: 'Standard', pointsPrice: 10, stock: HOT_STOCK }] }),
    );
    const burst = await inTransaction(db, (trx) =>
      mall.createItem(trx, ctx, { kind: 'product', name: 'Limited mug', onShelf: true, skus: [{ code: 'std', name: 'Standard', pointsPrice: 10, stock: BURST_STOCK }] }),
    );
    const draw = await inTransaction(db, (trx) =>
      draws.create(trx, ctx, {
        code: 'bench-wheel', name: 'Bench wheel', presentation: 'wheel', costPoints: 1,
        prizes: [
          { name: '5 points', kind: 'points', weight: 10, points: 5 },
          { name: 'Rare 100 points', kind: 'points', weight: 1, points: 100, stock: 100 },
          { name: 'Thanks', kind: 'thanks', weight: 89, fallback: true },
        ],
      }),
    );
    await settle(pool);
    const raw = new RawLedger(pool, main.program.id, main.pointTypeIds.points!);

    const rawSpend = await phase(pool, bench.name, 'raw ledger spend', (w, s) => raw.spend(pick(spenders), 10, `raw-spend-${w}-${s}`).then(() => {}));
    const hotSku = hot.skus[0]!.id;
    const orders = await phase(pool, bench.name, 'mall order, one hot item', (w, s) =>
      inTransaction(db, (trx) => mall.placeOrder(trx, ctx, { memberId: pick(spenders), lines: [{ skuId: hotSku, quantity: 1 }], shipping: SHIPPING, idempotencyKey: `hot-${w}-${s}` })).then(() => {}),
    );
    const plays = await phase(pool, bench.name, 'draw play', (w, s) =>
      inTransaction(db, (trx) => draws.play(trx, ctx, { drawId: draw.id, memberId: pick(spenders), idempotencyKey: `play-${w}-${s}` })).then(() => {}),
    );

    // Exhaustion burst: 32 clients race for BURST_STOCK units; exactly that many must sell.
    const burstSku = burst.skus[0]!.id;
    const burstResults = await step(`exhaustion burst (${CLIENTS * 20} orders for ${BURST_STOCK} units)`, () =>
      Promise.allSettled(
        Array.from({ length: CLIENTS * 20 }, (_, i) =>
          inTransaction(db, (trx) => mall.placeOrder(trx, ctx, { memberId: spenders[i % spenders.length]!, lines: [{ skuId: burstSku, quantity: 1 }], shipping: SHIPPING, idempotencyKey: `burst-${i}` })),
        ),
      ),
    );
    const burstSold = burstResults.filter((r) => r.status === 'fulfilled').length;
    const burstOther = burstResults.filter((r) => r.status === 'rejected' && (r.reason as { code?: string }).code !== 'out_of_stock').length;

    const { rows } = await pool.query<{ sku_id: string; stock: number; sold: string }>(
      `select s.id as sku_id, (s.stock + coalesce((select sum(x.stock) from mall_sku_stock x where x.sku_id = s.id), 0))::int as stock, coalesce((select sum(l.quantity) from mall_order_lines l where l.sku_id = s.id), 0) as sold
       from mall_skus s where s.id = any($1::text[])`,
      [[hotSku, burstSku]],
    );
    const hotRow = rows.find((r) => r.sku_id === hotSku)!;
    const burstRow = rows.find((r) => r.sku_id === burstSku)!;
    const noOversell = hotRow.stock + Number(hotRow.sold) === HOT_STOCK && burstRow.stock === 0 && Number(burstRow.sold) === BURST_STOCK && burstSold === BURST_STOCK;
    const verify = await step('verifyLedger', () => verifyLedger(db, main.program.id));

    console.log();
    console.log(
      table(
        ['phase', 'clients', 'ops', 'errors', 'ops/s', 'p50 ms', 'p95 ms', 'p99 ms', 'ops/s vs raw spend', 'cpu µs/op (node + pg)'],
        [rawSpend, orders, plays].map((x) => [
          x.label, x.workers, x.ops, x.errors, x.throughput, x.latency.p50, x.latency.p95, x.latency.p99, round(x.throughput / rawSpend.throughput, 2),
          `${cpuPerOp(x)} (${cpuPerOp(x, 'nodeMs')} + ${cpuPerOp(x, 'pgMs')})`,
        ]),
      ),
    );
    for (const x of [rawSpend, orders, plays]) if (x.firstError) console.log(`  ${x.label}: first error: ${x.firstError}`);
    console.log(`hot item: ${Number(hotRow.sold)} sold, ${hotRow.stock} left of ${HOT_STOCK}; burst: ${burstSold} sold of ${BURST_STOCK} (${burstOther} refused for another reason); no oversell: ${noOversell}`);
    console.log(`verifyLedger: ${verify.ok ? 'holds' : 'VIOLATED'} (${verify.accountsChecked} accounts)`);
    console.log();
    benchLine('mall', {
      orders_per_s_hot_item_c32: round(orders.throughput, 0),
      draw_plays_per_s: round(plays.throughput, 0),
      raw_spend_c32_ops_s: round(rawSpend.throughput, 0),
      orders_p99_ms: round(orders.latency.p99, 2),
      draw_plays_p99_ms: round(plays.latency.p99, 2),
      raw_spend_p99_ms: round(rawSpend.latency.p99, 2),
      orders_cpu_us_per_op: cpuPerOp(orders),
      draw_plays_cpu_us_per_op: cpuPerOp(plays),
      raw_spend_cpu_us_per_op: cpuPerOp(rawSpend),
      no_oversell: noOversell,
      errors: orders.errors + plays.errors + rawSpend.errors,
      verify_ok: verify.ok,
    });
  } finally {
    await laurel?.close().catch((err) => log(`closing Laurel: ${String(err)}`));
    await pool.end().catch(() => {});
    await bench.drop();
  }
}
