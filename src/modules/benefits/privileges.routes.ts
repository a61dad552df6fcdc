import { Type } from 'typebox';
import { programContextOf } from '../../http/auth.js';
import { runIdempotent } from '../../http/idempotency.js';
import { commonErrors, ErrorResponse, MemberParams, ProgramParams } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import type { BirthdayService } from './birthday.service.js';
import {
  BindingListQuery,
  BindingSchema,
  BirthdayGiftSchema,
  BirthdaySettingsBody,
  BirthdaySettingsSchema,
  CreateBindingBody,
  UpdateBindingBody,
} from './privileges.schemas.js';
import type { PrivilegesService } from './privileges.service.js';

const tags = ['privileges'];
const errors = { ...commonErrors, 409: ErrorResponse, 422: ErrorResponse };
const BindingParams = Type.Object({ programId: Type.String({ minLength: 1, maxLength: 64 }), bindingId: Type.String({ minLength: 1, maxLength: 64 }) });

export function privilegeRoutes(app: App, privileges: PrivilegesService, birthday: BirthdayService): void {
  const base = '/v1/programs/:programId/benefit-bindings';
  app.post(
    base,
    { config: { access: 'configure' }, schema: { tags, summary: 'Bind a benefit to a tier or a paid plan (current holders get it at once)', params: ProgramParams, body: CreateBindingBody, response: { 201: BindingSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 201, (trx) => privileges.create(trx, programContextOf(request), request.body)),
  );
  app.get(
    base,
    { config: { access: 'read' }, schema: { tags, summary: 'Benefit bindings', params: ProgramParams, querystring: BindingListQuery, response: { 200: Type.Object({ data: Type.Array(BindingSchema) }), ...commonErrors } } },
    async (request) => ({ data: await privileges.list(programContextOf(request), request.query) }),
  );
  app.get(
    `${base}/:bindingId`,
    { config: { access: 'read' }, schema: { tags, summary: 'One binding', params: BindingParams, response: { 200: BindingSchema, ...commonErrors } } },
    async (request) => privileges.get(programContextOf(request), request.params.bindingId),
  );
  app.patch(
    `${base}/:bindingId`,
    { config: { access: 'configure' }, schema: { tags, summary: 'Change a binding; active: false retires it', params: BindingParams, body: UpdateBindingBody, response: { 200: BindingSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => privileges.update(trx, programContextOf(request), request.params.bindingId, request.body)),
  );
  app.delete(
    `${base}/:bindingId`,
    { config: { access: 'configure' }, schema: { tags, summary: 'Retire a binding (kept for history; holders leave it under its policy)', params: BindingParams, response: { 200: BindingSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => privileges.update(trx, programContextOf(request), request.params.bindingId, { active: false })),
  );

  app.get(
    '/v1/programs/:programId/birthday-gift',
    { config: { access: 'read' }, schema: { tags, summary: 'Birthday care settings', params: ProgramParams, response: { 200: BirthdaySettingsSchema, ...commonErrors } } },
    async (request) => birthday.get(programContextOf(request)),
  );
  app.put(
    '/v1/programs/:programId/birthday-gift',
    { config: { access: 'configure' }, schema: { tags, summary: 'Set birthday care: a benefit and/or points, once a year', params: ProgramParams, body: BirthdaySettingsBody, response: { 200: BirthdaySettingsSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => birthday.put(trx, programContextOf(request), request.body)),
  );
  app.get(
    '/v1/programs/:programId/members/:memberId/birthday-gifts',
    { config: { access: 'read' }, schema: { tags, summary: "A member's birthday gifts, newest first", params: MemberParams, response: { 200: Type.Object({ data: Type.Array(BirthdayGiftSchema) }), ...commonErrors } } },
    async (request) => {
      const ctx = programContextOf(request);
      return { data: await birthday.history(ctx, await privileges.memberOf(ctx, request.params.memberId)) };
    },
  );
}
