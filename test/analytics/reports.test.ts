import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';

/**
 * A generated history in a sandbox program (earn, spend, expire over 24 days), and the reports
 * checked against figures the test computes itself from a model of lots (oldest first, 10-day expiry).
 */
interface Lot {
  day: number;
  remaining: number;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

describe.each(engines)('reports (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
  });
  afterAll(() => t.close());

  it('points, consumption and members match an independent model of the history', async () => {
    // 10:00 in Shanghai, 2026-03-01
    const { program, key } = await t.createProgram({ mode: 'sandbox', timeZone: 'Asia/Shanghai', clockStart: '2026-03-01T02:00:00Z' });
    const base = `/v1/programs/${program.id}`;
    const created = await t.api('POST', `${base}/point-types`, { key, body: { code: 'pts', name: 'Pts', kind: 'redeemable', expiryPolicy: { kind: 'afterDays', days: 10, roundTo: 'instant' } } });
    expect(created.status).toBe(201);
    const members: string[] = [];
    for (let m = 0; m < 3; m++) members.push((await t.api('POST', `${base}/members`, { key, body: { externalId: `r${m}` } })).body.id);

    const DAYS = 24;
    const lots: Lot[][] = members.map(() => []);
    const expected = new Map<string, { issued: number; spent: number; expired: number; outstanding: number; ages: number[] }>();
    const date = (d: number) => `2026-03-${String(d + 1).padStart(2, '0')}`;
    let n = 0;
    let seed = 7;
    const rnd = (k: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % k;
    };
    for (let d = 0; d < DAYS; d++) {
      if (d > 0) expect((await t.api('POST', `${base}/clock/advance`, { key, body: { by: { days: 1 } } })).status).toBe(200);
      const row = { issued: 0, spent: 0, expired: 0, outstanding: 0, ages: [] as number[] };
      for (let m = 0; m < members.length; m++) {
        // lots earned 10 days ago expire at this instant, before today's operations
        for (const lot of lots[m]!) {
          if (lot.day === d - 10 && lot.remaining > 0) {
            row.expired += lot.remaining;
            lot.remaining = 0;
          }
        }
        if ((d + m) % 4 !== 3) {
          const amount = 10 + rnd(90);
          const res = await t.api('POST', `${base}/members/${members[m]}/earn`, { key, headers: { 'idempotency-key': `k${++n}` }, body: { pointType: 'pts', amount } });
          expect(res.status).toBe(201);
          lots[m]!.push({ day: d, remaining: amount });
          row.issued += amount;
        }
        const balance = lots[m]!.reduce((s, l) => s + l.remaining, 0);
        if (d % 2 === 1 && balance > 0) {
          let amount = 1 + rnd(Math.min(balance, 150));
          const res = await t.api('POST', `${base}/members/${members[m]}/spend`, { key, headers: { 'idempotency-key': `k${++n}` }, body: { pointType: 'pts', amount } });
          expect(res.status).toBe(201);
          row.spent += amount;
          for (const lot of lots[m]!) {
            if (amount === 0) break;
            if (lot.remaining === 0) continue;
            const take = Math.min(lot.remaining, amount);
            lot.remaining -= take;
            amount -= take;
            row.ages.push(d - lot.day);
          }
        }
      }
      row.outstanding = lots.flat().reduce((s, l) => s + l.remaining, 0);
      expected.set(date(d), row);
    }

    const from = date(0);
    const to = date(DAYS - 1);
    const points = await t.api('GET', `${base}/reports/points?from=${from}&to=${to}&groupBy=day`, { key });
    expect(points.status).toBe(200);
    const pts = points.body.rows.filter((r: { pointType: string }) => r.pointType === 'pts');
    expect(pts).toHaveLength(DAYS);
    for (const r of pts) {
      const e = expected.get(r.period)!;
      expect({ period: r.period, issued: r.issued, spent: r.spent, expired: r.expired, outstanding: r.outstanding }).toEqual({
        period: r.period,
        issued: e.issued,
        spent: e.spent,
        expired: e.expired,
        outstanding: e.outstanding,
      });
    }

    const consumption = await t.api('GET', `${base}/reports/consumption?from=${from}&to=${to}`, { key });
    for (const r of consumption.body.rows.filter((x: { pointType: string }) => x.pointType === 'pts')) {
      const e = expected.get(r.period)!;
      expect(r.consumptionRate).toBe(e.issued === 0 ? null : Math.round((e.spent / e.issued) * 10_000) / 10_000);
      expect(r.medianDaysToSpend).toBe(median(e.ages));
      expect(r.breakage).toBe(e.spent + e.expired === 0 ? null : Math.round((e.expired / (e.spent + e.expired)) * 10_000) / 10_000);
    }

    // A month bucket sums the days; its outstanding is the last day's.
    const monthly = await t.api('GET', `${base}/reports/points?from=${from}&to=${to}&groupBy=month`, { key });
    const march = monthly.body.rows.find((r: { pointType: string }) => r.pointType === 'pts');
    const all = [...expected.values()];
    expect(march).toMatchObject({
      period: '2026-03-01',
      issued: all.reduce((s, e) => s + e.issued, 0),
      spent: all.reduce((s, e) => s + e.spent, 0),
      expired: all.reduce((s, e) => s + e.expired, 0),
      outstanding: all[all.length - 1]!.outstanding,
    });
    // Outstanding before the history began is zero; a period ending mid-history has that day's figure.
    const early = await t.api('GET', `${base}/reports/points?from=2026-02-20&to=${date(5)}&groupBy=week`, { key });
    const lastWeek = early.body.rows.filter((r: { pointType: string }) => r.pointType === 'pts').at(-1);
    expect(lastWeek.outstanding).toBe(expected.get(date(5))!.outstanding);

    const membersReport = await t.api('GET', `${base}/reports/members?from=${from}&to=${date(2)}`, { key });
    expect(membersReport.body.rows[0]).toMatchObject({ period: from, newMembers: 3, totalMembers: 3 });
    expect(membersReport.body.rows[1]).toMatchObject({ newMembers: 0, activeMembers: 3, totalMembers: 3 });

    const csv = await t.laurel.http.inject({ method: 'GET', url: `${base}/reports/points?from=${from}&to=${date(1)}`, headers: { authorization: `Bearer ${key}`, accept: 'text/csv' } });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    const lines = csv.body.trim().split('\r\n');
    expect(lines[0]).toBe('period,pointType,issued,spent,refunded,expired,reversed,adjusted,netChange,outstanding,pendingOutstanding');
    expect(lines.some((l) => l.startsWith(`${from},pts,${expected.get(from)!.issued},`))).toBe(true);
  });

  it('answers every report, skips what is not installed, and refuses bad ranges', async () => {
    const { program, key } = await t.createProgram({ mode: 'sandbox', timeZone: 'Europe/Paris', clockStart: '2026-01-10T12:00:00Z' });
    const base = `/v1/programs/${program.id}`;
    for (const name of ['points', 'consumption', 'rules', 'tasks', 'tiers', 'benefits', 'check-ins', 'streaks', 'exchanges', 'draws', 'members']) {
      const res = await t.api('GET', `${base}/reports/${name}?from=2026-01-01&to=2026-01-31&groupBy=week&format=csv`, { key });
      expect(res.status, name).toBe(200);
    }
    expect((await t.api('GET', `${base}/reports/points?from=2026-02-01&to=2026-01-01`, { key })).body.error.code).toBe('validation_failed');
    expect((await t.api('GET', `${base}/reports/points?from=2026-01-01&to=2026-01-02&extra=1`, { key })).status).toBe(400);
    expect((await t.api('GET', `${base}/reports/nope?from=2026-01-01&to=2026-01-02`, { key })).status).toBe(400);
    const readOnly = await t.api('POST', `${base}/api-keys`, { key, body: { name: 'ro', scopes: ['read'] } });
    expect((await t.api('GET', `${base}/reports/members?from=2026-01-01&to=2026-01-02`, { key: readOnly.body.secret })).status).toBe(200);
  });
});
