import { Type } from 'typebox';
import { inTransaction } from '../../db/database.js';
import { programContextOf } from '../../http/auth.js';
import { runIdempotent } from '../../http/idempotency.js';
import { commonErrors, DateTime, ErrorResponse, MemberParams, Nullable, PageQuery, ProgramParams } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import { requireIdempotencyKey } from '../../http/idempotency.js';
import type { CharityService } from './charity.service.js';

const tags = ['charity'];
const errors = { ...commonErrors, 409: ErrorResponse, 422: ErrorResponse };
const CauseParams = Type.Object({ programId: Type.String({ minLength: 1, maxLength: 64 }), causeId: Type.String({ minLength: 1, maxLength: 64 }) });
const Status = Type.Union([Type.Literal('active'), Type.Literal('closed')]);
const CauseSchema = Type.Object({
  id: Type.String(),
  code: Type.String(),
  name: Type.String(),
  description: Nullable(Type.String()),
  pointType: Type.String(),
  targetPoints: Type.Integer(),
  raisedPoints: Type.Integer(),
  donations: Type.Integer(),
  progress: Type.Number(),
  status: Status,
  endsAt: Nullable(DateTime()),
  createdAt: DateTime(),
  updatedAt: DateTime(),
});
const CreateCauseBody = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.\\-]+$' }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Nullable(Type.String({ maxLength: 5000 }))),
    targetPoints: Type.Integer({ minimum: 1, maximum: 1_000_000_000_000 }),
    endsAt: Type.Optional(Nullable(DateTime())),
  },
  { additionalProperties: false },
);
const UpdateCauseBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(Nullable(Type.String({ maxLength: 5000 }))),
    targetPoints: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000_000 })),
    status: Type.Optional(Status),
    endsAt: Type.Optional(Nullable(DateTime())),
  },
  { additionalProperties: false, minProperties: 1 },
);
const DonationSchema = Type.Object({ id: Type.String(), causeId: Type.String(), memberId: Type.String(), points: Type.Integer(), donatedAt: DateTime(), replayed: Type.Boolean() });
const DonateBody = Type.Object(
  { memberId: Type.String({ minLength: 1, maxLength: 300 }), points: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }) },
  { additionalProperties: false },
);
const DonationPage = Type.Object({ data: Type.Array(DonationSchema), nextCursor: Nullable(Type.String()), totalPoints: Type.Integer() });
const DonationQuery = Type.Object({ ...PageQuery.properties }, { additionalProperties: false });

export function charityRoutes(app: App, charity: CharityService): void {
  const base = '/v1/programs/:programId/charity/causes';
  app.post(base, { config: { access: 'configure' }, schema: { tags, summary: 'Create a cause with a target', params: ProgramParams, body: CreateCauseBody, response: { 201: CauseSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 201, (trx) => charity.create(trx, programContextOf(request), request.body)));
  app.get(base, { config: { access: 'read' }, schema: { tags, summary: 'Causes with running totals', params: ProgramParams, response: { 200: Type.Object({ data: Type.Array(CauseSchema) }), ...commonErrors } } },
    async (request) => ({ data: await charity.list(programContextOf(request)) }));
  app.get(`${base}/:causeId`, { config: { access: 'read' }, schema: { tags, summary: 'A cause (by id or code)', params: CauseParams, response: { 200: CauseSchema, ...commonErrors } } },
    async (request) => charity.get(programContextOf(request), request.params.causeId));
  app.patch(`${base}/:causeId`, { config: { access: 'configure' }, schema: { tags, summary: 'Change or close a cause', params: CauseParams, body: UpdateCauseBody, response: { 200: CauseSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => charity.update(trx, programContextOf(request), request.params.causeId, request.body)));
  app.post(
    `${base}/:causeId/donations`,
    { config: { access: 'spend' }, schema: { tags, summary: 'Donate points (Idempotency-Key required)', params: CauseParams, body: DonateBody, response: { 201: DonationSchema, ...errors } } },
    async (request, reply) => {
      const ctx = programContextOf(request);
      const key = requireIdempotencyKey(request);
      const d = await inTransaction(app.db, (trx) => charity.donate(trx, ctx, { causeId: request.params.causeId, ...request.body, idempotencyKey: key }));
      if (d.replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(201).send(d);
    },
  );
  app.get(`${base}/:causeId/donations`, { config: { access: 'read' }, schema: { tags, summary: 'Donations to a cause, newest first', params: CauseParams, querystring: DonationQuery, response: { 200: DonationPage, ...commonErrors } } },
    async (request) => charity.donations(programContextOf(request), { ...request.query, causeId: request.params.causeId }));
  app.get('/v1/programs/:programId/members/:memberId/donations', { config: { access: 'read' }, schema: { tags, summary: "A member's donations and their total", params: MemberParams, querystring: DonationQuery, response: { 200: DonationPage, ...commonErrors } } },
    async (request) => charity.donations(programContextOf(request), { ...request.query, memberId: request.params.memberId }));
}
