import autocannon, { type RequestStep } from 'autocannon';
import { randomBytes } from 'node:crypto';
import type { Laurel } from '../src/app.js';
import { inTransaction } from '../src/db/database.js';
import { verifyLedger } from '../src/modules/ledger/verify.js';
import type { MallService } from '../src/modules/mall/index.js';
import type { TiersService } from '../src/modules/tiers/index.js';
import { createRules, purchase } from './earning.js';
import { SPEND_MEMBERS, seedMainProgram, startLaurel, type BenchProgram } from './ledger/setup.js';
import { RawLedger } from './ledger/raw.js';
import { cpuMeter, processCpuMs } from './lib/cpu.js';
import { createBenchDatabase, rawPool, type BenchDatabase } from './lib/database.js';
import { envNumber } from './lib/env.js';
import { runLoad } from './lib/load.js';
import { benchLine, log, round, step, table } from './lib/report.js';
import { settle } from './lib/seed.js';
import { startServer, type ServerProcess } from './lib/server-process.js';
import { Latencies, summarize, type LatencySummary } from './lib/stats.js';
import { LADDER } from './tiers.js';

/**
 * `npm run bench -- load`: the HTTP API under a mixed workload on PostgreSQL, served by one and
 * by two real `laurel serve` processes (child processes on two ports, the load spread evenly
 * over them as a load balancer would), beside the raw earn (hand-written SQL) at the same
 * concurrency from the same run. 70% event ingestion, 20% balance and history reads, 10% spends
 * and mall orders, over 100,000 members with two earns of history each, 20 active rules and a
 * tier ladder. The ledger is verified after every measured run.
 * Knobs: BENCH_SECONDS (15 per measured run), BENCH_ROUNDS (2, interleaved), BENCH_CONNECTIONS
 * (24), BENCH_MEMBERS (100000).
 */
const SECONDS = envNumber('BENCH_SECONDS', 15);
const ROUNDS = envNumber('BENCH_ROUNDS', 2);
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 24);
const MEMBERS = envNumber('BENCH_MEMBERS', 100_000);
const WARMUP_SECONDS = 3;
const SHIPPING = { name: 'Bench', phone: '+86 100 0000 0000', address: '1 Bench Road' };

interface Measured {
  label: string;
  /** CPU used while measuring, ms: the Laurel server processes, PostgreSQL's backends, the load generator (this process) */
  cpu: { serversMs: number; pgMs: number; generatorMs: number };
  ops: number;
  errors: number;
  seconds: number;
  latencies: Latencies;
  statuses: Map<number, number>;
  firstError: string | null;
}

const emptyRun = (label: string): Measured => ({ label, cpu: { serversMs: 0, pgMs: 0, generatorMs: 0 }, ops: 0, errors: 0, seconds: 0, latencies: new Latencies(), statuses: new Map(), firstError: null });
const rps = (m: Measured) => m.ops / m.seconds;
const latency = (m: Measured): LatencySummary => summarize(m.latencies.values());

interface Workload {
  programId: string;
  key: string;
  memberIds: string[];
  skuId: string;
}

/**
 * One cycle of 20 requests per connection, in a shuffled but fixed order: 14 events, 2 balance
 * reads, 2 history reads, 1 spend and 1 mall order. Ids and idempotency keys never repeat.
 */
function cycle(w: Workload, run: Measured): RequestStep[] {
  const tag = randomBytes(4).toString('hex');
  let seq = 0;
  const any = () => w.memberIds[Math.floor(Math.random() * w.memberIds.length)]!;
  const rich = () => w.memberIds[Math.floor(Math.random() * SPEND_MEMBERS)]!;
  const base = `/v1/programs/${w.programId}`;
  // Fresh header objects per request: autocannon writes Content-Length into the object it is given.
  const read = () => ({ authorization: `Bearer ${w.key}` });
  const json = () => ({ authorization: `Bearer ${w.key}`, 'content-type': 'application/json' });
  const onResponse = (status: number, body: string) => {
    if ((status < 200 || status >= 300) && run.firstError === null) run.firstError = `HTTP ${status}: ${body.slice(0, 300)}`;
  };
  const event: RequestStep = {
    method: 'POST',
    onResponse,
    setupRequest: (req) => {
      const n = seq++;
      return { ...req, path: `${base}/events`, headers: json(), body: JSON.stringify({ eventId: `ld-${tag}-${n}`, member: any(), ...purchase(n) }) };
    },
  };
  const balance: RequestStep = { method: 'GET', onResponse, setupRequest: (req) => ({ ...req, path: `${base}/members/${any()}/balances`, headers: read() }) };
  const history: RequestStep = { method: 'GET', onResponse, setupRequest: (req) => ({ ...req, path: `${base}/members/${any()}/ledger?limit=20`, headers: read() }) };
  const spend: RequestStep = {
    method: 'POST',
    onResponse,
    setupRequest: (req) => ({
      ...req,
      path: `${base}/members/${rich()}/spend`,
      headers: { ...json(), 'idempotency-key': `ld-spend-${tag}-${seq++}` },
      body: JSON.stringify({ pointType: 'points', amount: 10 }),
    }),
  };
  const order: RequestStep = {
    method: 'POST',
    onResponse,
    setupRequest: (req) => ({
      ...req,
      path: `${base}/mall/orders`,
      headers: { ...json(), 'idempotency-key': `ld-order-${tag}-${seq++}` },
      body: JSON.stringify({ memberId: rich(), lines: [{ skuId: w.skuId, quantity: 1 }], shipping: SHIPPING }),
    }),
  };
  return [event, event, balance, event, event, history, event, spend, event, event, balance, event, event, history, event, order, event, event, event, event];
}

/**
 * Drive the servers with autocannon; every response time goes into `into` (unless warming up),
 * and the CPU the servers, PostgreSQL and the generator used meanwhile.
 */
async function fire(urls: string[], w: Workload, seconds: number, into: Measured | null, meter?: CpuSources): Promise<void> {
  const run = into ?? emptyRun('warm-up');
  const stop = meter ? await startMeter(meter) : null;
  const instance = autocannon({ url: urls, connections: CONNECTIONS, duration: seconds, timeout: 30, requests: cycle(w, run) });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    run.statuses.set(status, (run.statuses.get(status) ?? 0) + 1);
    if (status >= 200 && status < 300) {
      run.ops++;
      run.latencies.add(ms);
    } else run.errors++;
  });
  instance.on('reqError', (err: Error) => {
    run.errors++;
    run.firstError ??= `request error: ${err.message}`;
  });
  const result = await instance;
  run.seconds += result.duration;
  if (stop) {
    const used = await stop();
    run.cpu.serversMs += used.serversMs;
    run.cpu.pgMs += used.pgMs;
    run.cpu.generatorMs += used.generatorMs;
  }
}

interface CpuSources {
  pool: ReturnType<typeof rawPool>;
  database: string;
  servers: ServerProcess[];
}

async function startMeter(m: CpuSources): Promise<() => Promise<Measured['cpu']>> {
  const servers0 = m.servers.reduce((sum, s) => sum + processCpuMs(s.pid), 0);
  const others = await cpuMeter(m.pool, m.database);
  return async () => {
    const { nodeMs, pgMs } = await others();
    return { serversMs: m.servers.reduce((sum, s) => sum + processCpuMs(s.pid), 0) - servers0, pgMs, generatorMs: nodeMs };
  };
}

async function seed(laurel: Laurel, pool: ReturnType<typeof rawPool>): Promise<{ main: BenchProgram; skuId: string }> {
  const main = await seedMainProgram(laurel, pool, MEMBERS);
  const tiers = laurel.services.tiers as TiersService;
  const mall = laurel.services.mall as MallService;
  const db = laurel.database.db;
  await step('20 active rules, a tier ladder, a mall item', async () => {
    await createRules(laurel, main.ctx);
    await inTransaction(db, (trx) => tiers.config.save(main.ctx, trx, LADDER));
  });
  const item = await inTransaction(db, (trx) =>
    mall.createItem(trx, main.ctx, { kind: 'product', name: 'Mug', onShelf: true, skus: [{ code: 'std', name: 'Standard', pointsPrice: 10, stock: 10_000_000 }] }),
  );
  await settle(pool);
  return { main, skuId: item.skus[0]!.id };
}

async function verified(laurel: Laurel, programId: string, after: string): Promise<boolean> {
  const report = await step(`verifyLedger after ${after}`, () => verifyLedger(laurel.database.db, programId));
  if (!report.ok) for (const v of report.violations.slice(0, 5)) log(`  violation: ${JSON.stringify(v)}`);
  return report.ok;
}

export async function main(): Promise<void> {
  const bench: BenchDatabase = await createBenchDatabase('load');
  const pool = rawPool(bench.url, 4);
  let laurel: Laurel | null = null;
  const servers: ServerProcess[] = [];
  try {
    laurel = await startLaurel(bench, 4);
    const { main: program, skuId } = await seed(laurel, pool);
    const w: Workload = { programId: program.program.id, key: program.key, memberIds: program.memberIds, skuId };
    const adminKey = `lrl_admin_bench_${randomBytes(12).toString('hex')}`;
    // Capacity, not policy, is measured: the per-key rate limit is off (one key drives it all).
    // BENCH_SERVER_POOL sets each process's DATABASE_POOL_SIZE (unset: Laurel's default).
    const env: Record<string, string> = { LAUREL_RATE_LIMIT_PER_SECOND: '0', ...(process.env.BENCH_SERVER_POOL ? { DATABASE_POOL_SIZE: process.env.BENCH_SERVER_POOL } : {}) };
    for (let i = 0; i < 2; i++) {
      servers.push(await step(`start laurel serve #${i + 1}`, () => startServer({ databaseUrl: bench.url, adminKey, env })));
    }
    const one = [servers[0]!.url];
    const two = servers.map((s) => s.url);
    await step('warm up both processes', () => fire(two, w, WARMUP_SECONDS, null));

    // One more than the clients: the raw earn asks the pool once for a column check inside its first transactions.
    const rawClients = rawPool(bench.url, CONNECTIONS + 1);
    const raw = new RawLedger(rawClients, w.programId, program.pointTypeIds.points!);
    const rawRun = emptyRun('raw earn (SQL)');
    const oneRun = emptyRun('HTTP mix, 1 process');
    const twoRun = emptyRun('HTTP mix, 2 processes');
    const checks: boolean[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      await step(`round ${r}: raw earn, ${CONNECTIONS} clients, ${SECONDS} s`, async () => {
        const res = await runLoad({ label: rawRun.label, workers: CONNECTIONS, durationMs: SECONDS * 1000, warmupMs: 1000 }, (k, s) =>
          raw.earn(w.memberIds[(k * 104_729 + s * 31) % w.memberIds.length]!, 10, `raw-${r}-${k}-${s}`).then(() => {}),
        );
        rawRun.ops += res.ops;
        rawRun.errors += res.errors;
        rawRun.seconds += res.seconds;
        rawRun.latencies.addAll(res.samples);
        rawRun.firstError ??= res.firstError;
      });
      const meter: CpuSources = { pool, database: bench.name, servers };
      await step(`round ${r}: 1 process, ${CONNECTIONS} connections, ${SECONDS} s`, () => fire(one, w, SECONDS, oneRun, meter));
      checks.push(await verified(laurel, w.programId, `round ${r}, 1 process`));
      await step(`round ${r}: 2 processes, ${CONNECTIONS} connections, ${SECONDS} s`, () => fire(two, w, SECONDS, twoRun, meter));
      checks.push(await verified(laurel, w.programId, `round ${r}, 2 processes`));
    }

    const rawLat = latency(rawRun);
    const rows = [rawRun, oneRun, twoRun].map((m) => {
      const l = latency(m);
      const total = m.ops + m.errors;
      return [m.label, CONNECTIONS, m.ops, m.errors, round(total ? (100 * m.errors) / total : 0, 3), rps(m), l.p50, l.p95, l.p99, m === rawRun ? '' : round(l.p99 / rawLat.p99, 2)];
    });
    console.log();
    console.log(table(['run', 'clients', 'ok', 'errors', 'error %', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'p99 vs raw earn'], rows));
    console.log(`(${ROUNDS} rounds × ${SECONDS} s, interleaved; mix per connection: 14 events, 2 balances, 2 histories, 1 spend, 1 mall order in 20)`);
    for (const m of [oneRun, twoRun]) console.log(`  ${m.label}: statuses ${JSON.stringify(Object.fromEntries(m.statuses))}${m.firstError ? `; first error: ${m.firstError}` : ''}`);
    if (rawRun.firstError) console.log(`  raw earn: first error: ${rawRun.firstError}`);
    // Where the two cores went: when one process already leaves none idle, a second cannot add any.
    const cores = (m: Measured, ms: number) => round(ms / (m.seconds * 1000), 2);
    const perRequest = (m: Measured, ms: number) => round((ms * 1000) / Math.max(m.ops, 1), 0);
    console.log(
      table(
        ['run', 'cores: servers', 'PostgreSQL', 'load generator', 'total', 'CPU µs/request: servers', 'PostgreSQL'],
        [oneRun, twoRun].map((m) => [
          m.label, cores(m, m.cpu.serversMs), cores(m, m.cpu.pgMs), cores(m, m.cpu.generatorMs),
          cores(m, m.cpu.serversMs + m.cpu.pgMs + m.cpu.generatorMs), perRequest(m, m.cpu.serversMs), perRequest(m, m.cpu.pgMs),
        ]),
      ),
    );
    const scale = rps(twoRun) / rps(oneRun);
    console.log(`two processes ÷ one: ${round(scale, 2)}×; ledger verified after every run: ${checks.every(Boolean)}`);
    console.log();
    await rawClients.end();
    benchLine('load', {
      rps_1proc: round(rps(oneRun), 0),
      rps_2proc: round(rps(twoRun), 0),
      scale_ratio: round(scale, 3),
      p50_ms_1proc: round(latency(oneRun).p50, 2),
      p95_ms_1proc: round(latency(oneRun).p95, 2),
      p99_ms_1proc: round(latency(oneRun).p99, 2),
      p50_ms_2proc: round(latency(twoRun).p50, 2),
      p95_ms_2proc: round(latency(twoRun).p95, 2),
      p99_ms_2proc: round(latency(twoRun).p99, 2),
      raw_earn_p99_ms: round(rawLat.p99, 2),
      raw_earn_ops_s: round(rps(rawRun), 0),
      p99_ratio_1proc: round(latency(oneRun).p99 / rawLat.p99, 3),
      connections: CONNECTIONS,
      errors: oneRun.errors + twoRun.errors + rawRun.errors,
      verify_ok: checks.every(Boolean),
      cores_used_1proc: round((oneRun.cpu.serversMs + oneRun.cpu.pgMs + oneRun.cpu.generatorMs) / (oneRun.seconds * 1000), 2),
      server_cpu_us_per_request: round((oneRun.cpu.serversMs * 1000) / Math.max(oneRun.ops, 1), 0),
      pg_cpu_us_per_request: round((oneRun.cpu.pgMs * 1000) / Math.max(oneRun.ops, 1), 0),
    });
  } finally {
    for (const s of servers) await s.stop().catch(() => {});
    await laurel?.close().catch((err) => log(`closing Laurel: ${String(err)}`));
    await pool.end().catch(() => {});
    await bench.drop();
  }
}
