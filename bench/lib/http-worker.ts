import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import type { HttpLoadSpec, HttpWorkerResult } from './http-load.js';
import { closedLoop } from './load.js';
import { Latencies } from './stats.js';

const spec = workerData as HttpLoadSpec;
// One kept-alive connection per closed-loop worker, as a pool of API clients would hold.
const agent = new http.Agent({ keepAlive: true, maxSockets: spec.workers, maxFreeSockets: spec.workers });

const templates = spec.bodies?.map((b) => b.split('{{unique}}'));
let turn = 0;

function bodyOf(worker: number, seq: number): string | null {
  if (!templates) return spec.body;
  return templates[turn++ % templates.length]!.join(`${worker}-${seq}`);
}

function request(worker: number, seq: number): Promise<void> {
  const path = spec.paths[Math.floor(Math.random() * spec.paths.length)]!;
  const headers: Record<string, string> = { ...spec.headers };
  if (spec.idempotencyPrefix) headers['idempotency-key'] = `${spec.idempotencyPrefix}-${worker}-${seq}`;
  const body = bodyOf(worker, seq);
  if (body !== null) headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: spec.port, method: spec.method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode === spec.expectStatus) resolve();
        else reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

await closedLoop(spec.workers, { durationMs: spec.warmupMs }, request, null, 1_000_000_000);
parentPort!.postMessage('warm');
await new Promise((resolve) => parentPort!.once('message', resolve));
const latencies = new Latencies();
const outcome = await closedLoop(spec.workers, { durationMs: spec.durationMs }, request, latencies);
agent.destroy();
const values = latencies.values().slice();
const result: HttpWorkerResult = { ...outcome, latencies: values };
parentPort!.postMessage(result, [values.buffer]);
