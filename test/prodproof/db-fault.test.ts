import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../../bench/lib/server-process.js';
import { rawQuery, type Database } from '../../src/db/database.js';
import { verifyLedger } from '../../src/modules/ledger/verify.js';
import { createPgDatabase, CuttableProxy, faultTestsEnabled, http, setUpProgram, type FaultProgram, type PgDatabase } from './fault-support.js';

/**
 * PostgreSQL disappears under load (every connection reset, new ones refused) and comes back,
 * through a proxy the test cuts, so the shared server is never restarted. While it is gone the
 * API answers 503 with Retry-After, never 500 and never hangs; afterwards it serves again without
 * a restart, and retrying what failed leaves every event credited exactly once.
 */
const CLIENTS = 8;
const MEMBERS = 20;

describe.skipIf(!faultTestsEnabled)('database faults: PostgreSQL unreachable under load', () => {
  let database: PgDatabase;
  let db: Database;
  let proxy: CuttableProxy;
  let server: ServerProcess;
  let program: FaultProgram;
  const adminKey = `lrl_admin_fault_${randomBytes(12).toString('hex')}`;

  beforeAll(async () => {
    database = await createPgDatabase();
    db = await database.open();
    const target = new URL(database.url);
    proxy = new CuttableProxy(target.hostname, Number(target.port || 5432));
    await proxy.open();
    server = await startServer({ databaseUrl: proxy.urlFor(database.url), adminKey, env: { LAUREL_SCHEDULER: 'false' } });
    program = await setUpProgram(server.url, adminKey, MEMBERS);
  }, 120_000);
  afterAll(async () => {
    await server?.kill9();
    await proxy?.close();
    await db?.close();
    await database?.drop();
  });

  it('answers 503 with Retry-After while the database is gone, recovers by itself, and leaves nothing half-written', async () => {
    type Phase = 'before' | 'gone' | 'back';
    let phase: Phase = 'before';
    let seq = 0;
    const outcomes: Array<{ eventId: string; phase: Phase; status: number; retryAfter: string | null }> = [];
    let running = true;
    const clients = Array.from({ length: CLIENTS }, async () => {
      while (running) {
        const eventId = `fault-${seq++}`;
        const at = phase;
        const r = await http(server.url, 'POST', `/v1/programs/${program.programId}/events`, program.key, { eventId, member: `ext:m${seq % MEMBERS}`, type: 'sign_in' });
        outcomes.push({ eventId, phase: at, status: r.status, retryAfter: r.headers.get('retry-after') });
      }
    });
    const until = async (count: (o: (typeof outcomes)[number]) => boolean, n: number) => {
      const deadline = Date.now() + 30_000;
      while (outcomes.filter(count).length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    };
    await until((o) => o.status === 201, 40);
    phase = 'gone';
    await proxy.cut();
    await until((o) => o.phase === 'gone' && o.status === 503, 40);
    phase = 'back';
    await proxy.open();
    await until((o) => o.phase === 'back' && o.status === 201, 40);
    running = false;
    await Promise.all(clients);

    const by = (p: Phase) => outcomes.filter((o) => o.phase === p);
    const gone = by('gone');
    const statuses = (list: typeof outcomes) => [...new Set(list.map((o) => o.status))].sort();
    const tally = (p: Phase) => JSON.stringify(by(p).reduce<Record<number, number>>((m, o) => ({ ...m, [o.status]: (m[o.status] ?? 0) + 1 }), {}));
    if (outcomes.some((o) => o.status === 0)) console.log(`server output:\n${server.output().slice(-3000)}`);
    console.log(`statuses: before ${tally('before')}, gone ${tally('gone')}, back ${tally('back')}`);
    // While gone: refusals say "try again" (a request caught in flight may still have finished).
    expect(gone.filter((o) => o.status === 503).length).toBeGreaterThanOrEqual(40);
    expect(statuses(gone).filter((s) => s !== 503 && s !== 201)).toEqual([]);
    expect(gone.filter((o) => o.status === 503 && !(Number(o.retryAfter) >= 1))).toEqual([]);
    expect(by('back').filter((o) => o.status === 201).length).toBeGreaterThanOrEqual(40);
    expect(outcomes.filter((o) => o.status === 500 || o.status === 0)).toEqual([]);

    // Retried with their own event ids, the refused events land once; the others replay.
    const refused = outcomes.filter((o) => o.status !== 201);
    for (const o of refused) {
      const r = await http(server.url, 'POST', `/v1/programs/${program.programId}/events`, program.key, { eventId: o.eventId, member: `ext:m${Number(o.eventId.slice(6)) % MEMBERS}`, type: 'sign_in' });
      expect(r.status).toBe(201);
    }
    const { rows } = await rawQuery<{ n: number; total: number; events: number }>(
      db.db,
      `select count(*)::int as n, coalesce(sum(amount), 0)::int as total,
              (select count(*)::int from events where program_id = $1) as events
       from ledger_transactions where program_id = $1 and kind = 'earn'`,
      [program.programId],
    );
    expect(rows[0]).toEqual({ n: outcomes.length, total: outcomes.length * 10, events: outcomes.length });
    expect((await verifyLedger(db.db, program.programId)).ok).toBe(true);
    console.log(
      `database gone under load: ${outcomes.length} events sent; while gone ${gone.length} answered (${gone.filter((o) => o.status === 503).length} × 503 with Retry-After, ` +
        `${gone.filter((o) => o.status === 201).length} × 201 finished in flight), 0 × 500; recovered without a restart (${by('back').filter((o) => o.status === 201).length} × 201 after); ` +
        `${refused.length} refused events retried: ${rows[0]!.n} earns, exactly once`,
    );
  }, 120_000);
});
