import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createBenchDatabase, rawPool } from './lib/database.js';
import { cpuMeter, processCpuMs } from './lib/cpu.js';
import { runHttpLoad } from './lib/http-load.js';
import { log, round, table } from './lib/report.js';
import { seededMemberId, seedMembers } from './lib/seed.js';
import { createBenchProgram, startLaurel } from './ledger/setup.js';
import { createRules, purchase } from './earning.js';

/**
 * A diagnostic, not a benchmark (no BENCH line): where the server's own thread spends its CPU
 * while single events arrive over HTTP from 16 clients with the earning benchmark's twenty rules.
 * Samples the main thread with the V8 profiler (the load generator runs in a worker thread and
 * is not sampled), then prints self time by function and by source (Laurel's files, each
 * dependency, Node's internals). PROFILE_SECONDS (10); PROFILE_OUT writes the .cpuprofile;
 * PROFILE_OFF=1 measures without the sampler (CPU, latency, event-loop delay and GC only).
 */
const SECONDS = Number(process.env.PROFILE_SECONDS ?? 10);
const MEMBERS = 20_000;
/** PROFILE_BATCH=1: events:batch of 1,000 from 2 clients instead (figures per event, not per request) */
const BATCH = process.env.PROFILE_BATCH ? 1000 : 0;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

function sourceOf(url: string): string {
  if (!url) return '(native / gc / idle)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = url.indexOf('/src/');
  return src >= 0 ? url.slice(src + 1) : url;
}

function summarise(profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }, requests: number, unit: string): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFunction = new Map<string, number>();
  const bySource = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    if (n.callFrame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    const fn = `${n.callFrame.functionName || '(anonymous)'} ${sourceOf(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    const source = sourceOf(n.callFrame.url) || n.callFrame.functionName;
    bySource.set(source, (bySource.get(source) ?? 0) + us);
  }
  const top = (m: Map<string, number>, k: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, us]) => [name, round(us / requests, 1), `${round((100 * us) / total, 1)}%`]);
  log(`\nmain thread: ${round(total / 1000, 0)} ms busy, ${round(idle / 1000, 0)} ms idle, ${requests} ${unit}s: ${round(total / requests, 0)} µs per ${unit}`);
  log(`\n${table(['source', `µs/${unit}`, 'share'], top(bySource, 25))}`);
  log(`\n${table(['function (self time)', `µs/${unit}`, 'share'], top(byFunction, 40))}`);
}

function threadTimes(): Map<number, [string, number]> {
  const out = new Map<number, [string, number]>();
  for (const tid of readdirSync(`/proc/${process.pid}/task`).map(Number)) {
    const comm = readFileSync(`/proc/${process.pid}/task/${tid}/comm`, 'utf8').trim();
    out.set(tid, [comm, processCpuMs(process.pid, tid)]);
  }
  return out;
}

export async function main(): Promise<void> {
  const bench = await createBenchDatabase('profile_earning');
  const pool = rawPool(bench.url, 4);
  const laurel = await startLaurel(bench, 24);
  try {
    const program = await createBenchProgram(laurel, 'Earning profile');
    await seedMembers(pool, { programId: program.program.id, idPrefix: 'mem_prof_', count: MEMBERS });
    await createRules(laurel, program.ctx);
    const address = await laurel.http.listen({ port: 0, host: '127.0.0.1' });
    const memberAt = (n: number) => seededMemberId('mem_prof_', (n * 7907) % MEMBERS);
    const bodies = BATCH
      ? Array.from({ length: 32 }, (_, b) => JSON.stringify({ events: Array.from({ length: 1000 }, (_, i) => ({ eventId: `b-{{unique}}-${i}`, member: memberAt(b * 1000 + i), ...purchase(b * 1000 + i) })) }))
      : Array.from({ length: 20_000 }, (_, n) => JSON.stringify({ eventId: 'p-{{unique}}', member: memberAt(n), ...purchase(n) }));
    let stopCpu: Awaited<ReturnType<typeof cpuMeter>> | null = null;
    let main0 = 0;
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    const gcs: Array<{ kind: number; ms: number }> = [];
    const gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcs.push({ kind: (e as unknown as { detail: { kind: number } }).detail.kind, ms: e.duration });
    });
    let threads0 = new Map<number, [string, number]>();
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    const result = await runHttpLoad(
      {
        label: 'POST /events', port: Number(new URL(address).port), method: 'POST', paths: [`/v1/programs/${program.program.id}/events${BATCH ? ':batch' : ''}`],
        headers: { authorization: `Bearer ${program.key}`, 'content-type': 'application/json' },
        body: null, bodies, idempotencyPrefix: null, expectStatus: BATCH ? 200 : 201, workers: BATCH ? 2 : 16, durationMs: SECONDS * 1000, warmupMs: 2000,
      },
      async () => {
        stopCpu = await cpuMeter(pool, bench.name);
        main0 = processCpuMs(process.pid, process.pid);
        threads0 = threadTimes();
        loopDelay.enable();
        gcObserver.observe({ entryTypes: ['gc'] });
        if (!process.env.PROFILE_OFF) await session.post('Profiler.start');
      },
    );
    const units = result.ops * (BATCH || 1);
    const unit = BATCH ? 'event' : 'request';
    const mainMs = processCpuMs(process.pid, process.pid) - main0;
    const threads1 = threadTimes();
    for (const [tid, [name, ms]] of threads1) {
      const d = ms - (threads0.get(tid)?.[1] ?? 0);
      if (d > 50) log(`thread ${tid} ${name}: ${round((d * 1000) / units, 0)} µs per ${unit}`);
    }
    const cpu = await stopCpu!();
    loopDelay.disable();
    gcObserver.disconnect();
    log(`latency ms: p50 ${round(result.latency.p50, 1)} p95 ${round(result.latency.p95, 1)} max ${round(result.latency.max, 1)} p99 ${round(result.latency.p99, 1)}`);
    log(`server event loop delay ms: p50 ${round(loopDelay.percentile(50) / 1e6, 1)} p99 ${round(loopDelay.percentile(99) / 1e6, 1)} max ${round(loopDelay.max / 1e6, 1)}`);
    const byKind = new Map<number, number[]>();
    for (const g of gcs) byKind.set(g.kind, [...(byKind.get(g.kind) ?? []), g.ms]);
    for (const [kind, list] of byKind) log(`gc kind ${kind}: ${list.length} pauses, total ${round(list.reduce((a, b) => a + b, 0), 0)} ms, max ${round(Math.max(...list), 1)} ms`);
    log(`${result.ops} requests in ${SECONDS} s, ${result.errors} errors`);
    // The profiler samples wall time: a thread descheduled inside a system call (a socket write that
    // wakes PostgreSQL) is charged to that call. The CPU the kernel counted is the true cost.
    const per = (ms: number) => round((ms * 1000) / units, 0);
    log(`CPU µs per ${unit}: server thread ${per(mainMs)}, load generator and other threads ${per(cpu.nodeMs - mainMs)}, PostgreSQL ${per(cpu.pgMs)}`);
    if (process.env.PROFILE_OFF) {
      session.disconnect();
      return;
    }
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    if (process.env.PROFILE_OUT) writeFileSync(process.env.PROFILE_OUT, JSON.stringify(profile));
    summarise(profile as unknown as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }, units, unit);
  } finally {
    await laurel.close().catch((err) => log(`closing Laurel: ${String(err)}`));
    await pool.end();
    await bench.drop();
  }
}
