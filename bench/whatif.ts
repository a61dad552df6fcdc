import type pg from 'pg';
import { systemClock } from '../src/core/clock.js';
import { inTransaction } from '../src/db/database.js';
import type { EarningService } from '../src/modules/earning/index.js';
import type { TiersService } from '../src/modules/tiers/index.js';
import type { ReplayResult, WhatifService } from '../src/modules/whatif/index.js';
import { rules, purchase } from './earning.js';
import { createBenchDatabase, rawPool } from './lib/database.js';
import { envNumber } from './lib/env.js';
import { benchLine, log, round, step, table } from './lib/report.js';
import { bulk, seedMembers, seededMemberId, settle } from './lib/seed.js';
import { createBenchProgram, startLaurel } from './ledger/setup.js';
import type { LadderConfigInput } from '../src/modules/tiers/index.js';
import { LADDER } from './tiers.js';

/**
 * `npm run bench -- whatif`: on PostgreSQL, a replay of 1,000,000 recorded events over 100,000
 * members with 20 active rules and a three-tier ladder, under a draft that doubles a rate,
 * raises a tier threshold and adds an expiry policy (so every part of the replay works: both
 * rule sets, both ladders, expiry). Beside it, in the same run: the raw baseline (the same
 * keyset-paged read of the events with node-postgres, no evaluation) and the batch ingestion
 * rate of the service on a 5,000-event sample (every event of a batch goes through the tier and
 * engagement hooks: a larger sample only makes the run longer). Target: the replay in ≤ 120 s.
 * The replay's own CPU time is reported too: on a shared machine it is the steadier figure.
 * Knobs: BENCH_EVENTS (1000000), BENCH_MEMBERS (100000), BENCH_INGEST (5000).
 */
const EVENTS = envNumber('BENCH_EVENTS', 1_000_000);
const MEMBERS = envNumber('BENCH_MEMBERS', 100_000);
const INGEST = envNumber('BENCH_INGEST', 5_000);
const CHUNK = 10_000;
const PERIOD_S = 365 * 86_400;
const PREFIX = 'mem_wif_';

/** The tiers benchmark's metrics and schedule; growth over 90 days and spend over 12 months, with thresholds the seeded behaviour spreads across. */
const ladder = (silver: number): LadderConfigInput => ({
  ...LADDER,
  tiers: [
    { code: 'basic', name: 'Basic' },
    { code: 'silver', name: 'Silver', qualification: { metric: 'growth', window: { kind: 'rollingDays', days: 90 }, min: silver } },
    { code: 'gold', name: 'Gold', qualification: { all: [{ metric: 'growth', window: { kind: 'rollingDays', days: 90 }, min: 80 }, { metric: 'spend', window: { kind: 'rollingMonths', months: 12 }, min: 200_000 }] } },
  ],
});

/**
 * The events as the earning module stores them (processed, totals, an explanation), over a year,
 * in time order, member n % MEMBERS: four parallel set-based inserts. The stored explanation is
 * the short form (engine, totals): a replay reads totals only, and a full one would make the seed
 * the slowest part of the run.
 */
async function seedEvents(pool: pg.Pool, programId: string, start: Date): Promise<void> {
  const parts = 4;
  const per = Math.ceil(EVENTS / parts);
  const insert = (p: number) =>
    bulk(
      pool,
      `insert into events (id, program_id, member_id, external_id, type, occurred_at, channel, attributes, status, reason, totals, explanation, received_at)
       select 'evt_g' || lpad(n::text, 10, '0'), $1, $2 || lpad((n % $3)::text, 9, '0'), 'g-' || n, ty.type, o.at,
              case when n % 3 = 0 then 'partner' else 'app' end, x.attributes, 'processed', null, x.totals,
              jsonb_build_object('engine', 'laurel-rules/1', 'campaigns', '[]'::jsonb, 'rules', '[]'::jsonb, 'totals', x.totals), o.at + interval '1 second'
       from generate_series($4::bigint, least($5::bigint, $6::bigint) - 1) n
       cross join lateral (select $7::timestamptz + ((n * $8) / $6) * interval '1 second' as at) o
       cross join lateral (select case when n % 20 < 16 then 'purchase' when n % 20 < 18 then 'sign_in' when n % 20 = 18 then 'share' else 'review' end as type) ty
       cross join lateral (select
         case when ty.type = 'purchase' then jsonb_build_object('amount', 1000 + (n * 7919) % 60000, 'category', 'cat-' || (n % 12)) else '{}'::jsonb end as attributes,
         case when ty.type = 'purchase' then jsonb_build_object('growth', (1000 + (n * 7919) % 60000) / 1000, 'points', (1000 + (n * 7919) % 60000) / 100)
              else jsonb_build_object('growth', 0, 'points', 5) end as totals) x`,
      [programId, PREFIX, MEMBERS, p * per, (p + 1) * per, EVENTS, start, PERIOD_S],
    );
  await step(`seed ${EVENTS.toLocaleString()} events (generate_series, 2 at a time)`, async () => {
    for (let p = 0; p < parts; p += 2) await Promise.all([insert(p), insert(p + 1)]);
  });
  await step('vacuum analyze events', () => pool.query('vacuum (analyze) events'));
}

/** The raw baseline: the replay's own read (keyset pages of 10,000 in time order), nothing evaluated. */
async function rawScan(pool: pg.Pool, programId: string, start: Date, end: Date): Promise<number> {
  let cursor: { occ: string; id: string } | null = null;
  let n = 0;
  for (;;) {
    const res: pg.QueryResult<{ id: string; occ: string }> = await pool.query(
      `select id, member_id, type, occurred_at, occurred_at::text as occ, received_at, channel, attributes, totals from events
       where program_id = $1 and status <> 'rejected' and occurred_at < $2
         and ${cursor ? 'occurred_at >= $3::timestamptz and (occurred_at > $3::timestamptz or id > $4)' : 'occurred_at >= $3::timestamptz and $4::text is null'}
       order by occurred_at, id limit $5`,
      [programId, end, cursor ? cursor.occ : start, cursor ? cursor.id : null, CHUNK],
    );
    const rows = res.rows;
    if (!rows.length) break;
    n += rows.length;
    const last: { id: string; occ: string } = rows[rows.length - 1]!;
    cursor = { occ: last.occ, id: last.id };
    if (rows.length < CHUNK) break;
  }
  return n;
}

export async function main(): Promise<void> {
  const bench = await createBenchDatabase('whatif');
  const pool = rawPool(bench.url, 8);
  const laurel = await startLaurel(bench, 8);
  try {
    const program = await createBenchProgram(laurel, 'What-if bench');
    const ctx = program.ctx;
    const earning = laurel.services.earning as EarningService;
    const whatif = laurel.services.whatif as WhatifService;
    await seedMembers(pool, { programId: program.program.id, idPrefix: PREFIX, count: MEMBERS });
    const ruleIds: string[] = [];
    await step('create 20 active rules and the ladder', async () => {
      for (const rule of rules()) ruleIds.push((await inTransaction(laurel.database.db, (trx) => earning.config.create(ctx, trx, 'rule', rule))).id);
      await inTransaction(laurel.database.db, (trx) => (laurel.services.tiers as TiersService).config.save(ctx, trx, ladder(30)));
    });
    const end = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    const start = new Date(end.getTime() - PERIOD_S * 1000 - 1000);
    await seedEvents(pool, program.program.id, start);
    await settle(pool);

    // The draft: points per ¥1 doubled, silver from 45 growth instead of 30, points expiring after 6 months.
    const document = {
      rules: [{ id: ruleIds[0]!, rewards: [{ type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '2', per: 100 }] }],
      tiers: ladder(45),
      expiry: { points: { kind: 'afterMonths' as const, months: 6, roundTo: 'endOfMonth' as const } },
    };

    const rawEvents = await step('raw baseline: keyset scan of the events', async () => {
      const t0 = performance.now();
      const n = await rawScan(pool, program.program.id, start, end);
      return { n, s: (performance.now() - t0) / 1000 };
    });

    let heapPeak = 0;
    const replayRun = await step(`replay ${EVENTS.toLocaleString()} events under the draft`, async () => {
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const queued = await inTransaction(laurel.database.db, (trx) => whatif.startReplay({ ...ctx, clock: systemClock }, trx, { from: start.toISOString(), to: end.toISOString(), document }));
      let next = 100_000;
      whatif.observe(queued.id, {
        chunk: (processed, total) => {
          heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
          if (processed >= next) {
            log(`  ${processed.toLocaleString()} / ${total.toLocaleString()} events`);
            next += 100_000;
          }
        },
      });
      await whatif.kick();
      const run = await whatif.wait({ ...ctx, clock: systemClock }, queued.id);
      if (run.status !== 'succeeded') throw new Error(`replay ${run.status}: ${JSON.stringify(run.error)}`);
      const cpu = process.cpuUsage(cpu0);
      return { result: run.result as ReplayResult, s: (performance.now() - t0) / 1000, cpuS: (cpu.user + cpu.system) / 1e6 };
    });
    const r = replayRun.result;

    // Batch ingestion through the service on a sample, 1,000 events per batch, two at a time.
    const members = Array.from({ length: MEMBERS }, (_, i) => seededMemberId(PREFIX, i));
    const ingest = await step(`batch ingestion of ${INGEST.toLocaleString()} events through the service`, async () => {
      let seq = 0;
      const t0 = performance.now();
      const worker = async () => {
        while (seq < INGEST) {
          const batch = Array.from({ length: Math.min(1000, INGEST - seq) }, () => {
            const n = seq++;
            return { eventId: `ing-${n}`, member: members[(n * 7919) % MEMBERS]!, ...purchase(n) };
          });
          await earning.events.ingestBatch({ ...ctx, clock: systemClock }, batch);
        }
      };
      await Promise.all([worker(), worker()]);
      return INGEST / ((performance.now() - t0) / 1000);
    });

    const replayPerS = r.events.replayed / replayRun.s;
    const rawPerS = rawEvents.n / rawEvents.s;
    const points = r.points.find((p) => p.pointType === 'points')!;
    log(
      `\n${table(
        ['phase', 'events', 'seconds', 'events/s'],
        [
          ['raw keyset scan (no evaluation)', rawEvents.n, round(rawEvents.s, 1), round(rawPerS, 0)],
          ['replay: live + draft rules, ladders, expiry', r.events.replayed, round(replayRun.s, 1), round(replayPerS, 0)],
          ['batch ingestion through the service', INGEST, round(INGEST / ingest, 1), round(ingest, 0)],
        ],
      )}`,
    );
    log(`draft cost: points ${points.live} → ${points.draft} (Δ ${points.delta}); expiring ${r.expiring.find((e) => e.pointType === 'points')?.draft ?? 0}`);
    log(`tiers: ${r.tiers?.distribution.map((d) => `${d.tier ?? '(none)'} ${d.live}→${d.draft}`).join(', ')}; up ${r.tiers?.up}, down ${r.tiers?.down}`);
    log(`replay CPU time in this process: ${round(replayRun.cpuS, 1)} s (${round(replayRun.cpuS / replayRun.s, 2)} of one core over the wall time)`);
    log(`peak heap during the replay: ${round(heapPeak / 2 ** 20, 0)} MiB`);
    benchLine('whatif', {
      replay_events_per_s: round(replayPerS, 0),
      replay_1m_events_s: round((replayRun.s * 1_000_000) / r.events.replayed, 1),
      replay_events: r.events.replayed,
      replay_cpu_s: round(replayRun.cpuS, 1),
      replay_1m_events_cpu_s: round((replayRun.cpuS * 1_000_000) / r.events.replayed, 1),
      raw_scan_events_per_s: round(rawPerS, 0),
      replay_to_raw_ratio: round(replayPerS / rawPerS, 3),
      batch_ingest_events_per_s: round(ingest, 0),
      replay_to_ingest_ratio: round(replayPerS / ingest, 1),
      members: MEMBERS,
      rules: ruleIds.length,
      heap_peak_mib: round(heapPeak / 2 ** 20, 0),
      target_met: (replayRun.s * 1_000_000) / r.events.replayed <= 120,
    });
  } finally {
    await laurel.close();
    await pool.end();
    await bench.drop();
  }
}
