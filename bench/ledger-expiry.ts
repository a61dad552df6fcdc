import { createLaurel } from '../src/app.js';
import { sweepExpiry } from '../src/modules/ledger/ledger.jobs.js';
import { copyBenchDatabase, createBenchDatabase, rawPool, type BenchDatabase } from './lib/database.js';
import { envNumber } from './lib/env.js';
import { benchLine, log, round, table } from './lib/report.js';
import { describeOutcome, seedExpiryProgram, timeSweep, type ExpiryOutcome, type ExpirySeed, type Sweeper } from './ledger/expiry.js';
import { startLaurel } from './ledger/setup.js';

/**
 * The expiry sweep with one walker against several walkers on disjoint member ranges, each on
 * its own copy of one seeded database (1,000,000 due lots by default), so both start from
 * identical data. Knobs: BENCH_EXPIRY_LOTS, BENCH_EXPIRY_MEMBERS, BENCH_WALKERS (2).
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

    const sweeper = (n: number) => (db: import('kysely').Kysely<import('../src/db/schema.js').DB>): Sweeper => (asOf, progress) =>
      sweepExpiry(db, seed.program, asOf, 'expiry', { walkers: n, progress: (done, _total, note) => progress(done, note ?? '') });
    const one = await onCopy(template, 'expiry_one', seed, 'sweepExpiry, 1 walker', sweeper(1));
    const many = await onCopy(template, 'expiry_many', seed, `sweepExpiry, ${walkers} walkers`, sweeper(walkers));

    console.log();
    console.log(
      table(
        ['sweep', 'lots', 'accounts', 'seconds', 'backend CPU s', 'WAL MB', 'due left', 'verify'],
        [one, many].map((e) => [e.label, e.lots, e.accounts, round(e.seconds, 1), round(e.backendCpuSeconds, 1), Math.round(e.walMb), e.leftDue, e.verify.ok ? 'holds' : 'VIOLATED']),
      ),
    );
    for (const e of [one, many]) {
      console.log(describeOutcome(e));
      for (const v of e.verify.violations.slice(0, 5)) console.log(`  ${JSON.stringify(v)}`);
    }
    console.log();
    benchLine('ledger-expiry', {
      expire_lots: one.lots,
      one_walker_s: round(one.seconds, 1),
      walkers_s: round(many.seconds, 1),
      speedup: round(one.seconds / many.seconds, 2),
      one_walker_backend_cpu_s: round(one.backendCpuSeconds, 1),
      walkers_backend_cpu_s: round(many.backendCpuSeconds, 1),
      walkers,
      verify_ok: one.verify.ok && many.verify.ok && one.leftDue === 0 && many.leftDue === 0,
    });
  } finally {
    log('dropping the seeded template');
    await template.drop();
  }
}
