import type { FastifyInstance } from 'fastify';
import { AppError } from '../core/errors.js';

export interface RateLimitOptions {
  /** tokens added per second per key; 0 turns rate limiting off */
  perSecond: number;
  /** bucket size: how many requests a quiet key may send at once */
  burst: number;
}

/**
 * Token buckets in memory, one per key. Per process: behind a load balancer with N processes a
 * key may reach N times the rate. That is the price of not asking the database on every
 * request; a shared limit belongs in the load balancer or a gateway in front.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly options: RateLimitOptions) {}

  /** Take one token: 0 when granted, else the milliseconds until one is available. */
  take(key: string, now = performance.now()): number {
    const { perSecond, burst } = this.options;
    const bucket = this.buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) * perSecond) / 1000);
    bucket.at = now;
    if (!this.buckets.has(key)) this.forgetIdle(now).buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) * 1000) / perSecond);
  }

  /** Keys idle long enough to have refilled hold no information: drop them so memory stays bounded. */
  private forgetIdle(now: number): this {
    if (this.buckets.size < 10_000) return this;
    const full = (this.options.burst * 1000) / this.options.perSecond;
    for (const [key, b] of this.buckets) if (now - b.at >= full) this.buckets.delete(key);
    return this;
  }
}

/**
 * Limit each authenticated principal (program key, deployment admin key, console operator).
 * Registered after the auth hook, so the principal is known; a refused request reaches no
 * handler and changes nothing.
 */
export function installRateLimit(app: FastifyInstance, options: RateLimitOptions | undefined): void {
  if (!options || options.perSecond <= 0) return;
  const buckets = new TokenBuckets(options);
  app.addHook('onRequest', async (request, reply) => {
    const p = request.principal;
    if (!p) return;
    const key = p.kind === 'program_key' ? `key:${p.keyId}` : p.kind === 'operator' ? `operator:${p.operatorId}` : 'deployment-admin';
    const waitMs = buckets.take(key);
    if (waitMs === 0) return;
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    reply.header('retry-after', String(seconds));
    throw new AppError('rate_limited', `too many requests for this key: retry in ${seconds} s`, { retryAfterSeconds: seconds });
  });
}
