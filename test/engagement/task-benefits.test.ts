import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

describe.each(engines)('tasks that reward benefits (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
  });
  afterAll(() => t.close());

  it('grants a coupon as an entitlement when a task completes, once, and refuses an unknown benefit', async () => {
    const { program, key } = await t.createProgram({ mode: 'sandbox', timeZone: 'Asia/Shanghai', clockStart: '2026-03-02T02:00:00Z' });
    const base = `/v1/programs/${program.id}`;
    const post = (path: string, body: unknown) => t.api('POST', `${base}${path}`, { key, body });
    expect((await post('/benefits', { code: 'coffee-coupon', name: 'Free coffee', kind: 'coupon', defaultUses: 1 })).status).toBe(201);
    const unknown = await post('/tasks', { code: 'bad', name: 'Bad', recurrence: 'once', eventType: 'purchase', target: 1, rewards: { benefits: [{ code: 'nope' }] } });
    expect(unknown.status).toBe(404);
    const task = await post('/tasks', { code: 'first-buy', name: 'First purchase', recurrence: 'once', eventType: 'purchase', target: 1, rewards: { benefits: [{ code: 'coffee-coupon', quantity: 2 }] } });
    expect(task.status, JSON.stringify(task.body)).toBe(201);
    const member = (await post('/members', { externalId: 'buyer' })).body.id as string;
    for (const id of ['p1', 'p2']) {
      const sent = await post('/events', { eventId: id, member, type: 'purchase', attributes: { amount: 1_000 } });
      expect(sent.status).toBe(201);
    }
    const entitlements = await t.api('GET', `${base}/members/${member}/entitlements`, { key });
    const coupons = entitlements.body.data.filter((e: { benefitCode?: string; benefit?: { code: string } }) => (e.benefitCode ?? e.benefit?.code) === 'coffee-coupon');
    expect(coupons).toHaveLength(2);
    const tasks = await t.api('GET', `${base}/members/${member}/tasks`, { key });
    expect(JSON.stringify(tasks.body)).toContain('first-buy');
  });
});
