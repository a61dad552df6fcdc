import { createLaurel } from '../src/app.js';
import { sweepExpiry } from '../src/modules/ledger/ledger.jobs.js';
import { copyBenchDatabase, createBenchDatabase, rawPool, type BenchDatabase } from './lib/database.js';
import { envNumber } from './lib/env.js';
import { benchLine, log, round, table } from './lib/report.js';
import { describeOutcome, seedExpiryProgram, timeSweep, type ExpiryOutcome, type ExpirySeed, type Sweeper } from './ledger/expiry.js';
import { startLaurel } from './ledger/setup.js';
import { sweepExpiryParallel } from './ledger/sweep-prototype.js';

/**
 * The expiry sweep as Laurel has it against the prototype in bench/ledger/sweep-prototype.ts,
 * each on its own copy of one seeded database (1,000,000 due lots by default), so both start
 * from identical data. Knobs: BENCH_EXPIRY_LOTS, BENCH_EXPIRY_MEMBERS, BENCH_WALKERS (2).
 */

async function onCopy(template: BenchDatabase, tag: string, seed: ExpirySeed, label: string, sweeper: (db: import('kysely').Kysely<import('../src/db/schema.js').DB>) => Sweeper): Promise<ExpiryOutcome> {
  const copy = await copyBenchDatabase(template, tag);
  const database = await copy.open(8);
  const laurel = await createLaurel({ database });
  const pool = rawPool(copy.url, 2);
  try {
    await pool.query('checkpoint');
    return await timeSweep(label, database.db, pool, copy.name, seed, sweeper(database.db));
  } finally {
    await laurel.close();
    await pool.end();
    await copy.drop();
  }
}

export async function main(): Promise<void> {
  const lots = envNumber('BENCH_EXPIRY_LOTS', 1_000_000);
  const members = envNumber('BENCH_EXPIRY_MEMBERS', 200_000);
  const walkers = envNumber('BENCH_WALKERS', 2);
  const template = await createBenchDatabase('expiry_seed');
  try {
    const laurel = await startLaurel(template, 4);
    const pool = rawPool(template.url, 4);
    const seed = await seedExpiryProgram(laurel, pool, members, lots);
    // A template must have no connections while it is copied.
    await laurel.close();
    await pool.end();

    const current = await onCopy(template, 'expiry_current', seed, 'current sweepExpiry', (db) => (asOf, progress) =>
      sweepExpiry(db, seed.program, asOf, 'expiry', (done, _total, note) => progress(done, note ?? '')),
    );
    const prototype = await onCopy(template, 'expiry_prototype', seed, `prototype (${walkers} walkers, keyset)`, (db) => (asOf, progress) =>
      sweepExpiryParallel(db, seed.program, asOf, { walkers, batch: 5_000, progress: (a, p) => progress(a, `${p.toLocaleString()} points expired`) }),
    );

    console.log();
    console.log(
      table(
        ['sweep', 'lots', 'accounts', 'seconds', 'backend CPU s', 'WAL MB', 'due left', 'verify'],
        [current, prototype].map((e) => [e.label, e.lots, e.accounts, round(e.seconds, 1), round(e.backendCpuSeconds, 1), Math.round(e.walMb), e.leftDue, e.verify.ok ? 'holds' : 'VIOLATED']),
      ),
    );
    for (const e of [current, prototype]) {
      console.log(describeOutcome(e));
      for (const v of e.verify.violations.slice(0, 5)) console.log(`  ${JSON.stringify(v)}`);
    }
    console.log();
    benchLine('ledger-expiry', {
      expire_lots: current.lots,
      current_s: round(current.seconds, 1),
      prototype_s: round(prototype.seconds, 1),
      speedup: round(current.seconds / prototype.seconds, 2),
      current_backend_cpu_s: round(current.backendCpuSeconds, 1),
      prototype_backend_cpu_s: round(prototype.backendCpuSeconds, 1),
      walkers,
      verify_ok: current.verify.ok && prototype.verify.ok && current.leftDue === 0 && prototype.leftDue === 0,
    });
  } finally {
    log('dropping the seeded template');
    await template.drop();
  }
}
