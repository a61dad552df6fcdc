import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

const RULE = {
  name: '1 point per ¥1',
  status: 'active',
  priority: 10,
  stacking: 'cumulative',
  eventTypes: ['purchase'],
  rewards: [{ type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '1', per: 100, rounding: 'floor' }],
};

describe.each(engines)('audit log (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
  });
  afterAll(() => t.close());

  it('records who changed which rule, item, webhook or balance, with before and after, filterable', async () => {
    const { program, key } = await t.createProgram({ mode: 'sandbox', timeZone: 'Asia/Shanghai', clockStart: '2026-04-01T02:00:00Z' });
    const base = `/v1/programs/${program.id}`;
    const keys = await t.api('GET', `${base}/api-keys`, { key });
    const keyId = keys.body.data[0].id as string;

    const rule = await t.api('POST', `${base}/rules`, { key, body: RULE });
    expect(rule.status).toBe(201);
    const changed = await t.api('PATCH', `${base}/rules/${rule.body.id}`, { key, body: { priority: 20 } });
    expect(changed.status).toBe(200);

    const item = await t.api('POST', `${base}/mall/items`, { key, body: { kind: 'product', name: 'Mug', onShelf: false, skus: [{ code: 'm', name: 'Mug', pointsPrice: 100, stock: 3 }] } });
    expect(item.status).toBe(201);
    expect((await t.api('PATCH', `${base}/mall/items/${item.body.id}`, { key, body: { onShelf: true } })).status).toBe(200);

    const hook = await t.api('POST', `${base}/webhooks`, { key, body: { url: 'https://example.com/hook', eventTypes: ['points.earned'] } });
    expect(hook.status).toBe(201);

    const member = (await t.api('POST', `${base}/members`, { key, body: { externalId: 'a1' } })).body.id as string;
    const adj = await t.api('POST', `${base}/members/${member}/adjust`, { key, headers: { 'idempotency-key': 'adj-1' }, body: { pointType: 'points', amount: 50, reason: 'compensation' } });
    expect(adj.status).toBe(201);
    // a replay of the same adjustment is not a second change
    await t.api('POST', `${base}/members/${member}/adjust`, { key, headers: { 'idempotency-key': 'adj-1' }, body: { pointType: 'points', amount: 50, reason: 'compensation' } });
    // a refused change leaves no trace
    expect((await t.api('POST', `${base}/members/${member}/adjust`, { key, headers: { 'idempotency-key': 'adj-2' }, body: { pointType: 'points', amount: -500, reason: 'too much' } })).status).toBe(422);

    const all = await t.api('GET', `${base}/audit-log`, { key });
    expect(all.status).toBe(200);
    const kinds = all.body.data.map((e: { resourceType: string; action: string }) => `${e.resourceType}:${e.action}`);
    // the program's key, made by the deployment admin, is the first change
    expect(kinds).toEqual(['adjustment:adjust', 'webhook:create', 'item:update', 'item:create', 'rule:update', 'rule:create', 'api_key:create']);
    for (const e of all.body.data.slice(0, -1)) expect(e.actor).toBe(`api_key:${keyId}`);
    expect(all.body.data.at(-1)).toMatchObject({ actor: 'admin', resourceId: keyId });
    expect(all.body.data[0].at).toBe('2026-04-01T02:00:00.000Z');

    const ruleLog = await t.api('GET', `${base}/audit-log?resource=rule:${rule.body.id}`, { key });
    expect(ruleLog.body.data).toHaveLength(2);
    expect(ruleLog.body.data[0].before.priority).toBe(10);
    expect(ruleLog.body.data[0].after.priority).toBe(20);
    const items = await t.api('GET', `${base}/audit-log?resource=item`, { key });
    expect(items.body.data[0].before.on_shelf).toBe(false);
    expect(items.body.data[0].after.onShelf).toBe(true);
    const adjustment = (await t.api('GET', `${base}/audit-log?resource=adjustment`, { key })).body.data[0];
    expect(adjustment).toMatchObject({ resourceId: adj.body.id, before: { available: 0 }, after: { available: 50, amount: 50, reason: 'compensation' } });
    const webhook = (await t.api('GET', `${base}/audit-log?resource=webhook`, { key })).body.data[0];
    expect(JSON.stringify(webhook)).not.toContain(hook.body.secret);

    expect((await t.api('GET', `${base}/audit-log?actor=admin`, { key })).body.data).toHaveLength(1);
    expect((await t.api('GET', `${base}/audit-log?from=2026-04-02T00:00:00Z`, { key })).body.data).toHaveLength(0);
    expect((await t.api('GET', `${base}/audit-log?to=2026-04-02T00:00:00Z&limit=2`, { key })).body.nextCursor).not.toBeNull();
    const page2 = await t.api('GET', `${base}/audit-log?limit=4&cursor=${(await t.api('GET', `${base}/audit-log?limit=4`, { key })).body.nextCursor}`, { key });
    expect(page2.body.data.map((e: { resourceType: string }) => e.resourceType)).toEqual(['rule', 'rule', 'api_key']);

    const ro = (await t.api('POST', `${base}/api-keys`, { key, body: { name: 'ro', scopes: ['read'] } })).body.secret;
    expect((await t.api('GET', `${base}/audit-log`, { key: ro })).body.error.code).toBe('forbidden');
    expect((await t.api('GET', `${base}/audit-log?bogus=1`, { key })).status).toBe(400);
  });
});
