import Fastify, { type FastifyInstance } from 'fastify';
import type { RawLedger } from './raw.js';

/**
 * The least an HTTP API around the raw earn can be: a bare Fastify route, no auth, no schema,
 * no idempotency store. What it loses against the raw earn is the cost of HTTP itself.
 */
export async function startBareEarnServer(raw: RawLedger): Promise<{ app: FastifyInstance; port: number }> {
  const app = Fastify({ logger: false });
  app.post<{ Params: { memberId: string }; Body: { amount: number } }>('/earn/:memberId', async (request, reply) => {
    const key = String(request.headers['idempotency-key']);
    const result = await raw.earn(request.params.memberId, request.body.amount, key);
    return reply.status(201).send(result);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('bare server has no TCP address');
  return { app, port: address.port };
}
