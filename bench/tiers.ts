import { systemClock } from '../src/core/clock.js';
import { inTransaction } from '../src/db/database.js';
import type { LadderConfigInput } from '../src/modules/tiers/index.js';
import type { TiersService } from '../src/modules/tiers/index.js';
import type { EarningService } from '../src/modules/earning/index.js';
import { cpuMeter, type CpuUse } from './lib/cpu.js';
import { createBenchDatabase, rawPool } from './lib/database.js';
import { benchLine, log, round, step, table } from './lib/report.js';
import { seedMembers, settle } from './lib/seed.js';
import { percentile } from './lib/stats.js';
import { createBenchProgram, startLaurel } from './ledger/setup.js';

/**
 * `npm run bench -- tiers [members]`: on PostgreSQL,
 * 1. the scheduled evaluation of 1,000,000 members (30-day growth, 12-month spend, 4 tiers, about
 *    3 million metric buckets), set-based, in chunks;
 * 2. the cost of the real-time tier path on an award: the same purchase events through the same
 *    rules on a program without a ladder and on one with a ladder, interleaved in one run; first
 *    on members' first awards (the BENCH line's upgrade_overhead_ratio), then on regulars who
 *    already have a tier state (upgrade_overhead_ratio_regulars).
 */
export const LADDER: LadderConfigInput = {
  metrics: [
    { code: 'growth', name: 'Growth', source: { kind: 'pointType', pointType: 'growth' } },
    { code: 'spend', name: 'Spend', source: { kind: 'event', eventTypes: ['purchase'], attribute: 'amount' } },
  ],
  evaluation: { schedule: 'monthly', dayOfMonth: 1 },
  downgrade: { policy: 'recompute', graceDays: 0 },
  tiers: [
    { code: 'basic', name: 'Basic' },
    { code: 'silver', name: 'Silver', qualification: { metric: 'growth', window: { kind: 'rollingDays', days: 30 }, min: 100 } },
    {
      code: 'gold',
      name: 'Gold',
      qualification: { all: [{ metric: 'growth', window: { kind: 'rollingDays', days: 30 }, min: 300 }, { metric: 'spend', window: { kind: 'rollingMonths', months: 12 }, min: 100_000 }] },
      retention: { metric: 'growth', window: { kind: 'rollingDays', days: 30 }, min: 250 },
    },
    {
      code: 'platinum',
      name: 'Platinum',
      qualification: { any: [{ metric: 'growth', window: { kind: 'rollingDays', days: 30 }, min: 1000 }, { metric: 'spend', window: { kind: 'rollingMonths', months: 12 }, min: 1_000_000 }] },
    },
  ],
};

/** What the awards write beside the ledger: settled with it before they are measured. */
const SETTLED = ['events', 'member_tiers', 'tier_metric_buckets', 'tier_history', 'earning_counters'];

export const RULE = {
  name: 'points per ¥1, growth per ¥10',
  status: 'active',
  priority: 10,
  stacking: 'cumulative',
  eventTypes: ['purchase'],
  rewards: [
    { type: 'perUnit', pointType: 'points', attribute: 'amount', rate: '1', per: 100, rounding: 'floor' },
    { type: 'perUnit', pointType: 'growth', attribute: 'amount', rate: '1', per: 1000, rounding: 'floor' },
  ],
};

export async function main(args: string[]): Promise<void> {
  const count = Number(args[0] ?? 1_000_000);
  const bench = await createBenchDatabase('tiers');
  const pool = rawPool(bench.url, 4);
  const laurel = await startLaurel(bench, 8);
  try {
    const tiers = laurel.services.tiers as TiersService;
    const earning = laurel.services.earning as EarningService;

    // ---- 1. scheduled evaluation of `count` members
    const big = await createBenchProgram(laurel, 'tiers-evaluate');
    await inTransaction(laurel.database.db, (trx) => tiers.config.save(big.ctx, trx, LADDER));
    const ladder = (await tiers.config.ladder(big.program.id))!;
    await seedMembers(pool, { programId: big.program.id, idPrefix: 'mte', count });
    await step('seed member tiers and ~3 buckets per member', async () => {
      await pool.query(
        `insert into member_tiers (member_id, program_id, ladder_id, joined_on, rank, source, since, qualified_rank, qualified_since, attained_on, carry, lifetime_rank, version, updated_at)
         select m.id, m.program_id, $2, m.joined_at::date, r, 'qualified', m.joined_at, r, m.joined_at, m.joined_at::date, '{}', 0, 1, now()
         from (select id, program_id, joined_at, 1 + (hashtext(id) & 3) as r from members where program_id = $1) m`,
        [big.program.id, ladder.id],
      );
      // growth on two days of the last 40, spend on one day of the last year
      await pool.query(
        `insert into tier_metric_buckets (member_id, metric, local_date, program_id, value)
         select id, 'growth', current_date - (hashtext(id || 'a') & 31), program_id, (hashtext(id || 'v') & 511) from members where program_id = $1
         union all
         select id, 'growth', current_date - 32 - (hashtext(id || 'b') & 7), program_id, (hashtext(id || 'w') & 1023) from members where program_id = $1
         union all
         select id, 'spend', current_date - (hashtext(id || 'c') & 255), program_id, (hashtext(id || 's') & 262143) from members where program_id = $1
         on conflict do nothing`,
        [big.program.id],
      );
      for (const t of ['members', 'member_tiers', 'tier_metric_buckets', 'tier_ladders', 'tiers']) await pool.query(`vacuum (analyze) ${t}`);
      await pool.query('checkpoint');
    });
    const snapshot = { id: big.program.id, mode: big.program.mode, timeZone: big.program.timeZone, currency: big.program.currency, settings: big.program.settings };
    const t0 = performance.now();
    const result = await tiers.evaluate(snapshot, new Date(), { kind: 'all' }, 'evaluation', (done) => {
      if (done % 200_000 === 0) log(`evaluated ${done.toLocaleString()} members`);
    });
    const evaluateSeconds = (performance.now() - t0) / 1000;
    log(`evaluation of ${result.members.toLocaleString()} members: ${evaluateSeconds.toFixed(1)} s (${JSON.stringify(result)})`);
    // A second run right after changes almost nothing: the cost of a quiet month.
    const t1 = performance.now();
    const again = await tiers.evaluate(snapshot, new Date(), { kind: 'all' }, 'evaluation');
    const againSeconds = (performance.now() - t1) / 1000;
    log(`second evaluation: ${againSeconds.toFixed(1)} s (${JSON.stringify(again)})`);

    // ---- 2. real-time overhead on an award
    const plain = await createBenchProgram(laurel, 'awards-without-tiers');
    const tiered = await createBenchProgram(laurel, 'awards-with-tiers');
    for (const p of [plain, tiered]) await inTransaction(laurel.database.db, (trx) => earning.config.create(p.ctx, trx, 'rule', RULE));
    await inTransaction(laurel.database.db, (trx) => tiers.config.save(tiered.ctx, trx, LADDER));
    const MEMBERS = 20_000;
    await seedMembers(pool, { programId: plain.program.id, idPrefix: 'mpa', count: MEMBERS });
    await seedMembers(pool, { programId: tiered.program.id, idPrefix: 'mti', count: MEMBERS });
    // The evaluation above rewrote ~700,000 tier states: vacuumed and checkpointed first, so the
    // awards do not pay for its dead rows and dirty pages (as production's autovacuum would clear
    // them in the hours after a monthly run), and both programs start from the same settled state.
    await settle(pool, SETTLED);

    let seq = 0;
    // The measured awards go to members spread over the 20,000, nearly each one's first award
    // (its tier state is created, and half of them upgrade): the real-time path's dearest case.
    const spread = () => (seq * 7919) % MEMBERS;
    const award = async (p: typeof plain, prefix: string, pick: () => number = spread) => {
      const index = pick();
      const i = seq++;
      const member = `${prefix}${String(index).padStart(9, '0')}`;
      await earning.events.ingest({ ...p.ctx, clock: systemClock }, { eventId: `b${i}`, member, type: 'purchase', attributes: { amount: 10_000 + ((i * 104_729) % 190_000) } });
    };
    // A block of awards to one program: its wall time, and the CPU it used in this process and
    // the database's backends (steadier than wall time).
    const timeBlock = async (p: typeof plain, prefix: string, n: number, pick?: () => number) => {
      const stop = await cpuMeter(pool, bench.name);
      const s = performance.now();
      for (let k = 0; k < n; k++) await award(p, prefix, pick);
      return { wall: performance.now() - s, cpu: await stop() };
    };
    const BLOCK = 250;
    const ROUNDS = 16;
    const n = ROUNDS * BLOCK;
    /** Awards to both programs in interleaved blocks; which goes first alternates, so drift (autovacuum, caches) falls on both. */
    const interleaved = async (label: string, pick?: () => number) => {
      const arms = { without: { wall: 0, cpu: { nodeMs: 0, pgMs: 0 } }, withTiers: { wall: 0, cpu: { nodeMs: 0, pgMs: 0 } } };
      const run = async (arm: 'without' | 'withTiers') => {
        const block = arm === 'without' ? await timeBlock(plain, 'mpa', BLOCK, pick) : await timeBlock(tiered, 'mti', BLOCK, pick);
        arms[arm].wall += block.wall;
        arms[arm].cpu.nodeMs += block.cpu.nodeMs;
        arms[arm].cpu.pgMs += block.cpu.pgMs;
        return block.wall;
      };
      // Each round's two blocks ran back to back: the median of their ratios shrugs off a round
      // the machine slowed down in, where the ratio of the sums takes it in whole.
      const rounds: number[] = [];
      await step(`${label}: ${ROUNDS} interleaved blocks of ${BLOCK} per program`, async () => {
        for (let r = 0; r < ROUNDS; r++) {
          const order = r % 2 === 0 ? (['without', 'withTiers'] as const) : (['withTiers', 'without'] as const);
          const wall = { without: 0, withTiers: 0 };
          for (const arm of order) wall[arm] = await run(arm);
          rounds.push(wall.withTiers / wall.without - 1);
        }
      });
      return { ...arms, ratio: arms.withTiers.wall / arms.without.wall - 1, medianRound: percentile([...rounds].sort((a, b) => a - b), 50), rounds };
    };
    await step('warm up', async () => {
      await timeBlock(plain, 'mpa', 500);
      await timeBlock(tiered, 'mti', 500);
    });
    // Analyzed again now that the award tables hold rows: a statement PostgreSQL planned while
    // `events` was empty keeps a sequential scan of it (the table's statistics said it was empty)
    // until the next analyze, so each award read every event sent so far.
    await settle(pool, SETTLED);
    const first = await interleaved('awards');
    const { rows } = await pool.query<{ n: string }>(`select count(*) as n from tier_history where program_id = $1`, [tiered.program.id]);
    const upgrades = Number(rows[0]!.n);

    // The common case beside it: awards to 1,000 members who already have a tier state (and, on
    // the plain program, an account), as most of a running programme's awards are.
    const REGULARS = 1_000;
    let cursor = 0;
    const regular = () => MEMBERS - REGULARS + (cursor++ % REGULARS);
    await step(`first awards of ${REGULARS} regulars per program (not measured)`, async () => {
      await timeBlock(plain, 'mpa', REGULARS, regular);
      await timeBlock(tiered, 'mti', REGULARS, regular);
    });
    const regulars = await interleaved('awards to regulars', regular);
    const us = (ms: number) => round((ms * 1000) / n, 0);
    const pct = (x: number) => `${round(x * 100, 1)} %`;
    const roundsText = (x: { medianRound: number; rounds: number[] }) => `${pct(x.medianRound)} (${pct(Math.min(...x.rounds))} … ${pct(Math.max(...x.rounds))})`;
    const cpuText = (c: CpuUse) => `${us(c.nodeMs + c.pgMs)} (${us(c.nodeMs)} + ${us(c.pgMs)})`;
    console.log(
      '\n' +
        table(
          ['measure', 'value'],
          [
            ['members evaluated', result.members],
            ['evaluation (s)', round(evaluateSeconds, 1)],
            ['tier changes', result.changed],
            ['second evaluation (s)', round(againSeconds, 1)],
            ['award without tiers (ms)', round(first.without.wall / n, 3)],
            ['award with tiers (ms)', round(first.withTiers.wall / n, 3)],
            ['real-time upgrades during awards', upgrades],
            ['CPU per award without tiers (µs, node + pg)', cpuText(first.without.cpu)],
            ['CPU per award with tiers (µs, node + pg)', cpuText(first.withTiers.cpu)],
            ['overhead', pct(first.ratio)],
            ['overhead, median of the rounds (min … max)', roundsText(first)],
            ['regulars: award without tiers (ms)', round(regulars.without.wall / n, 3)],
            ['regulars: award with tiers (ms)', round(regulars.withTiers.wall / n, 3)],
            ['regulars: CPU per award without tiers (µs)', cpuText(regulars.without.cpu)],
            ['regulars: CPU per award with tiers (µs)', cpuText(regulars.withTiers.cpu)],
            ['regulars: overhead', pct(regulars.ratio)],
            ['regulars: overhead, median of the rounds (min … max)', roundsText(regulars)],
          ],
        ) +
        '\n',
    );
    benchLine('tiers', { evaluate_1m_members_s: round(evaluateSeconds * (1_000_000 / Math.max(1, result.members)), 2), upgrade_overhead_ratio: round(first.ratio, 3), upgrade_overhead_ratio_regulars: round(regulars.ratio, 3), upgrade_overhead_median_round: round(first.medianRound, 3), upgrade_overhead_median_round_regulars: round(regulars.medianRound, 3) });
  } finally {
    await laurel.close().catch(() => {});
    await pool.end().catch(() => {});
    await bench.drop();
  }
}
