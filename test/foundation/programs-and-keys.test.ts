import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

describe.each(engines)('programs, keys and isolation (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
  });
  afterAll(() => t.close());

  it('creates, reads, lists and updates a program with the admin key', async () => {
    const created = await t.api('POST', '/v1/programs', {
      body: { name: 'Hotel Club', timeZone: 'Europe/Berlin', currency: 'EUR' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Hotel Club', mode: 'live', timeZone: 'Europe/Berlin', currency: 'EUR', clockAt: null });
    expect(created.body.id).toMatch(/^prg_/);

    const read = await t.api('GET', `/v1/programs/${created.body.id}`);
    expect(read.body.name).toBe('Hotel Club');

    const updated = await t.api('PATCH', `/v1/programs/${created.body.id}`, { body: { name: 'Hotel Club Plus' } });
    expect(updated.status).toBe(200);
    expect(updated.body.name).toBe('Hotel Club Plus');

    const list = await t.api('GET', '/v1/programs?limit=200');
    expect(list.body.data.map((p: { id: string }) => p.id)).toContain(created.body.id);
  });

  it('refuses a time zone or currency that does not exist, and changes nothing', async () => {
    const before = await t.api('GET', '/v1/programs?limit=200');
    const badZone = await t.api('POST', '/v1/programs', { body: { name: 'x', timeZone: 'Mars/Olympus', currency: 'CNY' } });
    expect(badZone.status).toBe(400);
    expect(badZone.body.error.code).toBe('validation_failed');
    expect(badZone.body.error.message).toContain('Mars/Olympus');
    const badCurrency = await t.api('POST', '/v1/programs', { body: { name: 'x', timeZone: 'UTC', currency: 'yen' } });
    expect(badCurrency.status).toBe(400);
    const after = await t.api('GET', '/v1/programs?limit=200');
    expect(after.body.data.length).toBe(before.body.data.length);
  });

  it('gives a program key its own program only, and nothing of another', async () => {
    const a = await t.createProgram({ name: 'A' });
    const b = await t.createProgram({ name: 'B' });
    const own = await t.api('GET', `/v1/programs/${a.program.id}`, { key: a.key });
    expect(own.status).toBe(200);
    const other = await t.api('GET', `/v1/programs/${b.program.id}`, { key: a.key });
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('program_not_found');
    const otherMembers = await t.api('GET', `/v1/programs/${b.program.id}/members`, { key: a.key });
    expect(otherMembers.status).toBe(404);
    const list = await t.api('GET', '/v1/programs', { key: a.key });
    expect(list.body.data.map((p: { id: string }) => p.id)).toEqual([a.program.id]);
    const create = await t.api('POST', '/v1/programs', { key: a.key, body: { name: 'C', timeZone: 'UTC', currency: 'USD' } });
    expect(create.status).toBe(403);
    expect(create.body.error.code).toBe('forbidden');
  });

  it('enforces key scopes and revocation', async () => {
    const { program, key } = await t.createProgram();
    const readOnly = await t.api('POST', `/v1/programs/${program.id}/api-keys`, {
      key,
      body: { name: 'reader', scopes: ['read'] },
    });
    expect(readOnly.status).toBe(201);
    expect(readOnly.body.secret).toMatch(/^lrl_/);
    expect(readOnly.body.key).not.toHaveProperty('secret_hash');
    const reader = readOnly.body.secret as string;

    expect((await t.api('GET', `/v1/programs/${program.id}/members`, { key: reader })).status).toBe(200);
    const write = await t.api('POST', `/v1/programs/${program.id}/members`, { key: reader, body: { externalId: 'x' } });
    expect(write.status).toBe(403);
    expect(write.body.error).toMatchObject({ code: 'forbidden', details: { requiredScope: 'earn' } });
    expect((await t.api('GET', `/v1/programs/${program.id}/members/ext:x`, { key })).status).toBe(404);

    const keys = await t.api('GET', `/v1/programs/${program.id}/api-keys`, { key });
    expect(JSON.stringify(keys.body)).not.toContain(reader);

    const revoked = await t.api('POST', `/v1/programs/${program.id}/api-keys/${readOnly.body.key.id}/revoke`, { key });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    const after = await t.api('GET', `/v1/programs/${program.id}/members`, { key: reader });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('unauthorized');
  });

  it('answers 401 without a key or with a wrong one, before looking at the body', async () => {
    const none = await t.api('POST', '/v1/programs', { key: null, payload: '{not json' });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthorized');
    const wrong = await t.api('GET', '/v1/programs', { key: 'lrl_nope' });
    expect(wrong.status).toBe(401);
  });

  it('serves health, the OpenAPI document and the docs without a key', async () => {
    const health = await t.api('GET', '/health', { key: null });
    expect(health.body).toMatchObject({ status: 'ok', engine });
    const doc = await t.api('GET', '/openapi.json', { key: null });
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/v1/programs', '/v1/programs/{programId}/members/{memberId}']));
    const docs = await t.api('GET', '/docs/', { key: null });
    expect(docs.status).toBe(200);
    expect(String(docs.body)).toContain('swagger');
  });
});
