import type pg from 'pg';
import { createLaurel, type Laurel } from '../../src/app.js';
import { systemClock } from '../../src/core/clock.js';
import type { ProgramContext } from '../../src/core/context.js';
import { inTransaction } from '../../src/db/database.js';
import type { Program } from '../../src/modules/programs/index.js';
import type { BenchDatabase } from '../lib/database.js';
import { seededMemberId, seedEarnedLots, seedMembers } from '../lib/seed.js';

export interface BenchProgram {
  program: Program;
  /** a program API key with every scope */
  key: string;
  ctx: ProgramContext;
  pointTypeIds: Record<string, string>;
  memberIds: string[];
}

export async function startLaurel(bench: BenchDatabase, poolSize: number): Promise<Laurel> {
  const database = await bench.open(poolSize);
  const laurel = await createLaurel({ database });
  await laurel.http.ready();
  return laurel;
}

export async function createBenchProgram(laurel: Laurel, name: string, extraPointTypes: string[] = []): Promise<Omit<BenchProgram, 'memberIds'>> {
  const { program, key } = await inTransaction(laurel.database.db, async (trx) => {
    const program = await laurel.createProgram({ name, mode: 'live', timeZone: 'Asia/Shanghai', currency: 'CNY' }, trx);
    const { secret } = await laurel.services.access.createKey(trx, program.id, { name: 'bench', scopes: ['admin'] });
    return { program, key: secret };
  });
  // systemContext pins a live program's clock to its creation; a benchmark runs on real time.
  const ctx: ProgramContext = { ...laurel.systemContext(program, 'bench'), clock: systemClock };
  for (const code of extraPointTypes) {
    await laurel.services.pointTypes.create(ctx, { code, name: code, kind: 'redeemable' });
  }
  const types = await laurel.services.pointTypes.list(ctx);
  return { program, key, ctx, pointTypeIds: Object.fromEntries(types.map((t) => [t.code, t.id])) };
}

export const SPEND_MEMBERS = 10_000;

/**
 * The program the earn and spend phases run on: members with two earns each of history in
 * points, lots expiring over the next two years (one in five never). The first SPEND_MEMBERS
 * hold large balances, so the spend phases never run dry.
 */
export async function seedMainProgram(laurel: Laurel, pool: pg.Pool, members: number): Promise<BenchProgram> {
  const base = await createBenchProgram(laurel, 'Ledger bench');
  const prefix = 'mem_bench_';
  await seedMembers(pool, { programId: base.program.id, idPrefix: prefix, count: members });
  await seedEarnedLots(pool, {
    tag: 'main',
    programId: base.program.id,
    memberPrefix: prefix,
    members,
    pointTypeIds: [base.pointTypeIds.points!],
    lots: members * 2,
    amountSql: `case when m < ${SPEND_MEMBERS} then 5000 else 50 + (n * 7919) % 950 end`,
    earnedAtSql: `now() - ((n * 37) % 400 + 1) * interval '1 day'`,
    expiresAtSql: `case when n % 5 = 0 then null else now() + ((n * 13) % 700 + 30) * interval '1 day' end`,
  });
  return { ...base, memberIds: Array.from({ length: members }, (_, i) => seededMemberId(prefix, i)) };
}
