import { Type } from 'typebox';
import { programContextOf } from '../../http/auth.js';
import { commonErrors, DateTime, PageOf, PageQuery, ProgramParams } from '../../http/schemas.js';
import type { App } from '../../http/types.js';
import type { AuditService } from './audit.service.js';

const AuditEntrySchema = Type.Object({
  id: Type.String(),
  actor: Type.String({ description: 'admin, api_key:{id}, operator:{id} or system:{job}' }),
  action: Type.String(),
  resourceType: Type.String(),
  resourceId: Type.String(),
  before: Type.Unknown(),
  after: Type.Unknown(),
  at: DateTime('program time of the change (a sandbox program: its test clock)'),
  recordedAt: DateTime('wall time it was written'),
});

export function auditRoutes(app: App, audit: AuditService): void {
  app.get(
    '/v1/programs/:programId/audit-log',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['audit'],
        summary: 'Configuration changes and manual adjustments, newest first',
        params: ProgramParams,
        querystring: Type.Object(
          {
            ...PageQuery.properties,
            resource: Type.Optional(Type.String({ maxLength: 200, description: 'a resource type (rule, campaign, item, sku, webhook, adjustment…) or type:id' })),
            actor: Type.Optional(Type.String({ maxLength: 200 })),
            action: Type.Optional(Type.String({ maxLength: 64 })),
            from: Type.Optional(DateTime('inclusive')),
            to: Type.Optional(DateTime('exclusive')),
          },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(AuditEntrySchema), ...commonErrors },
      },
    },
    async (request) => audit.list(programContextOf(request), request.query),
  );
}
