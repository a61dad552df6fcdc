import { Latencies, summarize, type LatencySummary } from './stats.js';

/** One operation of a closed loop; `worker` and `seq` make idempotency keys unique. */
export type Operation = (worker: number, seq: number) => Promise<void>;

export interface LoadOptions {
  label: string;
  workers: number;
  /** measured time; the loop stops at whichever of durationMs and ops comes first */
  durationMs?: number;
  ops?: number;
  /** unmeasured time first: pools connect, plans and caches warm up, the JIT settles */
  warmupMs?: number;
}

export interface LoadResult {
  label: string;
  workers: number;
  ops: number;
  errors: number;
  firstError: string | null;
  seconds: number;
  /** completed operations per second (errors excluded) */
  throughput: number;
  latency: LatencySummary;
  /** every measured latency, to merge rounds */
  samples: Float64Array;
}

interface LoopOutcome {
  ops: number;
  errors: number;
  firstError: string | null;
  seconds: number;
}

/**
 * Closed loop: each worker starts its next operation when the previous one ends, so the offered
 * load adapts to the system and throughput at saturation is what the system can do.
 */
export async function closedLoop(
  workers: number,
  limit: { durationMs?: number | undefined; ops?: number | undefined },
  op: Operation,
  latencies: Latencies | null,
  seqBase = 0,
): Promise<LoopOutcome> {
  const t0 = performance.now();
  const deadline = limit.durationMs === undefined ? Infinity : t0 + limit.durationMs;
  const maxOps = limit.ops ?? Infinity;
  let started = 0;
  let ops = 0;
  let errors = 0;
  let firstError: string | null = null;
  const loop = async (worker: number) => {
    let seq = seqBase;
    while (started < maxOps && performance.now() < deadline) {
      started++;
      const begin = performance.now();
      try {
        await op(worker, seq++);
        latencies?.add(performance.now() - begin);
        ops++;
      } catch (err) {
        errors++;
        firstError ??= describe(err);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => loop(w)));
  return { ops, errors, firstError, seconds: (performance.now() - t0) / 1000 };
}

export function describe(err: unknown): string {
  if (err instanceof Error) return `${(err as { code?: string }).code ?? err.name}: ${err.message}`;
  return String(err);
}

/**
 * A warm-up, then a measured closed loop. Sequence numbers never repeat across the two.
 * `beforeMeasure` runs between them (to start a CPU meter, say).
 */
export async function runLoad(options: LoadOptions, op: Operation, beforeMeasure?: () => Promise<void>): Promise<LoadResult> {
  if (options.warmupMs) await closedLoop(options.workers, { durationMs: options.warmupMs }, op, null, 1_000_000_000);
  await beforeMeasure?.();
  const latencies = new Latencies();
  const outcome = await closedLoop(options.workers, { durationMs: options.durationMs, ops: options.ops }, op, latencies);
  return toResult(options.label, options.workers, outcome, latencies);
}

export function toResult(label: string, workers: number, outcome: LoopOutcome, latencies: Latencies): LoadResult {
  return {
    label,
    workers,
    ops: outcome.ops,
    errors: outcome.errors,
    firstError: outcome.firstError,
    seconds: outcome.seconds,
    throughput: outcome.ops / outcome.seconds,
    latency: summarize(latencies.values()),
    samples: latencies.values(),
  };
}
