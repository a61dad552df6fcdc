import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawQuery } from '../../src/db/database.js';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

describe.each(engines)('channel pages on %s', (engine) => {
  let t: TestLaurel;
  let base: string;
  let key: string;
  let programId: string;
  const items: string[] = [];
  const put = (channel: string, body: unknown, k = key, idem?: string) =>
    t.api('PUT', `${base}/pages/${channel}`, { key: k, body, ...(idem ? { headers: { 'idempotency-key': idem } } : {}) });

  beforeAll(async () => {
    t = await createTestLaurel(engine);
    const created = await t.createProgram({ mode: 'sandbox', timeZone: 'Asia/Shanghai', clockStart: '2026-05-01T00:00:00Z' });
    key = created.key;
    programId = created.program.id;
    base = `/v1/programs/${programId}`;
    // Display order: a (10), b (20), c (30); d is off the shelf.
    for (const [name, sortOrder, onShelf] of [['a', 10, true], ['b', 20, true], ['c', 30, true], ['d', 5, false]] as const) {
      const res = await t.api('POST', `${base}/mall/items`, { key, body: { kind: 'product', name, onShelf, sortOrder, skus: [{ code: name, name, pointsPrice: 100, stock: 5 }] } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      items.push(res.body.id);
    }
    expect((await t.api('POST', `${base}/members`, { key, body: { externalId: 'm1' } })).status).toBe(201);
  });
  afterAll(() => t?.close());

  it('answers an unconfigured channel empty and round-trips a PUT, with an audit entry', async () => {
    expect((await t.api('GET', `${base}/pages/app`, { key })).body).toMatchObject({ channel: 'app', banners: [], itemOrder: [], updatedAt: null });
    const body = {
      banners: [
        { imageUrl: 'https://cdn.example/second.png', title: 'Second', sortOrder: 2 },
        { imageUrl: 'https://cdn.example/later.png', title: 'Later', sortOrder: 3, from: '2026-05-02T12:00:00Z' },
        { imageUrl: 'https://cdn.example/first.png', title: 'First', linkUrl: 'https://example.com/sale', sortOrder: 1, from: '2026-05-01T00:00:00Z', until: '2026-05-03T00:00:00Z' },
      ],
      itemOrder: [items[2], items[0]],
    };
    const saved = await put('app', body, key, 'page-app-1');
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    // A retry with the same key replays; the change happened once.
    expect((await put('app', body, key, 'page-app-1')).headers['idempotent-replayed']).toBe('true');
    const got = (await t.api('GET', `${base}/pages/app`, { key })).body;
    expect(got.itemOrder).toEqual([items[2], items[0]]);
    expect(got.banners.map((b: { title: string }) => b.title)).toEqual(['First', 'Second', 'Later']);
    expect(got.banners[0]).toMatchObject({ linkUrl: 'https://example.com/sale', from: '2026-05-01T00:00:00.000Z', until: '2026-05-03T00:00:00.000Z' });
    expect(got.banners[1]).toMatchObject({ linkUrl: null, from: null, until: null });
    expect((await put('web', { banners: [], itemOrder: [items[1]] })).status).toBe(200);
    const list = (await t.api('GET', `${base}/pages`, { key })).body.data;
    expect(list.map((p: { channel: string }) => p.channel)).toEqual(['app', 'web']);
    const { rows } = await rawQuery<{ action: string; n: number }>(
      t.laurel.database.db,
      `select action, count(*)::int as n from audit_log where program_id = $1 and resource_type = 'page_config' group by action order by action`,
      [programId],
    );
    expect(rows).toEqual([{ action: 'create', n: 2 }]);
  });

  it('refuses an unknown item, a reversed window and a bad body, changing nothing', async () => {
    const before = (await t.api('GET', `${base}/pages/app`, { key })).body;
    const unknown = await put('app', { banners: [], itemOrder: [items[1], 'itm_nope'] });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.code).toBe('unknown_page_item');
    expect(unknown.body.error.details).toMatchObject({ item: 'itm_nope' });
    const reversed = await put('app', { banners: [{ imageUrl: '/img/x.png', title: 'x', from: '2026-05-02T00:00:00Z', until: '2026-05-01T00:00:00Z' }], itemOrder: [] });
    expect(reversed.status).toBe(400);
    expect((await put('app', { banners: [], itemOrder: [], extra: 1 })).status).toBe(400);
    expect((await put('app', { banners: [{ imageUrl: '/img/x.png', title: 'x', linkUrl: 'javascript:alert(1)' }] })).status).toBe(400);
    expect((await put('Bad Channel', { banners: [], itemOrder: [] })).status).toBe(400);
    expect((await t.api('GET', `${base}/pages/app`, { key })).body).toEqual(before);
    // Absent lists are empty: a PUT replaces the whole page.
    expect((await put('kiosk', {})).body).toMatchObject({ channel: 'kiosk', banners: [], itemOrder: [] });
  });

  it('refuses a read-only key (403) and changes nothing', async () => {
    const reader = (await t.api('POST', `${base}/api-keys`, { key, body: { name: 'reader', scopes: ['read'] } })).body.secret as string;
    expect((await t.api('GET', `${base}/pages/app`, { key: reader })).status).toBe(200);
    const refused = await put('app', { banners: [], itemOrder: [] }, reader);
    expect(refused.status).toBe(403);
    expect((await t.api('GET', `${base}/pages/app`, { key })).body.itemOrder).toEqual([items[2], items[0]]);
  });

  it('shows the member the banners active on the program clock and the items in the channel order', async () => {
    const token = (await t.api('POST', `${base}/members/ext:m1/portal-tokens`, { key, body: {} })).body.token as string;
    const page = async (channel: string) => {
      const res = await t.api('GET', `/v1/portal/me/page?channel=${channel}`, { key: token });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return { banners: res.body.banners.map((b: { title: string }) => b.title), items: res.body.items.map((i: { name: string }) => i.name) };
    };
    // Pinned c, a first; b follows by display order; d is off the shelf.
    expect(await page('app')).toEqual({ banners: ['First', 'Second'], items: ['c', 'a', 'b'] });
    expect(await page('web')).toEqual({ banners: [], items: ['b', 'a', 'c'] });
    expect(await page('mini_program')).toEqual({ banners: [], items: ['a', 'b', 'c'] });
    // The window ends at 05-03 00:00 (exclusive) on the program's clock.
    // Later starts at 05-02 12:00; First's window ends at 05-03 00:00 (exclusive), on the program's clock.
    expect((await t.api('POST', `${base}/clock/advance`, { key, body: { to: '2026-05-02T11:59:00Z' } })).status).toBe(200);
    expect((await page('app')).banners).toEqual(['First', 'Second']);
    expect((await t.api('POST', `${base}/clock/advance`, { key, body: { to: '2026-05-02T23:59:00Z' } })).status).toBe(200);
    expect((await page('app')).banners).toEqual(['First', 'Second', 'Later']);
    expect((await t.api('POST', `${base}/clock/advance`, { key, body: { to: '2026-05-03T00:00:00Z' } })).status).toBe(200);
    expect((await page('app')).banners).toEqual(['Second', 'Later']);
    expect((await t.api('GET', '/v1/portal/me/page', { key: token })).status).toBe(400);
  });
});
