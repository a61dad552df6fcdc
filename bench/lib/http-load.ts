import { Worker } from 'node:worker_threads';
import { toResult, type LoadResult } from './load.js';
import { Latencies } from './stats.js';

export interface HttpLoadSpec {
  label: string;
  port: number;
  method: 'POST' | 'GET';
  /** one is picked at random per request (e.g. one path per member) */
  paths: string[];
  headers: Record<string, string>;
  body: string | null;
  /**
   * Instead of `body`, one of these per request (in turn), with each `{{unique}}` replaced by a
   * text no other request of the run carries (for event ids, say).
   */
  bodies?: string[];
  /** when set, each request carries a fresh Idempotency-Key with this prefix */
  idempotencyPrefix: string | null;
  expectStatus: number;
  workers: number;
  durationMs: number;
  warmupMs: number;
}

export interface HttpWorkerResult {
  ops: number;
  errors: number;
  firstError: string | null;
  seconds: number;
  latencies: Float64Array;
}

/**
 * On Node 20 the loader tsx registers is not inherited by worker threads, so the worker starts
 * as a line of JavaScript that loads its TypeScript entry through tsx's API.
 */
function workerBootstrap(): string {
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./http-worker.ts', import.meta.url).href;
  return `import(${JSON.stringify(tsx)}).then((m) => m.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(import.meta.url)}))`;
}

/**
 * Drive an HTTP endpoint from a worker thread: the server under test keeps the main event loop
 * to itself, as it would in its own process, while client and server still share the machine.
 */
export function runHttpLoad(spec: HttpLoadSpec, beforeMeasure?: () => Promise<void>): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerBootstrap(), { eval: true, workerData: spec });
    // The worker warms up, says so, and measures once told to go.
    worker.on('message', (m: 'warm' | HttpWorkerResult) => {
      if (m === 'warm') {
        Promise.resolve(beforeMeasure?.()).then(() => worker.postMessage('go'), reject);
        return;
      }
      const latencies = new Latencies();
      latencies.addAll(m.latencies);
      resolve(toResult(spec.label, spec.workers, m, latencies));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`HTTP load worker exited with ${code}`));
    });
  });
}
