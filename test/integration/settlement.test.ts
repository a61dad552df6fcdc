import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

/**
 * Partner settlement: two partner keys report events and spend points on several channels; the
 * report's figures per key and channel are checked against sums the test keeps itself, including
 * a refund made by another key and a clawback made by the admin, which count against the partner
 * and channel of what they follow.
 */
describe.each(engines)('partner settlement (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
  });
  afterAll(() => t.close());

  it('sums issued and redeemed per API key and channel, in the program zone, JSON and CSV', async () => {
    // 23:30 in Shanghai on 2026-03-01 (15:30 UTC)
    const { program, key: admin } = await t.createProgram({ mode: 'sandbox', timeZone: 'Asia/Shanghai', clockStart: '2026-03-01T15:30:00Z' });
    const base = `/v1/programs/${program.id}`;
    const newKey = async (name: string) =>
      (await t.api('POST', `${base}/api-keys`, { key: admin, body: { name, scopes: ['earn', 'spend', 'read'] } })).body as { key: { id: string }; secret: string };
    const airline = await newKey('airline');
    const bank = await newKey('bank');
    const rule = await t.api('POST', `${base}/rules`, {
      key: admin,
      body: { name: 'base', status: 'active', priority: 1, stacking: 'cumulative', eventTypes: ['purchase'], rewards: [{ type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '1', per: 100 }] },
    });
    expect(rule.status).toBe(201);
    const member = (await t.api('POST', `${base}/members`, { key: admin, body: { externalId: 'm1' } })).body.id as string;
    let n = 0;
    const op = (secret: string, path: string, body: unknown, channel?: string) =>
      t.api('POST', `${base}${path}`, { key: secret, body, headers: { 'idempotency-key': `s${++n}`, ...(channel ? { 'laurel-channel': channel } : {}) } });

    // Day 1 (local 2026-03-01): the airline reports two events on two channels in one batch.
    const batch = await t.api('POST', `${base}/events:batch`, {
      key: airline.secret,
      body: {
        events: [
          { eventId: 'a1', member: member, type: 'purchase', channel: 'app', attributes: { amount: 30_000 } },
          { eventId: 'a2', member: member, type: 'purchase', channel: 'web', attributes: { amount: 12_000 } },
        ],
      },
    });
    expect(batch.status).toBe(200);
    expect(batch.body.results.map((r: { totals: { points: number } }) => r.totals.points)).toEqual([300, 120]);

    // Day 2 (local 2026-03-02): the bank credits and spends through the ledger on its channel.
    await t.api('POST', `${base}/clock/advance`, { key: admin, body: { by: { hours: 1 } } });
    expect((await op(bank.secret, `/members/${member}/earn`, { pointType: 'points', amount: 500 }, 'card')).status).toBe(201);
    const spend = await op(bank.secret, `/members/${member}/spend`, { pointType: 'points', amount: 200 }, 'card');
    expect(spend.status).toBe(201);
    const airlineSpend = await op(airline.secret, `/members/${member}/spend`, { pointType: 'points', amount: 50 }, 'app');
    expect(airlineSpend.status).toBe(201);
    // A refund by the airline's key of the bank's spend, and the admin's clawback of the airline's
    // web earn: each counts against the original's partner and channel.
    expect((await op(airline.secret, `/transactions/${spend.body.id}/refund`, { amount: 80 })).status).toBe(201);
    const webEarn = (await t.api('GET', `${base}/members/${member}/ledger?limit=50`, { key: admin })).body.data.find(
      (e: { kind: string; amount: number }) => e.kind === 'earn' && e.amount === 120,
    );
    expect(webEarn).toBeDefined();
    expect((await op(admin, `/transactions/${webEarn.transactionId}/reverse`, { amount: 20 })).status).toBe(201);
    // A manual adjustment with the deployment admin key has no API client.
    expect((await op(t.adminKey, `/members/${member}/adjust`, { pointType: 'points', amount: -5, reason: 'goodwill correction' })).status).toBe(201);

    const report = await t.api('GET', `${base}/reports/settlement?from=2026-03-01&to=2026-03-02&groupBy=month`, { key: admin });
    expect(report.status).toBe(200);
    const rows = report.body.rows as Array<Record<string, unknown>>;
    const pick = (apiKeyId: string | null, channel: string | null) => rows.find((r) => r.apiKeyId === apiKeyId && r.channel === channel);
    expect(pick(airline.key.id, 'app')).toMatchObject({ apiKeyName: 'airline', issued: 300, reversed: 0, redeemed: 50, refunded: 0, netRedeemed: 50, transactions: 2 });
    expect(pick(airline.key.id, 'web')).toMatchObject({ issued: 120, reversed: 20, netIssued: 100, redeemed: 0, transactions: 2 });
    expect(pick(bank.key.id, 'card')).toMatchObject({ apiKeyName: 'bank', issued: 500, redeemed: 200, refunded: 80, netRedeemed: 120, transactions: 3 });
    expect(pick(null, null)).toMatchObject({ adjusted: -5, issued: 0, transactions: 1 });
    expect(rows).toHaveLength(4);

    // By day in the program zone: the batch at 23:30 local falls on the 1st, the rest on the 2nd.
    const daily = (await t.api('GET', `${base}/reports/settlement?from=2026-03-01&to=2026-03-02&groupBy=day`, { key: admin })).body.rows as Array<Record<string, unknown>>;
    expect(daily.filter((r) => r.period === '2026-03-01').map((r) => [r.channel, r.issued])).toEqual([
      ['app', 300],
      ['web', 120],
    ]);
    expect(daily.find((r) => r.period === '2026-03-02' && r.channel === 'web')).toMatchObject({ issued: 0, reversed: 20 });

    const csv = await t.api('GET', `${base}/reports/settlement?from=2026-03-01&to=2026-03-02&groupBy=month&format=csv`, { key: admin });
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    const lines = String(csv.body).trim().split('\r\n');
    expect(lines[0]).toBe('period,apiKeyId,apiKeyName,channel,pointType,issued,reversed,netIssued,redeemed,refunded,netRedeemed,adjusted,transactions');
    expect(lines).toContain(`2026-03-01,${bank.key.id},bank,card,points,500,0,500,200,80,120,0,3`);
  });

  it('refuses a malformed channel header and changes nothing', async () => {
    const { program, key } = await t.createProgram();
    const base = `/v1/programs/${program.id}`;
    const member = (await t.api('POST', `${base}/members`, { key, body: { externalId: 'x' } })).body.id as string;
    const res = await t.api('POST', `${base}/members/${member}/earn`, { key, body: { pointType: 'points', amount: 5 }, headers: { 'idempotency-key': 'c1', 'laurel-channel': 'bad channel!' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    const ledger = await t.api('GET', `${base}/members/${member}/ledger`, { key });
    expect(ledger.body.data).toHaveLength(0);
  });
});
