import { Type } from 'typebox';
import { programContextOf } from '../../http/auth.js';
import { runIdempotent } from '../../http/idempotency.js';
import { commonErrors, ErrorResponse, ProgramParams } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import { ChannelParams, PageConfigBody, PageConfigSchema } from './pages.schemas.js';
import type { PagesService } from './pages.service.js';

const tags = ['pages'];
const errors = { ...commonErrors, 422: ErrorResponse };

export function pageRoutes(app: App, pages: PagesService): void {
  const base = '/v1/programs/:programId/pages';
  app.get(base, { config: { access: 'read' }, schema: { tags, summary: 'Configured channel pages', params: ProgramParams, response: { 200: Type.Object({ data: Type.Array(PageConfigSchema) }), ...commonErrors } } },
    async (request) => ({ data: await pages.list(programContextOf(request)) }));
  app.get(`${base}/:channel`, { config: { access: 'read' }, schema: { tags, summary: "A channel's banners and mall item order (empty when never configured)", params: ChannelParams, response: { 200: PageConfigSchema, ...commonErrors } } },
    async (request) => pages.get(programContextOf(request), request.params.channel));
  app.put(`${base}/:channel`, { config: { access: 'configure' }, schema: { tags, summary: "Replace a channel's banners and mall item order", params: ChannelParams, body: PageConfigBody, response: { 200: PageConfigSchema, ...errors } } },
    (request, reply) => runIdempotent(app.db, request, reply, 200, (trx) => pages.put(trx, programContextOf(request), request.params.channel, request.body)));
}
