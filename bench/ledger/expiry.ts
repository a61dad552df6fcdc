import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { Laurel } from '../../src/app.js';
import type { ProgramSnapshot } from '../../src/core/context.js';
import type { DB } from '../../src/db/schema.js';
import { verifyLedger, type VerifyReport } from '../../src/modules/ledger/verify.js';
import { cpuMeter } from '../lib/cpu.js';
import { log, step } from '../lib/report.js';
import { seedEarnedLots, seedMembers, settle } from '../lib/seed.js';
import { createBenchProgram } from './setup.js';

export interface ExpirySeed {
  program: ProgramSnapshot;
  lots: number;
  points: number;
}

/**
 * A program of its own, so the sweep and the verification see only this seed: `lots` active
 * lots, all past their expiry, over `members` members × three point types.
 */
export async function seedExpiryProgram(laurel: Laurel, pool: pg.Pool, members: number, lots: number): Promise<ExpirySeed> {
  const base = await createBenchProgram(laurel, 'Expiry bench', ['stars']);
  const types = ['points', 'growth', 'stars'].map((c) => base.pointTypeIds[c]!);
  const prefix = 'mem_bexp_';
  await seedMembers(pool, { programId: base.program.id, idPrefix: prefix, count: members });
  await seedEarnedLots(pool, {
    tag: 'exp',
    programId: base.program.id,
    memberPrefix: prefix,
    members,
    pointTypeIds: types,
    lots,
    amountSql: `1 + (n * 7919) % 500`,
    earnedAtSql: `now() - (400 + n % 300) * interval '1 day'`,
    expiresAtSql: `now() - (1 + n % 365) * interval '1 day' - (n % 86400) * interval '1 second'`,
  });
  await settle(pool);
  const due = await pool.query<{ n: string; points: string }>(
    `select count(*) as n, sum(remaining) as points from lots where program_id = $1 and status = 'active' and remaining > 0 and expires_at <= now()`,
    [base.program.id],
  );
  const seed = { program: base.ctx.program, lots: Number(due.rows[0]!.n), points: Number(due.rows[0]!.points) };
  log(`due: ${seed.lots.toLocaleString()} lots, ${seed.points.toLocaleString()} points`);
  return seed;
}

export interface ExpiryOutcome {
  label: string;
  lots: number;
  seconds: number;
  accounts: number;
  points: number;
  /** CPU of the database client backends while sweeping (robust to other load on the machine) */
  backendCpuSeconds: number;
  walMb: number;
  leftDue: number;
  verify: VerifyReport;
  verifySeconds: number;
}

export type Sweeper = (asOf: Date, progress: (accounts: number, note: string) => void) => Promise<{ accounts: number; points: number }>;

/** Time one sweep over the seed, then check that nothing due is left and the ledger holds. */
export async function timeSweep(label: string, db: Kysely<DB>, pool: pg.Pool, database: string, seed: ExpirySeed, sweep: Sweeper): Promise<ExpiryOutcome> {
  const asOf = new Date();
  let lastLog = 0;
  const wal0 = (await pool.query<{ lsn: string }>('select pg_current_wal_lsn() as lsn')).rows[0]!.lsn;
  const stopCpu = await cpuMeter(pool, database);
  const t0 = performance.now();
  const swept = await sweep(asOf, (accounts, note) => {
    const now = performance.now();
    if (now - lastLog < 10_000) return;
    lastLog = now;
    log(`  ${label}: ${accounts.toLocaleString()} accounts, ${note} (${((now - t0) / 1000).toFixed(0)} s)`);
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = await stopCpu();
  const wal = await pool.query<{ bytes: string }>('select pg_wal_lsn_diff(pg_current_wal_lsn(), $1) as bytes', [wal0]);
  log(`${label}: ${swept.accounts.toLocaleString()} accounts, ${Number(swept.points).toLocaleString()} points in ${seconds.toFixed(1)} s`);

  const left = await pool.query<{ n: string }>(
    `select count(*) as n from lots where program_id = $1 and status = 'active' and remaining > 0 and expires_at <= $2`,
    [seed.program.id, asOf],
  );
  const v0 = performance.now();
  const verify = await step(`verifyLedger after ${label}`, () => verifyLedger(db, seed.program.id));
  return {
    label,
    lots: seed.lots,
    seconds,
    accounts: swept.accounts,
    points: Number(swept.points),
    backendCpuSeconds: cpu.pgMs / 1000,
    walMb: Number(wal.rows[0]!.bytes) / 1e6,
    leftDue: Number(left.rows[0]!.n),
    verify,
    verifySeconds: (performance.now() - v0) / 1000,
  };
}

export function describeOutcome(e: ExpiryOutcome): string {
  return (
    `${e.label}: ${e.lots.toLocaleString()} lots over ${e.accounts.toLocaleString()} accounts in ${e.seconds.toFixed(1)} s ` +
    `(backend CPU ${e.backendCpuSeconds.toFixed(1)} s, WAL ${e.walMb.toFixed(0)} MB cluster-wide); due lots left: ${e.leftDue}; ` +
    `verifyLedger ${e.verify.ok ? 'holds' : 'VIOLATED'} (${e.verify.accountsChecked.toLocaleString()} accounts, ${e.verifySeconds.toFixed(1)} s)`
  );
}
