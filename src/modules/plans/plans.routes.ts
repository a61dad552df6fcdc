import { Type } from 'typebox';
import { inTransaction } from '../../db/database.js';
import { programContextOf } from '../../http/auth.js';
import { requireIdempotencyKey, runIdempotent } from '../../http/idempotency.js';
import { commonErrors, ErrorResponse, MemberParams, ProgramParams } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import { Code } from '../benefits/benefits.schemas.js';
import { CancelBody, CreatePlanBody, PaymentSchema, PlanSchema, RenewBody, StartBody, SubscriptionResultSchema, SubscriptionSchema, UpdatePlanBody } from './plans.schemas.js';
import type { PlansService } from './plans.service.js';

const tags = ['plans'];
const errors = { ...commonErrors, 409: ErrorResponse, 422: ErrorResponse };
const PlanParams = Type.Object({ programId: Type.String({ minLength: 1, maxLength: 64 }), code: Code });
const SubscriptionParams = Type.Object({ ...MemberParams.properties, subscriptionId: Type.String({ minLength: 1, maxLength: 64 }) });

export function planRoutes(app: App, plans: PlansService): void {
  app.post(
    '/v1/programs/:programId/plans',
    { config: { access: 'configure' }, schema: { tags, summary: 'Create a paid membership plan', params: ProgramParams, body: CreatePlanBody, response: { 201: PlanSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 201, (trx) => plans.create(trx, programContextOf(request), request.body)),
  );
  app.get(
    '/v1/programs/:programId/plans',
    { config: { access: 'read' }, schema: { tags, summary: 'Paid membership plans', params: ProgramParams, response: { 200: Type.Object({ data: Type.Array(PlanSchema) }), ...commonErrors } } },
    async (request) => ({ data: await plans.list(programContextOf(request)) }),
  );
  app.get(
    '/v1/programs/:programId/plans/:code',
    { config: { access: 'read' }, schema: { tags, summary: 'One plan by code or id', params: PlanParams, response: { 200: PlanSchema, ...commonErrors } } },
    async (request) => plans.get(programContextOf(request), request.params.code),
  );
  app.patch(
    '/v1/programs/:programId/plans/:code',
    { config: { access: 'configure' }, schema: { tags, summary: 'Change a plan (status: retired stops new subscriptions; running ones keep their period)', params: PlanParams, body: UpdatePlanBody, response: { 200: PlanSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => plans.update(trx, programContextOf(request), request.params.code, request.body)),
  );

  // The host reports what it collected; each payment reference is recorded once (Idempotency-Key required too).
  app.post(
    '/v1/programs/:programId/members/:memberId/subscriptions',
    { config: { access: 'spend' }, schema: { tags, summary: 'Start a subscription: a trial, a payment the host collected, points, or points and cash', params: MemberParams, body: StartBody, response: { 201: SubscriptionResultSchema, ...errors } } },
    async (request, reply) => {
      const key = requireIdempotencyKey(request);
      const result = await inTransaction(app.db, (trx) => plans.start(trx, programContextOf(request), request.params.memberId, { ...request.body, reference: `idem:${key}` }));
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(201).send(result);
    },
  );
  app.get(
    '/v1/programs/:programId/members/:memberId/subscriptions',
    { config: { access: 'read' }, schema: { tags, summary: "A member's subscriptions, newest first", params: MemberParams, response: { 200: Type.Object({ data: Type.Array(SubscriptionSchema) }), ...commonErrors } } },
    async (request) => ({ data: await plans.listSubscriptions(programContextOf(request), request.params.memberId) }),
  );
  app.get(
    '/v1/programs/:programId/members/:memberId/subscriptions/:subscriptionId/payments',
    { config: { access: 'read' }, schema: { tags, summary: 'The payments recorded for a subscription', params: SubscriptionParams, response: { 200: Type.Object({ data: Type.Array(PaymentSchema) }), ...commonErrors } } },
    async (request) => {
      const ctx = programContextOf(request);
      const sub = await plans.subscription(ctx, request.params.subscriptionId);
      await plans.ownedBy(ctx, sub, request.params.memberId);
      return { data: await plans.payments(app.db, ctx, undefined, sub.id) };
    },
  );
  app.post(
    '/v1/programs/:programId/members/:memberId/subscriptions/:subscriptionId/renewals',
    { config: { access: 'spend' }, schema: { tags, summary: 'Renew for another period from the end of the current one', params: SubscriptionParams, body: RenewBody, response: { 201: SubscriptionResultSchema, ...errors } } },
    async (request, reply) => {
      const key = requireIdempotencyKey(request);
      const p = request.params;
      const result = await inTransaction(app.db, (trx) => plans.renew(trx, programContextOf(request), p.memberId, p.subscriptionId, { ...request.body, reference: `idem:${key}` }));
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(201).send(result);
    },
  );
  app.post(
    '/v1/programs/:programId/members/:memberId/subscriptions/:subscriptionId/cancel',
    { config: { access: 'spend' }, schema: { tags, summary: 'Cancel at the end of the current period', params: SubscriptionParams, body: CancelBody, response: { 200: SubscriptionSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => plans.cancel(trx, programContextOf(request), request.params.memberId, request.params.subscriptionId, request.body.reason)),
  );
}
