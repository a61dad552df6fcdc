import { createServer, type Server } from 'node:http';
import { rawQuery } from '../../src/db/database.js';
import type { TestLaurel } from '../harness.js';

/** A local endpoint that accepts every webhook delivery, so tests read the outbox without the network. */
export async function webhookSink(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end('ok'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/hook`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/**
 * A sandbox program (Shanghai) whose webhooks go to `sinkUrl`, with the calls the privilege and
 * plan scenarios share: a checked API call, the test clock, and the outbox rows of one type.
 */
export async function sandboxProgram(t: TestLaurel, sinkUrl: string, clockStart: string) {
  const { program, key } = await t.createProgram({ mode: 'sandbox', timeZone: 'Asia/Shanghai', clockStart });
  const base = `/v1/programs/${program.id}`;
  const ok = async (method: string, url: string, body: unknown, status = 201) => {
    const res = await t.api(method, `${base}${url}`, { key, body });
    if (res.status !== status) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  await ok('POST', '/webhooks', { url: sinkUrl, eventTypes: ['*'] });
  const advanceTo = (to: string) => ok('POST', '/clock/advance', { to }, 200);
  const outbox = async (type: string) => {
    const { rows } = await rawQuery<{ payload: Record<string, any> }>(
      t.laurel.database.db,
      'select payload from webhook_outbox where program_id = $1 and type = $2 order by created_at, message_id',
      [program.id, type],
    );
    return rows.map((r) => r.payload);
  };
  return { program, key, base, ok, advanceTo, outbox };
}
