import { programContextOf } from '../../http/auth.js';
import { runIdempotent } from '../../http/idempotency.js';
import { commonErrors, ErrorResponse, MemberParams, PageOf, ProgramParams } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import { CreateMemberBody, MemberListQuery, MemberSchema, UpdateMemberBody } from './members.schemas.js';
import type { MembersService } from './members.service.js';

const tags = ['members'];

export function memberRoutes(app: App, members: MembersService): void {
  app.post(
    '/v1/programs/:programId/members',
    {
      config: { access: 'earn' },
      schema: {
        tags,
        summary: 'Create a member',
        params: ProgramParams,
        body: CreateMemberBody,
        response: { 201: MemberSchema, 409: ErrorResponse, ...commonErrors },
      },
    },
    (request, reply) =>
      runIdempotent(app.db, request, reply, 201, (trx) => members.create(programContextOf(request), request.body, trx)),
  );

  app.get(
    '/v1/programs/:programId/members',
    {
      config: { access: 'read' },
      schema: { tags, summary: 'List members', params: ProgramParams, querystring: MemberListQuery, response: { 200: PageOf(MemberSchema), ...commonErrors } },
    },
    async (request) => members.list(programContextOf(request), request.query),
  );

  app.get(
    '/v1/programs/:programId/members/:memberId',
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: 'Read a member by Laurel id or as ext:{externalId}',
        params: MemberParams,
        response: { 200: MemberSchema, ...commonErrors },
      },
    },
    async (request) => members.get(programContextOf(request), request.params.memberId),
  );

  app.patch(
    '/v1/programs/:programId/members/:memberId',
    {
      config: { access: 'earn' },
      schema: {
        tags,
        summary: 'Update a member’s profile, attributes, tags or status',
        params: MemberParams,
        body: UpdateMemberBody,
        response: { 200: MemberSchema, 409: ErrorResponse, ...commonErrors },
      },
    },
    (request, reply) =>
      runIdempotent(app.db, request, reply, 200, (trx) =>
        members.update(programContextOf(request), request.params.memberId, request.body, trx),
      ),
  );
}
