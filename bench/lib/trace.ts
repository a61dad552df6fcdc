import { appendFileSync } from 'node:fs';
import pg from 'pg';

/**
 * What an operation sends through node-postgres, statement by statement: the mean round trip
 * of each distinct statement text, and its planning and execution time from EXPLAIN ANALYZE of
 * its last call (run again inside a transaction that is rolled back). For diagnostics, not
 * benchmarks: it patches pg.Client#query while it listens. TRACE_DUMP=<file> appends each
 * distinct statement with its last call's values as a JSON line, to replay it outside the run.
 */
interface Sample {
  text: string;
  ms: number;
  values: unknown[] | undefined;
}

let sink: Sample[] | null = null;
let patched = false;

function patch(): void {
  if (patched) return;
  patched = true;
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  (pg.Client.prototype as { query: unknown }).query = function (this: unknown, q: unknown, ...rest: unknown[]) {
    const result = query.call(this, q, ...rest);
    const samples = sink;
    if (samples && result instanceof Promise) {
      const text = typeof q === 'string' ? q : String((q as { text?: string }).text);
      const values = (typeof q === 'string' ? rest[0] : (q as { values?: unknown[] }).values) as unknown[] | undefined;
      const t0 = performance.now();
      void result.then(() => samples.push({ text, ms: performance.now() - t0, values }), () => {});
    }
    return result;
  };
}

async function explain(pool: pg.Pool, text: string, values: unknown[] | undefined): Promise<string> {
  if (/^(begin|commit|rollback)/i.test(text.trim())) return '';
  const c = await pool.connect();
  try {
    await c.query('begin');
    await c.query(`explain (analyze, format json) ${text}`, values); // warms this connection's catalogue caches
    await c.query('rollback');
    await c.query('begin');
    const { rows } = await c.query<{ 'QUERY PLAN': Array<{ 'Planning Time': number; 'Execution Time': number }> }>(`explain (analyze, format json) ${text}`, values);
    const p = rows[0]!['QUERY PLAN'][0]!;
    return `${(p['Planning Time'] * 1000).toFixed(0)} / ${(p['Execution Time'] * 1000).toFixed(0)} µs`;
  } catch (err) {
    return `(${(err as Error).message.slice(0, 20)})`;
  } finally {
    await c.query('rollback').catch(() => {});
    c.release();
  }
}

/** Run `op` `warm` times unobserved, then `ops` times one at a time, and print what each call sent. */
export async function traceOperation(pool: pg.Pool, label: string, ops: number, op: (i: number) => Promise<unknown>, warm = 20): Promise<void> {
  patch();
  for (let i = 0; i < warm; i++) await op(ops + i);
  const samples: Sample[] = [];
  sink = samples;
  const t0 = performance.now();
  for (let i = 0; i < ops; i++) await op(i);
  const perOp = (performance.now() - t0) / ops;
  sink = null;
  const byText = new Map<string, Sample[]>();
  for (const s of samples) byText.set(s.text, [...(byText.get(s.text) ?? []), s]);
  const inSql = samples.reduce((a, b) => a + b.ms, 0) / ops;
  console.log(`\n== ${label}: ${(perOp * 1000).toFixed(0)} µs per operation, ${(inSql * 1000).toFixed(0)} µs of it waiting on statements, one at a time (plan / run: EXPLAIN ANALYZE of the last call, rolled back)`);
  for (const [text, all] of byText) {
    const mean = all.reduce((a, b) => a + b.ms, 0) / all.length;
    const plan = await explain(pool, text, all.at(-1)!.values);
    if (process.env.TRACE_DUMP) appendFileSync(process.env.TRACE_DUMP, JSON.stringify({ label, text, values: all.at(-1)!.values }) + '\n');
    console.log(`  ${String(all.length).padStart(5)} × ${(mean * 1000).toFixed(0).padStart(6)} µs  ${plan.padEnd(17)} ${text.replace(/\s+/g, ' ').trim().slice(0, 110)}`);
  }
}
