import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLaurel } from '../../src/app.js';
import { TokenBuckets } from '../../src/http/rate-limit.js';
import { productionLogger } from '../../src/http/server.js';
import type { OperatorsService } from '../../src/modules/operators/index.js';
import { rawQuery } from '../../src/db/database.js';
import { createTestDatabase } from '../engines.js';
import { createTestLaurel, type TestLaurel } from '../harness.js';
import { arbitraryOf, operationsOf, resolver, withText } from './openapi-requests.js';

/**
 * A registered path with its parameters filled in (`::` is Fastify's literal colon; a parameter
 * may carry its pattern, as in `:runId(^[a-z0-9_]+)`). Fillers match `x_name`, which every
 * pattern in the route table accepts.
 */
function concrete(url: string, values: Record<string, string>): string {
  return url
    .split('::')
    .map((part) => part.replace(/:(\w+)(\([^)]*\))?/g, (_, name: string) => encodeURIComponent(values[name] ?? `x_${name.toLowerCase()}`)))
    .join(':');
}

const PROGRAM_SCOPES = ['read', 'earn', 'spend', 'configure'] as const;

describe('security: every route of the route table', () => {
  let t: TestLaurel;
  let programA: string;
  let memberA: string;
  let keyB: string;
  const lacking: Record<string, string> = {};
  const A_MARKER = 'member-of-program-a';

  beforeAll(async () => {
    t = await createTestLaurel('pglite');
    const a = await t.createProgram({ name: 'Program A' });
    const b = await t.createProgram({ name: 'Program B' });
    programA = a.program.id;
    keyB = b.key;
    memberA = (await t.api('POST', `/v1/programs/${programA}/members`, { key: a.key, body: { externalId: A_MARKER } })).body.id;
    // For each scope a key with every other program scope (and never admin, which implies all).
    for (const scope of [...PROGRAM_SCOPES, 'admin']) {
      const scopes = PROGRAM_SCOPES.filter((s) => s !== scope);
      const res = await t.api('POST', `/v1/programs/${programA}/api-keys`, { key: a.key, body: { name: `without ${scope}`, scopes } });
      lacking[scope] = res.body.secret;
    }
    lacking.deployment = a.key;
  });
  afterAll(() => t?.close());

  const routes = () => t.laurel.http.routeTable.filter((r) => r.url.startsWith('/v1/'));
  const guarded = () => routes().filter((r) => r.access !== undefined && r.access !== 'public');
  const call = (method: string, url: string, key: string | null) => t.api(method, concrete(url, { programId: programA, memberId: memberA }), { key });

  it('declares an access on every API route, and only self-authenticating routes are public', () => {
    expect(routes().filter((r) => r.access === undefined)).toEqual([]);
    const publicRoutes = routes().filter((r) => r.access === 'public').map((r) => `${r.method} ${r.url}`);
    for (const r of publicRoutes) expect(r).toMatch(/^(GET|POST|DELETE) \/v1\/(console\/|portal\/|programs\/:programId\/mall\/suppliers\/:supplierId\/callbacks$)/);
    expect(guarded().length).toBeGreaterThan(100);
  });

  it('answers 401 without a key, on every guarded route', async () => {
    const wrong: string[] = [];
    for (const r of guarded()) {
      for (const key of [null, 'lrl_not_a_real_key_000000000000000000']) {
        const res = await call(r.method, r.url, key);
        if (res.status !== 401 || res.body?.error?.code !== 'unauthorized') wrong.push(`${r.method} ${r.url} (${key ? 'unknown key' : 'no key'}): ${res.status}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('answers 404 or 403 with no data to a key of another program', async () => {
    const wrong: string[] = [];
    for (const r of guarded()) {
      const res = await call(r.method, r.url, keyB);
      const text = JSON.stringify(res.body ?? '');
      const leaks = text.includes(memberA) || text.includes(A_MARKER) || text.includes('Program A');
      if (r.url.includes(':programId')) {
        if (![403, 404].includes(res.status) || leaks || !res.body?.error) wrong.push(`${r.method} ${r.url}: ${res.status} ${text.slice(0, 120)}`);
      } else if (r.access === 'deployment') {
        if (res.status !== 403) wrong.push(`${r.method} ${r.url}: ${res.status}`);
      } else if (leaks || res.status >= 500) {
        wrong.push(`${r.method} ${r.url}: ${res.status} shows program A's data`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('answers 403 to a key without the scope the route needs', async () => {
    const wrong: string[] = [];
    for (const r of guarded()) {
      const res = await call(r.method, r.url, lacking[r.access!]!);
      if (res.status !== 403 || res.body?.error?.code !== 'forbidden') wrong.push(`${r.method} ${r.url} (needs ${r.access}): ${res.status}`);
    }
    expect(wrong).toEqual([]);
  });

  it('answers 401 on the self-authenticating public routes without their credentials', async () => {
    // These check their own credentials in the handler, after validation: a well-formed body
    // gets as far as the credential check. (Their schemas are public in /openapi.json anyway.)
    const bodies: Record<string, unknown> = {
      '/v1/console/operators': { username: 'someone', password: 'long enough password', role: 'viewer' },
      '/v1/portal/me/orders': { lines: [{ skuId: 'sku_x', quantity: 1 }] },
      '/v1/programs/:programId/mall/suppliers/:supplierId/callbacks': { orderId: 'ord_x', event: 'accepted', supplierRef: 'ref-1' },
    };
    const wrong: string[] = [];
    for (const r of routes().filter((x) => x.access === 'public' && !(x.method === 'POST' && x.url === '/v1/console/session'))) {
      const body = r.method === 'POST' ? bodies[r.url] : undefined;
      const res = await t.api(r.method, concrete(r.url, { programId: programA, memberId: memberA }), { key: null, ...(body ? { body } : {}) });
      if (res.status !== 401) wrong.push(`${r.method} ${r.url}: ${res.status}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('security: rate limits per key', () => {
  it('refills a bucket at its rate and refuses once it is empty', () => {
    const b = new TokenBuckets({ perSecond: 2, burst: 2 });
    expect([b.take('k', 0), b.take('k', 0)]).toEqual([0, 0]);
    expect(b.take('k', 0)).toBe(500);
    expect(b.take('other', 0)).toBe(0);
    expect(b.take('k', 499)).toBeGreaterThan(0);
    expect(b.take('k', 500)).toBe(0);
  });

  it('answers 429 with Retry-After once a key exceeds its burst, and other keys go on', async () => {
    const t = await createTestLaurel('pglite', { rateLimit: { perSecond: 0.01, burst: 3 } });
    try {
      const { program, key } = await t.createProgram();
      const other = (await t.api('POST', `/v1/programs/${program.id}/api-keys`, { body: { name: 'other', scopes: ['read'] } })).body.secret;
      const statuses: number[] = [];
      let last;
      for (let i = 0; i < 5; i++) {
        last = await t.api('GET', `/v1/programs/${program.id}/point-types`, { key });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      expect(last!.body.error.code).toBe('rate_limited');
      expect(Number(last!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect((await t.api('GET', `/v1/programs/${program.id}/point-types`, { key: other })).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe('security: secrets and passwords never reach the log', () => {
  it('logs a run that creates keys, signs operators in, creates webhooks and suppliers, without any secret in it', async () => {
    const lines: string[] = [];
    const database = await createTestDatabase('pglite');
    const laurel = await createLaurel({ database, logger: productionLogger('trace', { write: (l: string) => void lines.push(l) }) });
    try {
      const adminKey = `lrl_admin_${randomBytes(16).toString('hex')}`;
      await laurel.services.access.initAdminKey(adminKey);
      const first = (await (laurel.services.operators as OperatorsService).ensureFirstAdmin())!;
      const inject = async (method: string, url: string, headers: Record<string, string>, body?: unknown) => {
        const res = await laurel.http.inject({ method: method as 'GET', url, headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });
        return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null, cookie: String(res.headers['set-cookie'] ?? '') };
      };
      const admin = { authorization: `Bearer ${adminKey}` };
      const program = (await inject('POST', '/v1/programs', admin, { name: 'Logged', mode: 'live', timeZone: 'UTC', currency: 'EUR' })).body;
      const base = `/v1/programs/${program.id}`;
      const apiKey = (await inject('POST', `${base}/api-keys`, admin, { name: 'k', scopes: ['admin'] })).body.secret as string;
      const auth = { authorization: `Bearer ${apiKey}` };
      const login = await inject('POST', '/v1/console/session', {}, { username: first.username, password: first.password });
      expect(login.status).toBe(201);
      const session = /laurel_session=([^;]+)/.exec(login.cookie)![1]!;
      const csrf = login.body.csrfToken as string;
      const wrongPassword = `wrong-${randomBytes(8).toString('hex')}`;
      expect((await inject('POST', '/v1/console/session', {}, { username: first.username, password: wrongPassword })).status).toBe(401);
      const newPassword = `pw-${randomBytes(12).toString('hex')}`;
      const console = { cookie: `laurel_session=${session}`, 'x-csrf-token': csrf };
      expect((await inject('POST', '/v1/console/operators', console, { username: 'viewer1', password: newPassword, role: 'viewer' })).status).toBe(201);
      expect((await inject('POST', '/v1/console/session', {}, { username: 'viewer1', password: newPassword })).status).toBe(201);
      const webhook = (await inject('POST', `${base}/webhooks`, auth, { url: 'https://example.com/hook', eventTypes: ['points.earned'] })).body;
      const supplier = (await inject('POST', `${base}/mall/suppliers`, auth, { name: 'Supplier' })).body;
      await inject('POST', `${base}/mall/suppliers/${supplier.id}/callbacks`, { 'x-supplier-key': supplier.key }, { orderId: 'ord_x', event: 'accepted', supplierRef: 'ref-1' });
      const member = (await inject('POST', `${base}/members`, auth, { externalId: 'm1' })).body;
      const portal = (await inject('POST', `${base}/members/${member.id}/portal-tokens`, auth, {})).body.token as string;
      expect((await inject('GET', '/v1/portal/me', { authorization: `Bearer ${portal}` })).status).toBe(200);
      // A refused request carrying a secret in its body: validation errors are answered, not logged with the body.
      await inject('POST', '/v1/console/operators', console, { username: 'x', password: `short-${newPassword}`, role: 'nobody' });

      const log = lines.join('');
      expect(log).toContain(`${base}/api-keys`); // the capture works: requests are logged
      const secrets = { adminKey, apiKey, password: first.password, wrongPassword, newPassword, session, csrf, webhookSecret: webhook.secret, supplierKey: supplier.key, portal };
      for (const [name, secret] of Object.entries(secrets)) {
        expect(typeof secret === 'string' && secret.length >= 8, name).toBe(true);
        expect(log.includes(secret), `${name} appears in the log`).toBe(false);
      }
    } finally {
      await laurel.close();
    }
  });
});

describe('security: SQL injection strings in every text field', () => {
  const PAYLOADS = [
    `Robert'); DROP TABLE members; --`,
    `' OR '1'='1' --`,
    `"; delete from ledger_entries; --`,
    `$1 \\' E'\\x00' ${'$$'} ; select pg_sleep(5); --`,
  ];

  it('stores them verbatim and harmlessly, in bodies, paths and queries', async () => {
    const t = await createTestLaurel('pglite');
    try {
      const { program, key } = await t.createProgram({ mode: 'sandbox' });
      const base = `/v1/programs/${program.id}`;
      const canary = (await t.api('POST', `${base}/members`, { key, body: { externalId: 'canary' } })).body.id as string;
      const doc = (await t.api('GET', '/openapi.json', { key: null })).body;
      const resolve = resolver(doc);
      const db = t.laurel.database.db;
      const tables = async () => (await rawQuery<{ n: number }>(db, `select count(*)::int as n from pg_tables where schemaname = 'public'`)).rows[0]!.n;
      const tablesBefore = await tables();
      let sent = 0;
      let fields = 0;
      let echoed = 0;
      const wrong: string[] = [];
      for (const op of operationsOf(doc)) {
        if (!op.body || op.bodyType !== 'application/json' || !op.path.startsWith('/v1/programs/{programId}')) continue;
        const bodies = fc.sample(arbitraryOf(op.body, resolve), { numRuns: PAYLOADS.length, seed: 7 });
        for (const [i, payload] of PAYLOADS.entries()) {
          const injected = withText(bodies[i], op.body, resolve, payload);
          if (injected.fields === 0) continue;
          const url = op.path.replace('{programId}', program.id).replace(/\{(\w+)\}/g, (_, n: string) => (n === 'memberId' ? canary : n === 'code' ? 'points' : 'x1'));
          const res = await t.api(op.method, url, { key, body: injected.value, headers: { 'idempotency-key': `sqli-${op.method}-${op.path}-${i}` } });
          sent++;
          fields += injected.fields;
          if (res.status >= 500) wrong.push(`${res.status}: ${op.method} ${op.path}`);
          // Whatever comes back holding a payload holds it exactly (or its cut to the field's length).
          const strings = JSON.stringify(res.body ?? '').match(/"(?:[^"\\]|\\.)*"/g) ?? [];
          for (const raw of strings.map((x) => JSON.parse(x) as string)) {
            if (res.status < 300 && PAYLOADS.some((p) => raw.length >= 10 && p.startsWith(raw))) echoed++;
            else if (res.status < 300 && PAYLOADS.some((p) => raw.includes(p.slice(0, 10)) && !p.startsWith(raw) && !raw.includes(p))) wrong.push(`${op.method} ${op.path} altered a payload: ${raw}`);
          }
        }
      }
      for (const text of PAYLOADS) {
        const payload = `${text} (direct)`; // the generated requests above may have taken the plain one
        const created = await t.api('POST', `${base}/members`, { key, body: { externalId: payload, attributes: { note: payload } } });
        expect(created.status).toBe(201);
        const read = await t.api('GET', `${base}/members/${encodeURIComponent(`ext:${payload}`)}`, { key });
        expect(read.body.externalId).toBe(payload);
        expect(read.body.attributes.note).toBe(payload);
        const listed = await t.api('GET', `${base}/members?limit=5&cursor=${encodeURIComponent(payload)}`, { key });
        expect(listed.status).toBeLessThan(500);
        const missing = await t.api('GET', `${base}/members/${encodeURIComponent(`ext:${payload}x`)}`, { key });
        expect(missing.status).toBe(404);
      }
      console.log(`SQL injection: ${sent} requests, ${fields} text fields filled, ${echoed} payloads read back verbatim`);
      expect(wrong).toEqual([]);
      expect(fields).toBeGreaterThan(200);
      expect(await tables()).toBe(tablesBefore);
      expect((await t.api('GET', `${base}/members/${canary}`, { key })).status).toBe(200);
      expect((await rawQuery<{ n: number }>(db, 'select count(*)::int as n from members')).rows[0]!.n).toBeGreaterThan(PAYLOADS.length);
    } finally {
      await t.close();
    }
  }, 300_000);
});
