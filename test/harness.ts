import { randomBytes } from 'node:crypto';
import { createLaurel, type Laurel } from '../src/app.js';
import type { Clock } from '../src/core/clock.js';
import type { Engine } from '../src/db/database.js';
import type { RateLimitOptions } from '../src/http/rate-limit.js';
import type { Program } from '../src/modules/programs/index.js';
import { createTestDatabase } from './engines.js';

export { engines } from './engines.js';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | number | undefined>;
}

export interface ApiCall {
  key?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
  /** raw payload instead of JSON (malformed-input tests) */
  payload?: string;
}

export interface TestLaurel {
  laurel: Laurel;
  engine: Engine;
  adminKey: string;
  api<T = any>(method: string, url: string, call?: ApiCall): Promise<ApiResponse<T>>;
  /** a program and a key with every scope on it */
  createProgram(overrides?: Record<string, unknown>): Promise<{ program: Program; key: string }>;
  close(): Promise<void>;
}

export async function createTestLaurel(engine: Engine, options: { clock?: Clock; poolSize?: number; rateLimit?: RateLimitOptions } = {}): Promise<TestLaurel> {
  const database = await createTestDatabase(engine, options.poolSize);
  const laurel = await createLaurel({ database, ...(options.clock ? { clock: options.clock } : {}), ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}) });
  const adminKey = `lrl_admin_test_${randomBytes(16).toString('hex')}`;
  await laurel.services.access.initAdminKey(adminKey);
  await laurel.http.ready();

  const api = async <T>(method: string, url: string, call: ApiCall = {}): Promise<ApiResponse<T>> => {
    const key = call.key === undefined ? adminKey : call.key;
    const headers: Record<string, string> = { ...(call.headers ?? {}) };
    if (key) headers.authorization = `Bearer ${key}`;
    let payload: string | undefined = call.payload;
    if (payload === undefined && call.body !== undefined) payload = JSON.stringify(call.body);
    if (payload !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const res = await laurel.http.inject({ method: method as 'GET', url, headers, ...(payload !== undefined ? { payload } : {}) });
    let body: unknown = res.body;
    try {
      body = res.body ? JSON.parse(res.body) : undefined;
    } catch {
      // not JSON (docs pages)
    }
    return { status: res.statusCode, body: body as T, headers: res.headers };
  };

  return {
    laurel,
    engine,
    adminKey,
    api,
    async createProgram(overrides = {}) {
      const res = await api<Program>('POST', '/v1/programs', {
        body: { name: 'Test program', mode: 'live', timeZone: 'Asia/Shanghai', currency: 'CNY', ...overrides },
      });
      if (res.status !== 201) throw new Error(`createProgram: ${res.status} ${JSON.stringify(res.body)}`);
      const key = await api<{ secret: string }>('POST', `/v1/programs/${res.body.id}/api-keys`, {
        body: { name: 'test key', scopes: ['admin'] },
      });
      return { program: res.body, key: key.body.secret };
    },
    close: () => laurel.close(),
  };
}
