import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../../bench/lib/server-process.js';
import { rawQuery, type Database } from '../../src/db/database.js';
import { verifyLedger } from '../../src/modules/ledger/verify.js';
import { createPgDatabase, faultTestsEnabled, http, setUpProgram, type FaultProgram, type PgDatabase } from './fault-support.js';

/**
 * kill -9 of a real `laurel serve` in the middle of batch ingestion and of mall orders under
 * load; a restart; every request retried with its own event ids and idempotency keys. Every
 * point lands exactly once, the ledger verifies, and after the sandbox clock passes the payment
 * window no order or hold is left reserved.
 */
const BATCHES = 8;
const BATCH_SIZE = 250;
const ORDERS = 160;
const MEMBERS = 40;

describe.skipIf(!faultTestsEnabled)('crash: kill -9 under load, restart, retry', () => {
  let database: PgDatabase;
  let db: Database;
  let server: ServerProcess;
  let program: FaultProgram;
  const adminKey = `lrl_admin_crash_${randomBytes(12).toString('hex')}`;
  const start = (port?: number) => startServer({ databaseUrl: database.url, adminKey, env: { LAUREL_SCHEDULER: 'false' }, ...(port ? { port } : {}) });
  const path = (p: string) => `/v1/programs/${program.programId}${p}`;
  const restart = async () => {
    server = await start(server.port);
  };

  beforeAll(async () => {
    database = await createPgDatabase();
    db = await database.open();
    server = await start();
    program = await setUpProgram(server.url, adminKey, MEMBERS);
  }, 120_000);
  afterAll(async () => {
    await server?.kill9();
    await db?.close();
    await database?.drop();
  });

  it('credits a batch ingestion interrupted by kill -9 exactly once after retrying it', async () => {
    const batches = Array.from({ length: BATCHES }, (_, b) =>
      Array.from({ length: BATCH_SIZE }, (_, i) => ({ eventId: `crash-${b}-${i}`, member: `ext:m${(b * BATCH_SIZE + i) % MEMBERS}`, type: 'sign_in' })),
    );
    const send = (events: unknown[]) => http(server.url, 'POST', path('/events:batch'), program.key, { events });
    const inFlight = batches.map((events) => send(events));
    // The kill lands once the first batch has committed and while the others are on their way.
    await Promise.race(inFlight);
    await server.kill9();
    const first = await Promise.all(inFlight);
    const cut = first.filter((r) => r.status !== 200).length;
    const committed = (await rawQuery<{ n: number }>(db.db, `select count(*)::int as n from ledger_transactions where program_id = $1 and kind = 'earn'`, [program.programId])).rows[0]!.n;
    await restart();
    const retried = await Promise.all(batches.map((events) => send(events)));
    expect(retried.map((r) => r.status)).toEqual(batches.map(() => 200));
    for (const r of retried) for (const e of r.body.results) expect(e.status).toBe('processed');

    const { rows } = await rawQuery<{ n: number; total: number }>(
      db.db,
      `select count(*)::int as n, coalesce(sum(amount), 0)::int as total from ledger_transactions where program_id = $1 and kind = 'earn'`,
      [program.programId],
    );
    expect(rows[0]).toEqual({ n: BATCHES * BATCH_SIZE, total: BATCHES * BATCH_SIZE * 10 });
    expect((await verifyLedger(db.db, program.programId)).ok).toBe(true);
    console.log(`crash during batch ingestion: ${BATCHES - cut} of ${BATCHES} batches answered before the kill, ${cut} cut, ${committed} events committed; after the retry ${rows[0]!.n} earns, ${rows[0]!.total} points: exactly once`);
  }, 120_000);

  it('keeps mall orders interrupted by kill -9 exactly once, and leaves nothing reserved past its timeout', async () => {
    const item = await http(server.url, 'POST', path('/mall/items'), program.key, {
      kind: 'product', name: 'Mug', onShelf: true,
      skus: [{ code: 'std', name: 'Standard', pointsPrice: 20, mixed: { points: 10, cash: 500 }, stock: 100_000 }],
    });
    expect(item.status).toBe(201);
    const skuId = item.body.skus[0].id as string;
    const order = (i: number) =>
      http(server.url, 'POST', path('/mall/orders'), program.key,
        { memberId: `ext:m${i % MEMBERS}`, lines: [{ skuId, quantity: 1, payment: i % 2 ? 'mixed' : 'points' }], shipping: { name: 'A', phone: '+1 555 0100', address: '1 Road' } },
        { 'idempotency-key': `crash-order-${i}` });
    // Eight clients place orders; the process dies after a third of them.
    const first: number[] = new Array(ORDERS).fill(0);
    let next = 0;
    let done = 0;
    const killed = (async () => {
      while (done < ORDERS / 3) await new Promise((r) => setTimeout(r, 5));
      await server.kill9();
    })();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < ORDERS) {
          const i = next++;
          first[i] = (await order(i)).status;
          done++;
        }
      }),
    );
    await killed;
    const committed = (await rawQuery<{ n: number }>(db.db, 'select count(*)::int as n from mall_orders where program_id = $1', [program.programId])).rows[0]!.n;
    await restart();
    const retried = [];
    for (let i = 0; i < ORDERS; i++) retried.push(await order(i));
    expect(retried.filter((r) => r.status !== 201).map((r) => JSON.stringify(r.body))).toEqual([]);
    expect(new Set(retried.map((r) => r.body.id)).size).toBe(ORDERS);

    const counts = async () =>
      (
        await rawQuery<{ orders: number; awaiting: number; stock: number; open_holds: number }>(
          db.db,
          `select (select count(*)::int from mall_orders where program_id = $1) as orders,
                  (select count(*)::int from mall_orders where program_id = $1 and status = 'awaiting_payment') as awaiting,
                  (select stock + coalesce((select sum(p.stock) from mall_sku_stock p where p.sku_id = $2), 0) from mall_skus where id = $2)::int as stock,
                  (select count(*)::int from ledger_transactions where program_id = $1 and status = 'open') as open_holds`,
          [program.programId, skuId],
        )
      ).rows[0]!;
    const after = await counts();
    expect(after.orders).toBe(ORDERS);
    expect(after.stock).toBe(100_000 - ORDERS);
    expect(after.awaiting).toBe(ORDERS / 2);
    expect(after.open_holds).toBe(ORDERS / 2);
    expect((await verifyLedger(db.db, program.programId)).ok).toBe(true);

    // Past the payment window (and the hold's margin) every unpaid order is cancelled and its hold released.
    const advanced = await http(server.url, 'POST', path('/clock/advance'), program.key, { by: { days: 1 } });
    expect(advanced.status).toBe(200);
    const settled = await counts();
    expect({ awaiting: settled.awaiting, openHolds: settled.open_holds, stock: settled.stock }).toEqual({ awaiting: 0, openHolds: 0, stock: 100_000 - ORDERS / 2 });
    expect((await verifyLedger(db.db, program.programId)).ok).toBe(true);
    const answered = first.filter((s) => s === 201).length;
    console.log(`crash during mall orders: ${answered} of ${ORDERS} answered before the kill, ${committed} committed; after the retry ${after.orders} orders, stock down by exactly ${ORDERS}; after the payment window 0 awaiting, 0 open holds`);
  }, 180_000);
});
