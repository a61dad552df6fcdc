import { resolve } from 'node:path';

/**
 * The environment, parsed and checked once at start-up. Nothing else reads `process.env`.
 * A bad value stops start-up with a message that names the variable.
 */
export interface Config {
  readonly port: number;
  readonly host: string;
  /** postgres://… for PostgreSQL; undefined for the embedded engine */
  readonly databaseUrl: string | undefined;
  /** PostgreSQL only: connections this process keeps at most. */
  readonly databasePoolSize: number;
  readonly dataDir: string;
  readonly adminKey: string | undefined;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Embedded engine only: minutes between ANALYZE runs (VACUUM runs every 6th time). */
  readonly maintenanceMinutes: number;
  /** Run the job scheduler in this process. */
  readonly scheduler: boolean;
  readonly natsUrl: string | undefined;
  /** Broker ingestion (NATS JetStream): used only when natsUrl is set. */
  readonly nats: {
    readonly stream: string;
    readonly subject: string;
    readonly durable: string;
    readonly batchSize: number;
    readonly ackWaitSeconds: number;
    readonly maxDeliver: number;
    readonly deadLetterSubject: string | undefined;
  };
  /** per-key token bucket of this process: requests per second (0: off) and burst */
  readonly rateLimit: { readonly perSecond: number; readonly burst: number };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function integer(env: Record<string, string | undefined>, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(env: Record<string, string | undefined>, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function rateLimitOf(env: Record<string, string | undefined>): Config['rateLimit'] {
  const perSecond = integer(env, 'LAUREL_RATE_LIMIT_PER_SECOND', 1000, 0, 1_000_000);
  return Object.freeze({ perSecond, burst: integer(env, 'LAUREL_RATE_LIMIT_BURST', Math.max(1, perSecond * 2), 1, 10_000_000) });
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(`DATABASE_URL must be a postgres:// or postgresql:// URL, got "${databaseUrl}"`);
  }
  const logLevel = (env.LOG_LEVEL || 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  }
  const adminKey = env.LAUREL_ADMIN_KEY || undefined;
  if (adminKey !== undefined && adminKey.length < 24) {
    throw new ConfigError('LAUREL_ADMIN_KEY must be at least 24 characters long');
  }
  const host = env.HOST || '127.0.0.1';
  if (!/^[\w.:\-[\]]+$/.test(host)) throw new ConfigError(`HOST is not a host name or address: "${host}"`);
  const natsUrl = env.LAUREL_NATS_URL || undefined;
  if (natsUrl !== undefined && !/^nats:\/\//.test(natsUrl)) {
    throw new ConfigError(`LAUREL_NATS_URL must be a nats:// URL, got "${natsUrl}"`);
  }
  const name = (variable: string, fallback: string, pattern: RegExp, what: string): string => {
    const value = env[variable] || fallback;
    if (!pattern.test(value)) throw new ConfigError(`${variable} must be ${what}, got "${value}"`);
    return value;
  };
  // NATS subjects are dot-separated tokens; a filter may end in > or use * for one token.
  const SUBJECT = /^[^\s.*>]+(\.([^\s.*>]+|\*))*(\.>)?$/;
  const nats = Object.freeze({
    stream: name('LAUREL_NATS_STREAM', 'LAUREL_EVENTS', /^[\w-]{1,64}$/, 'a stream name (letters, digits, _ or -)'),
    subject: name('LAUREL_NATS_SUBJECT', 'laurel.events.>', SUBJECT, 'a NATS subject or filter'),
    durable: name('LAUREL_NATS_DURABLE', 'laurel-ingest', /^[\w-]{1,64}$/, 'a consumer name (letters, digits, _ or -)'),
    batchSize: integer(env, 'LAUREL_NATS_BATCH', 200, 1, 1000),
    ackWaitSeconds: integer(env, 'LAUREL_NATS_ACK_WAIT_SECONDS', 30, 5, 3600),
    maxDeliver: integer(env, 'LAUREL_NATS_MAX_DELIVER', 10, 1, 1000),
    deadLetterSubject: env.LAUREL_NATS_DEAD_LETTER_SUBJECT ? name('LAUREL_NATS_DEAD_LETTER_SUBJECT', '', /^[^\s*>]+$/, 'a NATS subject without wildcards') : undefined,
  });
  return Object.freeze({
    port: integer(env, 'PORT', 3000, 0, 65535),
    host,
    databaseUrl,
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 20, 1, 1000),
    dataDir: resolve(env.LAUREL_DATA_DIR || '.laurel'),
    adminKey,
    logLevel,
    maintenanceMinutes: integer(env, 'LAUREL_MAINTENANCE_MINUTES', 10, 1, 24 * 60),
    scheduler: bool(env, 'LAUREL_SCHEDULER', true),
    natsUrl,
    nats,
    rateLimit: rateLimitOf(env),
  });
}
