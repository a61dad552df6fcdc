import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';
import { setup } from './helpers.js';

// Through the real earning pipeline: events reported over HTTP reach tasks, medals and
// invitations via hooks.afterEvent, in the event's own transaction.
describe.each(engines)('engagement through the earning pipeline (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
  });
  afterAll(() => t.close());

  it('progresses a task and a medal from a batch of reported events, exactly once per event', async () => {
    const s = await setup(t, '2026-03-02T02:00:00Z');
    await s.call('POST', '/tasks', { code: 'share3', name: 'Share 3 times', recurrence: 'weekly', eventType: 'share', target: 3, rewards: { points: [{ pointType: 'points', amount: 30 }] } });
    await s.call('POST', '/medals', { code: 'sharer', name: 'Sharer', criterion: { kind: 'event_count', eventType: 'share' }, levels: [{ name: 'Bronze', threshold: 2 }, { name: 'Silver', threshold: 10 }] });
    const m = await s.member('p1');
    const events = [1, 2, 3, 4].map((i) => ({ eventId: `share-${i}`, member: m, type: 'share', attributes: {} }));
    const batch = await s.call('POST', '/events:batch', { events });
    expect(batch.status, JSON.stringify(batch.body)).toBeLessThan(300);
    const replay = await s.call('POST', '/events:batch', { events });
    expect(replay.status).toBeLessThan(300);
    expect((await s.get(`/members/${m}/tasks`)).body.data[0]).toMatchObject({ progress: 3, status: 'rewarded' });
    expect((await s.get(`/members/${m}/medals`)).body.data[0]).toMatchObject({ value: 4, level: 1 });
    expect(await s.balance(m)).toBe(30);
    expect((await s.verify()).ok).toBe(true);
  });

  it('documents every engagement route in the OpenAPI document', async () => {
    const doc = await t.api('GET', '/openapi.json', { key: null });
    expect(doc.status).toBe(200);
    const paths = Object.keys(doc.body.paths);
    for (const p of [
      '/v1/programs/{programId}/check-in-schedule',
      '/v1/programs/{programId}/members/{memberId}/check-ins',
      '/v1/programs/{programId}/members/{memberId}/check-ins/calendar',
      '/v1/programs/{programId}/members/{memberId}/check-ins/make-ups',
      '/v1/programs/{programId}/tasks',
      '/v1/programs/{programId}/members/{memberId}/tasks/{taskId}/claim',
      '/v1/programs/{programId}/medals',
      '/v1/programs/{programId}/members/{memberId}/medals',
      '/v1/programs/{programId}/invitations',
      '/v1/programs/{programId}/invitation-settings',
      '/v1/programs/{programId}/members/{memberId}/referral-code',
    ]) {
      expect(paths).toContain(p);
    }
  });
});
