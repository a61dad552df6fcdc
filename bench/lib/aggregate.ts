import type { CpuUse } from './cpu.js';
import type { LoadResult } from './load.js';
import { Latencies, summarize, type LatencySummary } from './stats.js';

/**
 * One variant measured over several rounds: operations, time and latencies add up, so rounds
 * interleaved with the variant's baseline share whatever else the machine was doing.
 */
export class Aggregate {
  ops = 0;
  errors = 0;
  seconds = 0;
  firstError: string | null = null;
  readonly cpu: CpuUse = { nodeMs: 0, pgMs: 0 };
  readonly rounds: LoadResult[] = [];
  private readonly latencies = new Latencies();

  constructor(
    readonly label: string,
    readonly workers: number,
  ) {}

  add(result: LoadResult, cpu: CpuUse): void {
    this.rounds.push(result);
    this.ops += result.ops;
    this.errors += result.errors;
    this.seconds += result.seconds;
    this.firstError ??= result.firstError;
    this.latencies.addAll(result.samples);
    this.cpu.nodeMs += cpu.nodeMs;
    this.cpu.pgMs += cpu.pgMs;
  }

  get throughput(): number {
    return this.ops / this.seconds;
  }

  latency(): LatencySummary {
    return summarize(this.latencies.values());
  }

  /** microseconds of CPU per completed operation */
  cpuPerOp(): { node: number; pg: number; total: number } {
    const per = (ms: number) => (this.ops ? (ms * 1000) / this.ops : Number.NaN);
    return { node: per(this.cpu.nodeMs), pg: per(this.cpu.pgMs), total: per(this.cpu.nodeMs + this.cpu.pgMs) };
  }
}
