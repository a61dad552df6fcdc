import { Type } from 'typebox';
import { programContextOf } from '../../http/auth.js';
import { runIdempotent } from '../../http/idempotency.js';
import { commonErrors, DateTime, ErrorResponse, ProgramParams } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import { AwardMedalBody, CreateMedalBody, MedalSchema, MemberMedalSchema, UpdateMedalBody } from './medals.schemas.js';
import type { MedalsService } from './medals.service.js';

const tags = ['medals'];
const errors = { ...commonErrors, 409: ErrorResponse, 422: ErrorResponse };
const MedalParams = Type.Object({ programId: Type.String({ minLength: 1, maxLength: 64 }), medalId: Type.String({ minLength: 1, maxLength: 64, description: 'medal id or code' }) });

export function medalRoutes(app: App, medals: MedalsService): void {
  app.get(
    '/v1/programs/:programId/medals',
    { config: { access: 'read' }, schema: { tags, summary: 'List medals', params: ProgramParams, response: { 200: Type.Object({ data: Type.Array(MedalSchema) }), ...commonErrors } } },
    async (request) => ({ data: await medals.list(programContextOf(request)) }),
  );

  app.post(
    '/v1/programs/:programId/medals',
    {
      config: { access: 'configure' },
      schema: {
        tags, summary: 'Create a medal: a criterion (event counts, spend, streaks, tasks, tier) and its levels', params: ProgramParams,
        body: CreateMedalBody, response: { 201: MedalSchema, ...errors },
      },
    },
    (request, reply) => runIdempotent(app.db, request, reply, 201, (trx) => medals.create(programContextOf(request), request.body, trx)),
  );

  app.get(
    '/v1/programs/:programId/medals/:medalId',
    { config: { access: 'read' }, schema: { tags, summary: 'Read a medal', params: MedalParams, response: { 200: MedalSchema, ...commonErrors } } },
    async (request) => medals.get(programContextOf(request), request.params.medalId),
  );

  app.patch(
    '/v1/programs/:programId/medals/:medalId',
    {
      config: { access: 'configure' },
      schema: { tags, summary: 'Change a medal (levels already awarded stay awarded)', params: MedalParams, body: UpdateMedalBody, response: { 200: MedalSchema, ...errors } },
    },
    (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => medals.update(programContextOf(request), request.params.medalId, request.body, trx)),
  );

  app.get(
    '/v1/programs/:programId/members/:memberId/medals',
    {
      config: { access: 'read' },
      schema: {
        tags, summary: "A member's collection: levels awarded with dates, locked medals and the progress toward each",
        params: Type.Object({ programId: Type.String(), memberId: Type.String({ minLength: 1, maxLength: 300 }) }),
        response: { 200: Type.Object({ data: Type.Array(MemberMedalSchema) }), ...commonErrors },
      },
    },
    async (request) => ({ data: await medals.forMember(programContextOf(request), request.params.memberId) }),
  );

  app.post(
    '/v1/programs/:programId/members/:memberId/medals/:medalId/award',
    {
      config: { access: 'configure' },
      schema: {
        tags, summary: 'Award a medal level by hand (once per level)',
        params: Type.Object({ programId: Type.String(), memberId: Type.String({ minLength: 1, maxLength: 300 }), medalId: Type.String({ minLength: 1, maxLength: 64 }) }),
        body: AwardMedalBody,
        response: {
          201: Type.Object({ memberId: Type.String(), medal: Type.String(), level: Type.Integer(), awardedAt: DateTime(), alreadyAwarded: Type.Boolean() }),
          ...errors,
        },
      },
    },
    (request, reply) =>
      runIdempotent(app.db, request, reply, 201, (trx) =>
        medals.awardByOperator(programContextOf(request), request.params.memberId, request.params.medalId, request.body.level ?? 1, request.body.reason, trx),
      ),
  );
}
