import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawQuery } from '../../src/db/database.js';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

describe.each(engines)('idempotency and errors (%s)', (engine) => {
  let t: TestLaurel;
  let base: string;
  let key: string;
  let programId: string;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
    const p = await t.createProgram();
    programId = p.program.id;
    base = `/v1/programs/${programId}`;
    key = p.key;
  });
  afterAll(() => t.close());

  const countMembers = async () =>
    (await rawQuery<{ n: number }>(t.laurel.database.db, 'select count(*)::int as n from members where program_id = $1', [programId])).rows[0]!.n;

  it('replays the first response for the same key and payload', async () => {
    const headers = { 'idempotency-key': 'create-m1' };
    const first = await t.api('POST', `${base}/members`, { key, headers, body: { externalId: 'idem-1', name: 'A' } });
    expect(first.status).toBe(201);
    const second = await t.api('POST', `${base}/members`, { key, headers, body: { name: 'A', externalId: 'idem-1' } });
    expect(second.status).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.body).toEqual(first.body);
  });

  it('answers 409 idempotency_conflict for the same key with another payload, changing nothing', async () => {
    const headers = { 'idempotency-key': 'create-m2' };
    await t.api('POST', `${base}/members`, { key, headers, body: { externalId: 'idem-2' } });
    const before = await countMembers();
    const other = await t.api('POST', `${base}/members`, { key, headers, body: { externalId: 'idem-2b' } });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('idempotency_conflict');
    expect(await countMembers()).toBe(before);
    expect((await t.api('GET', `${base}/members/ext:idem-2b`, { key })).status).toBe(404);
  });

  it('executes once when many requests with one key arrive together', async () => {
    const headers = { 'idempotency-key': 'together' };
    const before = await countMembers();
    const results = await Promise.all(
      Array.from({ length: 12 }, () => t.api('POST', `${base}/members`, { key, headers, body: { externalId: 'together' } })),
    );
    const ids = new Set(results.map((r) => r.body.id));
    expect(results.every((r) => r.status === 201)).toBe(true);
    expect(ids.size).toBe(1);
    expect(await countMembers()).toBe(before + 1);
  });

  it('does not consume a key when the request fails, so it can be retried', async () => {
    const headers = { 'idempotency-key': 'retry-after-fix' };
    await t.api('POST', `${base}/members`, { key, body: { externalId: 'taken' } });
    const failed = await t.api('POST', `${base}/members`, { key, headers, body: { externalId: 'taken' } });
    expect(failed.status).toBe(409);
    expect(failed.body.error.code).toBe('already_exists');
    const stored = await rawQuery(t.laurel.database.db, "select 1 from idempotency_keys where key = 'retry-after-fix'");
    expect(stored.rows).toHaveLength(0);
  });

  it('keeps keys of different programs apart', async () => {
    const other = await t.createProgram();
    const headers = { 'idempotency-key': 'same-key-two-programs' };
    const a = await t.api('POST', `${base}/members`, { key, headers, body: { externalId: 'k2p' } });
    const b = await t.api('POST', `/v1/programs/${other.program.id}/members`, { key: other.key, headers, body: { externalId: 'k2p' } });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers['idempotent-replayed']).toBeUndefined();
    expect(a.body.id).not.toBe(b.body.id);
  });

  it('refuses a malformed idempotency key', async () => {
    const res = await t.api('POST', `${base}/members`, { key, headers: { 'idempotency-key': 'x'.repeat(300) }, body: { externalId: 'long-key' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
  });

  it('gives every error class its stable code and status', async () => {
    const before = await countMembers();
    const malformed = await t.api('POST', `${base}/members`, { key, payload: '{"externalId": ' });
    expect([malformed.status, malformed.body.error.code]).toEqual([400, 'malformed_json']);
    const empty = await t.api('POST', `${base}/members`, { key, payload: '', headers: { 'content-type': 'application/json' } });
    expect([empty.status, empty.body.error.code]).toEqual([400, 'malformed_json']);
    const unknownField = await t.api('POST', `${base}/members`, { key, body: { externalId: 'u', isAdmin: true } });
    expect([unknownField.status, unknownField.body.error.code]).toEqual([400, 'validation_failed']);
    expect(unknownField.body.error.message).toContain('isAdmin');
    const wrongType = await t.api('POST', `${base}/members`, { key, body: { externalId: 'w', tags: [1, 2] } });
    expect([wrongType.status, wrongType.body.error.code]).toEqual([400, 'validation_failed']);
    const huge = await t.api('POST', `${base}/members`, {
      key,
      body: { externalId: 'big', attributes: { blob: 'x'.repeat(2 * 1024 * 1024) } },
    });
    expect([huge.status, huge.body.error.code]).toEqual([400, 'body_too_large']);
    const noKey = await t.api('GET', `${base}/members`, { key: null });
    expect([noKey.status, noKey.body.error.code]).toEqual([401, 'unauthorized']);
    const unknownRoute = await t.api('GET', '/v1/nothing-here');
    expect([unknownRoute.status, unknownRoute.body.error.code]).toEqual([404, 'not_found']);
    const unknownMember = await t.api('GET', `${base}/members/mem_nope`, { key });
    expect([unknownMember.status, unknownMember.body.error.code]).toEqual([404, 'member_not_found']);
    const textBody = await t.api('POST', `${base}/members`, { key, payload: 'externalId=x', headers: { 'content-type': 'text/plain' } });
    expect(textBody.status).toBe(400);
    expect(await countMembers()).toBe(before);
  });
});
