import { randomBytes } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/database.js';
import { templateName, withDatabase } from '../engines.js';

/**
 * What the crash and database-fault suites share: a PostgreSQL database of their own, a TCP
 * proxy that can be cut, and a small HTTP client for a server in another process.
 * They run only with LAUREL_FAULT_TESTS=1 (CI sets it) and TEST_DATABASE_URL.
 */
export const faultTestsEnabled = process.env.LAUREL_FAULT_TESTS === '1' && !!process.env.TEST_DATABASE_URL;

export interface PgDatabase {
  url: string;
  /** Laurel's own view, opened directly (never through a proxy), for checks */
  open(): Promise<Database>;
  drop(): Promise<void>;
}

async function admin<T>(work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

/** A fresh migrated database (a copy of the run's template), named so the global setup cleans up leftovers. */
export async function createPgDatabase(): Promise<PgDatabase> {
  const name = `laurel_t_${process.env.LAUREL_TEST_RUN ?? process.pid}_${randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(`create database ${name} template ${templateName()}`));
  const url = withDatabase(process.env.TEST_DATABASE_URL!, name);
  return {
    url,
    open: () => openDatabase({ url, poolSize: 2 }),
    drop: () => admin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => {}),
  };
}

/**
 * A TCP proxy to PostgreSQL that can be cut (every connection reset, new ones refused, as while
 * the database restarts) and restored on the same port, without touching the shared server.
 */
export class CuttableProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async open(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** PostgreSQL is gone: open connections reset, new ones refused. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.resetAndDestroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  async close(): Promise<void> {
    await this.cut();
  }

  /** a database URL that goes through the proxy */
  urlFor(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }
}

export interface HttpAnswer {
  status: number;
  body: any;
  headers: Headers;
}

/** A request to a server in another process; a connection that dies answers status 0. */
export async function http(base: string, method: string, path: string, key: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  try {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') throw new Error(`${method} ${path} hung for 30 s`);
    return { status: 0, body: { error: String((err as Error).cause ?? err) }, headers: new Headers() };
  }
}

export interface FaultProgram {
  programId: string;
  key: string;
  /** members ext:m0 … */
  members: number;
}

/** A sandbox program with one rule (10 points per `sign_in`) and members ext:m0 … ext:m{n-1}. */
export async function setUpProgram(base: string, adminKey: string, members: number): Promise<FaultProgram> {
  const must = async (p: Promise<HttpAnswer>, what: string) => {
    const r = await p;
    if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const program = await must(http(base, 'POST', '/v1/programs', adminKey, { name: 'Fault', mode: 'sandbox', timeZone: 'UTC', currency: 'EUR' }), 'program');
  const key = (await must(http(base, 'POST', `/v1/programs/${program.id}/api-keys`, adminKey, { name: 'fault', scopes: ['admin'] }), 'key')).secret as string;
  const p = `/v1/programs/${program.id}`;
  await must(
    http(base, 'POST', `${p}/rules`, key, { name: 'sign-in', status: 'active', stacking: 'cumulative', priority: 1, eventTypes: ['sign_in'], rewards: [{ type: 'fixed', pointType: 'points', amount: 10 }] }),
    'rule',
  );
  for (let i = 0; i < members; i++) await must(http(base, 'POST', `${p}/members`, key, { externalId: `m${i}` }), 'member');
  return { programId: program.id, key, members };
}
