import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import Fastify, { type FastifyServerOptions } from 'fastify';
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { installErrorHandling } from './errors.js';
import type { RouteAccess } from './auth.js';
import type { App, LaurelTypeProvider } from './types.js';

/**
 * The logger `serve` runs with: pino at `level`, credentials carried in headers redacted.
 * Bodies are never logged, so secrets and passwords in them never reach the log either
 * (test/prodproof/security.test.ts captures a run and looks for them).
 */
export function productionLogger(level: string, stream?: { write(line: string): void }): FastifyServerOptions['logger'] {
  return { level, redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-supplier-key"]'], ...(stream ? { stream } : {}) };
}

export interface RouteEntry {
  method: string;
  url: string;
  access: RouteAccess | undefined;
}

export interface HttpOptions {
  logger: FastifyServerOptions['logger'];
  bodyLimit?: number;
  db: Kysely<DB>;
  version: string;
}

/**
 * Two validators: bodies are taken exactly as sent (a "5" is not 5, an unknown field is an
 * error), while path and query strings, which are text by nature, are coerced to their types.
 */
function validators() {
  const strict = new Ajv({ allErrors: false, coerceTypes: false, removeAdditional: false, useDefaults: true, strict: false });
  const lenient = new Ajv({ allErrors: false, coerceTypes: 'array', removeAdditional: false, useDefaults: true, strict: false });
  // ajv-formats is CommonJS: its function is the default export's default under ESM.
  const withFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;
  withFormats(strict);
  withFormats(lenient);
  return { strict, lenient };
}

export async function createHttp(options: HttpOptions): Promise<App> {
  const app = Fastify({
    logger: options.logger,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // Clients may send their own request id for tracing; otherwise Fastify makes one.
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    forceCloseConnections: false,
    ajv: undefined,
  }).withTypeProvider<LaurelTypeProvider>();

  const { strict, lenient } = validators();
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : lenient).compile(schema));
  app.decorate('db', options.db);
  // Every route as registered, with the access it declares: the security suite walks this table.
  const routeTable: RouteEntry[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') routeTable.push({ method, url: route.url, access: route.config?.access });
    }
  });
  installErrorHandling(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Laurel API',
        version: options.version,
        description:
          'Membership and points platform. Authenticate with `Authorization: Bearer <key>`. Mutations accept `Idempotency-Key`; a replay returns the first response. Errors are `{ "error": { "code", "message", "details" } }`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/openapi.json', { schema: { hide: true }, config: { access: 'public' } }, async () => app.swagger());
  return app as unknown as App;
}
