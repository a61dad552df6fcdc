import { Type } from 'typebox';
import { commonErrors, DateTime, Nullable, ProgramParams } from '../../http/schemas.js';
import { programContextOf } from '../../http/auth.js';
import { runIdempotent } from '../../http/idempotency.js';
import type { App } from '../../http/types.js';
import { SCOPES, type AccessService, type Scope } from './access.service.js';

const ScopeSchema = Type.Unsafe<Scope>({ type: 'string', enum: [...SCOPES] });

const ApiKeySchema = Type.Object(
  {
    id: Type.String(),
    programId: Type.String(),
    name: Type.String(),
    hint: Type.String({ description: 'the first characters of the secret' }),
    scopes: Type.Array(ScopeSchema),
    createdAt: DateTime(),
    revokedAt: Nullable(DateTime()),
    lastUsedAt: Nullable(DateTime()),
  },
  { $id: 'ApiKey' },
);

const tags = ['api-keys'];

export function accessRoutes(app: App, access: AccessService): void {
  app.post(
    '/v1/programs/:programId/api-keys',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Create a program API key; the secret is shown in this response only',
        params: ProgramParams,
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            scopes: Type.Array(ScopeSchema, { minItems: 1, uniqueItems: true }),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ key: ApiKeySchema, secret: Type.String() }), ...commonErrors },
      },
    },
    (request, reply) =>
      runIdempotent(app.db, request, reply, 201, (trx) => access.createKey(trx, request.params.programId, request.body, programContextOf(request))),
  );

  app.get(
    '/v1/programs/:programId/api-keys',
    {
      config: { access: 'admin' },
      schema: { tags, summary: 'List API keys (never their secrets)', params: ProgramParams, response: { 200: Type.Object({ data: Type.Array(ApiKeySchema) }), ...commonErrors } },
    },
    async (request) => ({ data: await access.listKeys(request.params.programId) }),
  );

  app.post(
    '/v1/programs/:programId/api-keys/:keyId/revoke',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Revoke an API key',
        params: Type.Object({ programId: Type.String(), keyId: Type.String({ maxLength: 64 }) }),
        response: { 200: ApiKeySchema, ...commonErrors },
      },
    },
    (request, reply) =>
      runIdempotent(app.db, request, reply, 200, (trx) => access.revokeKey(trx, request.params.programId, request.params.keyId, programContextOf(request))),
  );
}
