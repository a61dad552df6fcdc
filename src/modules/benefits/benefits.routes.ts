import { Type } from 'typebox';
import { AppError } from '../../core/errors.js';
import { inTransaction } from '../../db/database.js';
import { programContextOf } from '../../http/auth.js';
import { requireIdempotencyKey, runIdempotent } from '../../http/idempotency.js';
import { commonErrors, ErrorResponse, MemberParams, PageOf, ProgramParams } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import {
  BenefitSchema,
  Code,
  CreateBenefitBody,
  EntitlementListQuery,
  EntitlementSchema,
  GrantBody,
  GrantResponse,
  RevokeBody,
  UpdateBenefitBody,
  UseBody,
  UseSchema,
  UtilisationSchema,
} from './benefits.schemas.js';
import type { BenefitsService } from './benefits.service.js';

const tags = ['benefits'];
const errors = { ...commonErrors, 409: ErrorResponse, 422: ErrorResponse };
const BenefitParams = Type.Object({ programId: Type.String({ minLength: 1, maxLength: 64 }), code: Code });
const EntitlementParams = Type.Object({
  programId: Type.String({ minLength: 1, maxLength: 64 }),
  memberId: Type.String({ minLength: 1, maxLength: 300 }),
  entitlementId: Type.String({ minLength: 1, maxLength: 64 }),
});


export function benefitRoutes(app: App, benefits: BenefitsService): void {
  app.post(
    '/v1/programs/:programId/benefits',
    { config: { access: 'configure' }, schema: { tags, summary: 'Add a benefit to the catalogue', params: ProgramParams, body: CreateBenefitBody, response: { 201: BenefitSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 201, (trx) => benefits.create(trx, programContextOf(request), request.body)),
  );
  app.get(
    '/v1/programs/:programId/benefits',
    { config: { access: 'read' }, schema: { tags, summary: 'The benefits catalogue', params: ProgramParams, response: { 200: Type.Object({ data: Type.Array(BenefitSchema) }), ...commonErrors } } },
    async (request) => ({ data: await benefits.list(programContextOf(request)) }),
  );
  app.get(
    '/v1/programs/:programId/benefits/:code',
    { config: { access: 'read' }, schema: { tags, summary: 'One benefit by code or id', params: BenefitParams, response: { 200: BenefitSchema, ...commonErrors } } },
    async (request) => benefits.get(programContextOf(request), request.params.code),
  );
  app.patch(
    '/v1/programs/:programId/benefits/:code',
    { config: { access: 'configure' }, schema: { tags, summary: 'Change a benefit (entitlements already granted keep their terms)', params: BenefitParams, body: UpdateBenefitBody, response: { 200: BenefitSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => benefits.update(trx, programContextOf(request), request.params.code, request.body)),
  );
  app.get(
    '/v1/programs/:programId/benefits/:code/utilisation',
    { config: { access: 'read' }, schema: { tags, summary: 'Entitlements granted and used', params: BenefitParams, response: { 200: UtilisationSchema, ...commonErrors } } },
    async (request) => benefits.utilisation(programContextOf(request), request.params.code),
  );

  app.post(
    '/v1/programs/:programId/members/:memberId/entitlements',
    {
      config: { access: 'configure' },
      schema: { tags, summary: 'Grant a benefit to a member (Idempotency-Key required)', params: MemberParams, body: GrantBody, response: { 201: GrantResponse, ...errors } },
    },
    async (request, reply) => {
      const ctx = programContextOf(request);
      const key = requireIdempotencyKey(request);
      const b = request.body;
      const result = await inTransaction(app.db, (trx) =>
        benefits.grant(trx, ctx, {
          memberId: request.params.memberId,
          benefitCode: b.benefitCode,
          quantity: b.quantity,
          uses: b.uses,
          source: b.source ?? { type: 'manual', id: key },
          validFrom: b.validFrom ? new Date(b.validFrom) : undefined,
          validUntil: b.validUntil === undefined ? undefined : b.validUntil === null ? null : new Date(b.validUntil),
          idempotencyKey: key,
        }),
      );
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(201).send(result);
    },
  );
  app.get(
    '/v1/programs/:programId/members/:memberId/entitlements',
    { config: { access: 'read' }, schema: { tags, summary: "A member's entitlements, newest first", params: MemberParams, querystring: EntitlementListQuery, response: { 200: PageOf(EntitlementSchema), ...commonErrors } } },
    async (request) => benefits.listEntitlements(programContextOf(request), request.params.memberId, request.query),
  );
  app.post(
    '/v1/programs/:programId/members/:memberId/entitlements/:entitlementId/uses',
    { config: { access: 'spend' }, schema: { tags, summary: 'Use an entitlement once (Idempotency-Key required)', params: EntitlementParams, body: UseBody, response: { 201: UseSchema, ...errors } } },
    async (request, reply) => {
      const ctx = programContextOf(request);
      const key = requireIdempotencyKey(request);
      const use = await inTransaction(app.db, (trx) =>
        benefits.use(trx, ctx, { entitlementId: request.params.entitlementId, memberId: request.params.memberId, idempotencyKey: key, context: request.body?.context }),
      );
      if (use.replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(201).send(use);
    },
  );
  app.post(
    '/v1/programs/:programId/members/:memberId/entitlements/:entitlementId/revoke',
    { config: { access: 'configure' }, schema: { tags, summary: 'Revoke an entitlement', params: EntitlementParams, body: RevokeBody, response: { 200: EntitlementSchema, ...errors } } },
    (request, reply) =>
      runIdempotent(app.db, request, reply, 200, async (trx) => {
        const ctx = programContextOf(request);
        const ent = await benefits.getEntitlement(ctx, request.params.entitlementId, trx);
        const member = await benefits.memberOf(ctx, request.params.memberId, trx);
        if (ent.memberId !== member) throw new AppError('entitlement_not_found', `entitlement ${ent.id} does not exist`);
        return benefits.revoke(trx, ctx, ent.id, request.body.reason);
      }),
  );
}
