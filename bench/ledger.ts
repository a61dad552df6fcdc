import { createLaurel, type Laurel } from '../src/app.js';
import { sweepExpiry } from '../src/modules/ledger/ledger.jobs.js';
import { verifyLedger } from '../src/modules/ledger/verify.js';
import type { Aggregate } from './lib/aggregate.js';
import { createBenchDatabase, rawPool } from './lib/database.js';
import { envNumber } from './lib/env.js';
import { benchLine, log, round, table } from './lib/report.js';
import { settle } from './lib/seed.js';
import { describeOutcome, seedExpiryProgram, timeSweep, type ExpiryOutcome } from './ledger/expiry.js';
import { openPreparedPostgres } from './ledger/prepared.js';
import { loadPhases, POOL, ROUNDS, SECONDS, type Variant } from './ledger/phases.js';
import { RawLedger } from './ledger/raw.js';
import { seedMainProgram, startLaurel } from './ledger/setup.js';

function prototypeMetrics(v: Partial<Record<string, Variant>>, earnBase: Aggregate, spendBase: Aggregate): Record<string, number> {
  const { svcEarnPrepared: svc, httpEarnPrepared: http, svcSpendPrepared: spend } = v;
  if (!svc || !http || !spend) return {};
  return {
    prepared_earn_service_ratio: round(svc.agg.throughput / earnBase.throughput, 3),
    prepared_earn_http_ratio: round(http.agg.throughput / earnBase.throughput, 3),
    prepared_spend_p99_ratio_c32: round(spend.agg.latency().p99 / spendBase.latency().p99, 3),
  };
}

/**
 * The ledger against its raw-SQL baseline on PostgreSQL: earn (service and HTTP), spend latency
 * at 32 clients, and the expiry sweep over a million lots. Knobs (environment):
 * BENCH_SECONDS (measured seconds per phase and round, 4), BENCH_ROUNDS (3), BENCH_MEMBERS
 * (100000), BENCH_EXPIRY_LOTS (1000000), BENCH_EXPIRY_MEMBERS (200000), BENCH_SKIP_EXPIRY=1,
 * BENCH_PROTOTYPES=1 (also measure Laurel with its hot SQL prepared: bench/ledger/prepared.ts).
 */
export async function main(): Promise<void> {
  const members = envNumber('BENCH_MEMBERS', 100_000);
  const expiryLots = envNumber('BENCH_EXPIRY_LOTS', 1_000_000);
  const expiryMembers = envNumber('BENCH_EXPIRY_MEMBERS', 200_000);
  // As the application runs it on PostgreSQL (src/app.ts): two walkers on disjoint member ranges.
  const expiryWalkers = envNumber('BENCH_WALKERS', 2);
  const bench = await createBenchDatabase('ledger');
  const pool = rawPool(bench.url, POOL);
  let laurel: Laurel | null = null;
  let prototype: Laurel | null = null;
  try {
    laurel = await startLaurel(bench, POOL);
    const main = await seedMainProgram(laurel, pool, members);
    await settle(pool);
    const raw = new RawLedger(pool, main.program.id, main.pointTypeIds.points!);

    // Prototype of a suggestion (bench/ledger/prepared.ts): the same Laurel, hot SQL prepared.
    prototype = process.env.BENCH_PROTOTYPES === '1' ? await createLaurel({ database: openPreparedPostgres(bench.url, POOL) }) : null;
    const v = await loadPhases(laurel, prototype, raw, main, pool, bench.name);
    const t0 = performance.now();
    const mainVerify = await verifyLedger(laurel.database.db, main.program.id);
    log(`verifyLedger on the load program (raw and Laurel writes together): ${mainVerify.ok ? 'holds' : 'VIOLATED'} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

    let expiry: ExpiryOutcome | null = null;
    if (process.env.BENCH_SKIP_EXPIRY !== '1') {
      const seed = await seedExpiryProgram(laurel, pool, expiryMembers, expiryLots);
      const db = laurel.database.db;
      expiry = await timeSweep('expiry sweep', db, pool, bench.name, seed, (asOf, progress) =>
        sweepExpiry(db, seed.program, asOf, 'expiry', { walkers: expiryWalkers, progress: (done, _total, note) => progress(done, note ?? '') }),
      );
    }

    const earnBase = v.rawEarn.agg;
    const spendBase = v.rawSpend.agg;
    const rows = Object.values(v).map(({ agg }) => {
      const baseline = agg.label.includes('spend') ? spendBase : earnBase;
      const isBase = agg === baseline;
      const lat = agg.latency();
      const cpu = agg.cpuPerOp();
      return [
        agg.label, agg.workers, agg.ops, agg.errors, agg.throughput, lat.p50, lat.p95, lat.p99,
        cpu.node, cpu.pg,
        isBase ? '' : round(agg.throughput / baseline.throughput, 2),
        isBase ? '' : round(lat.p99 / baseline.latency().p99, 2),
        isBase ? '' : round(baseline.cpuPerOp().total / cpu.total, 2),
      ];
    });
    console.log();
    console.log(
      table(['phase', 'clients', 'ops', 'errors', 'ops/s', 'p50 ms', 'p95 ms', 'p99 ms', 'node µs/op', 'pg µs/op', 'ops/s vs raw', 'p99 vs raw', 'raw cpu / cpu'], rows),
    );
    console.log(`(${ROUNDS} rounds × ${SECONDS} s per phase, interleaved; node = server + load generator; pg = backends of the bench database)`);
    if (v.svcEarnPrepared && v.httpEarnPrepared && v.svcSpendPrepared) {
      const x = (a: Aggregate, b: Aggregate) => round(a.throughput / b.throughput, 2);
      console.log(
        `prototype (hot SQL prepared) vs Laurel as is: service earn ${x(v.svcEarnPrepared.agg, v.svcEarn.agg)}× ops/s, HTTP earn ${x(v.httpEarnPrepared.agg, v.httpEarn.agg)}× ops/s, ` +
          `spend p99 ${round(v.svcSpendPrepared.agg.latency().p99 / v.svcSpend.agg.latency().p99, 2)}×`,
      );
    }
    for (const { agg } of Object.values(v)) if (agg.firstError) console.log(`  ${agg.label}: first error: ${agg.firstError}`);
    console.log(`verifyLedger, load program: ${mainVerify.ok ? 'holds' : 'VIOLATED'} (${mainVerify.accountsChecked.toLocaleString()} accounts)`);
    for (const x of mainVerify.violations.slice(0, 5)) console.log(`  ${JSON.stringify(x)}`);
    if (expiry) {
      console.log(describeOutcome(expiry));
      for (const x of expiry.verify.violations.slice(0, 5)) console.log(`  ${JSON.stringify(x)}`);
    }
    console.log();
    const ops = (a: Aggregate) => round(a.throughput, 0);
    const p99 = (a: Aggregate) => round(a.latency().p99, 2);
    const cpu = (a: Aggregate) => round(a.cpuPerOp().total, 0);
    benchLine('ledger', {
      earn_service_ratio: round(v.svcEarn.agg.throughput / earnBase.throughput, 3),
      earn_http_ratio: round(v.httpEarn.agg.throughput / earnBase.throughput, 3),
      spend_p99_ratio_c32: round(v.svcSpend.agg.latency().p99 / spendBase.latency().p99, 3),
      ...(expiry ? { expire_1m_lots_s: round(expiry.seconds, 1) } : {}),
      earn_bare_http_ratio: round(v.bareEarn.agg.throughput / earnBase.throughput, 3),
      raw_earn_ops_s: ops(earnBase),
      raw_earn_p99_ms: p99(earnBase),
      service_earn_ops_s: ops(v.svcEarn.agg),
      service_earn_p99_ms: p99(v.svcEarn.agg),
      http_earn_ops_s: ops(v.httpEarn.agg),
      http_earn_p99_ms: p99(v.httpEarn.agg),
      bare_http_earn_ops_s: ops(v.bareEarn.agg),
      raw_spend_c32_ops_s: ops(spendBase),
      raw_spend_c32_p99_ms: p99(spendBase),
      service_spend_c32_ops_s: ops(v.svcSpend.agg),
      service_spend_c32_p99_ms: p99(v.svcSpend.agg),
      raw_earn_cpu_us: cpu(earnBase),
      service_earn_cpu_us: cpu(v.svcEarn.agg),
      http_earn_cpu_us: cpu(v.httpEarn.agg),
      bare_http_earn_cpu_us: cpu(v.bareEarn.agg),
      raw_spend_cpu_us: cpu(spendBase),
      service_spend_cpu_us: cpu(v.svcSpend.agg),
      ...(expiry ? { expire_1m_lots_backend_cpu_s: round(expiry.backendCpuSeconds, 1), expiry_lots: expiry.lots, expiry_due_left: expiry.leftDue } : {}),
      ...prototypeMetrics(v, earnBase, spendBase),
      errors: Object.values(v).reduce((s, x) => s + x.agg.errors, 0),
      verify_ok: mainVerify.ok && (expiry?.verify.ok ?? true),
    });
  } finally {
    await prototype?.close().catch((err) => log(`closing the prototype: ${String(err)}`));
    await laurel?.close().catch((err) => log(`closing Laurel: ${String(err)}`));
    await pool.end().catch(() => {});
    await bench.drop();
  }
}
