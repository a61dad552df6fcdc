import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';
import { setup } from './helpers.js';

const SETTINGS = {
  qualifyingEvent: { eventType: 'purchase', conditions: [{ attribute: 'amount', op: 'gte', value: 1000 }] },
  withinDays: 30,
  inviterRewards: [{ pointType: 'points', amount: 100 }],
  inviteeRewards: [{ pointType: 'points', amount: 50 }],
  maxPerInviter: 3,
};

describe.each(engines)('invitations (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
  });
  afterAll(() => t.close());

  it('rewards inviter and invitee once when the invitee qualifies in time', async () => {
    const s = await setup(t, '2026-03-02T02:00:00Z');
    const off = await s.call('POST', '/invitations', { code: 'ABCDEFGH', invitee: 'mem_x' });
    expect([off.status, off.body.error.code]).toEqual([422, 'invitations_disabled']);
    expect((await s.call('PUT', '/invitation-settings', SETTINGS)).body).toMatchObject({ version: 1, maxPerInviter: 3, enabled: true });
    await s.call('POST', '/tasks', { code: 'invite2', name: 'Invite 2 friends', recurrence: 'once', eventType: 'engagement.invitation_qualified', target: 2, rewards: { points: [{ pointType: 'points', amount: 7 }] } });
    const a = await s.member('alice', { phone: '+86 138 0000 0001' });
    const code = (await s.call('POST', `/members/${a}/referral-code`, {})).body.code as string;
    expect(code).toMatch(/^[A-Z2-9]{8}$/);
    expect((await s.call('POST', `/members/${a}/referral-code`, {})).body.code).toBe(code);

    const b = await s.member('bob', { phone: '13800000002' });
    const inv = await s.call('POST', '/invitations', { code: code.toLowerCase(), invitee: 'ext:bob', deviceId: 'device-b' });
    expect(inv.status).toBe(201);
    expect(inv.body).toMatchObject({ inviterId: a, inviteeId: b, status: 'pending', expiresAt: '2026-04-01T02:00:00.000Z' });

    await s.events(b, [{ type: 'purchase', attributes: { amount: 500 } }]);
    expect(await s.balance(b)).toBe(0);
    await s.events(b, [{ type: 'purchase', attributes: { amount: 2000 } }, { type: 'purchase', attributes: { amount: 3000 } }]);
    expect(await s.balance(b)).toBe(50);
    expect(await s.balance(a)).toBe(100);
    const mine = (await s.get(`/members/${a}/invitations`)).body;
    expect(mine).toMatchObject({ code, counts: { pending: 0, qualified: 1, expired: 0 }, limit: { maxPerInviter: 3, remaining: 2 } });
    expect(mine.invitations[0]).toMatchObject({ status: 'qualified', rewards: { inviter: [{ amount: 100 }], invitee: [{ amount: 50 }], inviterSkipped: null } });
    expect((await s.get(`/members/${b}/invitations`)).body.invitedBy).toMatchObject({ inviterId: a });
    const entry = (await s.get(`/members/${a}/ledger`)).body.data[0];
    expect(entry.source).toEqual({ type: 'invitation', id: inv.body.id });

    // A second friend qualifies: the inviter's task "invite 2 friends" completes too.
    const c = await s.member('carol');
    await s.call('POST', '/invitations', { code, invitee: c, deviceId: 'device-c' });
    await s.events(c, [{ type: 'purchase', attributes: { amount: 1000 } }]);
    expect(await s.balance(a)).toBe(207);

    // Too late: 31 days after accepting, the purchase qualifies nothing.
    const d = await s.member('dave');
    await s.call('POST', '/invitations', { code, invitee: d });
    await s.advance({ days: 31 });
    await s.events(d, [{ type: 'purchase', attributes: { amount: 5000 } }]);
    expect(await s.balance(d)).toBe(0);
    expect((await s.get(`/members/${a}/invitations`)).body.counts).toEqual({ pending: 0, qualified: 2, expired: 1 });
    expect((await s.verify()).ok).toBe(true);
  });

  it('refuses every abuse case with a clear reason and changes nothing', async () => {
    const s = await setup(t, '2026-03-02T02:00:00Z');
    await s.call('PUT', '/invitation-settings', { ...SETTINGS, maxPerInviter: 2, inviteeJoinedWithinDays: 7 });
    const a = await s.member('alice', { phone: '13800000001' });
    const code = (await s.call('POST', `/members/${a}/referral-code`, { deviceId: 'alice-phone' })).body.code as string;
    const b = await s.member('bob');
    const bCode = (await s.call('POST', `/members/${b}/referral-code`, {})).body.code as string;
    expect((await s.call('POST', '/invitations', { code, invitee: b, deviceId: 'dev-1', phone: '13900000009' })).status).toBe(201);

    const x = await s.member('x');
    const y = await s.member('y', { phone: '+86 139-0000-0009' });
    const z = await s.member('z');
    const old = await s.member('old', { joinedAt: '2026-01-01T00:00:00Z' });
    const frozen = await s.member('frozen');
    await t.api('PATCH', `${s.base}/members/${frozen}`, { key: s.key, body: { status: 'frozen' } });
    const cases: Array<[Record<string, unknown>, number, string, string | undefined]> = [
      [{ code, invitee: a }, 422, 'self_referral', 'same_member'],
      [{ code, invitee: x, deviceId: 'alice-phone' }, 422, 'self_referral', 'same_device'],
      [{ code, invitee: x, phone: '138-0000-0001' }, 422, 'self_referral', 'same_phone'],
      [{ code: bCode, invitee: a }, 422, 'self_referral', 'circular'],
      [{ code, invitee: b }, 422, 'already_referred', 'has_inviter'],
      [{ code, invitee: x, deviceId: 'dev-1' }, 422, 'duplicate_device', 'device_used'],
      [{ code, invitee: y }, 422, 'duplicate_phone', 'phone_used'],
      [{ code, invitee: old }, 422, 'not_eligible', 'not_a_new_member'],
      [{ code, invitee: frozen }, 422, 'member_inactive', undefined],
      [{ code: 'ZZZZZZZZ', invitee: x }, 404, 'referral_code_not_found', undefined],
      [{ code, invitee: x, extra: 1 }, 400, 'validation_failed', undefined],
    ];
    for (const [body, status, errorCode, reason] of cases) {
      const res = await s.call('POST', '/invitations', body);
      expect([res.status, res.body.error?.code, res.body.error?.details?.reason], JSON.stringify(body)).toEqual([status, errorCode, reason]);
    }
    expect((await s.get(`/members/${a}/invitations`)).body.counts).toEqual({ pending: 1, qualified: 0, expired: 0 });

    // The limit per inviter: the second goes through, the third is refused.
    expect((await s.call('POST', '/invitations', { code, invitee: x })).status).toBe(201);
    const third = await s.call('POST', '/invitations', { code, invitee: z });
    expect([third.status, third.body.error.code, third.body.error.details.limit]).toEqual([422, 'limit_reached', 'max_per_inviter']);
    expect((await s.get(`/members/${z}/invitations`)).body.invitedBy).toBeNull();
  });

  it('lets concurrent acceptances from one device through once', async () => {
    const s = await setup(t, '2026-03-02T02:00:00Z');
    await s.call('PUT', '/invitation-settings', { ...SETTINGS, maxPerInviter: null });
    const a = await s.member('alice');
    const code = (await s.call('POST', `/members/${a}/referral-code`, {})).body.code as string;
    const invitees = await Promise.all([1, 2, 3, 4].map((i) => s.member(`friend${i}`)));
    const results = await Promise.all(invitees.map((m) => s.call('POST', '/invitations', { code, invitee: m, deviceId: 'shared-device' })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 422, 422, 422]);
    for (const r of results.filter((x) => x.status === 422)) expect(r.body.error.code).toBe('duplicate_device');
  });
});
