import type { ProcessedEvent } from '../../src/core/hooks.js';
import { inTransaction } from '../../src/db/database.js';
import type { TestLaurel } from '../harness.js';

export interface EventSpec {
  type: string;
  attributes?: Record<string, unknown>;
  /** default: the program clock's now */
  occurredAt?: string;
}

/** A sandbox program in Shanghai with helpers around the engagement routes and the afterEvent hook. */
export async function setup(t: TestLaurel, clockStart: string, zone = 'Asia/Shanghai') {
  const { program, key } = await t.createProgram({ mode: 'sandbox', timeZone: zone, clockStart });
  const base = `/v1/programs/${program.id}`;
  let n = 0;
  const call = (method: string, url: string, body?: unknown, idem?: string) =>
    t.api(method, `${base}${url}`, { key, body, headers: idem === null ? {} : { 'idempotency-key': idem ?? `k${++n}-${Math.random()}` } });
  const get = (url: string) => t.api('GET', `${base}${url}`, { key });
  const member = async (externalId: string, profile: Record<string, unknown> = {}) => {
    const res = await t.api('POST', `${base}/members`, { key, body: { externalId, ...profile } });
    if (res.status !== 201) throw new Error(JSON.stringify(res.body));
    return res.body.id as string;
  };
  const balance = async (memberId: string, pointType = 'points'): Promise<number> =>
    ((await get(`/members/${memberId}/balances`)).body.balances.find((b: { pointType: string }) => b.pointType === pointType)?.available as number) ?? 0;
  const verify = async () => (await get('/ledger/verify')).body;
  const to = async (instant: string) => {
    const res = await t.api('POST', `${base}/clock/advance`, { key, body: { to: instant } });
    if (res.status !== 200) throw new Error(JSON.stringify(res.body));
  };
  const advance = async (by: Record<string, number>) => {
    const res = await t.api('POST', `${base}/clock/advance`, { key, body: { by } });
    if (res.status !== 200) throw new Error(JSON.stringify(res.body));
  };
  /** Events as the earning pipeline hands them over: in one transaction, through `hooks.afterEvent`. */
  const events = async (memberId: string, specs: EventSpec[]) => {
    const fresh = await t.laurel.services.programs.get(program.id);
    const ctx = t.laurel.systemContext(fresh, 'test-events');
    const now = ctx.clock.now();
    await inTransaction(t.laurel.database.db, async (trx) => {
      for (const s of specs) {
        const event: ProcessedEvent = {
          id: `evt_test_${++n}`,
          externalId: `ext-${n}`,
          type: s.type,
          occurredAt: s.occurredAt ? new Date(s.occurredAt) : now,
          channel: null,
          attributes: s.attributes ?? {},
          memberId,
          totals: {},
        };
        await t.laurel.hooks.afterEvent(trx, ctx, event);
      }
    });
  };
  return { program, key, base, call, get, member, balance, verify, to, advance, events };
}
