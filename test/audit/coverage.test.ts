import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestLaurel, engines, type ApiResponse, type TestLaurel } from '../harness.js';

/**
 * Every kind of configuration change and manual adjustment leaves one audit entry, made through
 * the API as an operator would: who (the key), when (program time), what (type and id), before
 * and after. Each test makes a change and reads it back through the audit log's filters.
 */
interface Entry {
  actor: string;
  action: string;
  resourceType: string;
  resourceId: string;
  before: any;
  after: any;
  at: string;
}

describe.each(engines)('audit coverage (%s)', (engine) => {
  let t: TestLaurel;
  let base: string;
  let key: string;
  let actor: string;
  let n = 0;
  const call = async (method: string, path: string, body?: unknown, status = method === 'POST' ? 201 : 200) => {
    const res: ApiResponse = await t.api(method, `${base}${path}`, { key, body, headers: { 'idempotency-key': `cov-${++n}` } });
    expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(status);
    return res.body;
  };
  /** The entries for one resource type, newest first (optionally one resource). */
  const log = async (resource: string): Promise<Entry[]> => (await t.api('GET', `${base}/audit-log?resource=${resource}`, { key })).body.data;

  beforeAll(async () => {
    t = await createTestLaurel(engine);
    const created = await t.createProgram({ mode: 'sandbox', timeZone: 'Asia/Shanghai', clockStart: '2026-05-01T02:00:00Z' });
    base = `/v1/programs/${created.program.id}`;
    key = created.key;
    actor = `api_key:${(await t.api('GET', `${base}/api-keys`, { key })).body.data[0].id}`;
  });
  afterAll(() => t.close());

  it('point types: create and change, with the expiry policy before and after', async () => {
    await call('POST', '/point-types', { code: 'stars', name: 'Stars', kind: 'redeemable', expiryPolicy: { kind: 'never' } });
    await call('PATCH', '/point-types/stars', { name: 'Gold stars', expiryPolicy: { kind: 'afterDays', days: 30, roundTo: 'instant' } });
    const [update, create] = await log('point_type:stars');
    expect(create).toMatchObject({ actor, action: 'create', after: { code: 'stars', name: 'Stars' }, at: '2026-05-01T02:00:00.000Z' });
    expect(update).toMatchObject({ action: 'update', before: { name: 'Stars', expiryPolicy: { kind: 'never' } }, after: { name: 'Gold stars', expiryPolicy: { kind: 'afterDays' } } });
    // a program's default point types are its starting state, not a change
    expect((await log('point_type')).map((e) => e.resourceId)).toEqual(['stars', 'stars']);
  });

  it('API keys: create and revoke, never the secret; revoking again records nothing', async () => {
    const made = await call('POST', '/api-keys', { name: 'partner', scopes: ['earn'] });
    await call('POST', `/api-keys/${made.key.id}/revoke`, undefined, 200);
    await call('POST', `/api-keys/${made.key.id}/revoke`, undefined, 200);
    const entries = await log(`api_key:${made.key.id}`);
    expect(entries.map((e) => e.action)).toEqual(['revoke', 'create']);
    expect(entries[0]).toMatchObject({ actor, before: { revokedAt: null }, after: { name: 'partner' } });
    expect(entries[0]!.after.revokedAt).not.toBeNull();
    expect(JSON.stringify(entries)).not.toContain(made.secret);
  });

  it('draws: create, change and a prize change', async () => {
    const draw = await call('POST', '/draws', {
      code: 'wheel', name: 'Wheel', presentation: 'wheel', costPoints: 10,
      prizes: [{ name: '50 points', kind: 'points', weight: 20, points: 50 }, { name: 'Thanks', kind: 'thanks', weight: 80, fallback: true }],
    });
    await call('PATCH', `/draws/${draw.id}`, { costPoints: 20 });
    const prize = draw.prizes.find((p: { kind: string }) => p.kind === 'points');
    await call('PATCH', `/draws/${draw.id}/prizes/${prize.id}`, { weight: 5 });
    const [prizeChange, update, create] = await log(`draw:${draw.id}`);
    expect(create).toMatchObject({ action: 'create', after: { code: 'wheel', costPoints: 10 } });
    expect(update).toMatchObject({ action: 'update', before: { costPoints: 10 }, after: { costPoints: 20 } });
    expect(prizeChange).toMatchObject({ action: 'update_prize', before: { id: prize.id, weight: 20 }, after: { id: prize.id, weight: 5 } });
  });

  it('tier ladders and a manual tier assignment and its end', async () => {
    const ladder = (gold: number) => ({
      metrics: [{ code: 'growth', name: 'Growth', source: { kind: 'pointType', pointType: 'growth' } }],
      tiers: [
        { code: 'member', name: 'Member' },
        { code: 'gold', name: 'Gold', qualification: { metric: 'growth', window: { kind: 'lifetime' }, min: gold } },
      ],
    });
    await call('PUT', '/tiers', ladder(1000));
    await call('PUT', '/tiers', ladder(2000));
    const [update, create] = await log('tier_ladder');
    expect(create).toMatchObject({ action: 'create', before: null });
    expect(update!.action).toBe('update');
    expect(JSON.stringify(update!.before)).toContain('1000');
    expect(JSON.stringify(update!.after)).toContain('2000');

    const member = (await call('POST', '/members', { externalId: 'tiered' })).id;
    await call('PUT', `/members/${member}/tier/assignment`, { tier: 'gold', until: '2026-06-01T00:00:00Z', reason: 'service recovery' });
    await call('DELETE', `/members/${member}/tier/assignment`);
    const [ended, assigned] = await log(`member_tier:${member}`);
    expect(assigned).toMatchObject({ action: 'assign', before: { tier: { code: 'member' } }, after: { tier: { code: 'gold' }, reason: 'service recovery' } });
    expect(ended).toMatchObject({ action: 'end_assignment', before: { tier: { code: 'gold' } }, after: { tier: { code: 'member' }, manual: null } });
  });

  it('benefits: create and change', async () => {
    await call('POST', '/benefits', { code: 'lounge', name: 'Lounge', kind: 'vip_service', defaultUses: 2 });
    await call('PATCH', '/benefits/lounge', { defaultUses: 4 });
    const [update, create] = await log('benefit:lounge');
    expect(create).toMatchObject({ action: 'create', after: { code: 'lounge', defaultUses: 2 } });
    expect(update).toMatchObject({ action: 'update', before: { defaultUses: 2 }, after: { defaultUses: 4 } });
  });

  it('mall: SKUs added and changed', async () => {
    const item = await call('POST', '/mall/items', { kind: 'product', name: 'Cup', skus: [{ code: 'c', name: 'Cup', pointsPrice: 100, stock: 3 }] });
    const added = await call('POST', `/mall/items/${item.id}/skus`, { code: 'big', name: 'Big cup', pointsPrice: 150, stock: 1 });
    const sku = added.skus.find((s: { code: string }) => s.code === 'big');
    await call('PATCH', `/mall/items/${item.id}/skus/${sku.id}`, { pointsPrice: 120 });
    const [update, create] = await log(`sku:${sku.id}`);
    expect(create).toMatchObject({ action: 'create', after: { itemId: item.id, pointsPrice: 150 } });
    expect(update).toMatchObject({ action: 'update', before: { pointsPrice: 150 }, after: { pointsPrice: 120 } });
  });

  it('campaigns and event types', async () => {
    const campaign = await call('POST', '/campaigns', { name: 'Double', status: 'draft', priority: 1, eventTypes: ['purchase'], multiplier: { rates: { points: '2' } } });
    await call('PATCH', `/campaigns/${campaign.id}`, { status: 'active' });
    const [activated, created] = await log(`campaign:${campaign.id}`);
    expect(created!.action).toBe('create');
    expect(activated).toMatchObject({ action: 'update', before: { status: 'draft' }, after: { status: 'active' } });

    const schema = { type: 'object', properties: { nights: { type: 'integer', minimum: 1 } }, required: ['nights'] };
    await call('PUT', '/event-types/stay', { name: 'Stay', attributesSchema: schema }, 200);
    await call('PUT', '/event-types/stay', { name: 'Hotel stay', attributesSchema: schema }, 200);
    const [renamed, declared] = await log('event_type:stay');
    expect(declared).toMatchObject({ action: 'create', before: null, after: { name: 'Stay' } });
    expect(renamed).toMatchObject({ action: 'update', before: { name: 'Stay' }, after: { name: 'Hotel stay' } });
  });

  it('engagement: tasks, medals, the check-in schedule, invitation settings, a medal awarded by hand', async () => {
    const task = await call('POST', '/tasks', { code: 'first', name: 'First buy', recurrence: 'once', eventType: 'purchase', target: 1, rewards: { points: [{ pointType: 'points', amount: 5 }] } });
    await call('PATCH', `/tasks/${task.id}`, { name: 'Your first buy' });
    expect((await log(`task:${task.id}`)).map((e) => [e.action, e.after.name])).toEqual([
      ['update', 'Your first buy'],
      ['create', 'First buy'],
    ]);

    const medal = await call('POST', '/medals', { code: 'fan', name: 'Fan', criterion: { kind: 'tier_reached' }, levels: [{ name: 'Gold', threshold: 2 }] });
    await call('PATCH', `/medals/${medal.id}`, { name: 'Big fan' });
    const [renamed] = await log(`medal:${medal.id}`);
    expect(renamed).toMatchObject({ action: 'update', before: { name: 'Fan' }, after: { name: 'Big fan' } });
    const member = (await call('POST', '/members', { externalId: 'fan' })).id;
    await call('POST', `/members/${member}/medals/${medal.id}/award`, { level: 1, reason: 'event winner' });
    expect((await log(`member_medal:${member}`))[0]).toMatchObject({ action: 'award', after: { reason: 'event winner' } });

    await call('PUT', '/check-in-schedule', { cycle: 'weekly', rewards: [5, 5, 10, 10, 15, 15, 50] }, 200);
    await call('PUT', '/check-in-schedule', { cycle: 'weekly', rewards: [1, 1, 1, 1, 1, 1, 9] }, 200);
    const [schedule] = await log('checkin_schedule');
    expect(schedule).toMatchObject({ action: 'update', before: { config: { rewards: [5, 5, 10, 10, 15, 15, 50] } }, after: { rewards: [1, 1, 1, 1, 1, 1, 9], version: 2 } });

    const settings = { qualifyingEvent: { eventType: 'purchase' }, withinDays: 30, inviterRewards: [{ pointType: 'points', amount: 100 }], inviteeRewards: [{ pointType: 'points', amount: 50 }] };
    await call('PUT', '/invitation-settings', settings, 200);
    expect((await log('invitation_settings'))[0]).toMatchObject({ action: 'create', before: null, after: { withinDays: 30 } });
  });

  it('charity causes, scheduled grants and the program settings', async () => {
    const cause = await call('POST', '/charity/causes', { code: 'trees', name: 'Trees', targetPoints: 1000 });
    await call('PATCH', `/charity/causes/${cause.id}`, { targetPoints: 2000 });
    expect((await log(`cause:${cause.id}`))[0]).toMatchObject({ action: 'update', before: { targetPoints: 1000 }, after: { targetPoints: 2000 } });

    const grant = await call('POST', '/grants', { name: 'Head start', pointType: 'points', amount: 100, audience: {}, schedule: { at: '2026-06-01T00:00:00Z' } });
    expect((await log(`grant:${grant.id}`))[0]).toMatchObject({ action: 'create', after: { amount: 100 } });

    await call('PATCH', '', { name: 'Renamed program' });
    expect((await log('program'))[0]).toMatchObject({ action: 'update', before: { name: 'Test program' }, after: { name: 'Renamed program' } });
  });

  it('filters by kind, entity, actor, action and date together', async () => {
    const all = (await t.api('GET', `${base}/audit-log?limit=200`, { key })).body.data as Entry[];
    expect(all.length).toBeGreaterThan(20);
    const kinds = new Set(all.map((e) => e.resourceType));
    for (const k of ['point_type', 'api_key', 'draw', 'tier_ladder', 'member_tier', 'benefit', 'sku', 'campaign', 'event_type', 'task', 'medal', 'checkin_schedule', 'invitation_settings', 'cause', 'grant', 'program']) {
      expect(kinds, k).toContain(k);
    }
    const byActor = await t.api('GET', `${base}/audit-log?actor=${actor}&action=update&resource=draw&from=2026-05-01T00:00:00Z&to=2026-05-02T00:00:00Z`, { key });
    expect(byActor.body.data.map((e: Entry) => e.action)).toEqual(['update']);
    expect((await t.api('GET', `${base}/audit-log?resource=draw&to=2026-05-01T00:00:00Z`, { key })).body.data).toHaveLength(0);
  });
});
