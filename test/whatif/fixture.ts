import { DateTime } from 'luxon';
import { rawQuery } from '../../src/db/database.js';
import type { Award } from '../../src/modules/rules/engine/index.js';
import type { WhatifService } from '../../src/modules/whatif/index.js';
import type { TestLaurel } from '../harness.js';

export const START = '2026-01-05T02:00:00Z';
/** Before the first event: a replay from here covers the whole history. */
export const BEFORE = '2026-01-01T00:00:00Z';

export const PER_YUAN = {
  name: 'points per ¥1, growth per ¥10',
  status: 'active',
  priority: 10,
  stacking: 'cumulative',
  eventTypes: ['purchase'],
  rewards: [
    { type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '1', per: 100 },
    { type: 'perUnit', pointType: 'growth', attribute: 'amount', rate: '1', per: 1000 },
  ],
};
const SIGN_IN = { name: 'sign-in', status: 'active', priority: 5, stacking: 'cumulative', eventTypes: ['sign_in'], rewards: [{ type: 'fixed', pointType: 'points', amount: 5 }], caps: { points: { day: 5 } } };
const GOLD_BONUS = {
  name: 'gold bonus',
  status: 'active',
  priority: 20,
  stacking: 'cumulative',
  eventTypes: ['purchase'],
  condition: { field: 'member.tier', op: 'eq', value: 'gold' },
  rewards: [{ type: 'fixed', pointType: 'points', amount: 100 }],
};
const MILESTONE = {
  name: 'three purchases a month',
  status: 'active',
  priority: 30,
  stacking: 'cumulative',
  eventTypes: ['purchase'],
  rewards: [],
  milestone: { window: 'month', thresholds: [{ at: 3, rewards: [{ type: 'fixed', pointType: 'points', amount: 30 }] }] },
};

const growth = { code: 'growth', name: 'Growth', source: { kind: 'pointType', pointType: 'growth' } };
export const ladder = (window: Record<string, unknown>, gold = 300) => ({
  metrics: [growth],
  evaluation: { schedule: 'monthly', dayOfMonth: 1 },
  downgrade: { policy: 'recompute' },
  tiers: [
    { code: 'basic', name: 'Basic' },
    { code: 'silver', name: 'Silver', qualification: { metric: 'growth', window, min: 100 } },
    { code: 'gold', name: 'Gold', qualification: { metric: 'growth', window, min: gold } },
  ],
});

export const MEMBERS = 10;
export const STEPS = 25;

/** Member i buys at step k (every 4 days) when this says so, for this amount (whole yuan). */
export function purchase(i: number, k: number): number | null {
  if (i >= 7 && k > 12) return null; // they stop buying: their rolling tier decays
  if ((i + k) % ((i % 3) + 1) !== 0) return null;
  return 1000 * (20 + ((37 * i + 13 * k) % 60));
}

export interface Scenario {
  programId: string;
  key: string;
  base: string;
  ruleIds: Record<string, string>;
  memberIds: string[];
}

/**
 * A sandbox program with four rules (rate, capped sign-in, tier-conditioned bonus, milestone), a
 * ladder, ten members and 100 days of purchases and sign-ins sent through the API, the clock
 * advancing every four days (so monthly evaluations run between them).
 */
export async function buildScenario(t: TestLaurel, ladderBody: Record<string, unknown>): Promise<Scenario> {
  const { program, key } = await t.createProgram({ mode: 'sandbox', timeZone: 'Asia/Shanghai', clockStart: START });
  const base = `/v1/programs/${program.id}`;
  const ruleIds: Record<string, string> = {};
  for (const [name, rule] of Object.entries({ perYuan: PER_YUAN, signIn: SIGN_IN, goldBonus: GOLD_BONUS, milestone: MILESTONE })) {
    const r = await t.api('POST', `${base}/rules`, { key, body: rule });
    if (r.status !== 201) throw new Error(JSON.stringify(r.body));
    ruleIds[name] = r.body.id;
  }
  const put = await t.api('PUT', `${base}/tiers`, { key, body: ladderBody });
  if (put.status !== 200) throw new Error(JSON.stringify(put.body));
  const memberIds: string[] = [];
  for (let i = 0; i < MEMBERS; i++) memberIds.push((await t.api('POST', `${base}/members`, { key, body: { externalId: `u${i}` } })).body.id);
  for (let k = 0; k < STEPS; k++) {
    const at = DateTime.fromISO(START).plus({ days: 4 * k });
    if (k > 0) {
      const adv = await t.api('POST', `${base}/clock/advance`, { key, body: { to: at.toISO() } });
      if (adv.status !== 200) throw new Error(JSON.stringify(adv.body));
    }
    const events: Array<Record<string, unknown>> = [];
    for (let i = 0; i < MEMBERS; i++) {
      const amount = purchase(i, k);
      const occurredAt = at.minus({ minutes: 30 - i }).toISO();
      if (amount !== null) events.push({ eventId: `p-${k}-${i}`, member: `ext:u${i}`, type: 'purchase', occurredAt, attributes: { amount } });
      if (i % 2 === 0) {
        // Twice a day: the second sign-in is cut by the day cap.
        events.push({ eventId: `s-${k}-${i}-a`, member: `ext:u${i}`, type: 'sign_in', occurredAt, attributes: {} });
        events.push({ eventId: `s-${k}-${i}-b`, member: `ext:u${i}`, type: 'sign_in', occurredAt: at.minus({ minutes: 5 }).toISO(), attributes: {} });
      }
    }
    const res = await t.api('POST', `${base}/events:batch`, { key, body: { events } });
    if (res.status !== 200 || res.body.results.some((r: { status: string }) => r.status !== 'processed')) throw new Error(JSON.stringify(res.body).slice(0, 500));
  }
  return { programId: program.id, key, base, ruleIds, memberIds };
}

/** A run through the service, so a test can watch it chunk by chunk; returns the finished run. */
export async function runReplay(t: TestLaurel, programId: string, input: Record<string, unknown>, hooks: (runId: string) => Parameters<WhatifService['observe']>[1] = () => ({})) {
  const whatif = t.laurel.services.whatif as WhatifService;
  const program = await t.laurel.services.programs.get(programId);
  const ctx = t.laurel.systemContext(program, 'test');
  const queued = await t.laurel.database.db.transaction().execute((trx) => whatif.startReplay(ctx, trx, { from: BEFORE, ...input }));
  whatif.observe(queued.id, hooks(queued.id));
  await whatif.kick();
  return whatif.wait(ctx, queued.id);
}

/** The awards stored with an event, as the events API reads them back from its explanation. */
export function storedAwards(explanation: { rules?: Array<{ ruleId: string; version: number; awards?: Array<{ pointType: string; amount: number }> }>; campaigns?: Array<{ campaignId: string; version: number; awards?: Array<{ pointType: string; amount: number }> }> } | null): Award[] {
  const out: Award[] = [];
  for (const r of explanation?.rules ?? []) for (const a of r.awards ?? []) if (a.amount > 0) out.push({ kind: 'rule', ruleId: r.ruleId, ruleVersion: r.version, pointType: a.pointType, amount: a.amount });
  for (const c of explanation?.campaigns ?? []) for (const a of c.awards ?? []) if (a.amount > 0) out.push({ kind: 'campaign', ruleId: c.campaignId, ruleVersion: c.version, pointType: a.pointType, amount: a.amount });
  return sortAwards(out);
}

export function sortAwards(list: readonly Award[]): Award[] {
  return [...list].sort((a, b) => `${a.kind}${a.ruleId}${a.pointType}`.localeCompare(`${b.kind}${b.ruleId}${b.pointType}`));
}

const LIVE_TABLES = [
  'programs',
  'members',
  'point_types',
  'accounts',
  'lots',
  'lot_allocations',
  'ledger_transactions',
  'ledger_entries',
  'events',
  'earning_rules',
  'earning_rule_versions',
  'earning_counters',
  'earning_config',
  'tier_ladders',
  'tiers',
  'tier_metrics',
  'tier_metric_buckets',
  'member_tiers',
  'tier_history',
];

/** An md5 of every live table's rows, each table ordered by its rows' text. */
export async function liveDigest(t: TestLaurel): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of LIVE_TABLES) {
    const { rows } = await rawQuery<{ d: string; n: number }>(t.laurel.database.db, `select md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as d, count(*)::int as n from ${table} x`);
    out[table] = `${rows[0]!.n}:${rows[0]!.d}`;
  }
  return out;
}
