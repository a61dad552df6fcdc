import { Type } from 'typebox';
import { programContextOf } from '../../http/auth.js';
import { runIdempotent } from '../../http/idempotency.js';
import { commonErrors, DateTime, ErrorResponse, Nullable, PageOf, PageQuery, ProgramParams } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import type { WebhooksService } from './webhooks.service.js';

const SubParams = Type.Object({ programId: Type.String({ minLength: 1, maxLength: 64 }), webhookId: Type.String({ minLength: 1, maxLength: 64 }) });
const DeliveryParams = Type.Object({
  programId: Type.String({ minLength: 1, maxLength: 64 }),
  webhookId: Type.String({ minLength: 1, maxLength: 64 }),
  deliveryId: Type.String({ minLength: 1, maxLength: 20 }),
});
const Url = Type.String({ minLength: 8, maxLength: 2000, description: 'http(s) endpoint that receives POSTed JSON' });
const EventTypes = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
  minItems: 1,
  maxItems: 50,
  description: 'message types wanted (points.earned, points.spent, points.expiring, points.expired, order.status_changed, …) or "*"',
});

const SubscriptionSchema = Type.Object({
  id: Type.String(),
  url: Type.String(),
  eventTypes: Type.Array(Type.String()),
  active: Type.Boolean(),
  description: Nullable(Type.String()),
  createdAt: DateTime(),
  updatedAt: DateTime(),
});
const CreatedSubscription = Type.Object({
  ...SubscriptionSchema.properties,
  secret: Type.String({ description: 'the signing secret: shown once, here' }),
});
const AttemptSchema = Type.Object({ attempt: Type.Integer(), at: DateTime(), statusCode: Nullable(Type.Integer()), error: Nullable(Type.String()), durationMs: Type.Integer() });
const DeliverySchema = Type.Object({
  id: Type.String(),
  messageId: Type.String({ description: 'the message id receivers de-duplicate on (header Laurel-Event-Id)' }),
  subscriptionId: Type.String(),
  type: Type.String(),
  payload: Type.Unknown(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
  attempts: Type.Integer(),
  createdAt: DateTime(),
  nextAttemptAt: Nullable(DateTime()),
  lastStatus: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  deliveredAt: Nullable(DateTime()),
  log: Type.Optional(Type.Array(AttemptSchema)),
});

const errors = { ...commonErrors, 409: ErrorResponse, 422: ErrorResponse };

export function webhookRoutes(app: App, webhooks: WebhooksService): void {
  const tags = ['webhooks'];
  const base = '/v1/programs/:programId/webhooks';

  app.get(base, { config: { access: 'read' }, schema: { tags, summary: 'List webhook subscriptions', params: ProgramParams, response: { 200: Type.Object({ data: Type.Array(SubscriptionSchema) }), ...commonErrors } } }, async (request) => ({
    data: await webhooks.list(programContextOf(request)),
  }));

  app.post(
    base,
    {
      config: { access: 'configure' },
      schema: {
        tags,
        summary: 'Subscribe an endpoint; the signing secret is in this response only',
        description:
          'Each delivery is a POST of `{ id, type, programId, createdAt, data }` with headers `Laurel-Event-Id`, `Laurel-Event-Type`, `Laurel-Timestamp` (Unix seconds) and `Laurel-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>`. Any 2xx acknowledges; otherwise it is retried with exponential backoff (30 s doubling, at most 6 h apart) for a day, then failed.',
        params: ProgramParams,
        body: Type.Object(
          { url: Url, eventTypes: EventTypes, active: Type.Optional(Type.Boolean()), description: Type.Optional(Type.String({ maxLength: 500 })) },
          { additionalProperties: false },
        ),
        response: { 201: CreatedSubscription, ...errors },
      },
    },
    (request, reply) => runIdempotent(app.db, request, reply, 201, (trx) => webhooks.create(programContextOf(request), trx, request.body)),
  );

  app.get(`${base}/:webhookId`, { config: { access: 'read' }, schema: { tags, summary: 'A webhook subscription', params: SubParams, response: { 200: SubscriptionSchema, ...commonErrors } } }, async (request) =>
    webhooks.get(programContextOf(request), request.params.webhookId),
  );

  app.patch(
    `${base}/:webhookId`,
    {
      config: { access: 'configure' },
      schema: {
        tags,
        summary: 'Change the URL, the types wanted, or pause and resume',
        params: SubParams,
        body: Type.Object(
          {
            url: Type.Optional(Url),
            eventTypes: Type.Optional(EventTypes),
            active: Type.Optional(Type.Boolean()),
            description: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: SubscriptionSchema, ...errors },
      },
    },
    (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => webhooks.update(programContextOf(request), trx, request.params.webhookId, request.body)),
  );

  app.delete(
    `${base}/:webhookId`,
    { config: { access: 'configure' }, schema: { tags, summary: 'Delete a subscription (its delivery log is kept)', params: SubParams, response: { 204: Type.Null(), ...errors } } },
    async (request, reply) => {
      await app.db.transaction().execute((trx) => webhooks.remove(programContextOf(request), trx, request.params.webhookId));
      return reply.status(204).send();
    },
  );

  app.post(
    `${base}/:webhookId/ping`,
    { config: { access: 'configure' }, schema: { tags, summary: 'Queue a webhook.test message to this endpoint', params: SubParams, response: { 201: DeliverySchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 201, (trx) => webhooks.ping(programContextOf(request), trx, request.params.webhookId)),
  );

  app.get(
    `${base}/:webhookId/deliveries`,
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: 'The delivery log of an endpoint, newest first',
        params: SubParams,
        querystring: Type.Object(
          {
            ...PageQuery.properties,
            status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')])),
            type: Type.Optional(Type.String({ maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(DeliverySchema), ...commonErrors },
      },
    },
    async (request) => webhooks.deliveries(programContextOf(request), request.params.webhookId, request.query),
  );

  app.get(
    `${base}/:webhookId/deliveries/:deliveryId`,
    { config: { access: 'read' }, schema: { tags, summary: 'One delivery with every attempt', params: DeliveryParams, response: { 200: DeliverySchema, ...commonErrors } } },
    async (request) => webhooks.delivery(programContextOf(request), request.params.webhookId, request.params.deliveryId),
  );

  app.post(
    `${base}/:webhookId/deliveries/:deliveryId/redeliver`,
    {
      config: { access: 'configure' },
      schema: { tags, summary: 'Send a delivery again now, with a fresh day of retries', params: DeliveryParams, response: { 200: DeliverySchema, ...errors } },
    },
    (request, reply) =>
      runIdempotent(app.db, request, reply, 200, (trx) => webhooks.redeliver(programContextOf(request), trx, request.params.webhookId, request.params.deliveryId)),
  );
}
