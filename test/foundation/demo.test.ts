import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../src/demo/seed.js';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

// `npm start` seeds this program on a fresh machine: it must stay valid as rules, ladders and the mall evolve.
describe.each(engines)('the demo program of npm start (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
  });
  afterAll(() => t.close());

  it('has rules, a membership day, a ladder, a mall item, and members with purchases, points and a tier', async () => {
    const demo = await seedDemo(t.laurel);
    const base = `/v1/programs/${demo.programId}`;
    const key = demo.apiKey;
    expect((await t.api('GET', `${base}/rules`, { key })).body.data).toHaveLength(4);
    expect((await t.api('GET', `${base}/campaigns`, { key })).body.data).toHaveLength(1);
    expect((await t.api('GET', `${base}/mall/items`, { key })).body.data).toHaveLength(1);
    const first = demo.members[0]!;
    const balances = (await t.api('GET', `${base}/members/${first}/balances`, { key })).body.balances;
    expect(balances.find((b: { pointType: string }) => b.pointType === 'points').available).toBeGreaterThan(1_000);
    const tier = (await t.api('GET', `${base}/members/${first}/tier`, { key })).body;
    expect(tier.tier.code).toBe('silver');
    const order = (await t.api('GET', `${base}/events/demo-order-1`, { key })).body;
    expect(order.status).toBe('processed');
  });
});
