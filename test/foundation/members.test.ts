import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

describe.each(engines)('members (%s)', (engine) => {
  let t: TestLaurel;
  let base: string;
  let key: string;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
    const p = await t.createProgram();
    base = `/v1/programs/${p.program.id}`;
    key = p.key;
  });
  afterAll(() => t.close());

  it('creates a member and reads it by id and by ext:{externalId}', async () => {
    const created = await t.api('POST', `${base}/members`, {
      key,
      body: {
        externalId: 'user-42',
        name: 'Li Wei',
        phone: '+86 138 0000 0042',
        email: 'li@example.com',
        birthday: '1996-02-29',
        gender: 'female',
        region: 'Shanghai',
        attributes: { vipLevel: 3, source: 'app' },
        tags: ['coffee', 'coffee', 'early-bird'],
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      externalId: 'user-42',
      status: 'active',
      birthday: '1996-02-29',
      attributes: { vipLevel: 3, source: 'app' },
      tags: ['coffee', 'early-bird'],
    });
    const byId = await t.api('GET', `${base}/members/${created.body.id}`, { key });
    expect(byId.body).toEqual(created.body);
    const byExt = await t.api('GET', `${base}/members/ext:user-42`, { key });
    expect(byExt.body.id).toBe(created.body.id);
  });

  it('refuses a second member with the same externalId', async () => {
    await t.api('POST', `${base}/members`, { key, body: { externalId: 'dup' } });
    const again = await t.api('POST', `${base}/members`, { key, body: { externalId: 'dup' } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('already_exists');
  });

  it('keeps externalIds apart between programs', async () => {
    const other = await t.createProgram();
    const a = await t.api('POST', `${base}/members`, { key, body: { externalId: 'shared-id' } });
    const b = await t.api('POST', `/v1/programs/${other.program.id}/members`, { key: other.key, body: { externalId: 'shared-id' } });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(a.body.id).not.toBe(b.body.id);
    const cross = await t.api('GET', `${base}/members/${b.body.id}`, { key });
    expect(cross.status).toBe(404);
    expect(cross.body.error.code).toBe('member_not_found');
  });

  it('updates profile, tags and status; a closed member stays closed', async () => {
    const m = await t.api('POST', `${base}/members`, { key, body: { externalId: 'upd' } });
    const frozen = await t.api('PATCH', `${base}/members/ext:upd`, { key, body: { status: 'frozen', tags: ['watch'] } });
    expect(frozen.body).toMatchObject({ status: 'frozen', tags: ['watch'] });
    const closed = await t.api('PATCH', `${base}/members/${m.body.id}`, { key, body: { status: 'closed' } });
    expect(closed.body.status).toBe('closed');
    const reopen = await t.api('PATCH', `${base}/members/${m.body.id}`, { key, body: { status: 'active' } });
    expect(reopen.status).toBe(409);
    expect(reopen.body.error.code).toBe('illegal_transition');
    expect((await t.api('GET', `${base}/members/${m.body.id}`, { key })).body.status).toBe('closed');
  });

  it('lists members with cursor pagination and filters', async () => {
    for (let i = 0; i < 5; i++) {
      await t.api('POST', `${base}/members`, { key, body: { externalId: `page-${i}`, tags: i % 2 ? ['odd'] : [] } });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await t.api('GET', `${base}/members?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { key });
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((m: { id: string }) => m.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    const all = await t.api('GET', `${base}/members?limit=200`, { key });
    expect(seen).toEqual(all.body.data.map((m: { id: string }) => m.id));
    const odd = await t.api('GET', `${base}/members?tag=odd&limit=200`, { key });
    expect(odd.body.data.map((m: { externalId: string }) => m.externalId).sort()).toEqual(['page-1', 'page-3']);
    const badCursor = await t.api('GET', `${base}/members?cursor=%%%`, { key });
    expect(badCursor.status).toBe(400);
  });

  it('rejects bad member input with a clear code and stores nothing', async () => {
    const cases: Array<[unknown, string]> = [
      [{}, 'externalId'],
      [{ externalId: 'x1', birthday: '1990-02-30' }, 'birthday'],
      [{ externalId: 'x2', email: 'not-an-email' }, 'email'],
      [{ externalId: 'x3', unknownField: 1 }, 'unknownField'],
      [{ externalId: 42 }, 'externalId'],
      [{ externalId: 'x4', tags: 'vip' }, 'tags'],
    ];
    for (const [body, mention] of cases) {
      const res = await t.api('POST', `${base}/members`, { key, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(JSON.stringify(res.body.error)).toContain(mention);
    }
    for (const ext of ['x1', 'x2', 'x3', 'x4']) {
      expect((await t.api('GET', `${base}/members/ext:${ext}`, { key })).status).toBe(404);
    }
  });
});
