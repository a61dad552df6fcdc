import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { NatsIngestion, type IngestionTestHooks, type NatsIngestionConfig } from '../../src/integration/nats/ingestion.js';
import type { EventsService } from '../../src/modules/earning/index.js';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

/**
 * JetStream ingestion against the NATS server on 127.0.0.1:4222 (`.ci/run` starts it). Each
 * engine gets a stream and subjects of its own, deleted at the end. The ack wait is short so
 * a redelivery after a "crash" arrives within the test (3 s; one on 1 s); the fetches wait for it instead of sleeping.
 */
const NATS_URL = 'nats://127.0.0.1:4222';

describe.each(engines)('NATS JetStream ingestion (%s)', (engine) => {
  const tag = `${engine}_${randomBytes(4).toString('hex')}`;
  const stream = `LAUREL_TEST_${tag}`;
  const subjectRoot = `laurel-test.${tag}`;
  let t: TestLaurel;
  let nc: NatsConnection;
  let base: string;
  let key: string;
  let member: string;

  const ingestion = (durable: string, over: Partial<NatsIngestionConfig> = {}, hooks?: IngestionTestHooks) =>
    new NatsIngestion(
      {
        events: (t.laurel.services.earning as { events: EventsService }).events,
        access: t.laurel.services.access,
        programs: t.laurel.services.programs,
        log: { info: () => {}, warn: () => {}, error: () => {} },
      },
      { url: NATS_URL, stream, subject: `${subjectRoot}.${durable}.>`, durable, batchSize: 100, ackWaitSeconds: 3, maxDeliver: 5, fetchWaitMs: 1_000, ...over },
      hooks,
    );

  const publish = async (durable: string, body: unknown, hdrs: Record<string, string> = { authorization: `Bearer ${key}` }) => {
    const h = headers();
    for (const [k, v] of Object.entries(hdrs)) h.set(k, v);
    await jetstream(nc).publish(`${subjectRoot}.${durable}.purchase`, typeof body === 'string' ? body : JSON.stringify(body), { headers: h });
  };
  const balance = async () => (await t.api('GET', `${base}/members/${member}/balances`, { key })).body.balances.find((b: { pointType: string }) => b.pointType === "points")?.available ?? 0;
  const consumerState = async (durable: string) => {
    const info = await (await jetstreamManager(nc)).consumers.info(stream, durable);
    return { ackPending: info.num_ack_pending, pending: info.num_pending };
  };

  beforeAll(async () => {
    t = await createTestLaurel(engine);
    nc = await connect({ servers: NATS_URL });
    await (await jetstreamManager(nc)).streams.add({ name: stream, subjects: [`${subjectRoot}.>`] });
    const created = await t.createProgram();
    base = `/v1/programs/${created.program.id}`;
    key = created.key;
    const rule = await t.api('POST', `${base}/rules`, {
      key,
      body: { name: 'base', status: 'active', priority: 1, stacking: 'cumulative', eventTypes: ['purchase'], rewards: [{ type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '1', per: 100 }] },
    });
    expect(rule.status).toBe(201);
    member = (await t.api('POST', `${base}/members`, { key, body: { externalId: 'nats-1' } })).body.id;
  });
  afterAll(async () => {
    await (await jetstreamManager(nc)).streams.delete(stream).catch(() => {});
    await nc.close();
    await t.close();
  });

  it('ingests a batch of events through the batch path and acknowledges them after the commit', async () => {
    const before = await balance();
    for (let i = 0; i < 5; i++) await publish('ok', { eventId: `ok-${i}`, member: 'ext:nats-1', type: 'purchase', channel: 'pos', attributes: { amount: 1_000 } });
    const consumer = ingestion('ok', { batchSize: 5 });
    const report = await consumer.processOnce();
    await consumer.stop();
    expect(report).toMatchObject({ fetched: 5, processed: 5, replayed: 0, terminated: [], unacked: 0 });
    expect((await balance()) - before).toBe(50);
    expect(await consumerState('ok')).toEqual({ ackPending: 0, pending: 0 });
    // Awards are attributed to the key the messages carried, on the event's channel.
    const event = await t.api('GET', `${base}/events/ok-3`, { key });
    expect(event.body).toMatchObject({ status: 'processed', totals: { points: 10 } });
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const settlement = await t.api('GET', `${base}/reports/settlement?from=${day(-1)}&to=${day(1)}&groupBy=month`, { key });
    expect(settlement.body.rows.filter((r: { channel: string }) => r.channel === 'pos').reduce((s: number, r: { issued: number }) => s + r.issued, 0)).toBe(50);
  });

  it('redelivers after a crash between commit and ack, and awards nothing twice', async () => {
    const before = await balance();
    for (let i = 0; i < 3; i++) await publish('crash', { eventId: `crash-${i}`, member, type: 'purchase', attributes: { amount: 2_000 } });
    // The first consumer commits the awards and "crashes" before acknowledging anything.
    const crashing = ingestion('crash', { batchSize: 3 }, {
      beforeAck: () => {
        throw new Error('simulated crash after commit');
      },
    });
    await expect(crashing.processOnce()).rejects.toThrow('simulated crash');
    await crashing.stop();
    expect((await balance()) - before).toBe(60);
    expect((await consumerState('crash')).ackPending).toBe(3);

    // A new consumer process on the same durable consumer: JetStream delivers the three again
    // once the ack wait has passed; they are replays, acknowledged, and change nothing.
    const restarted = ingestion('crash', { batchSize: 3, fetchWaitMs: 8_000 });
    const report = await restarted.processOnce();
    await restarted.stop();
    expect(report).toMatchObject({ fetched: 3, processed: 0, replayed: 3, terminated: [], unacked: 0 });
    expect((await balance()) - before).toBe(60);
    expect(await consumerState('crash')).toEqual({ ackPending: 0, pending: 0 });
  });

  it('terminates poison messages with their reason, copies them to the dead-letter subject, and never redelivers them', async () => {
    const limited = await t.api('POST', `${base}/api-keys`, { key, body: { name: 'reader', scopes: ['read'] } });
    const revoked = await t.api('POST', `${base}/api-keys`, { key, body: { name: 'old', scopes: ['earn'] } });
    await t.api('POST', `${base}/api-keys/${revoked.body.key.id}/revoke`, { key, headers: { 'idempotency-key': 'rv' } });
    const other = await t.createProgram();

    const dead: Array<{ reason: string; body: string; auth: boolean }> = [];
    const deadSubject = `${subjectRoot}-dead`;
    const sub = nc.subscribe(deadSubject, {
      callback: (_err, m) => void dead.push({ reason: m.headers?.get('Laurel-Dead-Reason') ?? '', body: m.string(), auth: m.headers?.has('Authorization') ?? false }),
    });
    await nc.flush();

    const event = (id: string, extra: Record<string, unknown> = {}) => ({ eventId: id, member, type: 'purchase', attributes: { amount: 500 }, ...extra });
    const before = await balance();
    await publish('poison', event('p-no-key'), {});
    await publish('poison', event('p-revoked'), { authorization: `Bearer ${revoked.body.secret}` });
    await publish('poison', event('p-no-scope'), { authorization: `Bearer ${limited.body.secret}` });
    await publish('poison', event('p-wrong-program'), { authorization: `Bearer ${key}`, 'laurel-program': other.program.id });
    await publish('poison', '{"eventId": "p-bad-json",');
    await publish('poison', { eventId: 'p-schema', type: 'purchase' });
    await publish('poison', event('p-unknown-member', { member: 'ext:nobody' }));
    await publish('poison', event('p-unknown-type', { type: 'teleport' }));
    await publish('poison', event('p-good'));

    const consumer = ingestion('poison', { batchSize: 9, fetchWaitMs: 3_000, deadLetterSubject: deadSubject });
    const report = await consumer.processOnce();
    expect(report.processed).toBe(1);
    expect(report.terminated.map((x) => x.reason.split(':')[0])).toEqual([
      'unauthorized',
      'unauthorized',
      'forbidden',
      'forbidden',
      'malformed_json',
      'validation_failed',
      'member_not_found',
      'validation_failed',
    ]);
    expect((await balance()) - before).toBe(5);
    // Terminated, not redelivered: a fetch that lasts past the ack wait finds nothing.
    await consumer.stop();
    const later = ingestion('poison', { fetchWaitMs: 4_000 });
    const again = await later.processOnce();
    await later.stop();
    expect(again.fetched).toBe(0);
    expect(await consumerState('poison')).toEqual({ ackPending: 0, pending: 0 });

    await nc.flush();
    sub.unsubscribe();
    expect(dead).toHaveLength(8);
    expect(dead.find((d) => d.body.includes('p-unknown-member'))?.reason).toMatch(/^member_not_found: member ext:nobody does not exist/);
    // The key a message carried is not copied to the dead letters.
    expect(dead.some((d) => d.auth)).toBe(false);
  });

  it('leaves a message unacknowledged when the database fails, and terminates it on its last allowed delivery', async () => {
    await publish('fail', { eventId: 'f-1', member, type: 'purchase', attributes: { amount: 100 } });
    const failing = new NatsIngestion(
      {
        events: { ingestBatch: async () => Promise.reject(new Error('connection refused')) } as unknown as EventsService,
        access: t.laurel.services.access,
        programs: t.laurel.services.programs,
        log: { info: () => {}, warn: () => {}, error: () => {} },
      },
      { url: NATS_URL, stream, subject: `${subjectRoot}.fail.>`, durable: 'fail', batchSize: 1, ackWaitSeconds: 1, maxDeliver: 2, fetchWaitMs: 5_000 },
    );
    const first = await failing.processOnce();
    expect(first).toMatchObject({ fetched: 1, unacked: 1, terminated: [] });
    const last = await failing.processOnce();
    await failing.stop();
    expect(last.fetched).toBe(1);
    expect(last.terminated[0]?.reason).toMatch(/last allowed delivery \(2\): connection refused/);
    const gone = await t.api('GET', `${base}/events/f-1`, { key });
    expect(gone.status).toBe(404);
  });
});

describe('NATS configuration', () => {
  it('is off by default and parsed once from the environment when set', () => {
    expect(loadConfig({}).natsUrl).toBeUndefined();
    const c = loadConfig({ LAUREL_NATS_URL: 'nats://broker:4222', LAUREL_NATS_STREAM: 'EV', LAUREL_NATS_SUBJECT: 'shop.*.events.>', LAUREL_NATS_DURABLE: 'laurel-1', LAUREL_NATS_BATCH: '50' });
    expect(c.natsUrl).toBe('nats://broker:4222');
    expect(c.nats).toMatchObject({ stream: 'EV', subject: 'shop.*.events.>', durable: 'laurel-1', batchSize: 50, ackWaitSeconds: 30, maxDeliver: 10 });
    expect(() => loadConfig({ LAUREL_NATS_URL: 'http://x' })).toThrow(/LAUREL_NATS_URL/);
    expect(() => loadConfig({ LAUREL_NATS_SUBJECT: 'a.>.b' })).toThrow(/LAUREL_NATS_SUBJECT/);
    expect(() => loadConfig({ LAUREL_NATS_BATCH: '5000' })).toThrow(/LAUREL_NATS_BATCH/);
  });
});
