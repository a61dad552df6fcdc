import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { runLoad, type LoadOptions, type LoadResult, type Operation } from './load.js';
import { round } from './report.js';

/**
 * CPU time spent by this process (server, load generator and its worker threads) and by the
 * PostgreSQL client backends serving one database. On a shared machine, wall-clock throughput moves with
 * whatever else runs; CPU per operation does not, and on 2 saturated cores it is what bounds
 * throughput. Backends are read from /proc (Linux); elsewhere they count as zero.
 */
export interface CpuUse {
  nodeMs: number;
  pgMs: number;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time a process (or, with `thread`, one of its threads) has used so far (user + system), from /proc; 0 where there is none. */
export function processCpuMs(pid: number, thread?: number): number {
  try {
    const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

async function backends(pool: pg.Pool, database: string): Promise<Map<number, number>> {
  // Client backends only: autovacuum and the measuring connection itself are not the workload.
  const { rows } = await pool.query<{ pid: number }>(
    `select pid from pg_stat_activity where datname = $1 and backend_type = 'client backend' and pid <> pg_backend_pid()`,
    [database],
  );
  return new Map(rows.map((r) => [r.pid, processCpuMs(r.pid)]));
}

/** Start measuring; the returned function gives the CPU used since. */
export async function cpuMeter(pool: pg.Pool, database: string): Promise<() => Promise<CpuUse>> {
  const before = await backends(pool, database);
  const node0 = process.cpuUsage();
  return async () => {
    const node = process.cpuUsage(node0);
    const after = await backends(pool, database);
    let pgMs = 0;
    // A backend that appeared meanwhile counts from zero; one that vanished was idle and is lost.
    for (const [pid, ms] of after) pgMs += ms - (before.get(pid) ?? 0);
    return { nodeMs: (node.user + node.system) / 1000, pgMs };
  };
}

export type Measured = LoadResult & { cpu: CpuUse };

/** CPU per operation in µs (this process and the database's backends, or one of them): steadier than ops/s when the machine is shared. */
export const cpuPerOp = (x: Measured, part?: keyof CpuUse, perOp = 1): number =>
  round(((part ? x.cpu[part] : x.cpu.nodeMs + x.cpu.pgMs) * 1000) / Math.max(x.ops * perOp, 1), 0);

/** A load run (runLoad, runHttpLoad…), with the CPU its measured part used. */
export async function measured(pool: pg.Pool, database: string, run: (beforeMeasure: () => Promise<void>) => Promise<LoadResult>): Promise<Measured> {
  let stop: (() => Promise<CpuUse>) | null = null;
  const result = await run(async () => {
    stop = await cpuMeter(pool, database);
  });
  return { ...result, cpu: await stop!() };
}

export function measuredLoad(pool: pg.Pool, database: string, options: LoadOptions, op: Operation): Promise<Measured> {
  return measured(pool, database, (beforeMeasure) => runLoad(options, op, beforeMeasure));
}
