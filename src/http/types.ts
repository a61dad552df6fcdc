import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { FastifyTypeProvider } from 'fastify';
import type { Static, TSchema } from 'typebox';

/**
 * Request parts are typed from their TypeBox schemas. Replies are not: handlers return domain
 * objects (with Date fields) that the response schema serialises, so the static check stays on
 * the way in, and the schema itself checks the way out.
 */
export interface LaurelTypeProvider extends FastifyTypeProvider {
  validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
  serializer: unknown;
}

/** The Fastify instance every route module registers on: TypeBox schemas type the handlers. */
export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression<RawServerDefault>,
  RawReplyDefaultExpression<RawServerDefault>,
  FastifyBaseLogger,
  LaurelTypeProvider
>;

declare module 'fastify' {
  interface FastifyInstance {
    /** the database, for the idempotency wrapper and transactions owned by routes */
    db: import('kysely').Kysely<import('../db/schema.js').DB>;
    /** every registered route and the access it declares (HEAD twins left out) */
    routeTable: readonly import('./server.js').RouteEntry[];
  }
}
