import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawQuery } from '../../src/db/database.js';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

const PER_YUAN = {
  name: '1 point per ¥1, growth per ¥10',
  status: 'active',
  priority: 10,
  stacking: 'cumulative',
  eventTypes: ['purchase'],
  rewards: [
    { type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '1', per: 100, rounding: 'floor' },
    { type: 'perUnit', pointType: 'growth', attribute: 'amount', rate: '1', per: 1000, rounding: 'floor' },
  ],
};

describe.each(engines)('events and rules (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine, { poolSize: 30 });
  });
  afterAll(() => t.close());

  async function setup(settings: Record<string, unknown> = {}) {
    const { program, key } = await t.createProgram({ mode: 'sandbox', timeZone: 'Asia/Shanghai', clockStart: '2026-04-08T02:00:00Z', settings });
    const base = `/v1/programs/${program.id}`;
    const member = (await t.api('POST', `${base}/members`, { key, body: { externalId: 'u1', tags: ['coffee'] } })).body.id as string;
    const rule = async (body: Record<string, unknown>) => {
      const res = await t.api('POST', `${base}/rules`, { key, body });
      if (res.status !== 201) throw new Error(JSON.stringify(res.body));
      return res.body;
    };
    const send = (eventId: string, attributes: Record<string, unknown>, type = 'purchase', extra: Record<string, unknown> = {}) =>
      t.api('POST', `${base}/events`, { key, body: { eventId, member: 'ext:u1', type, attributes, ...extra } });
    const balance = async (pointType = 'points') =>
      (await t.api('GET', `${base}/members/${member}/balances`, { key })).body.balances.find((b: { pointType: string }) => b.pointType === pointType).available;
    return { program, key, base, member, rule, send, balance };
  }

  it('turns a purchase into points and growth, once per event id, with the explanation in the history', async () => {
    const s = await setup();
    const r = await s.rule(PER_YUAN);
    const first = await s.send('order-1', { amount: 12_345 });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: 'processed', totals: { points: 123, growth: 12 }, replayed: false });
    expect(first.body.awards).toEqual(expect.arrayContaining([expect.objectContaining({ ruleId: r.id, ruleVersion: 1, pointType: 'points', amount: 123 })]));
    const again = await s.send('order-1', { amount: 12_345 });
    expect(again.body).toMatchObject({ replayed: true, id: first.body.id, totals: { points: 123 } });
    expect(await s.balance()).toBe(123);
    expect(await s.balance('growth')).toBe(12);
    const history = await t.api('GET', `${s.base}/members/${s.member}/ledger?pointType=points`, { key: s.key });
    expect(history.body.data[0]).toMatchObject({ kind: 'earn', amount: 123, source: { type: 'event', id: first.body.id } });
    expect(history.body.data[0].details.rules).toEqual([{ kind: 'rule', id: r.id, version: 1, amount: 123 }]);
    const stored = await t.api('GET', `${s.base}/events/order-1`, { key: s.key });
    expect(stored.body.explanation.rules[0]).toMatchObject({ ruleId: r.id, outcome: 'applied' });
  });

  it('stores the explanation of every rule that did not match compactly and reads it back whole, after the rule changed', async () => {
    const s = await setup();
    await s.rule(PER_YUAN);
    const big = await s.rule({ ...PER_YUAN, name: 'big basket', priority: 5, condition: { all: [{ field: 'event.attributes.amount', op: 'gte', value: 50_000 }, { field: 'member.tags', op: 'contains', value: 'vip' }] } });
    const vip = await s.rule({ ...PER_YUAN, name: 'vip or coffee lover', priority: 4, condition: { any: [{ field: 'member.tags', op: 'contains', value: 'vip' }, { not: { field: 'member.tags', op: 'contains', value: 'coffee' } }] } });
    const sent = await s.send('order-c', { amount: 1_000 });
    expect(sent.body.explanation.rules.map((r: { outcome: string }) => r.outcome)).toEqual(['applied', 'notMatched', 'notMatched']);
    // A new version of a rule must not change how an award made under the old one reads.
    expect((await t.api('PATCH', `${s.base}/rules/${big.id}`, { key: s.key, body: { name: 'bigger basket', condition: { field: 'event.attributes.amount', op: 'gte', value: 90_000 } } })).status).toBe(200);
    const stored = await t.api('GET', `${s.base}/events/order-c`, { key: s.key });
    expect(stored.body.explanation).toEqual(sent.body.explanation);
    expect(stored.body.explanation.rules[2]).toMatchObject({ ruleId: vip.id, name: 'vip or coffee lover', failed: { op: 'any', alternatives: [{ op: 'contains' }, { op: 'not' }] } });
    const replay = await s.send('order-c', { amount: 1_000 });
    expect(replay.body.explanation).toEqual(sent.body.explanation);
    const { rows } = await rawQuery<{ e: string }>(t.laurel.database.db, `select explanation::text as e from events where id = $1`, [sent.body.id]);
    expect(rows[0]!.e).not.toContain('coffee lover'); // stored without what the rule version says
  });

  it('previews exactly what the real award then gives, without side effects', async () => {
    const s = await setup();
    await s.rule(PER_YUAN);
    const preview = await t.api('POST', `${s.base}/events:preview`, { key: s.key, body: { event: { member: 'ext:u1', type: 'purchase', attributes: { amount: 5_050 } } } });
    expect(preview.status).toBe(200);
    expect(await s.balance()).toBe(0);
    const real = await s.send('p-1', { amount: 5_050 });
    expect(real.body.totals).toEqual(preview.body.totals);
    expect(real.body.explanation).toEqual(preview.body.explanation);
  });

  it('previews an unsaved draft rule', async () => {
    const s = await setup();
    const draft = { ...PER_YUAN, id: 'rule_draft', version: 1, rewards: [{ type: 'fixed', pointType: 'points', amount: 7 }] };
    const preview = await t.api('POST', `${s.base}/events:preview`, {
      key: s.key,
      body: { event: { member: 'ext:u1', type: 'purchase', attributes: { amount: 100 } }, drafts: { rules: [draft] } },
    });
    expect(preview.body.totals.points).toBe(7);
  });

  it('keeps past awards on the version they used when a rule changes', async () => {
    const s = await setup();
    const r = await s.rule(PER_YUAN);
    await s.send('v-1', { amount: 1_000 });
    const changed = await t.api('PATCH', `${s.base}/rules/${r.id}`, { key: s.key, body: { rewards: [{ type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '2', per: 100 }] } });
    expect(changed.body.version).toBe(2);
    const second = await s.send('v-2', { amount: 1_000 });
    expect(second.body.awards[0]).toMatchObject({ ruleVersion: 2, amount: 20 });
    const first = await t.api('GET', `${s.base}/events/v-1`, { key: s.key });
    expect(first.body.awards[0]).toMatchObject({ ruleVersion: 1, amount: 10 });
    const versions = await t.api('GET', `${s.base}/rules/${r.id}/versions`, { key: s.key });
    expect(versions.body.data.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(await s.balance()).toBe(30);
  });

  it('earns nothing for a frozen member and says why; a paused rule awards nothing', async () => {
    const s = await setup();
    const r = await s.rule(PER_YUAN);
    await t.api('PATCH', `${s.base}/members/${s.member}`, { key: s.key, body: { status: 'frozen' } });
    const frozen = await s.send('f-1', { amount: 1_000 });
    expect(frozen.body).toMatchObject({ status: 'rejected', reason: 'member_frozen', totals: {} });
    await t.api('PATCH', `${s.base}/members/${s.member}`, { key: s.key, body: { status: 'active' } });
    await t.api('PATCH', `${s.base}/rules/${r.id}`, { key: s.key, body: { status: 'paused' } });
    const paused = await s.send('f-2', { amount: 1_000 });
    expect(paused.body.totals.points ?? 0).toBe(0);
    expect(await s.balance()).toBe(0);
  });

  it('refuses bad events with pointed errors and stores nothing', async () => {
    const s = await setup();
    await s.rule(PER_YUAN);
    const unknownType = await s.send('b-1', { amount: 1 }, 'teleport');
    expect([unknownType.status, unknownType.body.error.code]).toEqual([400, 'validation_failed']);
    const badAttr = await s.send('b-2', { amount: 'lots' });
    expect([badAttr.status, badAttr.body.error.code]).toEqual([400, 'validation_failed']);
    expect(badAttr.body.error.message).toContain('amount');
    const unknownMember = await t.api('POST', `${s.base}/events`, { key: s.key, body: { eventId: 'b-3', member: 'ext:nobody', type: 'purchase', attributes: { amount: 1 } } });
    expect([unknownMember.status, unknownMember.body.error.code]).toEqual([404, 'member_not_found']);
    const notStored = await t.api('GET', `${s.base}/events/b-2`, { key: s.key });
    expect(notStored.status).toBe(404);
  });

  it('refuses bad rules at save time with a pointed error', async () => {
    const s = await setup();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...PER_YUAN, rewards: [{ type: 'perUnit', pointType: 'points', attribute: 'nope', rate: '1', per: 100 }] }, 'nope'],
      [{ ...PER_YUAN, condition: { field: 'event.attributes.amount', op: 'gte', value: 'ten' } }, 'condition'],
      [{ ...PER_YUAN, condition: { all: [] } }, 'condition'],
      [{ ...PER_YUAN, rewards: [{ type: 'fixed', pointType: 'miles', amount: 1 }] }, 'miles'],
      [{ ...PER_YUAN, rewards: [{ type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '-1', per: 100 }] }, 'rate'],
    ];
    for (const [body, mention] of cases) {
      const res = await t.api('POST', `${s.base}/rules`, { key: s.key, body });
      expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(400);
      expect(['rule_invalid', 'validation_failed']).toContain(res.body.error.code);
      expect(JSON.stringify(res.body.error)).toContain(mention);
    }
    expect((await t.api('GET', `${s.base}/rules`, { key: s.key })).body.data).toHaveLength(0);
  });

  it('takes a batch with per-event results: processed, invalid and replayed side by side', async () => {
    const s = await setup();
    await s.rule(PER_YUAN);
    await t.api('POST', `${s.base}/members`, { key: s.key, body: { externalId: 'u2' } });
    const batch = await t.api('POST', `${s.base}/events:batch`, {
      key: s.key,
      body: {
        events: [
          { eventId: 'x-1', member: 'ext:u1', type: 'purchase', attributes: { amount: 1_000 } },
          { eventId: 'x-2', member: 'ext:u2', type: 'purchase', attributes: { amount: 2_000 } },
          { eventId: 'x-3', member: 'ext:u1', type: 'purchase', attributes: { amount: 'bad' } },
          { eventId: 'x-1', member: 'ext:u1', type: 'purchase', attributes: { amount: 1_000 } },
          { eventId: 'x-4', member: 'ext:ghost', type: 'purchase', attributes: { amount: 1 } },
        ],
      },
    });
    expect(batch.status).toBe(200);
    expect(batch.body.results.map((r: { status: string; replayed: boolean }) => [r.status, r.replayed])).toEqual([
      ['processed', false],
      ['processed', false],
      ['invalid', false],
      ['processed', true],
      ['invalid', false],
    ]);
    expect(batch.body.results[4].error.code).toBe('member_not_found');
    expect(await s.balance()).toBe(10);
    const replay = await t.api('POST', `${s.base}/events:batch`, { key: s.key, body: { events: [{ eventId: 'x-2', member: 'ext:u2', type: 'purchase', attributes: { amount: 2_000 } }] } });
    expect(replay.body.results[0]).toMatchObject({ replayed: true, totals: { points: 20 } });
    expect((await t.api('GET', `${s.base}/ledger/verify`, { key: s.key })).body.ok).toBe(true);
  });

  it('never lets two concurrent events together pass a daily cap', async () => {
    const s = await setup();
    await s.rule({ ...PER_YUAN, rewards: [{ type: 'fixed', pointType: 'points', amount: 30 }], caps: { points: { day: 100 } } });
    const sends = await Promise.all(Array.from({ length: 10 }, (_, i) => s.send(`cap-${i}`, { amount: 1 })));
    expect(sends.every((r) => r.status === 201)).toBe(true);
    expect(await s.balance()).toBe(100);
    // The next local day (Shanghai) has a fresh cap.
    await t.api('POST', `${s.base}/clock/advance`, { key: s.key, body: { by: { days: 1 } } });
    await s.send('cap-next-day', { amount: 1 });
    expect(await s.balance()).toBe(130);
  });

  it('holds unusually large awards for review, and credits them only when approved', async () => {
    const s = await setup({ earning: { reviewAbove: { points: 1_000 } } });
    await s.rule(PER_YUAN);
    const big = await s.send('big-1', { amount: 500_000 });
    expect(big.body).toMatchObject({ status: 'held', reason: 'held_for_review' });
    expect(await s.balance()).toBe(0);
    const pending = await t.api('GET', `${s.base}/award-reviews`, { key: s.key });
    const review = pending.body.data.find((r: { pointType: string }) => r.pointType === 'points');
    expect(review).toMatchObject({ amount: 5_000, status: 'pending' });
    const approved = await t.api('POST', `${s.base}/award-reviews/${review.id}/decision`, { key: s.key, body: { decision: 'approve' } });
    expect(approved.body.status).toBe('approved');
    const twice = await t.api('POST', `${s.base}/award-reviews/${review.id}/decision`, { key: s.key, body: { decision: 'approve' } });
    expect(twice.body.status).toBe('approved');
    const other = await t.api('POST', `${s.base}/award-reviews/${review.id}/decision`, { key: s.key, body: { decision: 'reject' } });
    expect(other.body.error.code).toBe('illegal_transition');
    expect(await s.balance()).toBe(5_000);
  });

  it('rejects events beyond a member’s velocity limit', async () => {
    const s = await setup({ earning: { velocityPerMinute: { share: 3 } } });
    await s.rule({ ...PER_YUAN, eventTypes: ['share'], rewards: [{ type: 'fixed', pointType: 'points', amount: 1 }] });
    const results = [];
    for (let i = 0; i < 5; i++) results.push((await s.send(`sh-${i}`, {}, 'share')).body.reason);
    expect(results).toEqual([null, null, null, 'velocity_limit', 'velocity_limit']);
    expect(await s.balance()).toBe(3);
  });

  it('declares a custom event type and validates events against it', async () => {
    const s = await setup();
    const declared = await t.api('PUT', `${s.base}/event-types/stay`, {
      key: s.key,
      body: { name: 'Hotel stay', attributesSchema: { type: 'object', properties: { nights: { type: 'integer', minimum: 1 } }, required: ['nights'] } },
    });
    expect(declared.status).toBe(200);
    await s.rule({ ...PER_YUAN, eventTypes: ['stay'], rewards: [{ type: 'perUnit', pointType: 'points', attribute: 'nights', rate: '100', per: 1 }] });
    const ok = await s.send('stay-1', { nights: 3 }, 'stay');
    expect(ok.body.totals.points).toBe(300);
    const missing = await s.send('stay-2', {}, 'stay');
    expect(missing.status).toBe(400);
  });
});
