import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawQuery } from '../../src/db/database.js';
import type { Award, EvaluationResult } from '../../src/modules/rules/engine/index.js';
import type { ReplayResult, WhatifService } from '../../src/modules/whatif/index.js';
import { createTestLaurel, engines, type TestLaurel } from '../harness.js';
import { buildScenario, ladder, liveDigest, MEMBERS, PER_YUAN, purchase, runReplay, sortAwards, START, STEPS, storedAwards, type Scenario } from './fixture.js';

describe.each(engines)('what-if replay (%s)', (engine) => {
  let t: TestLaurel;
  let s: Scenario;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
    s = await buildScenario(t, ladder({ kind: 'rollingDays', days: 30 }));
  }, 120_000);
  afterAll(() => t.close());

  it('replays the unchanged configuration into exactly the recorded history: awards per event and tiers', async () => {
    const seen = new Map<string, { live: Award[]; draft: Award[] }>();
    const run = await runReplay(t, s.programId, {}, () => ({
      event: (row, live: EvaluationResult, draft: EvaluationResult) => seen.set(row.id, { live: sortAwards(live.awards), draft: sortAwards(draft.awards) }),
    }));
    expect(run.status).toBe('succeeded');
    const result = run.result as ReplayResult;
    const { rows } = await rawQuery<{ id: string; explanation: never }>(t.laurel.database.db, 'select id, explanation from events where program_id = $1', [s.programId]);
    expect(rows.length).toBeGreaterThan(200);
    expect(seen.size).toBe(rows.length);
    for (const r of rows) {
      expect(seen.get(r.id)?.draft, r.id).toEqual(storedAwards(r.explanation));
      expect(seen.get(r.id)?.live).toEqual(storedAwards(r.explanation));
    }
    expect(result.events).toMatchObject({ replayed: rows.length, changed: 0, liveDiffersFromRecord: 0 });
    for (const p of result.points) expect([p.pointType, p.live, p.draft]).toEqual([p.pointType, p.recorded, p.recorded]);
    // The history had upgrades and scheduled downgrades; the replay ends every member where they are.
    const moves = await rawQuery<{ up: number; down: number }>(
      t.laurel.database.db,
      'select count(*) filter (where to_rank > from_rank)::int as up, count(*) filter (where to_rank < from_rank)::int as down from tier_history where program_id = $1',
      [s.programId],
    );
    expect(moves.rows[0]!.up).toBeGreaterThan(3);
    expect(moves.rows[0]!.down).toBeGreaterThan(0);
    expect(result.tiers!.liveDiffersFromRecord).toBe(0);
    for (const d of result.tiers!.distribution) expect([d.tier, d.live, d.draft]).toEqual([d.tier, d.recorded, d.recorded]);
    expect(result.tiers!.distribution.filter((d) => d.live > 0).length).toBeGreaterThanOrEqual(2);
    expect([result.tiers!.up, result.tiers!.down]).toEqual([0, 0]);
    // The gold bonus paid only while members were gold: tiers at the time of each event were right.
    expect(result.rules.find((r) => r.id === s.ruleIds.goldBonus)!.live).toBeGreaterThan(0);
  });

  it('doubles the cost of a rule whose rate is doubled, and nothing else', async () => {
    const doubled = { ...PER_YUAN, id: s.ruleIds.perYuan, rewards: [{ ...PER_YUAN.rewards[0], rate: '2' }, PER_YUAN.rewards[1]] };
    const run = await runReplay(t, s.programId, { document: { rules: [doubled] } });
    const result = run.result as ReplayResult;
    const rule = result.rules.find((r) => r.id === s.ruleIds.perYuan && r.pointType === 'points')!;
    const expected = Array.from({ length: STEPS }, (_, k) => Array.from({ length: MEMBERS }, (_, i) => purchase(i, k) ?? 0)).flat().reduce((a, b) => a + b, 0) / 100;
    expect(rule.live).toBe(expected);
    expect(rule.draft).toBe(2 * expected);
    for (const other of result.rules.filter((r) => r !== rule)) expect([other.id, other.pointType, other.draft]).toEqual([other.id, other.pointType, other.live]);
    expect(result.points.find((p) => p.pointType === 'points')!.delta).toBe(expected);
    expect(result.changes.rules.changed).toEqual([s.ruleIds.perYuan]);
  });

  it('leaves every live table byte for byte as it was', async () => {
    const before = await liveDigest(t);
    const run = await runReplay(t, s.programId, {
      document: {
        rules: [{ id: s.ruleIds.perYuan, rewards: [{ type: 'fixed', pointType: 'growth', amount: 1000 }] }, { name: 'new', eventTypes: ['sign_in'], priority: 1, stacking: 'cumulative', rewards: [{ type: 'fixed', pointType: 'points', amount: 1 }] }],
        remove: [s.ruleIds.milestone],
        tiers: ladder({ kind: 'rollingDays', days: 60 }, 10_000),
        expiry: { points: { kind: 'afterDays', days: 30, roundTo: 'endOfDay' } },
      },
    });
    expect(run.status).toBe('succeeded');
    const result = run.result as ReplayResult;
    expect(result.tiers!.up + result.tiers!.down).toBeGreaterThan(0);
    expect(result.expiring.find((e) => e.pointType === 'points')!.draft).toBeGreaterThan(0);
    expect(await liveDigest(t)).toEqual(before);
  });

  it('cancels a running replay at its next chunk', async () => {
    let chunks = 0;
    let runId = '';
    const run = await runReplay(t, s.programId, { chunkSize: 20 }, (id) => ({
      chunk: async () => {
        chunks++;
        if (chunks === 2) {
          runId = id;
          const res = await t.api('POST', `${s.base}/whatif/runs/${runId}:cancel`, { key: s.key, headers: { 'idempotency-key': `cancel-${runId}` } });
          expect(res.status, JSON.stringify(res.body)).toBe(200);
        }
      },
    }));
    expect(run.id).toBe(runId);
    expect(run.error).toBeNull();
    expect(run.status).toBe('cancelled');
    expect(run.result).toBeNull();
    expect(run.progress.processed).toBe(40);
    expect(run.progress.total).toBeGreaterThan(200);
    const again = await t.api('POST', `${s.base}/whatif/runs/${runId}:cancel`, { key: s.key, headers: { 'idempotency-key': `again-${runId}` } });
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('cancelled');
  });

  it('keeps drafts validated by the live validators, and serves runs as JSON and CSV over HTTP', async () => {
    const bad = await t.api('POST', `${s.base}/whatif/drafts`, { key: s.key, body: { name: 'bad', document: { rules: [{ name: 'x', eventTypes: ['purchase'], rewards: [{ type: 'fixed', pointType: 'stars', amount: 1 }] }] } } });
    expect([bad.status, bad.body.error.code]).toEqual([422, 'rule_invalid']);
    const badLadder = await t.api('POST', `${s.base}/whatif/drafts`, { key: s.key, body: { name: 'bad', document: { tiers: { metrics: [], tiers: [{ code: 'a', name: 'A', qualification: { metric: 'nope', window: { kind: 'lifetime' }, min: 1 } }] } } } });
    expect([badLadder.status, badLadder.body.error.code]).toEqual([400, 'validation_failed']);
    const badExpiry = await t.api('POST', `${s.base}/whatif/drafts`, { key: s.key, body: { name: 'bad', document: { expiry: { points: { kind: 'afterDays', days: 0, roundTo: 'endOfDay' } } } } });
    expect(badExpiry.status).toBe(400);
    const draft = await t.api('POST', `${s.base}/whatif/drafts`, { key: s.key, body: { name: 'gold at 400', document: { tiers: ladder({ kind: 'rollingDays', days: 30 }, 400) } } });
    expect(draft.status).toBe(201);
    expect((await t.api('GET', `${s.base}/whatif/drafts`, { key: s.key })).body.data.map((d: { id: string }) => d.id)).toContain(draft.body.id);

    const started = await t.api('POST', `${s.base}/whatif/replays`, { key: s.key, body: { draftId: draft.body.id, from: '2026-02-01T00:00:00+08:00' } });
    expect(started.status).toBe(202);
    expect(['queued', 'running']).toContain(started.body.status);
    const whatif = t.laurel.services.whatif as WhatifService;
    await whatif.wait(t.laurel.systemContext(await t.laurel.services.programs.get(s.programId), 'test'), started.body.id);
    const run = await t.api('GET', `${s.base}/whatif/runs/${started.body.id}`, { key: s.key });
    expect(run.body).toMatchObject({ status: 'succeeded', progress: { ratio: 1 } });
    expect(run.body.result.events.warmup).toBeGreaterThan(0);
    // A higher gold floor changes who enters gold when (the figures privileges are granted on).
    expect(run.body.result.benefits.tierEntries.find((e: { tier: string }) => e.tier === 'gold').delta).not.toBe(0);
    const csv = await t.api('GET', `${s.base}/whatif/runs/${started.body.id}?format=csv`, { key: s.key });
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(String(csv.body).split('\r\n')[0]).toBe('section,key,detail,recorded,live,draft,delta');
    expect(String(csv.body)).toContain('members_per_tier,gold');
    const list = await t.api('GET', `${s.base}/whatif/runs`, { key: s.key });
    expect(list.body.data[0]).toMatchObject({ id: started.body.id, result: null });
  });
});

describe.each(engines)('what-if tier thresholds (%s)', (engine) => {
  let t: TestLaurel;
  beforeAll(async () => {
    t = await createTestLaurel(engine);
  });
  afterAll(() => t.close());

  it('moves exactly the members a direct computation says a raised threshold moves', async () => {
    const s = await buildScenario(t, ladder({ kind: 'lifetime' }, 300));
    // Lifetime growth only grows: a member's tier is the highest threshold their total reaches.
    const growth = Array.from({ length: MEMBERS }, (_, i) => Array.from({ length: STEPS }, (_, k) => Math.floor((purchase(i, k) ?? 0) / 1000)).reduce((a, b) => a + b, 0));
    const RAISED = 700;
    const expected = growth.flatMap((g, i) => (g >= 300 && g < RAISED ? [`u${i}`] : [])).sort();
    expect(expected.length).toBeGreaterThan(0);
    expect(growth.some((g) => g >= RAISED)).toBe(true);
    const run = await runReplay(t, s.programId, { document: { tiers: ladder({ kind: 'lifetime' }, RAISED) }, sample: 100 });
    const tiers = (run.result as ReplayResult).tiers!;
    expect(tiers.sample.map((m) => m.externalId).sort()).toEqual(expected);
    expect([tiers.up, tiers.down]).toEqual([0, expected.length]);
    for (const m of tiers.sample) {
      expect([m.from, m.to, m.direction]).toEqual(['gold', 'silver', 'down']);
      expect(m.why).toContain(`needs ≥ ${RAISED}`);
    }
    const gold = (code: string) => tiers.distribution.find((d) => d.tier === code)!;
    expect(gold('gold').draft).toBe(gold('gold').live - expected.length);
    expect(gold('gold').live).toBe(growth.filter((g) => g >= 300).length);
    void START;
  });
});
