import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { rawQuery } from '../../src/db/database.js';
import { Scheduler } from '../../src/jobs/scheduler.js';
import type { LedgerService } from '../../src/modules/ledger/index.js';
import { backoffMs, deliverDue } from '../../src/modules/webhooks/index.js';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

interface Received {
  eventId: string;
  type: string;
  body: { id: string; type: string; data: Record<string, unknown> };
  validSignature: boolean;
  answered: number;
}

/** A receiver on loopback that checks each signature and answers as the test says. */
async function receiver(secretOf: () => string) {
  const received: Received[] = [];
  let answer: (eventId: string, seen: number) => number = () => 200;
  let delayMs = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const ts = String(req.headers['laurel-timestamp']);
      const expected = `v1=${createHmac('sha256', secretOf()).update(`${ts}.${raw}`).digest('hex')}`;
      const got = String(req.headers['laurel-signature'] ?? '');
      const validSignature = got.length === expected.length && timingSafeEqual(Buffer.from(got), Buffer.from(expected)) && Math.abs(Date.now() / 1000 - Number(ts)) < 300;
      const eventId = String(req.headers['laurel-event-id']);
      const status = answer(eventId, received.filter((r) => r.eventId === eventId).length);
      received.push({ eventId, type: String(req.headers['laurel-event-type']), body: JSON.parse(raw), validSignature, answered: status });
      setTimeout(() => {
        res.statusCode = status;
        res.end('ok');
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    answerWith(f: (eventId: string, seen: number) => number, delay = 0) {
      answer = f;
      delayMs = delay;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe.each(engines)('webhooks (%s)', (engine) => {
  let t: TestLaurel;
  const clock = new ManualClock(new Date());
  let secret = '';
  let rx: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    t = await createTestLaurel(engine, { clock, poolSize: 20 });
    rx = await receiver(() => secret);
  });
  afterAll(async () => {
    await rx.close();
    await t.close();
  });

  async function setup(eventTypes: string[]) {
    const { program, key } = await t.createProgram({ mode: 'live' });
    const base = `/v1/programs/${program.id}`;
    const sub = await t.api('POST', `${base}/webhooks`, { key, body: { url: rx.url, eventTypes } });
    expect(sub.status).toBe(201);
    secret = sub.body.secret;
    const member = (await t.api('POST', `${base}/members`, { key, body: { externalId: 'w1' } })).body.id as string;
    let n = 0;
    const op = (path: string, body: Record<string, unknown>) =>
      t.api('POST', `${base}/members/${member}/${path}`, { key, headers: { 'idempotency-key': `w-${program.id}-${++n}` }, body: { pointType: 'points', ...body } });
    return { program, key, base, sub: sub.body, member, op };
  }

  it('signs each message, retries after a failure with backoff, and logs every attempt', async () => {
    const s = await setup(['points.earned', 'points.spent', 'points.adjusted']);
    expect(s.sub.secret).toMatch(/^whsec_/);
    expect((await t.api('GET', `${s.base}/webhooks/${s.sub.id}`, { key: s.key })).body.secret).toBeUndefined();
    rx.answerWith((_id, seen) => (seen === 0 ? 500 : 200));
    expect((await s.op('earn', { amount: 100 })).status).toBe(201);
    expect((await s.op('spend', { amount: 30 })).status).toBe(201);

    // live programs write with the system clock; the scheduler's clock is the test's
    clock.set(new Date(Date.now() + 1_000));
    await t.laurel.scheduler.tick();
    const mine = () => rx.received.filter((r) => r.body.data.memberId === s.member);
    expect(mine().map((r) => r.answered)).toEqual([500, 500]);
    // not yet due again: nothing is sent
    clock.advance(10_000);
    await t.laurel.scheduler.tick();
    expect(mine()).toHaveLength(2);
    clock.advance(25_000);
    await t.laurel.scheduler.tick();
    expect(mine()).toHaveLength(4);
    expect(mine().every((r) => r.validSignature)).toBe(true);
    const types = mine().map((r) => r.type);
    expect(types.filter((x) => x === 'points.earned')).toHaveLength(2);
    expect(mine().find((r) => r.type === 'points.spent')!.body.data).toMatchObject({ amount: 30, pointType: 'points', externalId: 'w1', kind: 'spend' });

    const log = await t.api('GET', `${s.base}/webhooks/${s.sub.id}/deliveries`, { key: s.key });
    expect(log.body.data.map((d: { status: string; attempts: number }) => [d.status, d.attempts])).toEqual([
      ['delivered', 2],
      ['delivered', 2],
    ]);
    const one = await t.api('GET', `${s.base}/webhooks/${s.sub.id}/deliveries/${log.body.data[0].id}`, { key: s.key });
    expect(one.body.log.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 200]);

    // a message nobody subscribed to is not written at all
    const before = rx.received.length;
    await s.op('reserve', { amount: 5 });
    clock.set(new Date(Math.max(Date.now(), clock.now().getTime()) + 2_000));
    await t.laurel.scheduler.tick();
    expect(rx.received.length).toBe(before);
  });

  it('gives up after a day of retries, and a manual redelivery sends it again', async () => {
    const s = await setup(['points.earned']);
    rx.answerWith(() => 503);
    await s.op('earn', { amount: 7 });
    let status = 'pending';
    let deliveryId = '';
    for (let i = 0; i < 40 && status === 'pending'; i++) {
      await t.laurel.scheduler.tick();
      clock.advance(3 * 60 * 60 * 1000);
      const d = (await t.api('GET', `${s.base}/webhooks/${s.sub.id}/deliveries`, { key: s.key })).body.data[0];
      status = d.status;
      deliveryId = d.id;
    }
    expect(status).toBe('failed');
    const failed = await t.api('GET', `${s.base}/webhooks/${s.sub.id}/deliveries/${deliveryId}`, { key: s.key });
    expect(failed.body.attempts).toBeGreaterThan(5);
    expect(failed.body.log.every((a: { statusCode: number }) => a.statusCode === 503)).toBe(true);
    expect([1, 2, 3, 4].map(backoffMs)).toEqual([30_000, 60_000, 120_000, 240_000]);

    rx.answerWith(() => 200);
    const again = await t.api('POST', `${s.base}/webhooks/${s.sub.id}/deliveries/${deliveryId}/redeliver`, { key: s.key });
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('pending');
    clock.advance(2_000);
    await t.laurel.scheduler.tick();
    const done = await t.api('GET', `${s.base}/webhooks/${s.sub.id}/deliveries/${deliveryId}`, { key: s.key });
    expect(done.body.status).toBe('delivered');
  });

  it('sends each message once while two schedulers and two direct runs race', async () => {
    const s = await setup(['*']);
    rx.answerWith(() => 200, 15);
    for (let i = 0; i < 25; i++) await s.op('earn', { amount: i + 1 });
    clock.set(new Date(Math.max(Date.now(), clock.now().getTime()) + 2_000));
    const other = new Scheduler(t.laurel.database.db, t.laurel.jobs, t.laurel.http.log, clock);
    const snapshot = { id: s.program.id, mode: 'live' as const, timeZone: s.program.timeZone, currency: s.program.currency, settings: {} };
    await Promise.all([
      t.laurel.scheduler.tick(),
      other.tick(),
      deliverDue(t.laurel.database.db, snapshot, clock.now(), 5),
      deliverDue(t.laurel.database.db, snapshot, clock.now(), 5),
    ]);
    const mine = rx.received.filter((r) => r.body.data.memberId === s.member);
    expect(mine).toHaveLength(25);
    expect(new Set(mine.map((r) => r.eventId)).size).toBe(25);
    const log = await t.api('GET', `${s.base}/webhooks/${s.sub.id}/deliveries?limit=100`, { key: s.key });
    expect(log.body.data.every((d: { status: string; attempts: number }) => d.status === 'delivered' && d.attempts === 1)).toBe(true);
  });

  it('queues one message per transaction of a batch earn, in the batch order, and none for a program nobody subscribes to', async () => {
    const { program: heard, member } = await setup(['points.earned']);
    const { program: unheard, key: unheardKey } = await t.createProgram({ mode: 'live' });
    const quiet = (await t.api('POST', `/v1/programs/${unheard.id}/members`, { key: unheardKey, body: { externalId: 'q1' } })).body.id as string;
    const ledger = t.laurel.services.ledger as LedgerService;
    const amounts = [5, 7, 11, 13];
    const batch = (programId: string, memberId: string, amounts: number[]) =>
      ledger.earnBatch(
        t.laurel.systemContext(programId === heard.id ? heard : unheard, 'test'),
        amounts.map((amount, i) => ({ memberId, pointType: 'points', amount, idempotencyKey: `batch-${programId}-${i}` })),
      );
    const earned = await batch(heard.id, member, amounts);
    await batch(unheard.id, quiet, [3, 4]);
    const outbox = async (programId: string) =>
      (await rawQuery<{ message_id: string; type: string; payload: Record<string, any> }>(t.laurel.database.db, 'select message_id, type, payload from webhook_outbox where program_id = $1 order by id', [programId])).rows;
    const messages = await outbox(heard.id);
    expect(messages.map((m) => m.payload.amount)).toEqual(amounts);
    expect(messages.map((m) => m.message_id)).toEqual(earned.results.map((r) => `msg_${r!.transactionId}`));
    expect(messages[0]).toMatchObject({ type: 'points.earned', payload: { kind: 'earn', memberId: member, externalId: 'w1', pointType: 'points', actor: 'system:test' } });
    expect(await outbox(unheard.id)).toEqual([]);
  });

  it('validates subscriptions, pauses and resumes one, pings it, and announces manual adjustments', async () => {
    const { program, key } = await t.createProgram({ mode: 'live' });
    const base = `/v1/programs/${program.id}`;
    expect((await t.api('POST', `${base}/webhooks`, { key, body: { url: 'ftp://127.0.0.1/x', eventTypes: ['points.earned'] } })).body.error.code).toBe('validation_failed');
    expect((await t.api('POST', `${base}/webhooks`, { key, body: { url: rx.url, eventTypes: ['no.such'] } })).body.error.code).toBe('validation_failed');
    expect((await t.api('POST', `${base}/webhooks`, { key, body: { url: rx.url, eventTypes: ['*'], extra: 1 } })).status).toBe(400);
    expect((await t.api('GET', `${base}/webhooks/whk_nope`, { key })).body.error.code).toBe('webhook_not_found');
    const ro = (await t.api('POST', `${base}/api-keys`, { key, body: { name: 'ro', scopes: ['read'] } })).body.secret;
    expect((await t.api('POST', `${base}/webhooks`, { key: ro, body: { url: rx.url, eventTypes: ['*'] } })).status).toBe(403);
    const paused = await t.api('POST', `${base}/webhooks`, { key, body: { url: rx.url, eventTypes: ['*'], active: false } });
    expect(paused.status).toBe(201);
    const resumed = await t.api('PATCH', `${base}/webhooks/${paused.body.id}`, { key, body: { active: true, eventTypes: ['webhook.test', 'points.adjusted'] } });
    expect(resumed.body).toMatchObject({ active: true, eventTypes: ['webhook.test', 'points.adjusted'] });
    secret = paused.body.secret;
    rx.answerWith(() => 200);
    const ping = await t.api('POST', `${base}/webhooks/${paused.body.id}/ping`, { key });
    expect(ping.status).toBe(201);
    const member = (await t.api('POST', `${base}/members`, { key, body: { externalId: 'adj' } })).body.id;
    await t.api('POST', `${base}/members/${member}/adjust`, { key, headers: { 'idempotency-key': 'adj-1' }, body: { pointType: 'points', amount: 12, reason: 'goodwill' } });
    clock.set(new Date(Math.max(Date.now(), clock.now().getTime()) + 2_000));
    await t.laurel.scheduler.tick();
    const got = rx.received.filter((r) => r.body.data.subscriptionId === paused.body.id || r.body.data.memberId === member);
    expect(got.map((r) => r.type).sort()).toEqual(['points.adjusted', 'webhook.test']);
    expect((await t.api('DELETE', `${base}/webhooks/${paused.body.id}`, { key })).status).toBe(204);
    expect((await t.api('GET', `${base}/webhooks`, { key })).body.data).toHaveLength(0);
  });
});
