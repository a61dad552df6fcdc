import type pg from 'pg';
import { newId } from '../src/core/ids.js';
import { inTransaction } from '../src/db/database.js';
import type { Laurel } from '../src/app.js';
import type { ProgramContext } from '../src/core/context.js';
import type { EarningService } from '../src/modules/earning/index.js';
import { evaluate, requiredCounterKeys, type EngineEvent, type MemberContext } from '../src/modules/rules/engine/index.js';
import { createBenchDatabase, rawPool } from './lib/database.js';
import { Aggregate } from './lib/aggregate.js';
import { measured, measuredLoad, type Measured } from './lib/cpu.js';
import { runHttpLoad } from './lib/http-load.js';
import { benchLine, log, round, step, table } from './lib/report.js';
import { seedMembers, seededMemberId, settle } from './lib/seed.js';
import { RawLedger } from './ledger/raw.js';
import { createBenchProgram, startLaurel } from './ledger/setup.js';

/**
 * Earning on PostgreSQL with 20 active rules: pure evaluation of the compiled rules on one core,
 * batch ingestion over HTTP against a raw set-based batched earn, and single-event HTTP p99 at
 * 16 clients against the raw earn's p99 at the same concurrency, all in one run.
 * Batch and single events run as BENCH_ROUNDS interleaved rounds, each arm beside its baseline.
 * Knobs: BENCH_SECONDS (5 per arm and round), BENCH_ROUNDS (3), BENCH_MEMBERS (100000), BENCH_POOL (24).
 */
const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const SECONDS = env('BENCH_SECONDS', 5);
const MEMBERS = env('BENCH_MEMBERS', 100_000);
const BATCH = 1_000;
const BATCH_WORKERS = 2;
const SINGLE_WORKERS = 16;
const ROUNDS = env('BENCH_ROUNDS', 3);

/** Twenty rules of the kinds a real programme runs: per-yuan, categories, channels, caps, a milestone. */
export function rules(): Array<Record<string, unknown>> {
  const base = { status: 'active', stacking: 'cumulative' };
  const list: Array<Record<string, unknown>> = [
    { ...base, name: 'points per ¥1', priority: 100, eventTypes: ['purchase'], rewards: [{ type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '1', per: 100 }] },
    { ...base, name: 'growth per ¥10 from owned channels', priority: 99, eventTypes: ['purchase'], condition: { field: 'event.channel', op: 'in', value: ['app', 'store'] }, rewards: [{ type: 'perUnit', pointType: 'growth', attribute: 'amount', rate: '1', per: 1000 }] },
    { ...base, name: 'payment splits', priority: 90, eventTypes: ['payment'], rewards: [
      { type: 'perUnit', pointType: 'points', rate: '2', per: 100, items: { array: 'splits', field: 'amount', where: { field: 'item.method', op: 'eq', value: 'stored_value' } } },
      { type: 'perUnit', pointType: 'points', rate: '1', per: 100, items: { array: 'splits', field: 'amount', where: { field: 'item.method', op: 'eq', value: 'card' } } },
    ] },
    { ...base, name: 'sign-in', priority: 50, eventTypes: ['sign_in'], rewards: [{ type: 'fixed', pointType: 'points', amount: 5 }], caps: { points: { day: 5 } } },
    { ...base, name: 'share', priority: 50, eventTypes: ['share'], rewards: [{ type: 'fixed', pointType: 'points', amount: 2 }], caps: { points: { week: 20 } } },
    { ...base, name: 'review', priority: 50, eventTypes: ['review'], rewards: [{ type: 'fixed', pointType: 'points', amount: 10 }] },
    { ...base, name: 'big basket', priority: 80, eventTypes: ['purchase'], condition: { field: 'event.attributes.amount', op: 'gte', value: 50_000 }, rewards: [{ type: 'fixed', pointType: 'points', amount: 100 }] },
    { ...base, name: 'tuesday', priority: 70, eventTypes: ['purchase'], condition: { field: 'time.weekday', op: 'eq', value: 2 }, rewards: [{ type: 'percentage', pointType: 'points', attribute: 'amount', percent: '1' }] },
    { ...base, name: 'vip tag', priority: 60, eventTypes: ['purchase'], condition: { field: 'member.tags', op: 'contains', value: 'vip' }, rewards: [{ type: 'fixed', pointType: 'points', amount: 50 }] },
    { ...base, name: 'monthly purchases milestone', priority: 40, eventTypes: ['purchase'], rewards: [], milestone: { window: 'month', thresholds: [{ at: 3, rewards: [{ type: 'fixed', pointType: 'points', amount: 30 }] }] } },
  ];
  for (let i = 0; list.length < 20; i++) {
    list.push({ ...base, name: `category ${i}`, priority: 30 - i, eventTypes: ['purchase'], condition: { field: 'event.attributes.category', op: 'eq', value: `cat-${i}` }, rewards: [{ type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '1', per: 200 }], caps: { points: { day: 500 } } });
  }
  return list;
}

const CATEGORIES = Array.from({ length: 12 }, (_, i) => `cat-${i}`);

/** The twenty rules, created active in a program. */
export async function createRules(laurel: Laurel, ctx: ProgramContext): Promise<void> {
  const earning = laurel.services.earning as EarningService;
  for (const rule of rules()) await inTransaction(laurel.database.db, (trx) => earning.config.create(ctx, trx, 'rule', rule));
}

export function purchase(n: number): { type: string; channel: string; attributes: Record<string, unknown> } {
  return { type: 'purchase', channel: n % 3 ? 'app' : 'partner', attributes: { amount: 1_000 + ((n * 7919) % 60_000), category: CATEGORIES[n % CATEGORIES.length] } };
}

/** The raw baseline of a batch: one set-based statement for a thousand earns, as hand-written SQL. */
async function rawBatchEarn(pool: pg.Pool, programId: string, pointTypeId: string, members: string[], amounts: number[]): Promise<void> {
  const now = new Date();
  const txns = members.map(() => newId('transaction', now.getTime()));
  const lots = members.map(() => newId('lot', now.getTime()));
  await pool.query(
    `with input as (
       select * from unnest($3::text[], $4::text[], $5::bigint[], $6::text[]) with ordinality as i(txn_id, member_id, amount, lot_id, ord)
     ), txn as (
       insert into ledger_transactions (id, program_id, member_id, point_type_id, kind, amount, status, idempotency_key, actor, occurred_at)
       select txn_id, $1, member_id, $2, 'earn', amount, 'active', 'raw:' || txn_id, 'system:bench-raw', $7 from input
     ), sums as (
       select member_id, sum(amount)::bigint as total from input group by member_id
     ), acct as (
       insert into accounts as a (member_id, point_type_id, program_id, available, earned, updated_at)
       select member_id, $2, $1, total, total, $7 from sums
       on conflict (member_id, point_type_id) do update set available = a.available + excluded.available, earned = a.earned + excluded.earned, updated_at = excluded.updated_at
       returning member_id, available, pending
     ), steps as (
       select i.*, acct.pending, acct.available - s.total + sum(i.amount) over (partition by i.member_id order by i.ord) as after
       from input i join sums s using (member_id) join acct using (member_id)
     ), l as (
       insert into lots (id, program_id, member_id, point_type_id, transaction_id, status, amount, remaining, earned_at)
       select lot_id, $1, member_id, $2, txn_id, 'active', amount, amount, $7 from steps
     )
     insert into ledger_entries (program_id, member_id, point_type_id, transaction_id, kind, amount, pending_delta, available_after, pending_after, occurred_at)
     select $1, member_id, $2, txn_id, 'earn', amount, 0, after, pending, $7 from steps`,
    [programId, pointTypeId, txns, members, amounts, lots, now],
  );
}

export async function main(): Promise<void> {
  const bench = await createBenchDatabase('earning');
  // BENCH_POOL: connections of the raw baseline's pool and of Laurel's alike (24: more than the 16 clients).
  const pool = rawPool(bench.url, env('BENCH_POOL', 24));
  const laurel = await startLaurel(bench, env('BENCH_POOL', 24));
  try {
    const program = await createBenchProgram(laurel, 'Earning bench');
    const earning = laurel.services.earning as EarningService;
    const prefix = 'mem_earn_';
    await seedMembers(pool, { programId: program.program.id, idPrefix: prefix, count: MEMBERS });
    const members = Array.from({ length: MEMBERS }, (_, i) => seededMemberId(prefix, i));
    await step('create 20 active rules', () => createRules(laurel, program.ctx));
    // Before each measured phase: the previous phase's writes vacuumed and checkpointed, so no
    // phase pays for another's autovacuum or checkpoint.
    const settled = () => settle(pool, ['events', 'earning_counters', 'award_reviews']);
    await settled();

    // 1. Pure evaluation on one core: the compiled rules, counters given, no I/O.
    const compiled = await earning.config.compiledProgram(program.ctx);
    const member: MemberContext = { tierCode: null, planCodes: [], tags: ['vip'], segments: [], birthday: null, joinedAt: new Date('2024-01-01') };
    const events: EngineEvent[] = Array.from({ length: 4096 }, (_, n) => ({ ...purchase(n), occurredAt: new Date() }));
    const counters = new Map<string, number>();
    for (const e of events) for (const k of requiredCounterKeys(compiled, e)) counters.set(k, 0);
    // Events per second of this process's CPU time ("on one core"): the database is still busy
    // after seeding, and wall time would charge its share of the two cores to the evaluation.
    const evalRate = (explain: 'none' | 'full') => {
      const until = Date.now() + SECONDS * 1000;
      const cpu0 = process.cpuUsage();
      let n = 0;
      while (Date.now() < until) {
        for (let i = 0; i < 1000; i++) evaluate(compiled, events[(n + i) & 4095]!, member, counters, { explain });
        n += 1000;
      }
      const cpu = process.cpuUsage(cpu0);
      return n / ((cpu.user + cpu.system) / 1e6);
    };
    const evalNone = await step('pure evaluation (explain none)', async () => evalRate('none'));
    const evalFull = await step('pure evaluation (explain full, as stored with awards)', async () => evalRate('full'));

    // 2 and 3 run as interleaved rounds, each arm beside its baseline in every round (which goes
    // first alternates), so a phase of the shared machine falls on both; operations, CPU and
    // latencies add up over the rounds. Before each block, the previous one's writes are settled.
    const interleaved = async (label: string, arms: Array<{ into: Aggregate; run: () => Promise<Measured> }>, ratioOf: (a: Measured, b: Measured) => number) => {
      const rounds: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const order = r % 2 === 0 ? arms : [...arms].reverse();
        const got = new Map<Aggregate, Measured>();
        await step(`${label}, round ${r + 1} of ${ROUNDS}`, async () => {
          for (const arm of order) {
            await settled();
            const m = await arm.run();
            arm.into.add(m, m.cpu);
            got.set(arm.into, m);
          }
        });
        rounds.push(ratioOf(got.get(arms[0]!.into)!, got.get(arms[1]!.into)!));
      }
      return rounds;
    };

    // 2. Batch: raw set-based batched earn vs events:batch over HTTP, 1,000 events per call.
    let cursor = 0;
    const nextMembers = () => Array.from({ length: BATCH }, () => members[(cursor++ * 7) % MEMBERS]!);
    const address = await laurel.http.listen({ port: 0, host: '127.0.0.1' });
    const port = Number(new URL(address).port);
    const base = `/v1/programs/${program.program.id}`;
    // The HTTP clients run in a worker thread, as the ledger benchmark's do, so the server keeps
    // its event loop to itself; each request body is one of these, with fresh event ids (a
    // worker numbers its requests from zero: the run's number keeps ids of rounds apart).
    let httpRuns = 0;
    const http = (label: string, path: string, workers: number, expectStatus: number, bodies: string[]) => {
      const run = httpRuns++;
      return measured(pool, bench.name, (beforeMeasure) =>
        runHttpLoad(
          {
            label, port, method: 'POST', paths: [`${base}${path}`], headers: { authorization: `Bearer ${program.key}`, 'content-type': 'application/json' },
            body: null, bodies: bodies.map((b) => b.replaceAll('{{unique}}', `${run}-{{unique}}`)), idempotencyPrefix: null, expectStatus, workers, durationMs: SECONDS * 1000, warmupMs: 1000,
          },
          beforeMeasure,
        ),
      );
    };
    const batchBodies = Array.from({ length: 64 }, (_, b) =>
      JSON.stringify({ events: nextMembers().map((m, i) => ({ eventId: `b-{{unique}}-${i}`, member: m, ...purchase(b * BATCH + i) })) }),
    );
    const rawBatch = new Aggregate('raw batched earn', BATCH_WORKERS);
    const httpBatch = new Aggregate('events:batch over HTTP', BATCH_WORKERS);
    const batchRounds = await interleaved(
      'batch',
      [
        { into: httpBatch, run: () => http(httpBatch.label, '/events:batch', BATCH_WORKERS, 200, batchBodies) },
        {
          into: rawBatch,
          run: () =>
            measuredLoad(pool, bench.name, { label: rawBatch.label, workers: BATCH_WORKERS, durationMs: SECONDS * 1000, warmupMs: 1000 }, async () => {
              const batch = nextMembers();
              await rawBatchEarn(pool, program.program.id, program.pointTypeIds.points!, batch, batch.map((_, i) => 10 + (i % 90)));
            }),
        },
      ],
      (laurelRun, rawRun) => laurelRun.throughput / rawRun.throughput,
    );

    // 3. Single events over HTTP at 16 clients vs the raw earn at 16 clients.
    const raw = new RawLedger(pool, program.program.id, program.pointTypeIds.points!);
    const singleBodies = Array.from({ length: 20_000 }, (_, n) => JSON.stringify({ eventId: 's-{{unique}}', member: members[(n * 7907) % MEMBERS]!, ...purchase(n) }));
    const rawSingle = new Aggregate('raw earn', SINGLE_WORKERS);
    const httpSingle = new Aggregate('POST /events', SINGLE_WORKERS);
    let rawRound = 0;
    const singleRounds = await interleaved(
      'single events',
      [
        { into: httpSingle, run: () => http(httpSingle.label, '/events', SINGLE_WORKERS, 201, singleBodies) },
        {
          into: rawSingle,
          run: () => {
            const r = rawRound++;
            return measuredLoad(pool, bench.name, { label: rawSingle.label, workers: SINGLE_WORKERS, durationMs: SECONDS * 1000, warmupMs: 1000 }, async (w, seq) => {
              await raw.earn(members[(w * 104729 + seq * 31) % MEMBERS]!, 10, `raw-${r}-${w}-${seq}`);
            });
          },
        },
      ],
      (laurelRun, rawRun) => laurelRun.latency.p99 / rawRun.latency.p99,
    );

    const batchEventsPerS = httpBatch.throughput * BATCH;
    const rawBatchPerS = rawBatch.throughput * BATCH;
    const cpuText = (a: Aggregate, perOp: number) => {
      const c = a.cpuPerOp();
      return `${round(c.total / perOp, 0)} (${round(c.node / perOp, 0)} + ${round(c.pg / perOp, 0)})`;
    };
    const row = (a: Aggregate, perOp = 1) => {
      const l = a.latency();
      return [a.label, a.workers, round(a.throughput * perOp, 0), round(l.p50, 2), round(l.p99, 2), a.errors, cpuText(a, perOp)];
    };
    const spread = (xs: number[]) => `${round(Math.min(...xs), 2)} … ${round(Math.max(...xs), 2)}`;
    log(`\n${table(['phase', 'clients', 'events/s', 'p50 ms', 'p99 ms', 'errors', 'CPU µs/event (node + pg)'], [row(rawBatch, BATCH), row(httpBatch, BATCH), row(rawSingle), row(httpSingle)])}`);
    log(`${ROUNDS} interleaved rounds of ${SECONDS} s per arm; per round, batch ratio ${spread(batchRounds)}, p99 ratio ${spread(singleRounds)}`);
    log(`pure evaluation: ${round(evalNone, 0)} events/s (explain none), ${round(evalFull, 0)} events/s (full explanation)`);
    benchLine('earning', {
      eval_events_per_s: round(evalNone, 0),
      eval_full_explanation_events_per_s: round(evalFull, 0),
      batch_ingest_events_per_s: round(batchEventsPerS, 0),
      raw_batched_earn_per_s: round(rawBatchPerS, 0),
      batch_ingest_ratio: round(batchEventsPerS / rawBatchPerS, 3),
      event_p99_ms_c16: round(httpSingle.latency().p99, 2),
      raw_earn_p99_ms_c16: round(rawSingle.latency().p99, 2),
      event_p99_ratio_c16: round(httpSingle.latency().p99 / rawSingle.latency().p99, 3),
      batch_ingest_cpu_us_per_event: round(httpBatch.cpuPerOp().total / BATCH, 0),
      raw_batched_earn_cpu_us_per_event: round(rawBatch.cpuPerOp().total / BATCH, 0),
      event_cpu_us_c16: round(httpSingle.cpuPerOp().total, 0),
      raw_earn_cpu_us_c16: round(rawSingle.cpuPerOp().total, 0),
      errors: rawBatch.errors + httpBatch.errors + rawSingle.errors + httpSingle.errors,
    });
  } finally {
    await laurel.close();
    await pool.end();
    await bench.drop();
  }
}
