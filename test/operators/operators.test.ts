import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/core/clock.js';
import { OperatorsService, hashPassword, verifyPassword } from '../../src/modules/operators/index.js';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

describe('password hashes', () => {
  it('are salted scrypt and verify only the right password', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse battery', a)).toBe(true);
    expect(await verifyPassword('correct horse batterY', a)).toBe(false);
  });
});

describe.each(engines)('operators, console sessions and portal tokens (%s)', (engine) => {
  let t: TestLaurel;
  let operators: OperatorsService;
  let programId: string;
  let key: string;
  let memberId: string;

  beforeAll(async () => {
    t = await createTestLaurel(engine);
    operators = t.laurel.services.operators as OperatorsService;
    const created = await t.createProgram();
    programId = created.program.id;
    key = created.key;
    memberId = (await t.api('POST', `/v1/programs/${programId}/members`, { key, body: { externalId: 'm1' } })).body.id;
  });
  afterAll(() => t.close());

  const login = async (username: string, password: string) => {
    const res = await t.laurel.http.inject({ method: 'POST', url: '/v1/console/session', payload: { username, password } });
    const cookie = String(res.headers['set-cookie'] ?? '');
    return { res, cookie: cookie.split(';')[0]!, setCookie: cookie, body: res.json() };
  };
  const call = (method: string, url: string, cookie: string, csrf?: string, payload?: unknown) =>
    t.laurel.http.inject({ method: method as 'GET', url, headers: { cookie, ...(csrf ? { 'x-csrf-token': csrf } : {}) }, ...(payload !== undefined ? { payload: payload as object } : {}) });

  it('creates the first admin once, with a printed password that signs in', async () => {
    const first = await operators.ensureFirstAdmin();
    expect(first?.username).toBe('admin');
    expect(await operators.ensureFirstAdmin()).toBeNull();
    const { res, setCookie } = await login('admin', first!.password);
    expect(res.statusCode).toBe(201);
    expect(setCookie).toMatch(/laurel_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict/);
  });

  it('refuses a wrong password or an unknown name alike', async () => {
    await operators.create({ username: 'op1', password: 'operator password', role: 'operator' });
    const wrong = await login('op1', 'nope nope nope');
    const unknown = await login('ghost', 'nope nope nope');
    expect([wrong.res.statusCode, unknown.res.statusCode]).toEqual([401, 401]);
    expect(wrong.body.error.message).toBe(unknown.body.error.message);
  });

  it('lets a session act on program routes by role, with the CSRF token on writes; logout ends it', async () => {
    const { cookie, body } = await login('op1', 'operator password');
    const csrf = body.csrfToken as string;
    const adjustUrl = `/v1/programs/${programId}/members/${memberId}/adjust`;
    const adjust = { pointType: 'points', amount: 10, reason: 'welcome' };
    expect((await call('GET', `/v1/programs/${programId}/members`, cookie)).statusCode).toBe(200);
    expect((await call('GET', '/v1/programs', cookie)).json().data.map((p: { id: string }) => p.id)).toContain(programId);
    const noCsrf = await t.laurel.http.inject({ method: 'POST', url: adjustUrl, headers: { cookie, 'idempotency-key': 'a1' }, payload: adjust });
    expect(noCsrf.statusCode).toBe(403);
    const ok = await t.laurel.http.inject({ method: 'POST', url: adjustUrl, headers: { cookie, 'x-csrf-token': csrf, 'idempotency-key': 'a2' }, payload: adjust });
    expect(ok.statusCode).toBe(201);
    const history = await t.api('GET', `/v1/programs/${programId}/members/${memberId}/ledger`, { key });
    expect(history.body.data[0].actor).toMatch(/^operator:op_/);
    // An operator is not an admin: no deployment routes, no API keys.
    expect((await call('POST', `/v1/programs/${programId}/api-keys`, cookie, csrf, { name: 'k', scopes: ['read'] })).statusCode).toBe(403);
    expect((await call('DELETE', '/v1/console/session', cookie, csrf)).statusCode).toBe(204);
    expect((await call('GET', `/v1/programs/${programId}/members`, cookie)).statusCode).toBe(401);
  });

  it('gives a viewer read and nothing else', async () => {
    await operators.create({ username: 'v1', password: 'viewer password', role: 'viewer' });
    const { cookie, body } = await login('v1', 'viewer password');
    expect((await call('GET', `/v1/programs/${programId}/members/${memberId}/balances`, cookie)).statusCode).toBe(200);
    const write = await t.laurel.http.inject({ method: 'POST', url: `/v1/programs/${programId}/members`, headers: { cookie, 'x-csrf-token': body.csrfToken }, payload: { externalId: 'x' } });
    expect(write.statusCode).toBe(403);
    expect((await call('POST', '/v1/console/operators', cookie, body.csrfToken, { username: 'evil', password: 'long password', role: 'admin' })).statusCode).toBe(403);
  });

  it('keeps API keys working as before, and a bearer key wins over a cookie', async () => {
    const res = await t.laurel.http.inject({ method: 'GET', url: `/v1/programs/${programId}/members`, headers: { authorization: `Bearer ${key}`, cookie: 'laurel_session=garbage' } });
    expect(res.statusCode).toBe(200);
    expect((await t.api('GET', `/v1/programs/${programId}/members`, { key: null })).status).toBe(401);
  });

  it('issues portal tokens the member uses on their own account; a forged or expired token is refused', async () => {
    const issued = await t.api('POST', `/v1/programs/${programId}/members/ext:m1/portal-tokens`, { key, body: { ttlSeconds: 600 } });
    expect(issued.status).toBe(201);
    expect(issued.body.memberId).toBe(memberId);
    const token = issued.body.token as string;
    const me = await t.api('GET', '/v1/portal/me', { key: token });
    expect(me.body.member.id).toBe(memberId);
    const balances = await t.api('GET', '/v1/portal/me/balances', { key: token });
    expect(balances.body.balances.find((b: { pointType: string }) => b.pointType === 'points').available).toBe(10);
    // A token is no API key, and an API key is no portal token.
    expect((await t.api('GET', `/v1/programs/${programId}/members`, { key: token })).status).toBe(401);
    expect((await t.api('GET', '/v1/portal/me', { key })).status).toBe(401);
    const [body, mac] = token.slice(4).split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), m: 'mem_other' })).toString('base64url');
    expect((await t.api('GET', '/v1/portal/me', { key: `lpt_${forged}.${mac}` })).status).toBe(401);
    const later = new OperatorsService(t.laurel.database.db, fixedClock(new Date(Date.now() + 601_000)));
    await expect(later.verifyPortalToken(token)).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it("shows the member their own tier, tasks and medals, and claims a completed task's reward once", async () => {
    const p = `/v1/programs/${programId}`;
    const token = (await t.api('POST', `${p}/members/ext:m1/portal-tokens`, { key, body: {} })).body.token as string;
    // No ladder yet: no tier, not an error.
    expect((await t.api('GET', '/v1/portal/me/tier', { key: token })).body).toEqual({ tier: null });
    const ok = (res: { status: number; body: unknown }) => expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    ok(await t.api('PUT', `${p}/tiers`, { key, body: { metrics: [{ code: 'spend', name: 'Spend', source: { kind: 'event', eventTypes: ['purchase'], attribute: 'amount' } }], tiers: [{ code: 'green', name: 'Green' }, { code: 'gold', name: 'Gold', qualification: { metric: 'spend', window: { kind: 'rollingMonths', months: 12 }, min: 1000 } }] } }));
    ok(await t.api('POST', `${p}/tasks`, { key, body: { code: 'buy1', name: 'Buy once', recurrence: 'once', eventType: 'purchase', target: 1, claim: 'manual', rewards: { points: [{ pointType: 'points', amount: 7 }] } } }));
    ok(await t.api('POST', `${p}/medals`, { key, body: { code: 'buyer', name: 'Buyer', criterion: { kind: 'event_count', eventType: 'purchase' }, levels: [{ name: 'One', threshold: 1 }, { name: 'Five', threshold: 5 }] } }));
    ok(await t.api('POST', `${p}/events`, { key, body: { eventId: 'portal-e1', member: 'ext:m1', type: 'purchase', attributes: { amount: 400 } } }));

    const tier = (await t.api('GET', '/v1/portal/me/tier', { key: token })).body.tier;
    expect(tier.tier.code).toBe('green');
    expect(tier.progress.next).toMatchObject({ tier: { code: 'gold' }, conditions: { value: 400, min: 1000, remaining: 600 } });
    const tasks = (await t.api('GET', '/v1/portal/me/tasks', { key: token })).body.data;
    expect(tasks).toEqual([expect.objectContaining({ task: expect.objectContaining({ code: 'buy1' }), progress: 1, target: 1, claimable: true })]);
    const medals = (await t.api('GET', '/v1/portal/me/medals', { key: token })).body.data;
    expect(medals).toEqual([expect.objectContaining({ level: 1, next: expect.objectContaining({ name: 'Five', remaining: 4 }) })]);

    const before = (await t.api('GET', `${p}/members/ext:m1/balances`, { key })).body.balances.find((b: { pointType: string }) => b.pointType === 'points').available;
    const claim = () => t.api('POST', `/v1/portal/me/tasks/${tasks[0].task.id}/claim`, { key: token, body: {} });
    expect((await claim()).status).toBe(201);
    expect((await claim()).status).toBe(201);
    const after = (await t.api('GET', `${p}/members/ext:m1/balances`, { key })).body.balances.find((b: { pointType: string }) => b.pointType === 'points').available;
    expect(after - before).toBe(7);
    // Another member's token sees only their own tasks.
    await t.api('POST', `${p}/members`, { key, body: { externalId: 'm2' } });
    const other = (await t.api('POST', `${p}/members/ext:m2/portal-tokens`, { key, body: {} })).body.token as string;
    expect((await t.api('GET', '/v1/portal/me/tasks', { key: other })).body.data[0]).toMatchObject({ progress: 0 });
  });
});
