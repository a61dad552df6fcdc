import { inTransaction, type Trx } from '../../src/db/database.js';
import type { ProgramContext } from '../../src/core/context.js';
import type { BenefitsService } from '../../src/modules/benefits/index.js';
import type { CharityService } from '../../src/modules/charity/index.js';
import type { DrawsService } from '../../src/modules/draws/index.js';
import { verifyLedger } from '../../src/modules/ledger/index.js';
import type { MallService } from '../../src/modules/mall/index.js';
import type { TestLaurel } from '../harness.js';

/** A program, its context and helpers shared by the mall, draws and benefits tests. */
export async function spendingFixture(t: TestLaurel) {
  const { program, key } = await t.createProgram();
  const base = `/v1/programs/${program.id}`;
  const ctx: ProgramContext = t.laurel.systemContext(await t.laurel.services.programs.get(program.id), 'test');
  const db = t.laurel.database.db;
  const services = t.laurel.services;
  const mall = services.mall as MallService;
  const draws = services.draws as DrawsService;
  const benefits = services.benefits as BenefitsService;
  const charity = services.charity as CharityService;
  let n = 0;

  async function member(points: number, attributes: Record<string, unknown> = {}): Promise<string> {
    const m = await services.members.create(ctx, { externalId: `m-${++n}-${Math.random().toString(36).slice(2, 8)}`, attributes });
    if (points > 0) await services.ledger.earn(ctx, { member: m.id, pointType: 'points', amount: points, idempotencyKey: `seed-${m.id}` });
    return m.id;
  }
  async function balance(memberId: string): Promise<{ available: number; reserved: number }> {
    const b = (await services.ledgerQueries.balances(ctx, memberId, 0)).find((x) => x.pointType === 'points');
    return { available: b?.available ?? 0, reserved: (b as { reserved?: number } | undefined)?.reserved ?? 0 };
  }
  const tx = <T>(work: (trx: Trx) => Promise<T>) => inTransaction(db, work);
  async function verify() {
    const report = await verifyLedger(db, program.id);
    if (!report.ok) throw new Error(`ledger violations: ${JSON.stringify(report.violations.slice(0, 5))}`);
    return report;
  }
  return { program, key, base, ctx, db, mall, draws, benefits, charity, member, balance, tx, verify };
}

export type SpendingFixture = Awaited<ReturnType<typeof spendingFixture>>;

export async function stockOf(f: SpendingFixture, itemId: string): Promise<number | null> {
  return (await f.mall.getItem(f.ctx, itemId)).skus[0]!.stock;
}

export const SHIPPING = { name: 'Li Lei', phone: '+86 138 0000 0000', address: '1 Nanjing Road, Shanghai' };
