import type pg from 'pg';
import type { Laurel } from '../../src/app.js';
import { Aggregate } from '../lib/aggregate.js';
import { cpuMeter, type CpuUse } from '../lib/cpu.js';
import { envNumber } from '../lib/env.js';
import { runHttpLoad } from '../lib/http-load.js';
import { runLoad, type LoadResult, type Operation } from '../lib/load.js';
import { log } from '../lib/report.js';
import { startBareEarnServer } from './bare-http.js';
import type { RawLedger } from './raw.js';
import { SPEND_MEMBERS, type BenchProgram } from './setup.js';

/**
 * The load phases of the ledger benchmark: each variant (raw baseline, Laurel's service, HTTP,
 * and optionally a prototype) runs once per round, and rounds interleave them so that whatever
 * else the machine does falls on all of them alike.
 */
export const SECONDS = envNumber('BENCH_SECONDS', 4);
export const ROUNDS = envNumber('BENCH_ROUNDS', 3);
const WARMUP_MS = 1_000;
const EARN_WORKERS = 16;
const SPEND_WORKERS = 32;
export const POOL = 32;
const AMOUNT = 10;

const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!;

export interface Variant {
  agg: Aggregate;
  run(round: number, beforeMeasure: () => Promise<void>, seconds?: number): Promise<LoadResult>;
}

function inProcess(label: string, workers: number, op: (round: number) => Operation): Variant {
  return {
    agg: new Aggregate(label, workers),
    run: (r, before, seconds = SECONDS) => runLoad({ label, workers, durationMs: seconds * 1000, warmupMs: WARMUP_MS }, op(r), before),
  };
}

function overHttp(label: string, port: () => number, paths: string[], headers: Record<string, string>): Variant {
  return {
    agg: new Aggregate(label, EARN_WORKERS),
    run: (r, before, seconds = SECONDS) =>
      runHttpLoad(
        {
          label,
          port: port(),
          method: 'POST',
          paths,
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ pointType: 'points', amount: AMOUNT }),
          idempotencyPrefix: `${label.replace(/\W+/g, '-')}-r${r}`,
          expectStatus: 201,
          workers: EARN_WORKERS,
          durationMs: seconds * 1000,
          warmupMs: WARMUP_MS,
        },
        before,
      ),
  };
}

async function measure(v: Variant, r: number, pool: pg.Pool, database: string): Promise<void> {
  let stop: (() => Promise<CpuUse>) | null = null;
  const result = await v.run(r, async () => {
    stop = await cpuMeter(pool, database);
  });
  const cpu = await stop!();
  v.agg.add(result, cpu);
  const cpuPerOp = ((cpu.nodeMs + cpu.pgMs) * 1000) / Math.max(result.ops, 1);
  log(
    `  ${v.agg.label.padEnd(22)} ${result.throughput.toFixed(0).padStart(6)} ops/s  p50 ${result.latency.p50.toFixed(1)}  p99 ${result.latency.p99.toFixed(1)} ms  cpu ${cpuPerOp.toFixed(0)} µs/op${result.errors ? `  errors ${result.errors}` : ''}`,
  );
}

async function listen(laurel: Laurel): Promise<number> {
  await laurel.http.listen({ port: 0, host: '127.0.0.1' });
  const address = laurel.http.server.address();
  if (address === null || typeof address === 'string') throw new Error('Laurel has no TCP address');
  return address.port;
}

/** Laurel's earn and spend, over the service and over HTTP, on one Laurel instance. */
async function laurelVariants(laurel: Laurel, main: BenchProgram, suffix: string) {
  const { ctx, memberIds } = main;
  const ledger = laurel.services.ledger;
  const spenders = memberIds.slice(0, SPEND_MEMBERS);
  const port = await listen(laurel);
  const base = `/v1/programs/${main.program.id}/members`;
  const tag = suffix.replace(/\W+/g, '');
  return {
    svcEarn: inProcess(`Laurel service earn${suffix}`, EARN_WORKERS, (r) => (w, s) =>
      ledger.earn(ctx, { member: pick(memberIds), pointType: 'points', amount: AMOUNT, idempotencyKey: `svc-earn${tag}-${r}-${w}-${s}` }).then(() => {}),
    ),
    httpEarn: overHttp(`Laurel HTTP earn${suffix}`, () => port, memberIds.map((m) => `${base}/${m}/earn`), { authorization: `Bearer ${main.key}` }),
    svcSpend: inProcess(`Laurel service spend${suffix}`, SPEND_WORKERS, (r) => (w, s) =>
      ledger.spend(ctx, { member: pick(spenders), pointType: 'points', amount: AMOUNT, idempotencyKey: `svc-spend${tag}-${r}-${w}-${s}` }).then(() => {}),
    ),
  };
}

const rotate = <T>(items: T[], by: number): T[] => items.map((_, i) => items[(i + by) % items.length]!);

export async function loadPhases(laurel: Laurel, prototype: Laurel | null, raw: RawLedger, main: BenchProgram, pool: pg.Pool, database: string) {
  const { memberIds } = main;
  const spenders = memberIds.slice(0, SPEND_MEMBERS);
  const bare = await startBareEarnServer(raw);
  const current = await laurelVariants(laurel, main, '');
  const proto = prototype ? await laurelVariants(prototype, main, ' (prepared)') : null;

  const v = {
    rawEarn: inProcess('raw earn', EARN_WORKERS, (r) => (w, s) => raw.earn(pick(memberIds), AMOUNT, `raw-earn-${r}-${w}-${s}`).then(() => {})),
    svcEarn: current.svcEarn,
    ...(proto ? { svcEarnPrepared: proto.svcEarn } : {}),
    bareEarn: overHttp('bare HTTP + raw earn', () => bare.port, memberIds.map((m) => `/earn/${m}`), {}),
    httpEarn: current.httpEarn,
    ...(proto ? { httpEarnPrepared: proto.httpEarn } : {}),
    rawSpend: inProcess('raw spend', SPEND_WORKERS, (r) => (w, s) => raw.spend(pick(spenders), AMOUNT, `raw-spend-${r}-${w}-${s}`).then(() => {})),
    svcSpend: current.svcSpend,
    ...(proto ? { svcSpendPrepared: proto.svcSpend } : {}),
  };
  // Baseline and Laurel take turns going first, so neither always meets the other's leftovers.
  const groups = [
    [v.rawEarn, v.svcEarn, v.svcEarnPrepared],
    [v.bareEarn, v.httpEarn, v.httpEarnPrepared],
    [v.rawSpend, v.svcSpend, v.svcSpendPrepared],
  ].map((g) => g.filter((x): x is Variant => x !== undefined));
  try {
    // One unmeasured pass first: JIT, plan caches, pools and the client worker's compile settle.
    log('warm-up pass (unmeasured)');
    for (const group of groups) for (const x of group) await x.run(-1, async () => {}, 1);
    for (let r = 0; r < ROUNDS; r++) {
      log(`round ${r + 1}/${ROUNDS} (${SECONDS} s per phase after ${WARMUP_MS / 1000} s warm-up)`);
      for (const group of groups) for (const x of rotate(group, r)) await measure(x, r, pool, database);
    }
  } finally {
    await bare.app.close();
  }
  return v;
}
