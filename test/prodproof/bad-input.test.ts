import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawQuery } from '../../src/db/database.js';
import { createTestLaurel, type TestLaurel } from '../harness.js';
import { operationsOf, requestsFor, resolver, type GeneratedRequest } from './openapi-requests.js';
import { changedTables, tableDigests } from './state-digest.js';

/**
 * Every operation of the served OpenAPI document, fired with schema-conforming, boundary and
 * malformed requests: no 500, no hang, and a refused request (4xx) leaves every table as it was.
 * PGlite only: the property is about the HTTP and domain layers, which are the same on both engines.
 */
const VALID_PER_ROUTE = 6;
const MALFORMED_PER_ROUTE = 14;
const HANG_MS = 10_000;

describe('bad input from the OpenAPI document', () => {
  let t: TestLaurel;
  const pathValues: Record<string, string[]> = {};

  beforeAll(async () => {
    t = await createTestLaurel('pglite');
    const { program, key } = await t.createProgram({ mode: 'sandbox' });
    const base = `/v1/programs/${program.id}`;
    const member = await t.api('POST', `${base}/members`, { key, body: { externalId: 'someone' } });
    const item = await t.api('POST', `${base}/mall/items`, {
      key,
      body: { kind: 'product', name: 'Mug', onShelf: true, skus: [{ code: 'std', name: 'Standard', pointsPrice: 10, stock: 100 }] },
    });
    const keys = await t.api('GET', `${base}/api-keys`, { key });
    Object.assign(pathValues, {
      programId: [program.id],
      memberId: [member.body.id, 'ext:someone'],
      code: ['points', 'growth'],
      itemId: [item.body.id],
      skuId: [item.body.skus?.[0]?.id],
      keyId: [keys.body.data?.[0]?.id],
      report: ['overview', 'points'],
    });
  });
  afterAll(() => t?.close());

  async function stopRun(r: GeneratedRequest, runId: string): Promise<void> {
    const runs = `${r.url.slice(0, r.url.indexOf('/whatif/'))}/whatif/runs/${runId}`;
    const headers = { authorization: r.headers.authorization!, 'idempotency-key': `stop-${runId}` };
    const cancel = await t.laurel.http.inject({ method: 'POST', url: `${runs}:cancel`, headers });
    if (cancel.statusCode !== 200) throw new Error(`cancelling what-if run ${runId}: ${cancel.statusCode} ${cancel.body}`);
    for (let i = 0; i < 600; i++) {
      const run = (await t.laurel.http.inject({ method: 'GET', url: runs, headers: r.headers })).json() as { status: string };
      if (!['queued', 'running'].includes(run.status)) return;
      await new Promise((done) => setTimeout(done, 50));
    }
    throw new Error(`what-if run ${runId} did not stop`);
  }

  it('answers thousands of generated requests without a 500 or a hang, and a 4xx changes nothing', async () => {
    const doc = (await t.api('GET', '/openapi.json', { key: null })).body;
    const resolve = resolver(doc);
    const requests: GeneratedRequest[] = [];
    for (const op of operationsOf(doc)) {
      requests.push(...requestsFor(op, resolve, { pathValues, auth: { authorization: `Bearer ${t.adminKey}` }, seed: 20240610 }, VALID_PER_ROUTE, MALFORMED_PER_ROUTE));
    }
    const db = t.laurel.database.db;
    const failures: string[] = [];
    const statuses: Record<string, number> = {};
    // A transaction that writes takes a transaction id; reading the next one to be handed out
    // takes none. Unchanged, it proves nothing was written, and the digest can be skipped.
    const nextXid = async () => (await rawQuery<{ x: string }>(db, 'select pg_snapshot_xmax(pg_current_snapshot())::text as x')).rows[0]!.x;
    let before = await tableDigests(db);
    let xid = await nextXid();
    let digests = 0;
    for (const r of requests) {
      const res = await Promise.race([
        t.laurel.http.inject({ method: r.method as 'GET', url: r.url, headers: r.headers, ...(r.payload !== undefined ? { payload: r.payload } : {}) }),
        new Promise<null>((resolve) => setTimeout(() => resolve(null), HANG_MS).unref()),
      ]);
      const what = `${r.method} ${r.url.slice(0, 160)} (${r.kind})`;
      if (res === null) {
        failures.push(`hang > ${HANG_MS} ms: ${what}`);
        break; // the engine is still busy with it: later verdicts would not be about their own request
      }
      const klass = `${Math.floor(res.statusCode / 100)}xx`;
      statuses[klass] = (statuses[klass] ?? 0) + 1;
      if (res.statusCode >= 500) failures.push(`${res.statusCode}: ${what}: ${res.body.slice(0, 300)}`);
      // An accepted what-if run goes on in the background: stop it before the next verdict, or
      // its writes would be taken for the next request's.
      if (res.statusCode === 202 && r.url.includes('/whatif/')) await stopRun(r, res.json().id as string);
      const xidAfter = await nextXid();
      if (xidAfter === xid) continue;
      const after = await tableDigests(db);
      digests++;
      if (res.statusCode >= 400 && res.statusCode < 500) {
        const changed = changedTables(before, after);
        if (changed.length) failures.push(`${res.statusCode} changed ${changed.join(', ')}: ${what}: ${res.body.slice(0, 200)}`);
      }
      before = after;
      xid = xidAfter;
    }
    console.log(
      `bad input: ${requests.length} requests tried over ${operationsOf(doc).length} operations; statuses ${JSON.stringify(statuses)}; ` +
        `${digests} wrote something and were checked by a digest of all tables`,
    );
    expect(failures).toEqual([]);
    expect(requests.length).toBeGreaterThan(2_000);
  }, 600_000);
});
